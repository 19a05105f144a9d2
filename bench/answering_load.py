"""Load benchmark of the Answering Service API: ``/healthz`` versus ticket creation.

Run: ``.venv/bin/python bench/answering_load.py [--seconds 20] [--clients 50]
[--metering on|off|compare]`` (``compare``: 3 alternating runs each way, medians, on/off;
see ``bench/metering_switch.py``).

1. A fresh temporary data directory (SQLite), accounts made with ``frontdesk answering add-user``.
2. ``frontdesk serve`` in its own process, with the shipped defaults (our access log on, JSON
   logs at INFO, written to a file in the data directory).
3. Tokens created beforehand through ``tokenCreate`` (the vendor's encrypted password).
4. The load generator runs in a separate process: ``--clients`` closed-loop keep-alive
   connections (a minimal HTTP/1.1 client on asyncio protocols, so that the client spends as
   little of the shared CPU as possible) for ``--seconds`` against ``/healthz``, then the same
   against ticket creation.
5. The tickets in the database are compared with the successful responses (``lost``: a success
   whose ticket is missing; ``extra``: a stored ticket nobody was told about).

The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from metering_switch import (  # noqa: E402
    METRICS_TOKEN,
    add_metering_option,
    compare,
    metering_env,
)

BIN = Path(sys.executable).parent
API = "/cc/modules/apiv2/index.php"
KEY = "0123456789abcdef0123456789abcdef"
PASSWORD = "Bench#Secret1"
TICKET = {
    "patient_lname": "Doe",
    "patient_fname": "Jane",
    "dob": "19891230",
    "complaint": "fever since yesterday, asks for a call back",
    "prac": "1234",
    "client_code": "AS-77",
    "contact_phone": "5551234567",
    "contact_phone_2": "5557654321",
    "sex": "female",
    "email": "jane.doe@example.com",
    "address": "1 Main St",
    "city": "Tampa",
    "state": "FL",
    "zip": "33601",
    "caller_lname": "Doe",
    "caller_fname": "John",
    "relationship": "spouse",
    "comments": "call back after 6pm",
    "txt": "1|2|3|4",
    "Call_type": "1",
    "field_mr": "123|ABC123",
}


# --------------------------------------------------------------------------- load generator


class _Connection(asyncio.Protocol):
    """One closed-loop keep-alive client: send, read one full response, repeat."""

    def __init__(self, requests: list[bytes], deadline: float, sink: dict[str, Any]) -> None:
        self.requests = requests
        self.deadline = deadline
        self.sink = sink
        self.buffer = bytearray()
        self.sent_at = 0.0
        self.index = 0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        self.sent_at = time.perf_counter()
        self.transport.write(self.requests[self.index % len(self.requests)])
        self.index += 1

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = bytes(self.buffer[:head_end]).decode("latin-1")
        length = 0
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        end = head_end + 4 + length
        if len(self.buffer) < end:
            return
        now = time.perf_counter()
        status = int(head.split(" ", 2)[1])
        body = bytes(self.buffer[head_end + 4 : end])
        del self.buffer[:end]
        self.sink["latencies"].append(now - self.sent_at)
        if status != 200:
            self.sink["errors"] += 1
        elif self.sink["tickets"] is not None:
            parsed = json.loads(body)
            if parsed.get("success"):
                self.sink["tickets"].append(parsed["result"]["ticket_id"])
            else:
                self.sink["errors"] += 1
        if now >= self.deadline:
            assert self.transport is not None
            self.transport.close()
            return
        self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


def run_load(
    port: int, clients: int, seconds: float, requests: list[list[bytes]], want_tickets: bool
) -> dict[str, Any]:
    """Closed-loop load in this (separate) process; returns raw results."""

    async def main() -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        sink: dict[str, Any] = {
            "latencies": [],
            "errors": 0,
            "tickets": [] if want_tickets else None,
        }
        started = time.perf_counter()
        deadline = started + seconds
        protocols: list[_Connection] = []
        for i in range(clients):
            reqs = requests[i % len(requests)]
            _, protocol = await loop.create_connection(
                lambda reqs=reqs: _Connection(reqs, deadline, sink),  # type: ignore[misc]
                "127.0.0.1",
                port,
            )
            protocols.append(protocol)
        await asyncio.wait_for(asyncio.gather(*(p.done for p in protocols)), seconds + 30)
        elapsed = time.perf_counter() - started
        return {**sink, "elapsed": elapsed}

    return asyncio.run(main())


def _request(method: str, path: str, body: bytes = b"", content_type: str = "") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if body:
        head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


def summarise(raw: dict[str, Any]) -> dict[str, Any]:
    latencies = sorted(raw["latencies"])
    count = len(latencies)

    def pct(p: float) -> float:
        return round(latencies[min(count - 1, int(p * count))] * 1000, 2) if count else 0.0

    return {
        "requests": count,
        "rps": round(count / raw["elapsed"], 1),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": round(latencies[-1] * 1000, 2) if count else 0.0,
        "errors": raw["errors"],
    }


# --------------------------------------------------------------------------- orchestration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _post_json(url: str, payload: dict[str, str]) -> dict[str, Any]:
    data = json.dumps(payload).encode()
    request = urllib.request.Request(  # noqa: S310  (loopback only)
        url, data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        result: dict[str, Any] = json.loads(response.read())
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--tokens", type=int, default=10, help="API tokens shared by the clients")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra server environment, e.g. FRONTDESK_ACCESS_LOG=false",
    )
    parser.add_argument(
        "--py-spy", metavar="SVG", help="profile the server with py-spy during ticket creation"
    )
    add_metering_option(parser)
    args = parser.parse_args()
    if args.metering == "compare":
        verdict = compare(
            lambda on: one_run(args, metering=on),
            repeat=args.repeat,
            higher_is_better={"ticket_rps": True, "p50_ms": False},
        )
        print(json.dumps(verdict))
        return
    print(json.dumps(one_run(args, metering=args.metering == "on")))


def one_run(args: argparse.Namespace, *, metering: bool) -> dict[str, Any]:
    """One server, tokens, the two loads; the figures (and what was metered)."""
    sys.path.insert(0, str(ROOT / "src"))
    from frontdesk.answering.password_token import encrypt_password_token

    data_dir = Path(tempfile.mkdtemp(prefix="frontdesk-bench-"))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("FRONTDESK_") or k == "FRONTDESK_SECRETS_DIR"
    }
    env["FRONTDESK_DATA_DIR"] = str(data_dir)
    env.update(metering_env(metering))
    env.update(dict(item.split("=", 1) for item in args.env))
    frontdesk = str(BIN / "frontdesk")
    subprocess.run(
        [frontdesk, "answering", "add-user", "--username", "bench", "--password", PASSWORD,
         "--key", KEY, "--company", "Bench Answering", "--practice", "1234"],
        check=True, env=env, capture_output=True,
    )  # fmt: skip
    port = _free_port()
    log_path = data_dir / "server.log"
    with log_path.open("wb") as log_file:
        server = subprocess.Popen(
            [frontdesk, "serve", "--port", str(port)],
            env=env,
            stdout=log_file,
            stderr=log_file,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1):  # noqa: S310
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit("the server did not start; see " + str(log_path))
        tokens = []
        for _ in range(args.tokens):
            login = encrypt_password_token(PASSWORD.encode(), KEY.encode())
            answer = _post_json(
                f"{base}{API}?resource=tokenCreate",
                {"login_username": "bench", "login_password": login},
            )
            tokens.append(answer["result"]["token"])
        body = json.dumps(TICKET).encode()
        healthz = [[_request("GET", "/healthz")]]
        tickets = [
            [_request("POST", f"{API}?resource=as&token={t}", body, "application/json")]
            for t in tokens
        ]
        with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
            raw_health = pool.submit(
                run_load, port, args.clients, args.seconds, healthz, False
            ).result()
            spy = None
            if args.py_spy:
                spy = subprocess.Popen(
                    [str(BIN / "py-spy"), "record", "-o", args.py_spy, "--pid", str(server.pid),
                     "--duration", str(int(args.seconds)), "--format", "speedscope"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
            raw_tickets = pool.submit(
                run_load, port, args.clients, args.seconds, tickets, True
            ).result()
            if spy is not None:
                spy.wait(timeout=60)
        scraped = _scrape(base) if metering else {}
    finally:
        server.terminate()
        server.wait(timeout=30)
    health = summarise(raw_health)
    ticket = summarise(raw_tickets)
    with sqlite3.connect(data_dir / "frontdesk.db") as db:
        stored = {row[0] for row in db.execute("SELECT ticket_id FROM answering_tickets")}
        metered = dict(
            db.execute("SELECT kind, SUM(count) FROM usage_counts GROUP BY kind").fetchall()
        )
    answered = set(raw_tickets["tickets"])
    lost = len(answered - stored)
    extra = len(stored - answered)
    ratio = round(ticket["rps"] / health["rps"], 3) if health["rps"] else 0.0
    print(f"data directory: {data_dir}")
    print(f"healthz: {health}")
    print(f"tickets: {ticket}")
    print(f"tickets stored: {len(stored)}; answered with success: {len(answered)}")
    print(f"metering {'on' if metering else 'off'}: usage table {metered}, /metrics {scraped}")
    return {
        "healthz_rps": health["rps"],
        "healthz_p50_ms": health["p50_ms"],
        "healthz_p99_ms": health["p99_ms"],
        "ticket_rps": ticket["rps"],
        "ratio": ratio,
        "p50_ms": ticket["p50_ms"],
        "p99_ms": ticket["p99_ms"],
        "max_ms": ticket["max_ms"],
        "errors": health["errors"] + ticket["errors"],
        "lost": lost,
        "extra": extra,
        "tickets_stored": len(stored),
        "clients": args.clients,
        "seconds": args.seconds,
        "server_env": args.env,
        "metering": metering,
        "metered_tickets": int(metered.get("ticket", 0)),
        "metered_answering_calls": int(metered.get("answering_api", 0)),
        "scraped_ticket_requests": scraped.get("tickets", 0),
    }


def _scrape(base: str) -> dict[str, int]:
    """``/metrics``: the ticket route's request count (the instruments saw the load)."""
    request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
        base + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        text = response.read().decode()
    tickets = 0
    for line in text.splitlines():
        if line.startswith("frontdesk_http_requests_total{") and API in line:
            tickets += int(float(line.rsplit(" ", 1)[1]))
    return {"tickets": tickets}


if __name__ == "__main__":
    main()
