"""The proxy sidecar: allowlist semantics, the mitmproxy addon and its generation."""
