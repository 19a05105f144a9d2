"""The outbound rule: where frontdesk may connect on a tenant's behalf.

One mechanism for every outbound URL a tenant can configure (EHR base URLs today; FHIR base
URLs and webhook targets as they arrive):

- ``FRONTDESK_OUTBOUND__ALLOWED_HOSTS`` lists destinations, comma-separated ``host`` or
  ``host:port`` (``[v6]:port`` for IPv6); a leading ``*.`` matches every subdomain
  (``*.example.org`` matches ``ehr.example.org``, not ``example.org``).
- The origins (scheme, host, port) of URLs the operator configured in settings
  (``FRONTDESK_UNITY__URL``, ``FRONTDESK_TWILIO__API_URL``) are always allowed.
- A listed destination may resolve to any address. Any other destination must resolve to
  public addresses only: loopback, link-local, private, shared, reserved, multicast and
  unspecified addresses are refused.
- A destination that receives the application's own credentials (``sends_credentials``:
  the Unity service password, the Twilio account's auth token) must be listed or an operator
  origin; a public address alone is not enough.

It is checked on the URL when a tenant configures it (:meth:`OutboundPolicy.check_configured`)
and again on the resolved addresses when a connection opens
(:meth:`OutboundPolicy.check_connect`, which returns the addresses to connect to, so a name
that answers differently between check and connect cannot slip through).

Refusals raise :class:`DestinationRefused` (a :class:`~frontdesk.errors.ConfigurationError`:
a human must act), whose message names the setting to change and never quotes the URL, the
host or anything a remote system said.

Construction: ``OutboundPolicy.from_settings(settings)``, once per process (cheap; the
composition root may pass one instance down). Tests inject ``resolve`` to map names to
addresses without DNS.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from frontdesk.errors import ConfigurationError
from frontdesk.logs import get_logger
from frontdesk.security.hosts import (
    SETTING,
    HostRule,
    is_public,
    normal_host,
    parse_allowed_hosts,
)
from frontdesk.settings import Settings

log = get_logger(__name__)

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""``(host, port)`` → the addresses the name resolves to (IP literals as text)."""

DEFAULT_PORTS = {"http": 80, "https": 443}
RESOLVE_TIMEOUT_S = 5.0


class DestinationRefused(ConfigurationError):
    """An outbound destination the rule does not allow (never retried: a human must act)."""

    code = "destination_not_allowed"


async def resolve_host(host: str, port: int) -> list[str]:
    """The addresses of ``host`` (the system resolver, run off the event loop)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    return addresses


@dataclass(frozen=True)
class Origin:
    """A URL's scheme, host and port (the port made explicit)."""

    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> Origin:
        """The origin of an absolute http(s) URL; DestinationRefused when it has none."""
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError:
            raise DestinationRefused("the URL is not a usable http(s) URL") from None
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS or not parts.hostname:
            raise DestinationRefused("the URL is not an absolute http(s) URL")
        return cls(scheme, normal_host(parts.hostname), port or DEFAULT_PORTS[scheme])


class OutboundPolicy:
    """Decides whether frontdesk may connect to a destination (see the module docstring)."""

    def __init__(
        self,
        *,
        allowed: Sequence[HostRule] = (),
        operator_origins: Sequence[Origin] = (),
        resolve: Resolver | None = None,
    ) -> None:
        self.allowed = tuple(allowed)
        self.operator_origins = tuple(operator_origins)
        self._resolve: Resolver = resolve or resolve_host

    @classmethod
    def from_settings(
        cls, settings: Settings, *, resolve: Resolver | None = None
    ) -> OutboundPolicy:
        """The allow-list setting plus the origins of the operator's own URLs."""
        origins: list[Origin] = []
        for url in operator_urls(settings):
            try:
                origins.append(Origin.of(url))
            except DestinationRefused:
                continue  # an unusable setting is reported where it is used
        return cls(
            allowed=parse_allowed_hosts(settings.outbound.allowed_hosts),
            operator_origins=origins,
            resolve=resolve,
        )

    def is_listed(self, host: str, port: int, scheme: str | None = None) -> bool:
        """Listed in the setting, or the host and port of an operator-configured URL."""
        host = normal_host(host)
        if any(rule.matches(host, port) for rule in self.allowed):
            return True
        return any(
            o.host == host and o.port == port and (scheme is None or o.scheme == scheme)
            for o in self.operator_origins
        )

    def check_url(self, url: str, *, sends_credentials: bool = False) -> Origin:
        """What can be decided without DNS: an http(s) URL; listed when it gets credentials;
        an unlisted IP literal must be public. Returns the URL's origin."""
        origin = Origin.of(url)
        if self.is_listed(origin.host, origin.port, origin.scheme):
            return origin
        if sends_credentials:
            raise DestinationRefused(
                "the URL's host is not allowed to receive the application's credentials: "
                f"the operator must add it to {SETTING}"
            )
        if _is_ip(origin.host) and not is_public(origin.host):
            raise _private()
        return origin

    async def check_configured(self, url: str, *, sends_credentials: bool = False) -> None:
        """The configuration-time check: :meth:`check_url`, then (unlisted hosts) every
        resolved address must be public; a name that does not resolve is refused."""
        origin = self.check_url(url, sends_credentials=sends_credentials)
        if self.is_listed(origin.host, origin.port, origin.scheme):
            return
        await self.check_connect(origin.host, origin.port)

    async def check_connect(
        self, host: str, port: int, *, sends_credentials: bool = False
    ) -> list[str]:
        """The connect-time check: the addresses to connect to (resolved once, verified).

        Raises :class:`DestinationRefused`; a name that does not resolve raises the
        resolver's ``OSError`` (``socket.gaierror``), which transports report as a connect
        error.
        """
        listed = self.is_listed(host, port)
        if not listed and sends_credentials:
            log.warning("outbound.refused", host=host, port=port, reason="credentials_unlisted")
            raise DestinationRefused(
                "the host is not allowed to receive the application's credentials: "
                f"the operator must add it to {SETTING}"
            )
        host = normal_host(host)
        if _is_ip(host):
            addresses = [host]
        else:
            async with asyncio.timeout(RESOLVE_TIMEOUT_S):
                addresses = await self._resolve(host, port)
        if not addresses:
            raise OSError(f"no address for the host (port {port})")
        if not listed and not all(is_public(a) for a in addresses):
            log.warning("outbound.refused", host=host, port=port, reason="non_public_address")
            raise _private()
        return addresses


def operator_urls(settings: Settings) -> list[str]:
    """URLs the operator configured in settings (their origins are always allowed)."""
    return [settings.unity.url, settings.twilio.api_url]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _private() -> DestinationRefused:
    return DestinationRefused(
        "the URL's host is a loopback, link-local or private address: the operator must "
        f"add it to {SETTING} to allow it"
    )
