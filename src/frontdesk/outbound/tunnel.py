"""A ``CONNECT`` tunnel through an HTTP proxy, then TLS to the target inside it.

Used by :mod:`frontdesk.outbound.transport` for ``https://`` targets behind ``HTTPS_PROXY``:
connect to the proxy, send ``CONNECT host:port`` (with ``Proxy-Authorization`` when the proxy
URL carries a user), read the proxy's answer, and on a 2xx start TLS on the same socket with
``loop.start_tls`` (SNI and certificate verification against the *target's* name, as if
there were no proxy). Works on asyncio's loop and on uvloop.

Failures: a proxy that refuses the tunnel (any non-2xx, e.g. 403 or 407) or answers something
that is not HTTP is an ``httpx.ProxyError`` naming the status; a failed TLS handshake with
the target (a certificate not signed by a trusted CA) is the caller's to classify
(``ssl.SSLError``, as for a direct connection).
"""

from __future__ import annotations

import asyncio
import ssl
from typing import cast

import httpx

from frontdesk.outbound.proxies import Proxy

MAX_REPLY_BYTES = 16 * 1024
"""A CONNECT answer's head is a few hundred bytes; a proxy sending more is misbehaving."""


class _ConnectReply(asyncio.Protocol):
    """Collects the proxy's answer to CONNECT, up to the blank line."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.transport: asyncio.Transport | None = None
        self.done: asyncio.Future[bytes] = loop.create_future()
        self._buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's: no subclass check

    def data_received(self, data: bytes) -> None:
        if self.done.done():
            return
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n")
        if end >= 0:
            # Nothing may follow: the target speaks only after our TLS ClientHello.
            self.done.set_result(self._buffer[: end + 4])
        elif len(self._buffer) > MAX_REPLY_BYTES:
            self.done.set_exception(httpx.ProxyError("the proxy's CONNECT answer is too long"))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(httpx.ProxyError("the proxy closed the connection on CONNECT"))


async def open_tunnel(
    protocol: asyncio.Protocol,
    *,
    proxy: Proxy,
    host: str,
    port: int,
    ssl_context: ssl.SSLContext,
) -> asyncio.Transport:
    """A TLS transport to ``host:port`` through ``proxy``, carrying ``protocol``.

    ``protocol.connection_made`` is called with the TLS transport once the handshake is done
    (``start_tls`` itself does not call it). The caller bounds the whole with its timeout.
    """
    loop = asyncio.get_running_loop()
    reply = _ConnectReply(loop)
    await loop.create_connection(lambda: reply, proxy.host, proxy.port)
    raw = reply.transport
    assert raw is not None  # set by create_connection before it returns
    try:
        raw.write(connect_request(proxy, host, port))
        _check_reply(await reply.done)
        tls = await loop.start_tls(raw, protocol, ssl_context, server_hostname=host)
    except BaseException:
        raw.abort()
        raise
    if tls is None:  # only when the loop was closing
        raise httpx.ConnectError("the connection closed during the TLS handshake")
    protocol.connection_made(tls)
    return tls


def connect_request(proxy: Proxy, host: str, port: int) -> bytes:
    authority = (f"[{host}]" if ":" in host else host) + f":{port}"
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
    head = "\r\n".join(lines).encode("ascii")
    if proxy.authorization is not None:
        head += b"\r\nProxy-Authorization: " + proxy.authorization
    return head + b"\r\n\r\n"


def _check_reply(head: bytes) -> None:
    status_line = head.split(b"\r\n", 1)[0]
    parts = status_line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise httpx.ProxyError("the proxy did not answer CONNECT with HTTP")
    status = int(parts[1])
    if not 200 <= status < 300:
        reason = parts[2].decode("latin-1", "replace")[:80] if len(parts) > 2 else ""
        raise httpx.ProxyError(f"the proxy refused the tunnel: HTTP {status} {reason}".rstrip())
