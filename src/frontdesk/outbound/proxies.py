"""Which proxy, if any, an outbound request goes through: the standard environment variables.

``http_proxy`` / ``HTTP_PROXY`` for ``http://`` targets, ``https_proxy`` / ``HTTPS_PROXY`` for
``https://`` targets, and ``no_proxy`` / ``NO_PROXY`` for the hosts that bypass them, read
exactly as :func:`urllib.request.getproxies_environment` and urllib's
``proxy_bypass_environment`` define them (what ``curl``, ``requests`` and
``pip`` also honour): lower case wins over upper case; an empty value unsets; ``HTTP_PROXY``
is ignored when ``REQUEST_METHOD`` is set (a CGI environment); ``NO_PROXY`` is a comma
separated list of host names, domain suffixes (``example.org`` and ``.example.org`` both match
``api.example.org``), ``host:port``, or ``*`` for every host. ``ALL_PROXY`` and SOCKS are not
used; CIDR ranges in ``NO_PROXY`` are not understood (list the addresses).

A proxy must be an ``http://`` URL (a value without a scheme, ``proxy.lan:3128``, is taken as
one; the port defaults to 80). ``user:password@`` in it becomes a ``Proxy-Authorization:
Basic`` header, sent on ``CONNECT`` for https targets and with every request for http ones.
The variables are read once, when the process builds its outbound stack
(:func:`frontdesk.outbound.http.build_transport`); each host's answer is then cached.
"""

from __future__ import annotations

import base64
import os
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from frontdesk.errors import ConfigurationError

SCHEMES = ("http", "https")


@dataclass(frozen=True, slots=True)
class Proxy:
    """An HTTP proxy: where to connect, and the header that authenticates us to it."""

    host: str
    port: int
    authorization: bytes | None = field(default=None, repr=False)
    """``Basic ...`` from the URL's user and password (never logged: it is a credential)."""

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def parse_proxy(value: str, *, variable: str) -> Proxy:
    """A proxy URL from ``variable`` (named in errors; the value may hold a password)."""
    url = value.strip()
    if "://" not in url:
        url = "http://" + url
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port or 80
    except ValueError:
        raise ConfigurationError(f"{variable} is not a proxy URL", field=variable) from None
    if parts.scheme.lower() != "http" or not parts.hostname:
        raise ConfigurationError(
            f"{variable} must be an http:// proxy URL (https and SOCKS proxies are not supported)",
            field=variable,
        )
    authorization = None
    if parts.username is not None:
        user = urllib.parse.unquote(parts.username)
        password = urllib.parse.unquote(parts.password or "")
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        authorization = f"Basic {token}".encode("ascii")
    return Proxy(parts.hostname, port, authorization)


class ProxyRoutes:
    """The proxy of each target (scheme, host, port), per the environment's variables."""

    def __init__(self, proxies: dict[str, Proxy], no_proxy: str | None) -> None:
        self._proxies = proxies
        self._no_proxy = [
            name.strip().lstrip(".").lower() for name in (no_proxy or "").split(",") if name.strip()
        ]
        self._cache: dict[tuple[str, str, int], Proxy | None] = {}

    @classmethod
    def from_environment(cls) -> ProxyRoutes | None:
        """The routes the environment asks for; ``None`` when it names no proxy at all."""
        found = urllib.request.getproxies_environment()
        proxies = {
            scheme: parse_proxy(found[scheme], variable=_variable(scheme))
            for scheme in SCHEMES
            if found.get(scheme)
        }
        if not proxies:
            return None
        return cls(proxies, found.get("no"))

    def proxy_for(self, scheme: str, host: str, port: int) -> Proxy | None:
        """The proxy for a target, or ``None`` to connect directly (``NO_PROXY``)."""
        key = (scheme, host, port)
        try:
            return self._cache[key]
        except KeyError:
            pass
        proxy = self._proxies.get(scheme)
        if proxy is not None and self._bypassed(host.lower(), port):
            proxy = None
        if len(self._cache) < 4096:  # webhook URLs are configured, but stay bounded anyway
            self._cache[key] = proxy
        return proxy

    def _bypassed(self, host: str, port: int) -> bool:
        """``NO_PROXY`` as urllib reads it: a name matches the host or a suffix after a dot,
        with or without the port."""
        with_port = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        for name in self._no_proxy:
            if name == "*":
                return True
            for candidate in (host, with_port):
                if candidate == name or candidate.endswith("." + name):
                    return True
        return False


def _variable(scheme: str) -> str:
    """The variable that set ``scheme``'s proxy, as the user wrote it (for error messages)."""
    lower = f"{scheme}_proxy"
    return lower if os.environ.get(lower) else lower.upper()
