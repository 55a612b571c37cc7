from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devagent.proxy.allowlist import Allowlist, Entry, InvalidHost, normalize_host, parse_entry


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Example.COM", "example.com"),
        ("example.com.", "example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("[::1]", "::1"),
        ("0:0:0:0:0:0:0:1", "::1"),
        ("10.0.0.1", "10.0.0.1"),
    ],
)
def test_normalize_host(raw: str, expected: str) -> None:
    assert normalize_host(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "allowed.test@evil.test", "allowed%2etest", "a/b", "-bad.test", "a..test", "a b",
     "1.2.3", "x" * 64 + ".test"],
)  # fmt: skip
def test_normalize_host_rejects(raw: str) -> None:
    with pytest.raises(InvalidHost):
        normalize_host(raw)


@pytest.mark.parametrize(
    ("text", "entry"),
    [
        ("allowed.test", Entry("allowed.test")),
        ("*.Allowed.Test.", Entry("allowed.test", wildcard=True)),
        ("allowed.test:8443", Entry("allowed.test", port=8443)),
        ("[::1]:443", Entry("::1", port=443)),
        ("192.0.2.7", Entry("192.0.2.7")),
    ],
)
def test_parse_entry(text: str, entry: Entry) -> None:
    assert parse_entry(text) == entry
    assert parse_entry(str(entry)) == entry  # str() round-trips


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("http://allowed.test", "URL"),
        ("allowed.*.test", "only allowed as a leading"),
        ("*.10.0.0.1", "IP address cannot be a wildcard"),
        ("allowed.test:99999", "port"),
        ("allowed.test:http", "port"),
        ("ex ample.com", "unknown option 'ample.com'"),
        ("pinned.test passthru", "unknown option 'passthru'"),
        ("   ", "empty"),
    ],
)
def test_parse_entry_explains_rejection(text: str, says: str) -> None:
    with pytest.raises(InvalidHost, match=says):
        parse_entry(text)


ALLOW = Allowlist.parse(["allowed.test", "*.wild.test", "api.ports.test:8443", "192.0.2.7"])


@pytest.mark.parametrize(
    ("host", "port", "tunnel", "allowed"),
    [
        ("allowed.test", 443, True, True),
        ("allowed.test", 80, False, True),
        ("allowed.test", 22, True, False),  # CONNECT defaults to 443 only
        ("allowed.test", 80, True, False),
        ("evilallowed.test", 443, True, False),
        ("allowed.test.evil.test", 443, True, False),
        ("sub.allowed.test", 443, True, False),  # exact entries do not cover subdomains
        ("a.wild.test", 443, True, True),
        ("a.b.wild.test", 443, True, True),
        ("wild.test", 443, True, False),  # *.x does not match x itself
        ("api.ports.test", 8443, True, True),
        ("api.ports.test", 443, True, False),
        ("192.0.2.7", 443, True, True),
        ("192.0.2.8", 443, True, False),
    ],
)
def test_allows(host: str, port: int, tunnel: bool, allowed: bool) -> None:
    assert ALLOW.allows(host, port, tunnel=tunnel) is allowed


_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
_host = (
    st.lists(_label, min_size=2, max_size=5)
    .map(".".join)
    .filter(lambda h: not h.split(".")[-1].isdigit())
)


@given(entry_host=_host, query_host=_host, wildcard=st.booleans())
def test_matching_is_exact_or_a_label_suffix(
    entry_host: str, query_host: str, wildcard: bool
) -> None:
    """A host matches only itself, or (wildcards) a name ending in '.' + the entry."""
    allowlist = Allowlist([Entry(entry_host, wildcard)])
    expected = query_host.endswith("." + entry_host) if wildcard else query_host == entry_host
    assert allowlist.allows(query_host, 443, tunnel=True) is expected


@given(host=_host, noise=st.sampled_from(["", ".", "%2e", "@evil.test", ":443", "/x"]),
       upper=st.booleans())  # fmt: skip
def test_normalization_never_widens_a_match(host: str, noise: str, upper: bool) -> None:
    """Any spelling of a host either normalizes to that host or is rejected outright."""
    spelled = (host.upper() if upper else host) + noise
    try:
        normalized = normalize_host(spelled)
    except InvalidHost:
        return
    assert normalized == host


def test_lookup_time_does_not_grow_with_list_size() -> None:
    big = Allowlist(Entry(f"host{i}.test") for i in range(100_000))
    assert big.allows("host99999.test", 443, tunnel=True)
    assert not big.allows("a.b.c.d.e.f.nothere.test", 443, tunnel=True)
    # One dict lookup per label: the tables are hashed, not scanned.
    assert len(big._allowed.exact) == 100_000


def test_passthrough_entries_are_allowed_and_pass_through_only_as_tunnels() -> None:
    allowlist = Allowlist.parse(
        ["pinned.test passthrough", "*.pins.test:8443 passthrough", "a.test"]
    )
    # "passthrough" is the older name of the tunnel mode; the canonical spelling is "tunnel".
    assert str(parse_entry(" Pinned.Test.  passthrough ")) == "pinned.test tunnel"
    assert allowlist.allows("pinned.test", 443, tunnel=True)
    assert allowlist.allows("pinned.test", 80)  # plain HTTP to it is an ordinary request
    assert allowlist.passes_through("pinned.test", 443)
    assert not allowlist.passes_through("pinned.test", 8443)  # the port rules still hold
    assert allowlist.passes_through("x.pins.test", 8443)
    assert not allowlist.passes_through("a.test", 443)  # ordinary entries are inspected
