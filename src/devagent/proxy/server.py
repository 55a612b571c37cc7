"""Run mitmproxy with only the addons a filtering forward proxy needs.

``mitmdump`` loads some thirty addons (replay, export, HAR, cookies, map-local, ...) and
mitmproxy offers every event of every request to each of them: a third of the proxy's CPU
time went to that dispatch. The generated ``filter.py`` is therefore the proxy's program:
it runs mitmproxy's own master with the core, the proxy server, the protocol and TLS
addons, and devagent's filter, in the order mitmdump would call them.

Command line: ``python3 filter.py [--listen-host H] [--listen-port P] [--set NAME=VALUE]...``
(the same option names as mitmdump's ``--set``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
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
        )
        opts.set(*arguments["settings"])
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, proxy.shutdown)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        await proxy.run()

    asyncio.run(main())
