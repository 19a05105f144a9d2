"""A small asyncio forward proxy on loopback, as a clinic's outbound proxy behaves.

- ``CONNECT host:port``: answers ``200 Connection established`` and relays bytes both ways
  (it never sees inside the TLS); counted in :attr:`ForwardProxy.tunnels`.
- Absolute-form requests (``POST http://host:port/path HTTP/1.1``): forwards each one to the
  target in origin form, without ``Proxy-Authorization``, and relays the answers; counted in
  :attr:`ForwardProxy.forwarded`.
- With ``credentials=(user, password)`` it answers ``407`` unless ``Proxy-Authorization:
  Basic`` carries them.

Request bodies are delimited by ``Content-Length`` (what our transport and httpx send).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

import pytest

Address = tuple[str, int]


class ForwardProxy:
    """Records what it relayed: CONNECT authorities, forwarded request lines, auth headers."""

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        self.credentials = credentials
        self.tunnels: list[str] = []
        self.forwarded: list[str] = []
        self.authorizations: list[str | None] = []
        self.refused = 0
        self.server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self.server is not None
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def relayed(self) -> int:
        return len(self.tunnels) + len(self.forwarded)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: asyncio.StreamWriter | None = None
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                line, *fields = head[:-4].decode("latin-1").split("\r\n")
                method, target, version = line.split(" ")
                headers = {
                    k.strip().lower(): v.strip() for k, v in (f.split(":", 1) for f in fields)
                }
                authorization = headers.get("proxy-authorization")
                self.authorizations.append(authorization)
                if not self._authorized(authorization):
                    self.refused += 1
                    writer.write(
                        b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                        b'Proxy-Authenticate: Basic realm="clinic"\r\nContent-Length: 0\r\n\r\n'
                    )
                    await writer.drain()
                    return
                if method == "CONNECT":
                    await self._tunnel(target, reader, writer)
                    return
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                host_port, path = _split_absolute(target)
                if upstream is None:
                    host, port = host_port.rsplit(":", 1)
                    up_reader, upstream = await asyncio.open_connection(host, int(port))
                    self._spawn(_pipe(up_reader, writer))
                self.forwarded.append(f"{method} {target}")
                kept = [f for f in fields if not f.lower().startswith("proxy-authorization:")]
                upstream.write(
                    "\r\n".join([f"{method} {path} {version}", *kept]).encode("latin-1")
                    + b"\r\n\r\n"
                    + body
                )
                await upstream.drain()
        finally:
            if upstream is not None:
                upstream.close()
            writer.close()

    def _authorized(self, authorization: str | None) -> bool:
        if self.credentials is None:
            return True
        user, password = self.credentials
        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        return authorization == expected

    async def _tunnel(
        self, authority: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        host, port = authority.rsplit(":", 1)
        try:
            up_reader, up_writer = await asyncio.open_connection(host.strip("[]"), int(port))
        except OSError:
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            return
        self.tunnels.append(authority)
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


def _split_absolute(target: str) -> tuple[str, str]:
    """``http://host:port/path?q`` → (``host:port``, ``/path?q``)."""
    assert target.startswith("http://"), f"not absolute-form: {target}"
    rest = target[len("http://") :]
    authority, slash, path = rest.partition("/")
    if ":" not in authority:
        authority += ":80"
    return authority, slash + path


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


StartProxy = Callable[..., Awaitable[ForwardProxy]]
"""``await start_proxy(credentials=None)``: a :class:`ForwardProxy` on 127.0.0.1."""


@pytest.fixture
async def start_proxy() -> AsyncIterator[StartProxy]:
    started: list[ForwardProxy] = []

    async def start(credentials: tuple[str, str] | None = None) -> ForwardProxy:
        proxy = ForwardProxy(credentials)
        proxy.server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        await proxy.aclose()
