"""The process's outbound HTTP transport: HTTP/1.1 on asyncio, responses parsed by httptools.

Built by :func:`frontdesk.outbound.http.build_transport` (TLS trust and proxies from the
settings and the environment) for the EHR clients and the webhook sender alike.

**Why.** The Unity connector makes one small POST per patient, so the per-exchange cost
of the HTTP layer is a large share of the CPU of reading a day's schedule. httpx's own
transport runs each exchange through httpcore's pool and connection state machine, h11's
pure-Python parser and anyio's cancellation shields; this module does the same job with
one :class:`asyncio.Protocol` per connection and llhttp (through httptools, the parser
uvicorn uses), and returns httpx's :class:`~httpx.Response`, so the client — and the tests'
in-process :class:`httpx.ASGITransport` — see the same interface
(:class:`httpx.AsyncBaseTransport`).

**Supports.** ``http`` and ``https`` (asyncio TLS with the given context, SNI and
verification against the URL's host; a failed verification is a ``ConnectError``);
keep-alive pooling, at most ``max_connections`` connections, waiters served first come
first served, idle connections closed after :data:`KEEPALIVE_EXPIRY_S` or as soon as the
server closes them (a flag set by the protocol, no system call); request bodies of known
length or streamed (then sent chunked), each request in one write; responses with
``Content-Length``, chunked, or delimited by the end of the connection; ``Connection:
close`` and HTTP/1.0 responses end the connection's reuse; 1xx responses are skipped. The
connect, read, write and pool timeouts of ``request.extensions["timeout"]`` raise httpx's
``ConnectTimeout``, ``ReadTimeout``, ``WriteTimeout`` and ``PoolTimeout``; a refused or
failed connection ``ConnectError``; a server hanging up mid-response ``ReadError``, never a
truncated response. A cancelled request closes its connection. Works on the default event
loop and on uvloop.

**Proxies** (``proxies``, see :mod:`frontdesk.outbound.proxies`): an ``http`` target through
its proxy gets the absolute-form request target (``POST http://host:port/path``) and the
proxy's ``Proxy-Authorization``; an ``https`` target goes through a ``CONNECT`` tunnel and TLS
inside it (:mod:`frontdesk.outbound.tunnel`). Connections are pooled per route (scheme, host,
port, proxy), so a tunnel carries one origin. ``connect_check(host, port)``, when given, is
awaited before each new connection to a target (the target's host and port, proxy or not;
outside the connect timeout: it bounds its own work); an exception it raises reaches the
caller unchanged and no connection is opened.

**Outbound rule.** When ``connect_check`` returns addresses (``OutboundPolicy.check_connect`` from
:mod:`frontdesk.security.outbound` resolves the host and verifies them, or raises), a direct
connection goes to those verified addresses only, never to a second resolution (DNS
rebinding) (TLS still verifies the certificate against the URL's host).

**Does not.** HTTP/2, https or SOCKS proxies, ``Expect: 100-continue``, protocol upgrades, or
streaming a response: the body is read whole before
:meth:`PooledTransport.handle_async_request` returns (every caller reads bodies whole anyway).

**Why not a library.** CONVENTIONS rule 17 asks for a kept library unless a benchmark shows
it misses a target. Measured 2026-12 on the shared 2-CPU box, uvloop, alternated three times
(load from ``uptime`` 0.9–2.3), client CPU per exchange in ``bench/http_exchange.py`` (5,000
POSTs, 32 at a time, one pool): this transport 70 / 53 / 54 µs; aiohttp 3.14's client behind
an httpx transport adapter (``bench/aiohttp_transport.py``) 115 / 117 µs with ``trust_env``
off and 261–396 µs with it on (it re-reads the proxy variables per request); httpx's own
transport (httpcore) 1203–1538 µs. End to end, ``bench/unity_read.py --transport`` (20 groups
× 200 appointments at 50 ms, one shared pool, load 3.1–4.4): 0.219 / 0.237 / 0.225 ms CPU per
appointment here against 0.316 / 0.336 / 0.317 with aiohttp (wall ratio 1.15–1.26 against
1.24–1.42). The ~0.1 ms aiohttp adds per appointment is more than the sync target (≤ 1 ms
CPU per appointment end to end, met at 0.77–0.98 ms) can absorb, so this transport stays and
does proxies itself.
"""

