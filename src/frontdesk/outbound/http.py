"""Build the process's outbound HTTP transport: TLS trust, proxies and the connect check.

The composition root calls :func:`build_transport` once per pool it needs (the EHR clients,
the webhook sender) and passes the result down; every transport built here trusts the same
CA bundle and honours the same proxy variables:

- **TLS trust** (:func:`tls_context`): ``FRONTDESK_HTTP__CA_BUNDLE``, a PEM file of CA
  certificates, is used *instead of* the default store when set (as ``REQUESTS_CA_BUNDLE``
  or ``curl --cacert``): a clinic whose proxy re-signs TLS gives its own CA, and to trust the
  public roots too, the file must hold them as well (append certifi's ``cacert.pem``).
  Unset: certifi's public roots (``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when set, as httpx
  does). A missing or unreadable bundle is a :class:`~frontdesk.errors.ConfigurationError`
  at start-up, not a failure per request. Built once per bundle per process (loading a store
  costs about 25 ms of CPU).
- **Proxies** (:mod:`frontdesk.outbound.proxies`): ``HTTPS_PROXY`` / ``HTTP_PROXY`` /
  ``NO_PROXY`` (upper or lower case), read when the transport is built.
- **connect_check**: an ``async (host, port) -> None`` awaited before each new connection to
  a target; it raises to refuse (see :class:`~frontdesk.outbound.transport.PooledTransport`).
"""

from __future__ import annotations

import functools
import ssl
from pathlib import Path

import httpx

from frontdesk.errors import ConfigurationError
from frontdesk.outbound.proxies import ProxyRoutes
from frontdesk.outbound.transport import ConnectCheck, PooledTransport
from frontdesk.settings import HttpSettings, Settings

Transport = httpx.AsyncBaseTransport
"""What :func:`build_transport` returns (httpx's interface: tests pass an ASGI transport)."""

__all__ = ["ConnectCheck", "Transport", "build_transport", "tls_context"]


def build_transport(
    settings: Settings, *, max_connections: int, connect_check: ConnectCheck | None = None
) -> Transport:
    """A keep-alive transport of at most ``max_connections`` connections (all origins).

    Close it with ``await transport.aclose()`` when the process stops.
    """
    return PooledTransport(
        ssl_context=tls_context(settings.http),
        max_connections=max_connections,
        proxies=ProxyRoutes.from_environment(),
        connect_check=connect_check,
    )


def tls_context(settings: HttpSettings) -> ssl.SSLContext:
    """The client TLS context: the CA bundle's certificates, or the default trust store."""
    if settings.ca_bundle is None:
        return _default_context()
    return _bundle_context(settings.ca_bundle.expanduser().resolve())


@functools.cache
def _default_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


@functools.cache
def _bundle_context(path: Path) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=str(path))
    except (OSError, ValueError):  # missing, unreadable, or no certificate in it
        raise ConfigurationError(
            f"FRONTDESK_HTTP__CA_BUNDLE ({path}) is not a readable PEM file of CA certificates",
            field="http.ca_bundle",
        ) from None
