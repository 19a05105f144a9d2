"""aiohttp's client behind httpx's transport interface: a candidate measured by the benchmarks.

``bench/unity_read.py --transport aiohttp`` and ``bench/http_exchange.py --transport aiohttp``
run the Unity client's exchanges through :class:`AiohttpTransport`: one
:class:`aiohttp.ClientSession` (a ``TCPConnector`` of ``max_connections`` keep-alive
connections, the given TLS context), each ``httpx.Request`` sent with ``session.request``
and the body read whole into an ``httpx.Response``. aiohttp parses with llhttp too (its C
extension), so the difference to :mod:`frontdesk.outbound.transport` is the per-request work
of each client around the parser.

``trust_env`` is off: with it on, aiohttp reads the proxy variables from ``os.environ`` on
every request (``urllib.request.getproxies``), which cost 190–230 µs of CPU per request
here; a production adapter would resolve the proxy once per origin and pass ``proxy=``.
Kept in ``bench/`` because it lost (figures in :mod:`frontdesk.outbound.transport`).
"""

from __future__ import annotations

import ssl
from typing import Any

import aiohttp
import httpx


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An ``httpx.AsyncBaseTransport`` over one ``aiohttp.ClientSession``."""

    def __init__(self, *, ssl_context: ssl.SSLContext, max_connections: int) -> None:
        self._ssl_context = ssl_context
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple[Any, ...], aiohttp.ClientTimeout] = {}

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:  # built in the running loop, as aiohttp requires
            connector = aiohttp.TCPConnector(
                limit=self._max_connections, limit_per_host=0, ssl=self._ssl_context
            )
            self._session = aiohttp.ClientSession(
                connector=connector, trust_env=False, auto_decompress=False
            )
        return self._session

    def _timeout(self, timeouts: dict[str, float | None]) -> aiohttp.ClientTimeout:
        key = (timeouts.get("connect"), timeouts.get("read"), timeouts.get("pool"))
        timeout = self._timeouts.get(key)
        if timeout is None:
            connect, read, pool = key
            timeout = self._timeouts[key] = aiohttp.ClientTimeout(
                sock_connect=connect, sock_read=read, connect=pool
            )
        return timeout

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._client()
        timeout = self._timeout(request.extensions.get("timeout") or {})
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        try:
            async with session.request(
                request.method,
                str(request.url),
                data=request.content,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
            ) as response:
                body = await response.read()
                status, raw_headers = response.status, list(response.raw_headers)
        except aiohttp.ClientConnectorError as error:
            raise httpx.ConnectError(str(error), request=request) from None
        except TimeoutError:
            raise httpx.ReadTimeout("timed out", request=request) from None
        except aiohttp.ClientError as error:
            raise httpx.ReadError(type(error).__name__, request=request) from None
        return httpx.Response(
            status, headers=raw_headers, stream=httpx.ByteStream(body), request=request
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


PooledTransport = AiohttpTransport
"""The name ``bench/http_exchange.py`` loads from a ``.py`` file."""
