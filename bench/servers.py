"""The three paths of the proxy benchmark, started on loopback for one run.

- an nginx upstream (HTTP and HTTPS, a certificate from a throwaway CA) serving a small
  file and bulk files;
- squid (Debian's package), the reference forward proxy, allowing that upstream only, and
  the same squid bumping TLS client-first with devagent's CA and no helper (``squid_bump``);
- devagent's proxy exactly as generated for a project: `filter.py run` (squid, devagent's
  helpers) with the files from `ComposeGenerator`, the container paths mapped to a
  directory here (``tests/local_proxy.py``); and, for hosts whose rules read bodies, the
  mitmproxy path, next to mitmproxy with the same addon alone (the proxy before squid).

Every process is started here and stopped here, by its PID.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
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
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SMALL_BYTES = 1024
HOST = "127.0.0.1"
# The upstream's name: squid and mitmproxy make certificates for the name they are asked
# for, and a generated certificate for a bare address has no address in it for clients.
NAME = "localhost"


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
            f"https://{NAME}:{self.https_port}/{name}"
            if tls
            else (f"http://{NAME}:{self.http_port}/{name}")
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
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(HOST)), x509.DNSName(NAME)]
            ),
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
def squid(
    work: Path, upstream: Upstream, *, bump_ca: Path | None = None, client_ca: Path | None = None
) -> Iterator[Proxy]:
    """Squid as an allowlist forward proxy would be set up: this upstream only, no cache.

    With ``bump_ca`` (a PEM with key and certificate), TLS is bumped client-first at step 1
    with it, as devagent's inspect mode does, but nothing asks a helper.
    """
    binary = require("squid")
    work.mkdir(parents=True)
    work.chmod(0o777)  # squid started by root works as user proxy
    port = free_port()
    conf = work / "squid.conf"
    bump = ""
    if bump_ca is not None:
        certgen = "/usr/lib/squid/security_file_certgen"
        subprocess.run([certgen, "-c", "-s", str(work / "ssl_db"), "-M", "4MB"], check=True,
                       capture_output=True)  # fmt: skip
        subprocess.run(["chmod", "-R", "a+rwX", str(work)], check=True)
        bump = (
            f" ssl-bump tls-cert={bump_ca} generate-host-certificates=on"
            " dynamic_cert_mem_cache_size=4MB\n"
            f"sslcrtd_program {certgen} -s {work / 'ssl_db'} -M 4MB\n"
            f"tls_outgoing_options cafile={upstream.ca_cert}\n"
            "ssl_bump bump all"
        )
    conf.write_text(
        f"""http_port {HOST}:{port}{bump}
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
    name = "squid_bump" if bump_ca else "squid"
    with _process([binary, "-N", "-f", str(conf)], port, work / "squid.out") as process:
        yield Proxy(name, port, process.pid, client_ca)


def allowlist_for(upstream: Upstream, *, mode: str = "") -> list[str]:
    """The upstream's two ports; ``mode`` ("tunnel") for the HTTPS one."""
    return [f"{NAME}:{upstream.http_port}", f"{NAME}:{upstream.https_port} {mode}".strip()]


def _options(work: Path, upstream: Upstream, *, rules: bool) -> tuple[Any, Path]:
    from devagent.config import Paths, Resources
    from devagent.generate.options import EnvironmentOptions
    from devagent.project import identify, internal_subnet
    from devagent.proxy.ca import ensure_ca
    from devagent.templates import get

    project_dir = work / "project"
    project_dir.mkdir(parents=True)
    paths = Paths(work / "config", work / "data", work / "state")
    project = identify(project_dir)
    certs = work / "certs"
    options = EnvironmentOptions(
        project=project,
        template=get("basic", paths),
        allowlist=tuple(allowlist_for(upstream)),
        resources=Resources(),
        engine="docker",
        proxy_user=f"{os.getuid()}:{os.getgid()}",
        claude_config_dir=work / "claude",
        proxy_certs_dir=certs,
        proxy_logs_dir=work / "logs",
        proxy_ca_cert=ensure_ca(certs, common_name="devagent bench proxy CA").read_bytes(),
        internal_subnet=internal_subnet(project.hash),
        extra_ca_certificates=upstream.ca_cert.read_bytes(),
        github_guarded_hosts=(f"{NAME}:{upstream.https_port}",) if rules else (),
    )
    return options, certs


