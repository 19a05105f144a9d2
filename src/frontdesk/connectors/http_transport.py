"""The HTTP transport of the EHR clients: httpx's, with httpcore's network layer on asyncio.

httpx's default transport runs httpcore over anyio: every request pays anyio's stream and
cancel-scope layers, and every reuse of a keep-alive connection a ``getpeername`` plus a
``select`` on the socket to see whether the server closed it. The Unity connector makes one
request per patient, so that layer was a quarter of the CPU of reading a day's schedule.
:class:`AsyncioBackend` is the same layer written directly on an :class:`asyncio.Protocol`
(httpcore's documented network-backend interface): bytes are buffered as they arrive, so
"has the server closed this idle connection?" is a flag, not a system call.

Everything above the socket is unchanged — httpcore's HTTP/1.1 state machine and pool,
httpx's request, response and exception types — so the client (and the tests' in-process
ASGI transport) see no difference. Failures map to httpcore's exceptions as its anyio
backend maps them: ``ConnectError``/``ConnectTimeout``, ``ReadError``/``ReadTimeout``,
``WriteError``/``WriteTimeout``; a clean end of stream reads as ``b""``.
"""

# httpcore's network-backend interface passes timeouts as arguments: ASYNC109 does not apply.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable
from typing import Any, cast

import httpcore
import httpx

KEEPALIVE_EXPIRY_S = 5.0
"""Idle connections older than this are not reused (httpx's default)."""
FLUSH_AT = 64 * 1024
"""Held writes go out at the next read, or once this many bytes are waiting."""


class _Buffered(asyncio.Protocol):
    """Receives into a buffer; one reader and one writer at a time (httpcore's use)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False
        self.error: BaseException | None = None
        self._readable: asyncio.Future[None] | None = None
        self._writable: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not an isinstance check: uvloop's transports implement the interface without
        # subclassing asyncio.Transport.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._wake_reader()

    def eof_received(self) -> bool | None:
        self.eof = True
        self._wake_reader()
        return False  # close our side too: httpcore never half-closes

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        self._wake_reader()
        self._wake_writer()

    def pause_writing(self) -> None:
        if self._writable is None:
            self._writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        self._wake_writer()

    async def wait_readable(self, timeout: float | None) -> None:
        """Until bytes or the end of the stream arrive; ``TimeoutError`` after ``timeout``.

        A timer on the waiter, not ``asyncio.timeout``: this runs once per response.
        """
        if self.buffer or self.eof:
            return
        loop = asyncio.get_running_loop()
        waiter = self._readable = loop.create_future()
        timer = None if timeout is None else loop.call_later(timeout, _expire, waiter)
        try:
            await waiter
        finally:
            self._readable = None
            if timer is not None:
                timer.cancel()

    async def wait_writable(self, timeout: float | None) -> None:
        """Until the transport's buffer drained below its high-water mark."""
        if self._writable is None:
            return
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(self._writable)
        except TimeoutError:
            raise httpcore.WriteTimeout("timed out writing the request") from None

    def _wake_reader(self) -> None:
        if self._readable is not None and not self._readable.done():
            self._readable.set_result(None)

    def _wake_writer(self) -> None:
        waiter, self._writable = self._writable, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One TCP (or TLS) connection as httpcore sees it.

    Writes are held until the next read (or :data:`FLUSH_AT` bytes): httpcore writes a
    request's head and body separately, and a client reads after every request, so each
    request leaves in one ``send`` (one segment for a small request) instead of two.
    """

    def __init__(self, protocol: _Buffered) -> None:
        self._protocol = protocol
        self._pending: list[bytes] = []
        self._pending_size = 0

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        protocol = self._protocol
        if self._pending:
            await self._flush(timeout)
        if not protocol.buffer and not protocol.eof:
            try:
                await protocol.wait_readable(timeout)
            except TimeoutError:
                raise httpcore.ReadTimeout("timed out reading the response") from None
        if protocol.buffer:
            data = bytes(protocol.buffer[:max_bytes])
            del protocol.buffer[:max_bytes]
            return data
        if protocol.error is not None:
            raise httpcore.ReadError(str(protocol.error) or type(protocol.error).__name__)
        return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        transport = self._protocol.transport
        if transport is None or transport.is_closing():
            raise httpcore.WriteError("the connection is closed")
        self._pending.append(buffer)
        self._pending_size += len(buffer)
        if self._pending_size >= FLUSH_AT:
            await self._flush(timeout)

    async def _flush(self, timeout: float | None) -> None:
        protocol = self._protocol
        data = b"".join(self._pending)
        self._pending, self._pending_size = [], 0
        transport = protocol.transport
        if transport is None or transport.is_closing():
            raise httpcore.WriteError("the connection is closed")
        transport.write(data)
        await protocol.wait_writable(timeout)
        if protocol.error is not None:
            raise httpcore.WriteError(str(protocol.error) or type(protocol.error).__name__)

    async def aclose(self) -> None:
        transport = self._protocol.transport
        if transport is not None:
            transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> AsyncioStream:
        protocol = self._protocol
        assert protocol.transport is not None
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(
                    protocol.transport, protocol, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError:
            protocol.transport.close()
            raise httpcore.ConnectTimeout("timed out in the TLS handshake") from None
        except (OSError, ssl.SSLError) as error:
            protocol.transport.close()
            raise httpcore.ConnectError(str(error)) from None
        protocol.transport = cast(asyncio.Transport, transport)
        return self

    def get_extra_info(self, info: str) -> Any:
        protocol = self._protocol
        if info == "is_readable":  # an idle keep-alive connection the server closed (or spoke on)
            return bool(protocol.buffer) or protocol.eof
        if protocol.transport is None:
            return None
        names = {"ssl_object": "ssl_object", "client_addr": "sockname", "server_addr": "peername"}
        if info in names:
            return protocol.transport.get_extra_info(names[info])
        if info == "socket":
            return protocol.transport.get_extra_info("socket")
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend on the running asyncio loop."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> AsyncioStream:
        loop = asyncio.get_running_loop()
        local = (local_address, 0) if local_address else None
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_connection(
                    _Buffered, host, port, local_addr=local
                )
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"timed out connecting to {host}:{port}") from None
        except OSError as error:
            raise httpcore.ConnectError(str(error)) from None
        sock = transport.get_extra_info("socket")
        if sock is not None:
            for option in socket_options or ():
                sock.setsockopt(*option)
        return AsyncioStream(protocol)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class PooledTransport(httpx.AsyncHTTPTransport):
    """httpx's transport (request/response types, exception mapping) on :class:`AsyncioBackend`.

    httpx takes no network backend as an argument, so the pool it built is replaced by one
    with the same settings (and these limits) on ours;
    ``tests/connectors/test_http_transport.py`` fails if a future httpx stops keeping its
    pool where this looks.
    """

    def __init__(self, *, ssl_context: ssl.SSLContext, max_connections: int) -> None:
        super().__init__(verify=ssl_context)  # its pool is replaced below
        if not isinstance(getattr(self, "_pool", None), httpcore.AsyncConnectionPool):
            raise RuntimeError("httpx.AsyncHTTPTransport no longer keeps its pool in _pool")
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=KEEPALIVE_EXPIRY_S,
            http1=True,
            http2=False,
            network_backend=AsyncioBackend(),
        )
