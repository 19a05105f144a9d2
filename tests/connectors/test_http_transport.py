"""The EHR clients' HTTP transport over real sockets: reuse, closes, timeouts, TLS, big bodies.

A small asyncio HTTP/1.1 server plays the remote end, so each test can make it misbehave in
exactly one way (close an idle connection, stall, hang up mid-response).
"""

from __future__ import annotations

import asyncio
import datetime
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpcore
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from frontdesk.connectors.http_transport import AsyncioBackend, PooledTransport

Reply = Callable[[bytes, asyncio.StreamWriter], Awaitable[bool]]
"""Answers one request body; returns False to stop serving the connection."""


class Server:
    """Counts connections; answers each request with ``reply``."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.connections = 0
        self.requests = 0
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length)
                self.requests += 1
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


def ok(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


async def echo(body: bytes, writer: asyncio.StreamWriter) -> bool:
    writer.write(ok(body))
    await writer.drain()
    return True


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[Server]]]:
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
    request = httpx.Request("POST", url, content=body, extensions=ext)
    response = await transport.handle_async_request(request)
    try:
        return await response.aread()
    finally:
        await response.aclose()


def plain() -> PooledTransport:
    return PooledTransport(ssl_context=ssl.create_default_context(), max_connections=4)


def test_the_pool_runs_on_the_asyncio_backend() -> None:
    transport = plain()
    pool = transport._pool
    assert isinstance(pool, httpcore.AsyncConnectionPool)
    assert isinstance(pool._network_backend, AsyncioBackend)


async def test_sequential_requests_reuse_one_connection(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    server = await serve(echo)
    transport = plain()
    url = f"http://127.0.0.1:{server.port}/x"
    for n in range(50):
        assert await post(transport, url, b"n=%d" % n) == b"n=%d" % n
    await transport.aclose()
    assert (server.requests, server.connections) == (50, 1)


async def test_concurrent_requests_stay_within_the_pool(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    server = await serve(echo)
    transport = plain()
    url = f"http://127.0.0.1:{server.port}/x"
    bodies = [b"%d" % n for n in range(40)]
    assert await asyncio.gather(*(post(transport, url, b) for b in bodies)) == bodies
    await transport.aclose()
    assert server.connections <= 4


async def test_a_connection_the_server_closed_while_idle_is_not_reused(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    async def once(body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(ok(body))
        await writer.drain()
        return False  # then hang up: the client's idle connection is now closed

    server = await serve(once)
    transport = plain()
    url = f"http://127.0.0.1:{server.port}/x"
    assert await post(transport, url, b"a") == b"a"
    await asyncio.sleep(0.05)  # the FIN arrives while the connection is idle in the pool
    assert await post(transport, url, b"b") == b"b"
    await transport.aclose()
    assert server.connections == 2


async def test_large_bodies_both_ways(serve: Callable[..., Awaitable[Server]]) -> None:
    server = await serve(echo)
    transport = plain()
    body = bytes(range(256)) * 40_000  # 10 MB: flow control on the way out, many reads back
    assert await post(transport, f"http://127.0.0.1:{server.port}/x", body) == body
    await transport.aclose()


async def test_refused_connection_is_a_connect_error(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    server = await serve(echo)
    port = server.port
    assert server.server is not None
    server.server.close()
    await server.server.wait_closed()
    transport = plain()
    with pytest.raises(httpx.ConnectError):
        await post(transport, f"http://127.0.0.1:{port}/x", b"a")
    await transport.aclose()


async def test_a_stalled_server_is_a_read_timeout(serve: Callable[..., Awaitable[Server]]) -> None:
    async def stall(_body: bytes, _writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(5)
        return False

    server = await serve(stall)
    transport = plain()
    timeouts = {"connect": 1.0, "read": 0.1, "write": 1.0, "pool": 1.0}
    with pytest.raises(httpx.ReadTimeout):
        await post(transport, f"http://127.0.0.1:{server.port}/x", b"a", timeout=timeouts)
    await transport.aclose()


async def test_a_hang_up_mid_response_is_a_transport_error(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    async def cut(_body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")
        await writer.drain()
        return False

    server = await serve(cut)
    transport = plain()
    with pytest.raises(httpx.TransportError):
        await post(transport, f"http://127.0.0.1:{server.port}/x", b"a")
    await transport.aclose()


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_https_verifies_the_server(
    serve: Callable[..., Awaitable[Server]], tmp_path: Path
) -> None:
    cert, key = _self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    server = await serve(echo, tls=server_tls)
    url = f"https://localhost:{server.port}/x"

    trusting = ssl.create_default_context(cafile=str(cert))
    transport = PooledTransport(ssl_context=trusting, max_connections=2)
    assert await post(transport, url, b"secret") == b"secret"
    assert await post(transport, url, b"again") == b"again"
    await transport.aclose()
    assert server.connections == 1

    untrusting = PooledTransport(ssl_context=ssl.create_default_context(), max_connections=2)
    with pytest.raises(httpx.ConnectError):
        await post(untrusting, url, b"secret")
    await untrusting.aclose()


async def test_a_request_leaves_whole_when_the_response_is_awaited() -> None:
    """Head and body are held until the read: one send per request, not two."""
    chunks: list[bytes] = []
    arrived = asyncio.Event()

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        chunks.append(await reader.read(65536))
        arrived.set()
        writer.write(b"done")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(record, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=1.0)
    await stream.write(b"POST /x HTTP/1.1\r\nContent-Length: 4\r\n\r\n", timeout=1.0)
    await stream.write(b"body", timeout=1.0)
    await asyncio.sleep(0.05)
    assert not arrived.is_set()  # nothing sent yet
    assert await stream.read(100, timeout=1.0) == b"done"
    assert chunks == [b"POST /x HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody"]
    await stream.aclose()
    server.close()
    await server.wait_closed()
