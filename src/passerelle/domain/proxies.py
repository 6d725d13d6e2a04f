"""Which peers may name the client behind them (``X-Forwarded-For``): the reverse proxies and load
balancers in front of the server. Per-address limits count the address a trusted proxy forwarded,
and the peer's own address otherwise (a client cannot pick its own limits by sending the header)."""

from __future__ import annotations

import ipaddress

DEFAULT = "127.0.0.1,::1"
"""A proxy on the same host (as uvicorn trusts by default)."""


class TrustedProxies:
    """Addresses and networks, from a comma-separated ``spec`` (``"127.0.0.1,10.0.0.0/8"``; empty:
    trust no proxy). Raises ValueError naming an entry that is neither."""

    __slots__ = ("_networks", "entries")

    def __init__(self, spec: str) -> None:
        self.entries = tuple(e.strip() for e in spec.split(",") if e.strip())
        networks = []
        for entry in self.entries:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network") from None
        self._networks = tuple(networks)

    def __contains__(self, host: object) -> bool:
        if not isinstance(host, str):
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self._networks)

    def client(self, peer: str | None, forwarded_for: str | None) -> str | None:
        """The client's address: the peer's, or, when the peer is a trusted proxy, the last hop of
        its ``X-Forwarded-For`` that is not itself a trusted proxy."""
        if forwarded_for and peer in self:
            for hop in reversed(forwarded_for.split(",")):
                hop = hop.strip()
                if hop and hop not in self:
                    return hop
        return peer
