"""One HTTP/1.1 client connection: an :class:`asyncio.Protocol` with httptools parsing.

Used only by :mod:`frontdesk.outbound.transport`, which pools these; see there for
what the pair supports and why it exists.

A request leaves in one ``write`` (head and body together). Response bytes go to the
parser as they arrive (``data_received``), so by the time the waiting task wakes, the
status, headers and whole body are there. Between exchanges a connection only watches:
the server closing it (or speaking out of turn) sets :attr:`HTTP11Connection.closed`,
a flag the pool reads instead of asking the socket.

Failures are httpx's exceptions, as httpx's own transport raises them: ``ReadTimeout``,
``WriteTimeout``, ``ReadError`` (the server hung up before the response ended: never a
truncated response), ``RemoteProtocolError`` (a response the parser rejects).
"""

# httpx passes a timeout per phase (connect, read, write, pool); each is a timer on the
# waiter, not asyncio.timeout (one context manager per phase of every exchange).
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
from typing import NamedTuple, cast

import httptools
import httpx

from frontdesk.outbound.proxies import Proxy

Route = tuple[str, str, int, "Proxy | None"]
"""Scheme, host, port and proxy: connections are reused only for the same route."""
Headers = list[tuple[bytes, bytes]]


class Received(NamedTuple):
    """A whole response."""

    status: int
    version: str
    """``"1.1"`` or ``"1.0"``."""
    reason: bytes
    headers: Headers
    body: bytes


