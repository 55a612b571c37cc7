"""Where things are inside the containers, on which ports, from which pinned images: the
one place the generators, the self-test and doctor read them from."""

from __future__ import annotations

# Pinned images. The proxy image is mitmproxy's (Python and mitmproxy; squid is added).
MITMPROXY_IMAGE = "mitmproxy/mitmproxy:11.0.2"
NETGUARD_BASE_IMAGE = "debian:bookworm-slim"

# The proxy, as the app sees it.
PROXY_HOST = "proxy"
PROXY_PORT = 8080
RULES_PORT = 8081  # mitmproxy, on the proxy's loopback only
NO_PROXY = "localhost,127.0.0.1,::1"
# The proxy's user when devagent runs as root: Debian's "proxy" (squid's own user).
PROXY_SYSTEM_ID = 13

# In the app.
APP_HOSTNAME = "devagent"
PROXY_CA_IN_APP = "/etc/devagent/proxy-ca.crt"
SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
EXTRA_CA_IN_IMAGE = "/usr/local/share/ca-certificates/devagent-extra.crt"

# In the proxy.
CERTS_IN_PROXY = "/var/lib/devagent/certs"
LOGS_IN_PROXY = "/var/log/devagent"
FILTER_IN_PROXY = "/opt/devagent/filter.py"
LIB_IN_PROXY = "/opt/devagent/lib"
SQUID_CONF_IN_PROXY = "/opt/devagent/squid.conf"
ERRORS_IN_PROXY = "/opt/devagent/errors"
RUNTIME_IN_PROXY = "/tmp/devagent"  # noqa: S108 - the proxy container's private tmpfs
POLICY_IN_PROXY = "/etc/devagent/policy"
UPSTREAM_CA_IN_PROXY = "/opt/devagent/upstream-ca.pem"
# The credentials' values: only the proxy has them (read-only).
CREDENTIALS_IN_PROXY = "/run/devagent/credentials"

# In .devcontainer/ (relative names).
# The allowlist, apart from the filter so that `devagent allow` changes it in place.
ALLOWLIST_FILE = "policy/allowlist.json"
EXTRA_CA_FILE = "extra-ca-certificates.pem"
PROXY_CA_FILE = "devagent-proxy-ca.crt"
HOSTS = "hosts"
RESOLV_CONF = "resolv.conf"
