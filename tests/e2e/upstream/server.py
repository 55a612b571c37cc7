"""Answer every request with 'hello from <Host>' on :80 and, with /certs, on :443."""

import http.server
import ssl
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do

    def do_GET(self):
        body = f"hello from {self.headers.get('Host', '?')} path={self.path}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

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
