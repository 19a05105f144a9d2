"""Micro-benchmark of the EHR clients' HTTP transport: CPU per exchange, client side only.

Run: ``.venv/bin/python bench/http_exchange.py [--transport pooled|httpx|aiohttp|FILE.py]
[--loop asyncio|uvloop] [--requests 5000] [--concurrency 32] [--pools 1]``.

A minimal keep-alive HTTP/1.1 server runs in another process (``--serve``): it answers
every POST with the same ~1.5 KB JSON body (``Content-Length``, the headers uvicorn
sends). This process sends ``--requests`` POSTs of a ~300-byte JSON body, ``--concurrency``
at a time over at most as many connections, each as the Unity client sends them
(``httpx.Request`` with per-request timeouts, ``handle_async_request``, ``aread``,
``aclose``). CPU is ``time.process_time()`` of this process over the timed requests (after
a warm-up), so the server's work is not counted.

``--transport``: ``pooled`` is :class:`frontdesk.outbound.transport.PooledTransport`,
``httpx`` is ``httpx.AsyncHTTPTransport`` (httpcore on anyio), ``aiohttp`` is aiohttp's
client behind an httpx transport (``bench/aiohttp_transport.py``), and a path to a ``.py``
file loads the ``PooledTransport`` defined there (e.g. an older version saved from git,
to compare before and after a change). Compare runs taken back to back only, alternated.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

import httpx

from frontdesk.outbound.transport import PooledTransport

REQUEST_BODY = json.dumps(
    {
        "Action": "GetPatientDemographics",
        "AppUserID": "pmuser0001",
        "Appname": "FrontDesk.Test",
        "PatientID": "1234567",
        "Token": "0f8fad5b-d9cb-469f-a165-70867728950e",
        "Parameter1": "",
        "Parameter2": "",
        "Parameter3": "",
        "Parameter4": "",
        "Parameter5": "",
        "Parameter6": "",
        "Data": None,
    }
).encode()
RESPONSE_BODY = json.dumps(
    [
        {
            "getpatientdemographicsinfo": [
                {
                    "ID": "1234567",
                    "LastName": "Example",
                    "FirstName": "Patient",
                    "MiddleName": "Q",
                    "DateofBirth": "01/02/1970",
                    "Sex": "F",
                    "HomePhone": "555-555-0100",
                    "WorkPhone": "",
                    "CellPhone": "555-555-0101",
                    "Email": "patient@example.invalid",
                    "Address1": "1 Example Street",
                    "Address2": "Apt 2",
                    "City": "Springfield",
                    "State": "IL",
                    "ZipCode": "62701",
                    "PreferredContact": "Cell",
                    "Language": "English",
                    "Notes": "x" * 900,
                }
            ]
        }
    ]
).encode()
HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json, text/plain, application/octet-stream",
}
TIMEOUTS = {"timeout": {"connect": 10.0, "read": 30.0, "write": 30.0, "pool": 30.0}}


async def serve(port: int) -> None:
    """The other process: answer every request on every connection with RESPONSE_BODY."""
    response = (
        b"HTTP/1.1 200 OK\r\ndate: Mon, 03 Mar 2025 09:00:00 GMT\r\nserver: uvicorn\r\n"
        b"content-length: %d\r\ncontent-type: application/json\r\n\r\n%s"
        % (len(RESPONSE_BODY), RESPONSE_BODY)
    )

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await reader.readexactly(length)
                writer.write(response)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=512)
    async with server:
        await server.serve_forever()


def load_transport(name: str, max_connections: int) -> httpx.AsyncBaseTransport:
    if name == "pooled":
        return PooledTransport(
            ssl_context=ssl.create_default_context(), max_connections=max_connections
        )
    if name == "httpx":
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        return httpx.AsyncHTTPTransport(limits=limits)
    if name == "aiohttp":
        name = os.path.join(os.path.dirname(os.path.abspath(__file__)), "aiohttp_transport.py")
    spec = importlib.util.spec_from_file_location("transport_under_test", name)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {name}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    transport: httpx.AsyncBaseTransport = module.PooledTransport(
        ssl_context=ssl.create_default_context(), max_connections=max_connections
    )
    return transport


async def exchange(transport: httpx.AsyncBaseTransport, url: httpx.URL) -> None:
    request = httpx.Request("POST", url, headers=HEADERS, content=REQUEST_BODY, extensions=TIMEOUTS)
    response = await transport.handle_async_request(request)
    try:
        content = await response.aread()
    finally:
        await response.aclose()
    if response.status_code != 200 or len(content) != len(RESPONSE_BODY):
        raise RuntimeError(f"unexpected response: {response.status_code}, {len(content)} bytes")


async def run(args: argparse.Namespace, port: int) -> dict[str, Any]:
    if args.concurrency % args.pools:
        raise SystemExit("--concurrency must be a multiple of --pools")
    per_pool = args.concurrency // args.pools
    transports = [load_transport(args.transport, per_pool) for _ in range(args.pools)]
    url = httpx.URL(f"http://127.0.0.1:{port}/UnityService.svc/json/MagicJson")

    async def worker(transport: httpx.AsyncBaseTransport, count: int) -> None:
        for _ in range(count):
            await exchange(transport, url)

    async def batch(total: int) -> None:
        share, extra = divmod(total, args.concurrency)
        await asyncio.gather(
            *(
                worker(transports[i % args.pools], share + (i < extra))
                for i in range(args.concurrency)
            )
        )

    await batch(args.concurrency * 20)  # warm-up: connections open, code paths hot
    cpu_started = time.process_time()
    started = time.perf_counter()
    await batch(args.requests)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    for transport in transports:
        await transport.aclose()
    return {
        "transport": args.transport,
        "loop": args.loop,
        "requests": args.requests,
        "concurrency": args.concurrency,
        "pools": args.pools,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "cpu_us_per_request": round(cpu * 1e6 / args.requests, 1),
        "load": round(os.getloadavg()[0], 2),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, __file__, "--serve", str(port)]
    process = subprocess.Popen(command)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the server did not start")


def run_on(loop: str, main: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    runner: Callable[[Coroutine[Any, Any, dict[str, Any]]], dict[str, Any]] = asyncio.run
    if loop == "uvloop":
        import uvloop

        runner = uvloop.run
    return runner(main)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--transport", default="pooled", help="pooled, httpx, aiohttp or a .py file"
    )
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--pools",
        type=int,
        default=1,
        help="transports sharing the concurrency (the Unity client has one per group)",
    )
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        run_on("uvloop" if importlib.util.find_spec("uvloop") else "asyncio", serve(args.serve))
        return
    port = free_port()
    server = start_server(port)
    try:
        result = run_on(args.loop, run(args, port))
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(
        f"{result['transport']:>10} on {result['loop']:<8} {result['requests']} requests "
        f"× {result['concurrency']} in {result['pools']} pool(s): "
        f"{result['cpu_us_per_request']:7.1f} µs CPU per request, "
        f"wall {result['wall_s']:.2f} s, load {result['load']:.2f}"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
