"""Run mitmproxy with only the addons a filtering forward proxy needs.

``mitmdump`` loads some thirty addons (replay, export, HAR, cookies, map-local, ...) and
mitmproxy offers every event of every request to each of them: a third of the proxy's CPU
time went to that dispatch. For the hosts whose rules read bodies, ``filter.py mitm``
therefore runs mitmproxy's own master with the core, the proxy server, the protocol and TLS
addons, and devagent's filter, in the order mitmdump would call them; and it keeps the
answers of the server-side name lookups for a minute (``ResolverCache``).

Command line: ``python3 filter.py [--listen-host H] [--listen-port P] [--set NAME=VALUE]...``
(the same option names as mitmdump's ``--set``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from mitmproxy import master, options
from mitmproxy.addons import (
    block,
    core,
    disable_h2c,
    errorcheck,
    next_layer,
    proxyserver,
    tlsconfig,
)


class ResolverCache:
    """``getaddrinfo`` answers kept for ``ttl`` seconds, with one lookup in flight per name.

    mitmproxy resolves the server of every new connection. Through the engine's resolver,
    a burst of lookups (npm opens 15 connections at once) lost some queries, and each lost
    one cost glibc's 5 s timeout: npm install took 22 s instead of 2. Answers are names to
    addresses only; the allowlist decides on names, so caching changes no decision.
    Failures are not kept.
    """

    def __init__(
        self,
        resolve: Callable[..., Awaitable[Any]],
        *,
        ttl: float = 60.0,
        size: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._resolve, self.ttl, self.size, self._clock = resolve, ttl, size, clock
        self._answers: dict[tuple[Any, ...], tuple[float, Any]] = {}
        self._pending: dict[tuple[Any, ...], asyncio.Future[Any]] = {}

    async def getaddrinfo(self, host: Any, port: Any, **kwargs: Any) -> Any:
        key = (host, port, *sorted(kwargs.items()))
        answer = self._answers.get(key)
        if answer is not None and self._clock() - answer[0] < self.ttl:
            return answer[1]
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._resolve(host, port, **kwargs))
            self._pending[key] = pending
            pending.add_done_callback(lambda _: self._pending.pop(key, None))
        result = await asyncio.shield(pending)
        if len(self._answers) >= self.size:
            self._answers.clear()
        self._answers[key] = (self._clock(), result)
        return result


def parse_arguments(argv: Sequence[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="filter.py", description="devagent allowlist proxy")
    parser.add_argument("--listen-host", default="")
    parser.add_argument("--listen-port", type=int, default=8080)
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="NAME=VALUE")
    arguments = parser.parse_args(list(argv))
    return {
        "listen_host": arguments.listen_host,
        "listen_port": arguments.listen_port,
        "settings": arguments.settings,
    }


def serve(addon: object, argv: Sequence[str] | None = None) -> None:
    """Serve until SIGTERM/SIGINT with ``addon`` between the proxy server and the protocols."""
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)

    async def main() -> None:
        logging.getLogger().setLevel(logging.INFO)
        opts = options.Options()
        proxy = master.Master(opts, with_termlog=True)
        proxy.addons.add(
            core.Core(),
            block.Block(),
            disable_h2c.DisableH2C(),
            proxyserver.Proxyserver(),
            addon,
            next_layer.NextLayer(),
            tlsconfig.TlsConfig(),
            errorcheck.ErrorCheck(),
        )
        opts.update(
            mode=["regular"],
            listen_host=arguments["listen_host"],
            listen_port=arguments["listen_port"],
            # Bytes that are neither TLS nor HTTP are refused, never relayed as raw TCP.
            rawtcp=False,
        )
        opts.set(*arguments["settings"])
        loop = asyncio.get_running_loop()
        loop.getaddrinfo = ResolverCache(loop.getaddrinfo).getaddrinfo  # type: ignore[method-assign]
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, proxy.shutdown)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        await proxy.run()

    asyncio.run(main())
