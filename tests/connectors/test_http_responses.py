"""How the EHR clients' HTTP transport reads responses: framing, reuse, and early ends.

A response is whole or an error, never a truncated body; a connection is reused only when
the response says it may be. Runs on asyncio's loop and on uvloop (``tests/conftest.py``).
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from tests.connectors.http_peer import Serve, answer, echo, ok, plain, post

CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: yes\r\n\r\n"
)


async def test_a_chunked_response_is_joined_and_the_connection_reused(serve: Serve) -> None:
    server = await serve(answer(CHUNKED))
    transport = plain()
    assert await post(transport, server.url, b"a") == b"hello world"
    assert await post(transport, server.url, b"b") == b"hello world"
    await transport.aclose()
    assert server.connections == 1


async def test_a_response_arriving_byte_by_byte(serve: Serve) -> None:
    async def bytewise(_body: bytes, writer: asyncio.StreamWriter) -> bool:
        for byte in CHUNKED:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0)
        return True

    server = await serve(bytewise)
    transport = plain()
    assert await post(transport, server.url, b"a") == b"hello world"
    await transport.aclose()


async def test_status_headers_and_reason_reach_the_response(serve: Serve) -> None:
    server = await serve(
        answer(b"HTTP/1.1 503 Busy Now\r\nRetry-After: 7\r\nContent-Length: 2\r\n\r\nno")
    )
    transport = plain()
    response = await transport.handle_async_request(httpx.Request("POST", server.url))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"
    assert response.extensions["reason_phrase"] == b"Busy Now"
    assert response.extensions["http_version"] == b"HTTP/1.1"
    assert await response.aread() == b"no"
    await response.aclose()
    await transport.aclose()


@pytest.mark.parametrize(
    "response",
    [
        pytest.param(ok(b"bye", b"Connection: close"), id="connection-close"),
        pytest.param(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nbye", id="http-1.0"),
        pytest.param(
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nbye",
            id="http-1.0-keep-alive",
        ),
    ],
)
async def test_a_response_that_ends_the_connection_is_not_reused(
    serve: Serve, response: bytes
) -> None:
    server = await serve(answer(response))  # the server keeps the socket open regardless
    transport = plain()
    assert await post(transport, server.url, b"a") == b"bye"
    assert await post(transport, server.url, b"b") == b"bye"
    await transport.aclose()
    assert server.connections == 2


async def test_a_response_without_length_ends_at_close(serve: Serve) -> None:
    server = await serve(answer(b"HTTP/1.1 200 OK\r\n\r\nuntil the end", keep=False))
    transport = plain()
    assert await post(transport, server.url, b"a") == b"until the end"
    assert await post(transport, server.url, b"b") == b"until the end"
    await transport.aclose()
    assert server.connections == 2


@pytest.mark.parametrize(
    "response",
    [
        pytest.param(ok(b"x" * 100)[:-40], id="content-length"),
        pytest.param(CHUNKED[:-20], id="chunked"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Le", id="in-the-head"),
        pytest.param(b"", id="no-response"),
    ],
)
async def test_a_server_hanging_up_mid_response_is_a_read_error(
    serve: Serve, response: bytes
) -> None:
    server = await serve(answer(response, keep=False))
    transport = plain(max_connections=1)
    with pytest.raises(httpx.ReadError):
        await post(transport, server.url, b"a")
    server.reply = echo
    assert await post(transport, server.url, b"b") == b"b"  # a new connection, its slot freed
    await transport.aclose()
    assert server.connections == 2


async def test_an_invalid_response_is_a_protocol_error(serve: Serve) -> None:
    server = await serve(answer(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"))
    transport = plain()
    with pytest.raises(httpx.RemoteProtocolError):
        await post(transport, server.url, b"a")
    await transport.aclose()


async def test_informational_responses_are_skipped(serve: Serve) -> None:
    server = await serve(answer(b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b"final")))
    transport = plain()
    assert await post(transport, server.url, b"a") == b"final"
    assert await post(transport, server.url, b"b") == b"final"
    await transport.aclose()
    assert server.connections == 1


@pytest.mark.parametrize(
    ("method", "response"),
    [
        pytest.param("HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", id="head"),
        pytest.param("POST", b"HTTP/1.1 204 No Content\r\n\r\n", id="204"),
        pytest.param("POST", b"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", id="304"),
    ],
)
async def test_responses_without_a_body(serve: Serve, method: str, response: bytes) -> None:
    server = await serve(answer(response))
    transport = plain()
    for _ in range(2):
        reply = await transport.handle_async_request(httpx.Request(method, server.url))
        assert await reply.aread() == b""
        await reply.aclose()
    await transport.aclose()
    assert server.connections == 1


@pytest.mark.parametrize(
    "after",
    [
        pytest.param(b"HTTP/1.1 200 OK\r\n", id="part-of-a-response"),
        pytest.param(ok(b"two!", b"X-Second: 1"), id="a-whole-response"),
    ],
)
async def test_bytes_after_the_response_spoil_the_connection(serve: Serve, after: bytes) -> None:
    server = await serve(answer(ok(b"one") + after))
    transport = plain()
    for body in (b"a", b"b"):
        request = httpx.Request("POST", server.url, content=body)
        response = await transport.handle_async_request(request)
        assert await response.aread() == b"one"
        await response.aclose()
        assert response.headers.multi_items() == [("content-length", "3")]
        assert response.extensions["reason_phrase"] == b"OK"
    await transport.aclose()
    assert server.connections == 2
