"""Benchmark of the FHIR connector: ≥ 1,000 appointments from the FHIR sandbox at 50 ms.

Run: ``.venv/bin/python bench/fhir_read.py [--days 3] [--locations 3] [--per-day 134]
[--latency-ms 50] [--page-size 100] [--no-include] [--per-group 4]``.

1. The FHIR sandbox runs in its own process (``python -m frontdesk.sandbox fhir
   --latency-ms 50 ...``) with the demo client registered; an untimed read of the same window
   makes it generate its synthetic days first, as a real server has its data already.
2. This process builds the connector as the source's factory does (the process's outbound
   transport) and reads the window: CapabilityStatement, smart-configuration, token, then
   every page of ``Appointment?date=ge…&date=lt…&_count=…&_include=Appointment:patient``
   (or, with ``--no-include``, batched ``Patient?_id=…`` reads).
3. The ids read are compared with what the sandbox serves — computed independently here from
   the same seed and shape (:class:`frontdesk.sandbox.fhir.store.Store` is deterministic):
   none lost, none duplicated, every patient joined.

**Lower bound.** Metadata → smart-configuration → token → page 1 → … → page ``P`` are
dependent round trips (a page's ``next`` link is in the page before); without ``_include``
the last page's patient batches follow it, ``per_group`` at a time (earlier pages' batches
overlap the next page's request)::

    rounds      = 3 + P + (ceil(batches per page / per_group) without _include)
    lower_bound = rounds × latency

and ``ratio = wall / lower_bound``. CPU is ``time.process_time()`` of this process only (the
sandbox is another process), per appointment read. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from frontdesk.connectors.base import Window
from frontdesk.connectors.fhir.connector import FhirConnector
from frontdesk.connectors.limits import ConcurrencyLimits
from frontdesk.logs import configure_logging
from frontdesk.sandbox.fhir.config import DEMO_CLIENT_ID, PracticeShape, demo_private_key
from frontdesk.sandbox.fhir.store import Store
from frontdesk.settings import FhirSettings, Settings

FIRST_DAY = date(2026, 3, 2)
SEED = 11


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_sandbox(args: argparse.Namespace, port: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "frontdesk.sandbox", "fhir",
        "--port", str(port),
        "--seed", str(SEED),
        "--locations", str(args.locations),
        "--per-day", str(args.per_day),
        "--latency-ms", str(args.latency_ms),
        "--max-page-size", str(max(args.page_size, 1)),
    ]  # fmt: skip
    if args.no_include:
        command.append("--no-include")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            url = f"http://127.0.0.1:{port}/sandbox/admin/knobs"
            with urllib.request.urlopen(url, timeout=5):
                return process
        except OSError:
            if process.poll() is not None:
                stderr = process.stderr.read() if process.stderr else b""
                raise SystemExit(f"sandbox exited: {stderr!r}") from None
            time.sleep(0.1)
    process.kill()
    raise SystemExit("sandbox did not start")


def process_cpu_s(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def expected_ids(args: argparse.Namespace, window: Window) -> set[str]:
    shape = PracticeShape(
        locations_per_practice=args.locations, appointments_per_location_day=args.per_day
    )
    store = Store(SEED, shape)
    store.ensure_days(window.first, window.last)
    return set(store.appointments)


def connector(args: argparse.Namespace, base: str) -> FhirConnector:
    settings = Settings(fhir=FhirSettings(page_size=args.page_size))
    properties = {
        "fhir.base.url": f"{base}/fhir",
        "fhir.client.id": DEMO_CLIENT_ID,
        "fhir.private.key": demo_private_key(SEED),
    }
    limits = ConcurrencyLimits(total=32, per_group=args.per_group)
    return FhirConnector.from_properties(properties, settings, limits=limits)


async def read(fhir: FhirConnector, window: Window) -> tuple[list[str], Any]:
    stream = fhir.read(window)
    ids = []
    try:
        async for appointment in stream:
            assert appointment.patient is not None, "an appointment without its patient"
            ids.append(appointment.source_appointment_id)
    finally:
        await fhir.aclose()
    return ids, stream


async def run(args: argparse.Namespace, base: str, window: Window) -> dict[str, Any]:
    await read(connector(args, base), window)  # untimed: the sandbox generates its days
    fhir = connector(args, base)
    started, cpu_started = time.perf_counter(), time.process_time()
    ids, stream = await read(fhir, window)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    want = expected_ids(args, window)
    stats = fhir.client.stats
    batches = stream.patient_batches
    extra = math.ceil(batches / max(stream.pages, 1) / args.per_group) if batches else 0
    rounds = 3 + stream.pages + extra
    lower = rounds * args.latency_ms / 1000
    return {
        "appointments": len(ids),
        "window_days": args.days,
        "pages": stream.pages,
        "patient_batches": batches,
        "include": not args.no_include,
        "calls": stats.requests,
        "retries": stats.retries,
        "latency_ms": args.latency_ms,
        "page_size": args.page_size,
        "rounds": rounds,
        "wall_s": round(wall, 3),
        "lower_bound_s": round(lower, 3),
        "ratio": round(wall / lower, 3),
        "cpu_s": round(cpu, 3),
        "cpu_ms_per_appointment": round(cpu * 1000 / max(len(ids), 1), 3),
        "lost": len(want - set(ids)),
        "duplicated": len(ids) - len(set(ids)),
        "unexpected": len(set(ids) - want),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--locations", type=int, default=3)
    parser.add_argument("--per-day", type=int, default=134, help="per location")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--per-group", type=int, default=4)
    parser.add_argument("--no-include", action="store_true")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args()
    configure_logging(Settings(log_level=args.log_level, log_format="json"))
    window = Window(FIRST_DAY, FIRST_DAY + timedelta(days=args.days - 1))
    port = free_port()
    sandbox = start_sandbox(args, port)
    try:
        before = process_cpu_s(sandbox.pid)
        result = asyncio.run(run(args, f"http://127.0.0.1:{port}", window))
        after = process_cpu_s(sandbox.pid)
        if before is not None and after is not None:
            result["sandbox_cpu_s"] = round(after - before, 3)
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
    print(f"appointments             {result['appointments']} over {args.days} days")
    print(f"pages / patient batches  {result['pages']} / {result['patient_batches']}")
    print(f"calls                    {result['calls']} ({result['retries']} retries)")
    print(f"wall                     {result['wall_s']:.3f} s")
    print(f"lower bound              {result['lower_bound_s']:.3f} s ({result['rounds']} rounds)")
    print(f"ratio                    {result['ratio']:.3f} (target ≤ 1.3)")
    print(f"CPU per appointment      {result['cpu_ms_per_appointment']:.3f} ms")
    print(f"lost / duplicated        {result['lost']} / {result['duplicated']}")
    print(f"sandbox process CPU      {result.get('sandbox_cpu_s', '?')} s")
    print(f"host                     {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
