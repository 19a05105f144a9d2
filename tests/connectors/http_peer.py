"""A small asyncio HTTP/1.1 server for the transport tests, made to misbehave one way per test.

Each test gives it a ``reply`` that writes whatever bytes the test needs (a chunked body,
``Connection: close`` without closing, half a response...) and says whether to keep
serving the connection.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from frontdesk.outbound.transport import PooledTransport

Reply = Callable[[bytes, asyncio.StreamWriter], Awaitable[bool]]
"""Answers one request body; returns False to stop serving the connection."""
Serve = Callable[..., Awaitable["Server"]]


class Server:
    """Counts connections; records request heads and bodies; answers each with ``reply``."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.connections = 0
        self.heads: list[bytes] = []
        self.bodies: list[bytes] = []
        self.closed_by_client = 0
        self.server: asyncio.Server | None = None

    @property
    def requests(self) -> int:
        return len(self.bodies)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError) as error:
                    if not getattr(error, "partial", b""):  # between requests: FIN or RST
                        self.closed_by_client += 1
                    raise
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length)
                self.heads.append(head)
                self.bodies.append(body)
                if not await self.reply(body, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @property
    def port(self) -> int:
        assert self.server is not None
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/x"


def ok(body: bytes, *headers: bytes) -> bytes:
    extra = b"".join(header + b"\r\n" for header in headers)
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


async def echo(body: bytes, writer: asyncio.StreamWriter) -> bool:
    writer.write(ok(body))
    await writer.drain()
    return True


def echo_after(seconds: float) -> Reply:
    """:func:`echo`, ``seconds`` after the request arrived (a slow server)."""

    async def reply(body: bytes, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(seconds)
        return await echo(body, writer)

    return reply


def answer(response: bytes, *, keep: bool = True) -> Reply:
    """A reply that writes ``response`` to every request."""

    async def reply(_body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(response)
        await writer.drain()
        return keep

    return reply


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    servers: list[asyncio.Server] = []

    async def start(reply: Reply, *, tls: ssl.SSLContext | None = None) -> Server:
        server = Server(reply)
        server.server = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=tls)
        servers.append(server.server)
        return server

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


async def post(transport: httpx.AsyncBaseTransport, url: str, body: bytes, **ext: object) -> bytes:
    """One POST as the Unity client sends it; the response body."""
    request = httpx.Request("POST", url, content=body, extensions=ext)
    response = await transport.handle_async_request(request)
    try:
        return await response.aread()
    finally:
        await response.aclose()


def plain(max_connections: int = 4) -> PooledTransport:
    return PooledTransport(
        ssl_context=ssl.create_default_context(), max_connections=max_connections
    )