@contextlib.contextmanager
def devagent_proxy(work: Path, upstream: Upstream, *, rules: bool = False) -> Iterator[Proxy]:
    """devagent's proxy as `ComposeGenerator` writes it (``filter.py run``), on this host."""
    from local_proxy import run_generated_proxy

    from devagent.generate import compose

    work.mkdir(parents=True)
    options, certs = _options(work, upstream, rules=rules)
    files = compose.ComposeGenerator().generate(options).files
    with run_generated_proxy(files, certs=certs, upstream_ca=upstream.ca_cert) as proxy:
        name = "devagent_rules" if rules else "devagent"
        yield Proxy(name, proxy.port, proxy.pid, certs / "mitmproxy-ca-cert.pem", proxy.allowlist)


@contextlib.contextmanager
def mitmproxy_alone(work: Path, upstream: Upstream) -> Iterator[Proxy]:
    """The proxy before squid: mitmproxy with devagent's addon (``filter.py mitm``), alone."""
    from local_proxy import free_port as local_port
    from local_proxy import lay_out

    from devagent.generate import compose

    try:
        import mitmproxy  # noqa: F401
    except ImportError as exc:
        raise BenchError("mitmproxy is missing: install devagent with its [test] extra") from exc
    work.mkdir(parents=True)
    options, certs = _options(work, upstream, rules=True)
    files = compose.ComposeGenerator().generate(options).files
    program = lay_out(files, work / "files", certs=certs, upstream_ca=upstream.ca_cert,
                      port=local_port())  # fmt: skip
    port = free_port()
    argv = [sys.executable, str(program), "mitm", "--listen-host", HOST, "--listen-port",
            str(port), "--set", f"confdir={certs}", "--set", "connection_strategy=lazy",
            "--set", "termlog_verbosity=warn",
            "--set", f"ssl_verify_upstream_trusted_ca={upstream.ca_cert}"]  # fmt: skip
    with _process(argv, port, work / "mitmdump.out") as process:
        yield Proxy("mitmproxy", port, process.pid, certs / "mitmproxy-ca-cert.pem")


def set_allowlist(proxy: Proxy, entries: list[str]) -> None:
    """Change devagent's allowlist the way `devagent allow` does, and let the proxy see it."""
    from devagent.generate.compose import allowlist_document

    assert proxy.allowlist is not None
    scratch = proxy.allowlist.with_suffix(".new")
    scratch.write_bytes(allowlist_document(entries))
    scratch.chmod(0o644)
    scratch.replace(proxy.allowlist)
    time.sleep(2.2)  # the helper looks at the file every 0.25 s; squid keeps answers 1 s


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (squid's helpers are squid's children)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        children = Path(f"/proc/{current}/task/{current}/children")
        with contextlib.suppress(OSError):
            queue += [int(child) for child in children.read_text().split()]
    return found


def peak_rss_reset(pid: int) -> None:
    """Start a new peak-memory measurement for ``pid`` and its children (clear_refs 5 resets
    VmHWM)."""
    for member in _tree(pid):
        with contextlib.suppress(OSError):
            Path(f"/proc/{member}/clear_refs").write_text("5")


def peak_rss_mb(pid: int) -> float:
    """The peak resident memory of ``pid`` and its children, added up (MB)."""
    total = 0
    for member in _tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
    if not total:
        raise BenchError(f"no VmHWM for {pid}")
    return total / 1024
