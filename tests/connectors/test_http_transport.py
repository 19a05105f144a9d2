"""The EHR clients' HTTP transport over real sockets: the pool, timeouts, TLS, big bodies.

A small asyncio HTTP/1.1 server (``http_peer``) plays the remote end, so each test can make
it misbehave in exactly one way (close an idle connection, stall, never read). Every test
runs on asyncio's loop and on uvloop (``tests/conftest.py``). Response framing (chunked,
``Connection: close``, early ends) is in ``test_http_responses.py``.
"""

from __future__ import annotations

import asyncio
import datetime
import ssl
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from tests.connectors.http_peer import Serve, answer, echo, echo_after, ok, plain, post

from frontdesk.outbound import transport as http_transport
from frontdesk.outbound.transport import PooledTransport

TIMEOUTS = {"connect": 1.0, "read": 1.0, "write": 1.0, "pool": 1.0}


async def test_sequential_requests_reuse_one_connection(serve: Serve) -> None:
    server = await serve(echo)
    transport = plain()
    for n in range(50):
        assert await post(transport, server.url, b"n=%d" % n) == b"n=%d" % n
    await transport.aclose()
    assert (server.requests, server.connections) == (50, 1)


async def test_concurrent_requests_stay_within_the_pool(serve: Serve) -> None:
    server = await serve(echo)
    transport = plain()
    bodies = [b"%d" % n for n in range(40)]
    assert await asyncio.gather(*(post(transport, server.url, b) for b in bodies)) == bodies
    await transport.aclose()
    assert server.connections <= 4


async def test_waiters_are_served_in_arrival_order(serve: Serve) -> None:
    server = await serve(echo_after(0.02))
    transport = plain(max_connections=1)
    tasks = []
    for n in range(6):
        tasks.append(asyncio.create_task(post(transport, server.url, b"%d" % n)))
        await asyncio.sleep(0.001)  # each task queues before the next starts
    await asyncio.gather(*tasks)
    await transport.aclose()
    assert server.bodies == [b"%d" % n for n in range(6)]
    assert server.connections == 1  # handed from one request to the next, never reopened


async def test_a_connection_the_server_closed_while_idle_is_not_reused(serve: Serve) -> None:
    async def once(body: bytes, writer: asyncio.StreamWriter) -> bool:
        await echo(body, writer)
        return False  # then hang up: the client's idle connection is now closed

    server = await serve(once)
    transport = plain()
    assert await post(transport, server.url, b"a") == b"a"
    await asyncio.sleep(0.05)  # the FIN arrives while the connection is idle in the pool
    assert await post(transport, server.url, b"b") == b"b"
    await transport.aclose()
    assert server.connections == 2


async def test_an_idle_connection_expires(serve: Serve, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_transport, "KEEPALIVE_EXPIRY_S", 0.05)
    server = await serve(echo)
    transport = plain()
    assert await post(transport, server.url, b"a") == b"a"
    assert await post(transport, server.url, b"b") == b"b"
    await asyncio.sleep(0.1)
    assert await post(transport, server.url, b"c") == b"c"
    await transport.aclose()
    assert server.connections == 2
    await asyncio.sleep(0.05)
    assert server.closed_by_client == 2  # the expired one was closed, not leaked


async def test_aclose_closes_idle_connections(serve: Serve) -> None:
    server = await serve(echo)
    transport = plain()
    await asyncio.gather(*(post(transport, server.url, b"x") for _ in range(3)))
    await transport.aclose()
    await asyncio.sleep(0.05)
    assert server.closed_by_client == server.connections > 0


async def test_large_bodies_both_ways(serve: Serve) -> None:
    server = await serve(echo)
    transport = plain()
    body = bytes(range(256)) * 40_000  # 10 MB: flow control on the way out, many reads back
    assert await post(transport, server.url, body) == body
    await transport.aclose()


async def test_refused_connection_is_a_connect_error(serve: Serve) -> None:
    server = await serve(echo)
    url = server.url
    assert server.server is not None
    server.server.close()
    await server.server.wait_closed()
    transport = plain()
    with pytest.raises(httpx.ConnectError):
        await post(transport, url, b"a")
    assert await _pool_still_serves(transport, serve)  # the failed connect freed its slot


async def test_unsupported_scheme() -> None:
    transport = plain()
    with pytest.raises(httpx.UnsupportedProtocol):
        await post(transport, "ftp://127.0.0.1/x", b"a")


async def test_a_header_that_would_split_the_request_is_refused(serve: Serve) -> None:
    server = await serve(echo)
    transport = plain()
    request = httpx.Request(
        "POST", server.url, headers={"X-Id": "1\r\nX-Injected: 1"}, content=b"a"
    )
    with pytest.raises(httpx.LocalProtocolError):
        await transport.handle_async_request(request)
    await transport.aclose()
    assert server.requests == 0