class HTTP11Connection(asyncio.Protocol):
    """A keep-alive connection carrying one exchange at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop, route: Route) -> None:
        self.route = route
        self.transport: asyncio.Transport | None = None
        self.closed = False
        """The connection must not carry another request (peer closed, error, no keep-alive)."""
        self.idle_since = 0.0
        self._loop = loop
        self._parser = httptools.HttpResponseParser(self)
        self._writable: asyncio.Future[None] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._last_read = 0.0
        # The exchange in progress.
        self._active = False
        self._head_only = False
        self._headers_done = False
        self._complete = False
        self._keep_alive = False
        self._error: httpx.TransportError | None = None
        self._status = 0
        self._version = "1.1"
        self._reason = b""
        self._headers: Headers = []
        self._body: list[bytes] = []

    # -- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not an isinstance check: uvloop's transports implement the interface without
        # subclassing asyncio.Transport.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if not self._active:  # a server may not speak between responses
            self._close()
            return
        self._last_read = self._loop.time()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(httpx.RemoteProtocolError("the server switched protocols: not supported"))
        except httptools.HttpParserError as error:
            if self._complete:  # headers of a HEAD response, or bytes after the response
                self._parser = httptools.HttpResponseParser(self)
                self.closed = self.closed or not self._head_only
            else:
                self._fail(httpx.RemoteProtocolError(f"invalid HTTP response: {error}"))

    def eof_received(self) -> bool | None:
        self.closed = True
        if self._active:
            self._end_of_stream()
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._active:
            self._end_of_stream()
        self._wake_writer()

    def pause_writing(self) -> None:
        if self._writable is None:
            self._writable = self._loop.create_future()

    def resume_writing(self) -> None:
        self._wake_writer()

    # -- httptools callbacks ------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._complete:  # a second response to one request: keep it out of the first
            self.closed = True
            raise _StopParsing

    def on_status(self, reason: bytes) -> None:
        self._reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        parser = self._parser
        status = self._status = parser.get_status_code()
        if status < 200:  # informational (100 Continue, 103 Early Hints): the real one follows
            return
        self._headers_done = True
        self._version = parser.get_http_version()
        self._keep_alive = parser.should_keep_alive() and self._version == "1.1"
        if self._head_only:  # the parser cannot be told that a HEAD response has no body
            self._finish()
            raise _StopParsing

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._status < 200:
            self._reason, self._headers = b"", []
            return
        self._finish()

    # -- the exchange -------------------------------------------------------------------

    async def exchange(
        self,
        data: bytes,
        *,
        head_only: bool,
        write_timeout: float | None,
        read_timeout: float | None,
    ) -> Received:
        """Send one request; the response's status, version, reason, headers and body.

        On any exception (cancellation included) the connection is left half-used: the
        caller closes it.
        """
        transport = self.transport
        if self.closed or transport is None or transport.is_closing():
            raise httpx.WriteError("the connection is closed")
        self._active, self._head_only = True, head_only
        self._headers_done = self._complete = self._keep_alive = False
        self._status, self._reason, self._headers, self._body = 0, b"", [], []
        transport.write(data)
        if self._writable is not None:
            await self._drain(write_timeout)
        if not self._complete and self._error is None:
            await self._response(read_timeout)
        if self._error is not None:
            raise self._error
        headers, body = self._headers, self._body
        self._headers, self._body = [], []
        if not self._keep_alive:
            self.closed = True
        return Received(self._status, self._version, self._reason, headers, b"".join(body))

    def close(self) -> None:
        """Close an idle connection (expired, closed by the server, or the pool's end)."""
        self._close()

    def abort(self) -> None:
        """Close at once, dropping unsent bytes: for a connection a failure left half-used.

        ``close`` would wait for the write buffer to drain, forever if the server stopped
        reading.
        """
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    async def _drain(self, timeout: float | None) -> None:
        """Until the transport's buffer drained below its high-water mark."""
        writable = self._writable
        if writable is None:
            return
        timer = None if timeout is None else self._loop.call_later(timeout, _expire, writable)
        try:
            await writable
        except TimeoutError:
            raise httpx.WriteTimeout("timed out writing the request") from None
        finally:
            if timer is not None:
                timer.cancel()

    async def _response(self, timeout: float | None) -> None:
        """Until the response is complete or failed; ``ReadTimeout`` after ``timeout`` idle."""
        loop = self._loop
        waiter = self._waiter = loop.create_future()
        if timeout is not None:
            self._last_read = loop.time()
            self._timer = loop.call_later(timeout, self._read_timer, timeout)
        try:
            await waiter
        finally:
            self._waiter = None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def _read_timer(self, timeout: float) -> None:
        """The read timeout counts from the last bytes received, as a socket read's does.

        One timer per response, re-armed when bytes came since: cheaper than one per chunk.
        """
        remaining = self._last_read + timeout - self._loop.time()
        if remaining > 0:
            self._timer = self._loop.call_later(remaining, self._read_timer, timeout)
        else:
            self._timer = None
            self._fail(httpx.ReadTimeout("timed out reading the response"))

    def _finish(self) -> None:
        self._complete = True
        self._active = False
        self._wake_reader()

    def _fail(self, error: httpx.TransportError) -> None:
        if self._error is None:
            self._error = error
        self._active = False
        self.abort()
        self._wake_reader()

    def _end_of_stream(self) -> None:
        """The server closed the connection during an exchange."""
        if self._headers_done and self._ends_at_close():
            self._keep_alive = False
            self._finish()
        elif self._headers_done:
            self._fail(httpx.ReadError("the server closed the connection mid-response"))
        else:
            self._fail(httpx.ReadError("the server closed the connection without a response"))

    def _ends_at_close(self) -> bool:
        """Whether the response's body is delimited by the end of the connection."""
        if self._status in (204, 304):
            return False
        length = chunked = False
        for name, value in self._headers:
            lowered = name.lower()
            if lowered == b"transfer-encoding":
                chunked = value.strip().lower().endswith(b"chunked")
                if not chunked:
                    return True  # a transfer coding other than chunked: read until close
            elif lowered == b"content-length":
                length = True
        return not (length or chunked)

    def _close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _wake_reader(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake_writer(self) -> None:
        waiter, self._writable = self._writable, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class _StopParsing(Exception):
    """Stops the parser after a HEAD response's headers, or at bytes after a response."""


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())
