"""The outbound rule's host entries, parsed: pure functions with no other frontdesk imports,
so that the settings can validate ``FRONTDESK_OUTBOUND__ALLOWED_HOSTS`` at start-up without
importing the rule itself (:mod:`frontdesk.security.outbound`)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

SETTING = "FRONTDESK_OUTBOUND__ALLOWED_HOSTS"
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class HostRule:
    """One allow-list entry: a host (or ``*.`` suffix) and optionally a port."""

    host: str
    port: int | None = None
    subdomains: bool = False

    def matches(self, host: str, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.subdomains:
            return host.endswith("." + self.host)
        return host == self.host

    @classmethod
    def parse(cls, entry: str) -> HostRule:
        """``host``, ``host:port``, ``*.suffix[:port]``, ``[v6]`` or ``[v6]:port``."""
        text = entry.strip().lower()
        port: int | None = None
        if text.startswith("["):
            inside, _, rest = text[1:].partition("]")
            host = inside
            if rest:
                if not rest.startswith(":"):
                    raise ValueError(f"{SETTING}: an entry is not host or host:port")
                port = _port(rest[1:])
        elif text.count(":") == 1:
            host, _, port_text = text.partition(":")
            port = _port(port_text)
        else:
            host = text
        subdomains = host.startswith("*.")
        if subdomains:
            host = host[2:]
        host = normal_host(host)
        if not host or "*" in host or "/" in host:
            raise ValueError(f"{SETTING}: an entry is not host or host:port")
        return cls(host=host, port=port, subdomains=subdomains)


def parse_allowed_hosts(value: str | Iterable[str]) -> tuple[HostRule, ...]:
    """The rules of the setting (comma-separated text or a list); blanks are skipped."""
    entries = value.split(",") if isinstance(value, str) else list(value)
    return tuple(HostRule.parse(e) for e in entries if e.strip())


def normal_host(host: str) -> str:
    """Lower case, no trailing dot, IP literals in their compressed form, IDNA as ASCII."""
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        return host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        return host


def is_public(address: str) -> bool:
    """Whether an IP address is a public unicast one (not loopback, private, link-local...)."""
    try:
        ip: IPAddress = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{SETTING}: a port is a number from 1 to 65535")
    return int(text)
