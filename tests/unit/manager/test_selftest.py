from __future__ import annotations

from devagent.manager.selftest import (
    beside,
    hosts_address,
    local_addresses,
    only_route_is_to,
    parse_proc_routes,
)
from tests.fakes import fixture


def test_recorded_route_table_after_netguard() -> None:
    routes = parse_proc_routes(fixture("app_proc_net_route"))
    proxy = hosts_address(fixture("app_etc_hosts"), "proxy")
    assert proxy == "10.213.250.66"
    assert only_route_is_to(routes, proxy)
    assert not only_route_is_to(routes, "10.213.250.65")


def test_default_route_is_not_isolated() -> None:
    table = (
        "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n"
        "eth0\t00000000\t010013AC\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
        "eth0\t000013AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n"
    )
    routes = parse_proc_routes(table)
    assert [str(r.gateway) for r in routes] == ["172.19.0.1", "0.0.0.0"]
    assert not only_route_is_to(routes, "172.19.0.2")


def test_the_address_beside_the_proxy_is_never_the_apps_own() -> None:
    own = local_addresses(fixture("app_proc_net_fib_trie"))
    assert own == {"10.213.87.46", "127.0.0.1"}
    # The app holds the subnet's highest host address here: the next one down is tried.
    assert beside("10.213.87.34", own) == "10.213.87.45"
    assert beside("10.213.87.34", set()) == "10.213.87.46"
    assert beside("10.213.87.46", {"10.213.87.45"}) == "10.213.87.44"
