"""Which addresses a tenant's app URL may reach.

Refused: every address that is not global (loopback, private, link-local, unique-local, CGNAT,
unspecified, documentation and the rest of Python's non-global ranges), multicast, reserved, and the
cloud metadata addresses; an IPv4 address inside IPv6 (mapped, 6to4, NAT64) is judged as the IPv4
address it carries. An allow-list (``GATEWAY_CALLBACK_HOSTS``: host names and addresses or CIDR
networks) lets chosen names or networks through, for apps that live next to the gateway.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALWAYS_REFUSED: tuple[IPNetwork, ...] = (
    ipaddress.ip_network("100.64.0.0/10"),  # carrier-grade NAT
    ipaddress.ip_network("169.254.169.254/32"),  # cloud metadata
    ipaddress.ip_network("fd00:ec2::254/128"),  # cloud metadata over IPv6
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def carried(ip: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, NAT64), else ``ip``."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def public(ip: IPAddress) -> bool:
    ip = carried(ip)
    special = ip.is_multicast or ip.is_reserved or ip.is_link_local or ip.is_loopback or ip.is_unspecified
    return ip.is_global and not special and not any(ip in net for net in ALWAYS_REFUSED)


@dataclass(frozen=True, slots=True)
class AllowList:
    names: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        """Host names and addresses or CIDR networks; blanks ignored; ``ValueError`` for a bad CIDR."""
        names: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in (e.strip() for e in entries):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                if "/" in entry:
                    raise ValueError(f"not a network: {entry!r}") from None
                names.add(entry.lower().rstrip("."))
        return cls(frozenset(names), tuple(networks))

    def permits(self, host: str, ip: IPAddress) -> bool:
        """Whether ``host``, resolved to ``ip``, may be reached."""
        if host.lower().rstrip(".") in self.names:
            return True
        if any(ip in net or carried(ip) in net for net in self.networks):
            return True
        return public(ip)
