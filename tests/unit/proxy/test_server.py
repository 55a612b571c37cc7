from __future__ import annotations

import asyncio
from typing import Any

import pytest

from devagent.proxy.server import ResolverCache, parse_arguments


class FakeResolver:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.fail = False

    async def __call__(self, host: str, port: int, **kwargs: Any) -> list[str]:
        self.calls.append(host)
        await asyncio.sleep(0.01)
        if self.fail:
            raise OSError("name resolution failed")
        return [f"{host}-address"]


def test_a_burst_of_lookups_for_one_name_asks_once_and_answers_all() -> None:
    resolver, now = FakeResolver(), [0.0]
    cache = ResolverCache(resolver, ttl=60, clock=lambda: now[0])

    async def burst() -> list[Any]:
        return await asyncio.gather(
            *(cache.getaddrinfo("registry.test", 443, type=1) for _ in range(15)),
            cache.getaddrinfo("other.test", 443, type=1),
        )

    answers = asyncio.run(burst())
    assert answers[:15] == [["registry.test-address"]] * 15
    assert sorted(resolver.calls) == ["other.test", "registry.test"]
    asyncio.run(cache.getaddrinfo("registry.test", 443, type=1))
    assert len(resolver.calls) == 2  # kept
    now[0] = 61.0
    asyncio.run(cache.getaddrinfo("registry.test", 443, type=1))
    assert len(resolver.calls) == 3  # expired: asked again


def test_failures_are_not_kept() -> None:
    resolver = FakeResolver()
    cache = ResolverCache(resolver)
    resolver.fail = True
    with pytest.raises(OSError):
        asyncio.run(cache.getaddrinfo("flaky.test", 443))
    resolver.fail = False
    assert asyncio.run(cache.getaddrinfo("flaky.test", 443)) == ["flaky.test-address"]
    assert resolver.calls == ["flaky.test", "flaky.test"]


def test_arguments_are_mitmdumps_names() -> None:
    parsed = parse_arguments(["--listen-port", "8080", "--set", "confdir=/x", "--set", "a=b"])
    assert parsed == {"listen_host": "", "listen_port": 8080, "settings": ["confdir=/x", "a=b"]}