# httpx passes a timeout per phase (connect, read, write, pool); each is a timer on the
# waiter, not asyncio.timeout (one context manager per phase of every exchange).
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

import httpx

from frontdesk.outbound.connection import HTTP11Connection, Route
from frontdesk.outbound.proxies import Proxy, ProxyRoutes
from frontdesk.outbound.tunnel import open_tunnel

KEEPALIVE_EXPIRY_S = 5.0
"""Idle connections older than this are not reused (httpx's default)."""
DEFAULT_PORTS = {"http": 80, "https": 443}

ConnectCheck = Callable[[str, int], Awaitable[Sequence[str] | None]]
"""Awaited with a target's host and port before each new connection; raises to refuse;
may return the verified addresses a direct connection must use (None: connect by name)."""
_Waiter = tuple[Route, "asyncio.Future[HTTP11Connection | None]"]


class PooledTransport(httpx.AsyncBaseTransport):
    """A keep-alive pool of :class:`HTTP11Connection` for any number of origins."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext,
        max_connections: int,
        proxies: ProxyRoutes | None = None,
        connect_check: ConnectCheck | None = None,
    ) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self._ssl_context = ssl_context
        self._max_connections = max_connections
        self._proxies = proxies
        self._connect_check = connect_check
        self._slots = 0
        """Connections open or being opened (at most ``max_connections``)."""
        self._connections: set[HTTP11Connection] = set()
        self._idle: dict[Route, list[HTTP11Connection]] = {}
        """Per route, oldest first: reuse takes the newest, expiry starts at the oldest."""
        self._waiters: deque[_Waiter] = deque()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        port = DEFAULT_PORTS.get(scheme)
        if port is None:
            raise httpx.UnsupportedProtocol(
                f"unsupported URL scheme {scheme!r}: only http and https", request=request
            )
        host = url.raw_host.decode("ascii")
        if not host:
            raise httpx.UnsupportedProtocol("the URL has no host", request=request)
        port = url.port or port
        proxy = None if self._proxies is None else self._proxies.proxy_for(scheme, host, port)
        route = (scheme, host, port, proxy)
        timeouts = request.extensions.get("timeout") or {}
        if proxy is not None and scheme == "http":  # forwarded: absolute-form target
            data = await _request_bytes(
                request,
                b"%s://%s%s" % (url.raw_scheme, url.netloc, url.raw_path),
                proxy.authorization,
            )
        else:
            data = await _request_bytes(request, url.raw_path, None)

        connection = await self._acquire(route, timeouts.get("pool"), request)
        if connection is None:  # a slot is ours: open a connection in it
            connection = await self._open(route, timeouts.get("connect"), request)
        try:
            received = await connection.exchange(
                data,
                head_only=request.method == "HEAD",
                write_timeout=timeouts.get("write"),
                read_timeout=timeouts.get("read"),
            )
        except BaseException as error:
            self._discard(connection)  # half-used: never back in the pool
            if isinstance(error, httpx.RequestError):
                error.request = request
            raise
        self._release(connection)
        return httpx.Response(
            received.status,
            headers=received.headers,
            stream=httpx.ByteStream(received.body),  # as httpx's transport: headers as received
            request=request,
            extensions={
                "http_version": b"HTTP/" + received.version.encode(),
                "reason_phrase": received.reason,
            },
        )

    async def aclose(self) -> None:
        """Close every connection: idle ones now, busy ones fail their exchange."""
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
                self._connections.discard(connection)
                self._slots -= 1
        self._idle.clear()
        for connection in self._connections:
            connection.abort()

    # -- the pool -----------------------------------------------------------------------

    async def _acquire(
        self, route: Route, timeout: float | None, request: httpx.Request
    ) -> HTTP11Connection | None:
        """An idle connection on ``route``, or ``None`` for a free slot to open one in."""
        if not self._waiters:  # else queue behind them: first come, first served
            connection = self._take_idle(route)
            if connection is not None:
                return connection
            if self._slots < self._max_connections:
                self._slots += 1
                return None
            if self._close_idle_elsewhere():
                return None
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[HTTP11Connection | None] = loop.create_future()
        entry = (route, waiter)
        self._waiters.append(entry)
        timer = None if timeout is None else loop.call_later(timeout, _expire, waiter)
        try:
            connection = await waiter
        except TimeoutError:
            self._forget_waiter(entry)
            raise httpx.PoolTimeout("timed out waiting for a connection", request=request) from None
        except asyncio.CancelledError:
            if waiter.cancelled() or waiter.exception() is not None:
                self._forget_waiter(entry)
            else:  # served (and so dequeued) just as we were cancelled: give it back
                self._hand_back(waiter.result())
            raise
        finally:
            if timer is not None:
                timer.cancel()
        if connection is not None and connection.closed:  # closed since it was handed over
            self._connections.discard(connection)
            connection.close()
            return None  # its slot is ours
        return connection

    def _take_idle(self, route: Route) -> HTTP11Connection | None:
        idle = self._idle.get(route)
        if not idle:
            return None
        now = asyncio.get_running_loop().time()
        while idle and now - idle[0].idle_since > KEEPALIVE_EXPIRY_S:
            self._drop(idle.pop(0))
        while idle:
            connection = idle.pop()
            if not connection.closed:
                return connection
            self._drop(connection)
        return None

    def _close_idle_elsewhere(self) -> bool:
        """Close an idle connection on another route to free its slot (the oldest one)."""
        oldest: HTTP11Connection | None = None
        for idle in self._idle.values():
            if idle and (oldest is None or idle[0].idle_since < oldest.idle_since):
                oldest = idle[0]
        if oldest is None:
            return False
        self._idle[oldest.route].pop(0)
        self._connections.discard(oldest)
        oldest.close()  # its slot goes to the caller
        return True

    async def _open(
        self, route: Route, timeout: float | None, request: httpx.Request
    ) -> HTTP11Connection:
        """Connect in a slot already taken; the slot is freed if this fails."""
        scheme, host, port, proxy = route
        loop = asyncio.get_running_loop()
        connection = HTTP11Connection(loop, route)
        tls = self._ssl_context if scheme == "https" else None
        addresses: Sequence[str] | None = None
        if self._connect_check is not None:
            try:
                addresses = await self._connect_check(host, port)
            except BaseException:  # refused (or cancelled): unchanged to the caller
                self._free_slot()
                raise
        try:
            async with asyncio.timeout(timeout):
                if proxy is None:
                    await self._connect_direct(connection, host, port, tls, addresses)
                elif tls is None:  # plain http: the proxy forwards each request
                    await loop.create_connection(lambda: connection, proxy.host, proxy.port)
                else:
                    await open_tunnel(
                        connection, proxy=proxy, host=host, port=port, ssl_context=tls
                    )
        except TimeoutError:
            self._free_slot()
            raise httpx.ConnectTimeout(
                f"timed out connecting to {_through(host, port, proxy)}", request=request
            ) from None
        except ssl.SSLCertVerificationError as error:
            self._free_slot()
            raise httpx.ConnectError(
                f"TLS certificate of {host}:{port} not trusted: {error.verify_message}"
                " (see FRONTDESK_HTTP__CA_BUNDLE)",
                request=request,
            ) from None
        except OSError as error:  # ssl.SSLError is an OSError
            self._free_slot()
            raise httpx.ConnectError(
                f"cannot connect to {_through(host, port, proxy)}: {error or type(error).__name__}",
                request=request,
            ) from None
        except BaseException as error:
            self._free_slot()
            if isinstance(error, httpx.RequestError):
                error.request = request
            raise
        self._connections.add(connection)
        return connection

    async def _connect_direct(
        self,
        connection: HTTP11Connection,
        host: str,
        port: int,
        tls: ssl.SSLContext | None,
        addresses: Sequence[str] | None,
    ) -> None:
        """Connect to ``host`` by name, or to the first verified address that answers."""
        loop = asyncio.get_running_loop()
        server_hostname = host if tls is not None else None
        if addresses is None:
            await loop.create_connection(
                lambda: connection, host, port, ssl=tls, server_hostname=server_hostname
            )
            return
        failure: OSError | None = None
        for address in addresses:
            try:
                await loop.create_connection(
                    lambda: connection, address, port, ssl=tls, server_hostname=server_hostname
                )
                return
            except OSError as error:
                failure = error
        raise failure or OSError("no address to connect to")

    def _release(self, connection: HTTP11Connection) -> None:
        """After a complete exchange: to the first waiter, or idle, or closed."""
        if connection.closed:  # Connection: close, HTTP/1.0, or the server hung up
            connection.close()
            self._connections.discard(connection)
            self._free_slot()
            return
        connection.idle_since = asyncio.get_running_loop().time()
        while self._waiters:
            route, waiter = self._waiters.popleft()
            if waiter.done():
                continue
            if route == connection.route:
                waiter.set_result(connection)
            else:  # its slot, not the connection, serves the waiter
                self._connections.discard(connection)
                connection.close()
                waiter.set_result(None)
            return
        self._idle.setdefault(connection.route, []).append(connection)

    def _hand_back(self, connection: HTTP11Connection | None) -> None:
        """A waiter cancelled after being served returns what it was given."""
        if connection is None:
            self._free_slot()
        else:
            self._release(connection)

    def _discard(self, connection: HTTP11Connection) -> None:
        connection.abort()
        self._connections.discard(connection)
        self._free_slot()

    def _drop(self, connection: HTTP11Connection) -> None:
        """Close an idle connection while nobody waits (so the slot is simply freed)."""
        connection.close()
        self._connections.discard(connection)
        self._slots -= 1

    def _free_slot(self) -> None:
        while self._waiters:
            _, waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._slots -= 1

    def _forget_waiter(self, entry: _Waiter) -> None:
        with contextlib.suppress(ValueError):  # already served or skipped
            self._waiters.remove(entry)


async def _request_bytes(
    request: httpx.Request, target: bytes, proxy_authorization: bytes | None
) -> bytes:
    """The request's head and body as one buffer (one write, one segment when small)."""
    url = request.url
    fields = request.headers.raw
    if "host" not in request.headers:
        fields = [(b"Host", url.netloc), *fields]
    if proxy_authorization is not None:
        fields = [*fields, (b"Proxy-Authorization", proxy_authorization)]
    try:
        body = request.content
    except httpx.RequestNotRead:  # a streamed body: httpx set Transfer-Encoding: chunked
        body = await request.aread()
        if request.headers.get("transfer-encoding", "").lower() == "chunked":
            body = (b"%x\r\n%s\r\n" % (len(body), body) if body else b"") + b"0\r\n\r\n"
    head = b"%s %s HTTP/1.1\r\n%s\r\n\r\n" % (
        request.method.encode("ascii"),
        target,
        b"\r\n".join([b"%s: %s" % field for field in fields]),
    )
    lines = len(fields) + 2
    if head.count(b"\n") != lines or head.count(b"\r") != lines or b"\0" in head:
        # httpx lets CR, LF and NUL through in header values: they would split the request.
        raise httpx.LocalProtocolError("invalid character in the request head", request=request)
    return head + body


def _through(host: str, port: int, proxy: Proxy | None) -> str:
    where = f"{host}:{port}"
    return where if proxy is None else f"{where} through the proxy {proxy.address}"


def _expire(waiter: asyncio.Future[HTTP11Connection | None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())
