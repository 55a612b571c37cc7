"""The e2e suite's stand-ins for the world, on :80 and (with /certs) :443, by path:

- every request is recorded (host, method, path, headers) in /tmp/seen.jsonl;
- /v1/messages answers as the Anthropic API does: a canned streaming (server-sent events)
  or plain reply;
- /<name>.git/... is git's smart HTTP (``git http-backend``) over the bare repositories in
  /srv/git, for clients that authenticate as GitHub takes it (Basic, x-access-token and
  the token in $DEVAGENT_E2E_GITHUB_TOKEN);
- anything else gets 'hello from <Host>' (a websocket upgrade: its 101 and one frame).
"""

import base64
import hashlib
import http.server
import json
import os
import shutil
import ssl
import subprocess
import threading

WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
GIT_ROOT = "/srv/git"
SEEN = "/tmp/seen.jsonl"
REPLY = "hello from the stand-in model"
_lock = threading.Lock()


def seed_repository(name="project"):
    """A bare repository with one commit on main."""
    if shutil.which("git") is None:
        return
    path = f"{GIT_ROOT}/{name}.git"
    git = ["git", f"--git-dir={path}", "-c", "user.name=seed", "-c", "user.email=seed@test"]
    subprocess.run(["git", "init", "-q", "--bare", path], check=True)
    subprocess.run([*git[:2], "config", "http.receivepack", "true"], check=True)
    tree = subprocess.run([*git, "mktree"], input=b"", capture_output=True, check=True)
    commit = subprocess.run(
        [*git, "commit-tree", tree.stdout.decode().strip(), "-m", "initial"],
        capture_output=True,
        check=True,
    )
    subprocess.run(
        [*git[:2], "update-ref", "refs/heads/main", commit.stdout.decode().strip()], check=True
    )
    subprocess.run([*git[:2], "symbolic-ref", "HEAD", "refs/heads/main"], check=True)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do

    def record(self):
        entry = {
            "host": self.headers.get("Host", ""),
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
        }
        with _lock, open(SEEN, "a") as log:
            log.write(json.dumps(entry) + "\n")

    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def dispatch(self):
        self.record()
        path = self.path.split("?", 1)[0]
        if ".git/" in path:
            return self.git()
        data = self.body() if self.command in ("POST", "PUT", "PATCH", "DELETE") else b""
        if path.startswith("/v1/messages"):
            return self.messages(data)
        if self.headers.get("Upgrade", "").lower() == "websocket":
            return self.upgrade()
        self.reply(200, f"hello from {self.headers.get('Host', '?')} path={self.path}\n".encode())
        return None

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = dispatch

    def reply(self, status, body, content_type="text/plain", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def messages(self, data):
        request = json.loads(data or b"{}")
        model = request.get("model", "claude-stand-in")
        if self.path.split("?", 1)[0].endswith("/count_tokens"):
            return self.reply(200, b'{"input_tokens": 1}', "application/json")
        message = {
            "id": "msg_standin",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 1, "output_tokens": 1},
        }
        if not request.get("stream"):
            message.update(content=[{"type": "text", "text": REPLY}], stop_reason="end_turn")
            return self.reply(200, json.dumps(message).encode(), "application/json")
        events = [
            ("message_start", {"type": "message_start", "message": message}),
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": REPLY},
                },
            ),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": 5},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        for name, data in events:
            self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
            self.wfile.flush()
        self.close_connection = True
        return None

    def git(self):
        token = os.environ.get("DEVAGENT_E2E_GITHUB_TOKEN", "")
        expected = "Basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()
        if not token or self.headers.get("Authorization") != expected:
            self.body()
            return self.reply(
                401,
                b"authentication required\n",
                headers=[("WWW-Authenticate", 'Basic realm="stand-in"')],
            )
        path, _, query = self.path.partition("?")
        data = self.body() if self.command == "POST" else b""
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": GIT_ROOT,
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(data)),
            "REMOTE_USER": "agent",
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
        }
        done = subprocess.run(
            ["git", "http-backend"], input=data, env=environment, capture_output=True, check=False
        )
        head, _, body = done.stdout.partition(b"\r\n\r\n")
        status, headers = 200, []
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name and name.lower() != "content-length":
                headers.append((name, value.strip()))
        content_type = dict((k.lower(), v) for k, v in headers).pop("content-type", "text/plain")
        headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
        self.reply(status, body, content_type, headers)
        return None

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

    def log_message(self, *args):
        pass


def serve(port, tls):
    server = http.server.ThreadingHTTPServer(("", port), Handler)
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain("/certs/server.pem", "/certs/server.key")
        server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


seed_repository()
threading.Thread(target=serve, args=(443, True), daemon=True).start()
serve(80, False)
