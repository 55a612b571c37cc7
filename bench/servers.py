"""The three paths of the proxy benchmark, started on loopback for one run.

- an nginx upstream (HTTP and HTTPS, a certificate from a throwaway CA) serving a small
  file and bulk files;
- squid (Debian's package), the reference forward proxy, allowing that upstream only;
- devagent's proxy exactly as generated for a project: the `filter.py` and the command
  line from `ComposeGenerator`, with the container paths mapped to a directory here.

Every process is started here and stopped here, by its PID.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SMALL_BYTES = 1024
HOST = "127.0.0.1"


class BenchError(RuntimeError):
    """A benchmark that cannot be taken as asked (a missing tool, a failed request)."""


@dataclass(frozen=True)
class Upstream:
    http_port: int
    https_port: int
    ca_cert: Path
    root: Path

    def url(self, name: str, *, tls: bool) -> str:
        return (
            f"https://{HOST}:{self.https_port}/{name}"
            if tls
            else (f"http://{HOST}:{self.http_port}/{name}")
        )


@dataclass(frozen=True)
class Proxy:
    name: str
    port: int
    pid: int
    ca_cert: Path | None  # what a client must trust for intercepted HTTPS
    allowlist: Path | None = None  # devagent's live allowlist file

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def require(tool: str) -> str:
    path = shutil.which(tool) or (
        f"/usr/sbin/{tool}" if Path(f"/usr/sbin/{tool}").exists() else None
    )
    if path is None:
        raise BenchError(f"{tool} is not installed (apt-get install squid-openssl nginx curl)")
    return path


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"{process.args!r} exited: {log.read_text(errors='replace')[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.2):
            return
        time.sleep(0.05)
    raise BenchError(f"nothing listens on {port}: {log.read_text(errors='replace')[-2000:]}")


@contextlib.contextmanager
def _process(argv: list[str], port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, process, log)
        yield process
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()


def _certificates(directory: Path) -> Path:
    """A throwaway CA and a certificate for 127.0.0.1 signed by it; return the CA file."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "devagent bench CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (directory / "ca.pem").write_bytes(ca.public_bytes(pem))
    (directory / "server.pem").write_bytes(leaf.public_bytes(pem))
    (directory / "server.key").write_bytes(
        leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return directory / "ca.pem"


def _content(root: Path, bulk_sizes: dict[str, int]) -> None:
    root.mkdir(parents=True)
    (root / "small").write_bytes(b"x" * SMALL_BYTES)
    chunk = os.urandom(1 << 20)
    for name, size in bulk_sizes.items():
        with (root / name).open("wb") as handle:
            for _ in range(size >> 20):
                handle.write(chunk)


@contextlib.contextmanager
def nginx(work: Path, bulk_sizes: dict[str, int]) -> Iterator[Upstream]:
    binary = require("nginx")
    work.mkdir(parents=True)
    work.chmod(0o755)  # nginx's workers run as nobody when started by root
    ca = _certificates(work)
    root = work / "www"
    _content(root, bulk_sizes)
    http_port, https_port = free_port(), free_port()
    conf, scratch = work / "nginx.conf", work / "temp"
    conf.write_text(
        f"""daemon off;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    keepalive_requests 100000;
    default_type application/octet-stream;
    client_body_temp_path {scratch};
    proxy_temp_path {scratch};
    fastcgi_temp_path {scratch};
    uwsgi_temp_path {scratch};
    scgi_temp_path {scratch};
    server {{
        listen {HOST}:{http_port};
        listen {HOST}:{https_port} ssl;
        ssl_certificate {work}/server.pem;
        ssl_certificate_key {work}/server.key;
        root {root};
    }}
}}
"""
    )
    with _process([binary, "-c", str(conf), "-e", str(work / "error.log")], https_port,
                  work / "nginx.out"):  # fmt: skip
        yield Upstream(http_port, https_port, ca, root)


@contextlib.contextmanager
def squid(work: Path, upstream: Upstream) -> Iterator[Proxy]:
    """Squid as an allowlist forward proxy would be set up: this upstream only, no cache."""
    binary = require("squid")
    work.mkdir(parents=True)
    work.chmod(0o777)  # squid started by root works as user proxy
    port = free_port()
    conf = work / "squid.conf"
    conf.write_text(
        f"""http_port {HOST}:{port}
acl upstream dst {HOST}
acl upstream_ports port {upstream.http_port} {upstream.https_port}
acl CONNECT method CONNECT
http_access allow localhost upstream upstream_ports
http_access deny all
cache deny all
cache_mem 8 MB
access_log stdio:{work}/access.log
cache_log {work}/cache.log
pid_filename {work}/squid.pid
coredump_dir {work}
shutdown_lifetime 1 seconds
"""
    )
    with _process([binary, "-N", "-f", str(conf)], port, work / "squid.out") as process:
        yield Proxy("squid", port, process.pid, None)


def allowlist_for(upstream: Upstream, *, passthrough: bool) -> list[str]:
    suffix = " passthrough" if passthrough else ""
    return [f"{HOST}:{upstream.http_port}", f"{HOST}:{upstream.https_port}{suffix}"]


@contextlib.contextmanager
def devagent_proxy(work: Path, upstream: Upstream) -> Iterator[Proxy]:
    """devagent's proxy as `ComposeGenerator` writes it, run by this interpreter."""
    from devagent import compose
    from devagent.config import Paths, Resources
    from devagent.options import EnvironmentOptions
    from devagent.project import identify, internal_subnet
    from devagent.proxy.ca import ensure_ca
    from devagent.templates import get

    try:
        import mitmproxy  # noqa: F401
    except ImportError as exc:
        raise BenchError("mitmproxy is missing: install devagent with its [test] extra") from exc
    project_dir = work / "project"
    project_dir.mkdir(parents=True)
    paths = Paths(work / "config", work / "data", work / "state")
    project = identify(project_dir)
    certs = work / "certs"
    options = EnvironmentOptions(
        project=project,
        template=get("basic", paths),
        allowlist=tuple(allowlist_for(upstream, passthrough=False)),
        resources=Resources(),
        engine="docker",
        proxy_user=f"{os.getuid()}:{os.getgid()}",
        claude_config_dir=work / "claude",
        proxy_certs_dir=certs,
        proxy_logs_dir=work / "logs",
        proxy_ca_cert=ensure_ca(certs, common_name="devagent bench proxy CA").read_bytes(),
        internal_subnet=internal_subnet(project.hash),
        extra_ca_certificates=upstream.ca_cert.read_bytes(),
    )
    files = compose.ComposeGenerator().generate(options).files
    mapping = {
        compose.POLICY_IN_PROXY: str(work / "policy"),
        compose.LOGS_IN_PROXY: str(work / "logs"),
        compose.CERTS_IN_PROXY: str(certs),
        compose.FILTER_IN_PROXY: str(work / "filter.py"),
        compose.UPSTREAM_CA_IN_PROXY: str(upstream.ca_cert),
    }
    (work / "policy").mkdir()
    (work / "logs").mkdir()
    allowlist = work / "policy" / Path(compose.ALLOWLIST_FILE).name
    allowlist.write_bytes(files[compose.ALLOWLIST_FILE])
    (work / "filter.py").write_text(_mapped(files["filter.py"].decode(), mapping))
    entrypoint = next(
        line for line in files["Dockerfile.proxy"].decode().splitlines()
        if line.startswith("ENTRYPOINT ")
    )  # fmt: skip
    argv = [_mapped(arg, mapping) for arg in json.loads(entrypoint.removeprefix("ENTRYPOINT "))]
    port = free_port()
    argv[0] = sys.executable  # the generated command's python3, with mitmproxy
    argv[argv.index("--listen-port") + 1] = str(port)
    argv += ["--listen-host", HOST]
    with _process(argv, port, work / "mitmdump.out") as process:
        yield Proxy("devagent", port, process.pid, certs / "mitmproxy-ca-cert.pem", allowlist)


def set_allowlist(proxy: Proxy, entries: list[str]) -> None:
    """Change devagent's allowlist the way `devagent allow` does, and let the proxy see it."""
    from devagent.compose import allowlist_document

    assert proxy.allowlist is not None
    scratch = proxy.allowlist.with_suffix(".new")
    scratch.write_bytes(allowlist_document(entries))
    scratch.replace(proxy.allowlist)
    time.sleep(0.4)  # the proxy looks at the file at most every 0.25 s


def _mapped(text: str, mapping: dict[str, str]) -> str:
    # Longest first, so that no container path is cut by a shorter one.
    for old in sorted(mapping, key=len, reverse=True):
        text = text.replace(old, mapping[old])
    return text


def peak_rss_reset(pid: int) -> None:
    """Start a new peak-memory measurement for ``pid`` (Linux: clear_refs 5 resets VmHWM)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise BenchError(f"no VmHWM for {pid}")