async def test_a_stalled_server_is_a_read_timeout(serve: Serve) -> None:
    async def stall(_body: bytes, _writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(5)
        return False

    server = await serve(stall)
    transport = plain()
    with pytest.raises(httpx.ReadTimeout):
        await post(transport, server.url, b"a", timeout={**TIMEOUTS, "read": 0.1})
    await transport.aclose()


async def test_the_read_timeout_counts_from_the_last_bytes(serve: Serve) -> None:
    async def trickle(_body: bytes, writer: asyncio.StreamWriter) -> bool:
        for piece in (b"HTTP/1.1 200 OK\r\n", b"Content-Length: 2\r\n\r\n", b"o", b"k"):
            await asyncio.sleep(0.06)
            writer.write(piece)
        return True

    server = await serve(trickle)
    transport = plain()
    # 0.24 s in all, never 0.1 s without a byte
    assert await post(transport, server.url, b"a", timeout={**TIMEOUTS, "read": 0.1}) == b"ok"
    await transport.aclose()


async def test_a_server_that_does_not_read_is_a_write_timeout() -> None:
    hung_up = asyncio.Event()

    async def never_read(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await hung_up.wait()
        writer.close()

    server = await asyncio.start_server(never_read, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport = plain()
    body = b"x" * 50_000_000  # more than the socket buffers hold
    with pytest.raises(httpx.WriteTimeout):
        await post(
            transport, f"http://127.0.0.1:{port}/x", body, timeout={**TIMEOUTS, "write": 0.2}
        )
    await transport.aclose()
    hung_up.set()
    server.close()
    await server.wait_closed()


async def test_a_full_pool_is_a_pool_timeout(serve: Serve) -> None:
    server = await serve(echo_after(0.3))
    transport = plain(max_connections=2)
    busy = [asyncio.create_task(post(transport, server.url, b"busy")) for _ in range(2)]
    await asyncio.sleep(0.05)
    with pytest.raises(httpx.PoolTimeout):
        await post(transport, server.url, b"late", timeout={**TIMEOUTS, "pool": 0.1})
    assert await asyncio.gather(*busy) == [b"busy", b"busy"]
    assert await post(transport, server.url, b"next") == b"next"  # the timed-out waiter left
    await transport.aclose()
    assert server.connections == 2


async def test_cancelled_mid_response_the_connection_is_closed_not_reused(serve: Serve) -> None:
    async def half_then_stall(body: bytes, writer: asyncio.StreamWriter) -> bool:
        if body == b"first":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")
            await writer.drain()
            await asyncio.sleep(0.2)
            writer.write(b"-" * 91)  # too late: would be read as the next response's start
            return True
        return await echo(body, writer)

    server = await serve(half_then_stall)
    transport = plain(max_connections=1)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):  # as the Unity client wraps every exchange
            await post(transport, server.url, b"first")
    assert await post(transport, server.url, b"second") == b"second"  # its slot was freed
    await asyncio.sleep(0.2)
    assert server.closed_by_client == 1  # the half-read connection, closed by the client
    await transport.aclose()
    assert server.connections == 2


async def test_a_cancelled_waiter_leaves_the_queue(serve: Serve) -> None:
    async def slow_echo(body: bytes, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.1)
        return await echo(body, writer)

    server = await serve(slow_echo)
    transport = plain(max_connections=1)
    first = asyncio.create_task(post(transport, server.url, b"1"))
    await asyncio.sleep(0.01)
    waiting = asyncio.create_task(post(transport, server.url, b"2"))
    await asyncio.sleep(0.01)
    waiting.cancel()
    assert await first == b"1"
    assert await post(transport, server.url, b"3") == b"3"
    await transport.aclose()
    assert server.bodies == [b"1", b"3"]
    assert server.connections == 1


async def test_a_request_leaves_in_one_write() -> None:
    """Head and body in one buffer: one send, one segment for a small request."""
    chunks: list[bytes] = []

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        chunks.append(await reader.read(65536))
        writer.write(ok(b"done"))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(record, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport = plain()
    assert await post(transport, f"http://127.0.0.1:{port}/x?a=1", b"body") == b"done"
    await transport.aclose()
    server.close()
    await server.wait_closed()
    head, body = chunks[0].split(b"\r\n\r\n")
    assert body == b"body"
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /x?a=1 HTTP/1.1"
    assert f"host: 127.0.0.1:{port}".encode() in [line.lower() for line in lines]
    assert b"content-length: 4" in [line.lower() for line in lines]


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


async def test_https_verifies_the_server(serve: Serve, tmp_path: Path) -> None:
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


async def _pool_still_serves(transport: PooledTransport, serve: Serve) -> bool:
    server = await serve(answer(ok(b"fine")))
    results = await asyncio.gather(*(post(transport, server.url, b"") for _ in range(8)))
    await transport.aclose()
    return results == [b"fine"] * 8
