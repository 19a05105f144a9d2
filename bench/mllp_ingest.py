"""Ingest benchmark of the MLLP listener: messages per second and ACK latency on SQLite.

Run: ``.venv/bin/python bench/mllp_ingest.py [--seconds 15] [--connections 10]``.

1. A fresh temporary data directory (SQLite, migrated), an HL7V2 integration group for the
   sending facility, configured through the integration API (in-process).
2. ``frontdesk mllp`` in its own process with the shipped defaults (JSON logs at INFO, one line
   per message, written to a file in the data directory).
3. The sender runs in this process: ``--connections`` kept-alive MLLP connections, each a
   closed loop (send one SIU, wait for its ACK, send the next), for ``--seconds``. Every
   message is a distinct, real-world-shaped SIU S12/S14 with PID, NK1, PV1, AIS, AIL, AIP.
4. The listener is stopped, and the store is compared with the ACKs: ``lost`` counts messages
   answered AA whose control id is not in the store (must be 0); ``not_aa`` counts other ACKs.

The last line of output is one JSON object (``messages_per_s``, ``ack_p50_ms``,
``ack_p99_ms``, ``lost``, ...).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from frontdesk.access.principal import Principal
from frontdesk.access.service import create_api_key
from frontdesk.composition import Role, build_process
from frontdesk.context import AppContext
from frontdesk.server.app import create_app
from frontdesk.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
FACILITY = "BENCHCLINIC"
SB, EB, CR = b"\x0b", b"\x1c", b"\r"


def siu(control_id: str, n: int) -> bytes:
    event = "S14" if n % 3 == 0 else "S12"
    status = "Complete" if event == "S14" else "Booked"
    start = f"202603{2 + n % 20:02d}{8 + n % 9:02d}3000-0500"
    segments = [
        f"MSH|^~\\&|EPICADT|{FACILITY}^1.2.840.114350^ISO|FRONTDESK|FRONTDESK|"
        f"20260302080000-0500||SIU^{event}^SIU_S12|{control_id}|P|2.5.1",
        f"SCH|A{n}^EPIC|A{n}^EPIC|||||ROUTINE^Routine visit|FOLLOWUP^Follow-up visit|20|MIN"
        f"|^^20^{start}^{start}|||||1234^Welby^Marcus^^^DR|^WPN^PH^^1^703^5550100"
        f"||||||||{status}",
        "NTE|1||Patient prefers morning appointments",
        f"PID|1||MRN{n}^^^EPIC^MR~999-88-7777^^^SSA^SS||Doe^Jane^Q||19710304|F"
        "|||42 Wisteria Lane^^Springfield^VA^22150^USA||^PRN^CP^^1^703^5550147"
        f"~^NET^Internet^patient{n}@example.org|^WPN^PH^^1^703^5550111|EN|M||ACCT{n}",
        "NK1|1|Doe^John|SPO^Spouse|42 Wisteria Lane^^Springfield^VA|^PRN^PH^^1^703^5550199",
        f"PV1|1|O|NORTH-PC^^^{FACILITY}||||1234^Welby^Marcus",
        "RGS|1|A",
        f"AIS|1|A|FOLLOWUP^Follow-up visit|{start}|0|MIN|20|MIN",
        f"AIL|1|A|NORTH-PC^^^{FACILITY}^^^^North Primary Care|^Clinic|{start}",
        "AIP|1|A|1234^Welby^Marcus^^^DR|ATT^Attending",
    ]
    return SB + "\r".join(segments).encode() + b"\r" + EB + CR


async def configure(settings: Settings) -> None:
    ctx = await AppContext.open(settings)
    process = build_process(ctx, Role.CLI)
    await process.start()
    async with ctx.db.transaction() as session:
        key = await create_api_key(
            session, principal=Principal.system("bench"), clock=ctx.clock, name="bench"
        )
    app = create_app(settings, process=process)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://bench",
        headers={"Authorization": f"Bearer {key.secret}"},
    ) as api:
        r = await api.post("/api/businesses", json={"businessNumber": 300000000000001, "name": "B"})
        r.raise_for_status()
        r = await api.put(
            "/integration/add/businessintegrationgroup",
            json={
                "parentBusinessNumber": 300000000000001,
                "integrationSourceId": 34,
                "integrationGroupTriggers": [{"triggerId": 58, "triggerTypeId": 1}],
                "integrationGroupProperties": [
                    {"propertyKey": "hl7.sending.facility", "propertyValue": FACILITY}
                ],
            },
        )
        r.raise_for_status()
    await process.stop()
    await ctx.close()


async def start_listener(env: dict[str, str], log: Path) -> tuple[asyncio.subprocess.Process, int]:
    listener = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from frontdesk.cli.main import main; main()",
        "mllp",
        "--port",
        "0",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=log.open("wb"),
    )
    assert listener.stdout is not None
    while True:
        line = (await asyncio.wait_for(listener.stdout.readline(), timeout=60)).decode()
        if not line:
            raise SystemExit("the listener exited before listening")
        if line.startswith("mllp listening on"):
            return listener, int(line.rsplit(":", 1)[1])


async def load(
    port: int, connections: int, seconds: float
) -> tuple[list[float], set[str], int, float]:
    latencies: list[float] = []
    acked: set[str] = set()
    not_aa = 0
    deadline = time.perf_counter() + seconds

    async def one(c: int) -> None:
        nonlocal not_aa
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        n = 0
        while time.perf_counter() < deadline:
            control_id = f"B{c}-{n}"
            payload = siu(control_id, c * 1_000_000 + n)
            started = time.perf_counter()
            writer.write(payload)
            block = await reader.readuntil(EB + CR)
            latencies.append((time.perf_counter() - started) * 1000)
            msa = next(s for s in block[1:-2].decode().split("\r") if s.startswith("MSA|"))
            code, echoed = msa.split("|")[1:3]
            assert echoed == control_id
            if code == "AA":
                acked.add(control_id)
            else:
                not_aa += 1
            n += 1
        writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(one(c) for c in range(connections)))
    return latencies, acked, not_aa, time.perf_counter() - began


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--connections", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fd-mllp-bench-") as tmp:
        data = Path(tmp)
        key = Fernet.generate_key().decode()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT / "src"),
            "FRONTDESK_DATA_DIR": str(data),
            "FRONTDESK_SECRET_KEYS": key,
            "FRONTDESK_LOG_FORMAT": "json",
        }
        settings = Settings(data_dir=data, secret_keys=key)  # type: ignore[arg-type]
        await configure(settings)
        listener, port = await start_listener(env, data / "mllp.log")
        try:
            latencies, acked, not_aa, elapsed = await load(port, args.connections, args.seconds)
        finally:
            listener.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(listener.wait(), timeout=30)
            except TimeoutError:
                listener.kill()
                await listener.wait()
        with sqlite3.connect(data / "frontdesk.db") as db:
            stored = {row[0] for row in db.execute("SELECT control_id FROM hl7_messages")}
        log_lines = sum(1 for _ in (data / "mllp.log").open())
    quantiles = statistics.quantiles(latencies, n=100)
    result = {
        "connections": args.connections,
        "seconds": round(elapsed, 2),
        "messages": len(latencies),
        "messages_per_s": round(len(latencies) / elapsed, 1),
        "ack_p50_ms": round(quantiles[49], 2),
        "ack_p99_ms": round(quantiles[98], 2),
        "ack_max_ms": round(max(latencies), 2),
        "acked_aa": len(acked),
        "not_aa": not_aa,
        "stored": len(stored),
        "lost": len(acked - stored),
        "listener_log_lines": log_lines,
        "load": os.getloadavg()[0],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
