"""Trusted proxies: only a trusted peer may name the client behind it (X-Forwarded-For)."""

from __future__ import annotations

import pytest

from passerelle.domain.proxies import DEFAULT, TrustedProxies


def test_by_default_only_a_proxy_on_this_host_is_believed() -> None:
    proxies = TrustedProxies(DEFAULT)
    assert proxies.client("127.0.0.1", "203.0.113.7") == "203.0.113.7"
    assert proxies.client("::1", "203.0.113.7") == "203.0.113.7"
    # A client that sends the header itself keeps its own address.
    assert proxies.client("198.51.100.4", "203.0.113.7") == "198.51.100.4"
    assert proxies.client("127.0.0.1", None) == "127.0.0.1"


def test_a_load_balancer_on_another_host_is_named_by_its_network() -> None:
    proxies = TrustedProxies("10.0.0.0/8, 127.0.0.1")
    assert proxies.client("10.1.2.3", "203.0.113.7") == "203.0.113.7"
    # Through two trusted hops (HAProxy, then a local proxy): the last hop that is not a proxy.
    assert proxies.client("127.0.0.1", "198.51.100.9, 203.0.113.7, 10.1.2.3") == "203.0.113.7"
    assert proxies.client("192.168.1.5", "203.0.113.7") == "192.168.1.5"
    assert "10.255.0.1" in proxies and "11.0.0.1" not in proxies and "not an address" not in proxies


def test_trusting_none_ignores_the_header() -> None:
    proxies = TrustedProxies("")
    assert proxies.entries == ()
    assert proxies.client("127.0.0.1", "203.0.113.7") == "127.0.0.1"


@pytest.mark.parametrize("spec", ["localhost", "10.0.0.0/33", "127.0.0.1,,nope"])
def test_an_entry_that_is_not_an_address_is_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="is not an IP address or network"):
        TrustedProxies(spec)
