"""Answer every request with 'hello from <Host>' on :80 and, with /certs, on :443; a
websocket upgrade gets its 101 and one text frame saying the same."""

import base64
import hashlib
import http.server
import ssl
import threading

WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do

    def do_GET(self):
        if self.headers.get("Upgrade", "").lower() == "websocket":
            self.upgrade()
            return
        body = f"hello from {self.headers.get('Host', '?')} path={self.path}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def upgrade(self):
        key = self.headers.get("Sec-WebSocket-Key", "")
        accept = base64.b64encode(hashlib.sha1((key + WEBSOCKET_GUID).encode()).digest())
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept.decode())
        self.end_headers()
        text = f"hello from {self.headers.get('Host', '?')} over a websocket".encode()
        self.wfile.write(bytes([0x81, len(text)]) + text)
        self.wfile.flush()
        self.close_connection = True

    def do_PUT(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.do_GET()

    do_POST = do_PUT

    def log_message(self, *args):
        pass


def serve(port, tls):
    server = http.server.ThreadingHTTPServer(("", port), Handler)
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain("/certs/server.pem", "/certs/server.key")
        server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


threading.Thread(target=serve, args=(443, True), daemon=True).start()
serve(80, False)
