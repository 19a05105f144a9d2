"""Benchmark of the Unity connector: 20 groups × 200 appointments from the sandbox at 50 ms.

Run: ``.venv/bin/python bench/unity_read.py [--groups 20] [--appointments 200]
[--latency-ms 50] [--per-group 4] [--total 32] [--log-level WARNING]
[--transport ours|httpx|aiohttp] [--pool process|group]``.

1. The Unity sandbox runs in its own process (``python -m frontdesk.sandbox unity --config
   <json> --latency-ms 50``), serving ``multi_group_config(groups, locations=10, ...)``: each
   group its own credential and practice. Its synthetic day is generated before timing
   (``/sandbox/admin/appointments``), as a real server has its data already.
2. This process builds one connector per group through the registry, with one shared
   :class:`ConcurrencyLimits` (``--total`` for the process, ``--per-group`` per group),
   and reads the day with all groups at once: login, GetServerInfo, GetSchedule, one
   GetPatientDemographics per distinct patient, RetireToken on close.
   ``--transport``: ``ours`` is the process's outbound stack
   (:func:`frontdesk.outbound.http.build_transport`), ``httpx`` is ``httpx.AsyncHTTPTransport``
   (httpcore), ``aiohttp`` is ``bench/aiohttp_transport.py`` (aiohttp's client behind httpx's
   transport interface). ``--pool process`` (default, as the composition root builds it):
   one transport of ``--total`` connections shared by every connector; ``--pool group``: one
   of ``--per-group`` connections per connector.
3. Every group's appointment ids are compared with what the sandbox serves (none lost,
   none duplicated, every patient joined).

**Lower bound.** Each group needs 4 dependent round trips (GetToken → GetUserAuthentication
→ GetServerInfo → GetSchedule), then its ``D`` demographics calls ``per_group`` at a time
(``ceil(D / per_group)`` round trips), then RetireToken (1); all ``C`` calls together can use
at most ``min(total, groups × per_group)`` slots at once. So::

    rounds      = max( max over groups of (4 + ceil(D_g / per_group) + 1),
                       ceil(C / min(total, groups × per_group)) )
    lower_bound = rounds × latency

and ``ratio = wall / lower_bound``. CPU is ``time.process_time()`` of this process only
(the sandbox is another process), per appointment read. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import typing
import urllib.parse
import urllib.request
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from frontdesk import eventloop
from frontdesk.connectors.allscripts.connector import UnityConnector
from frontdesk.connectors.base import Window
from frontdesk.connectors.limits import ConcurrencyLimits
from frontdesk.logs import configure_logging
from frontdesk.outbound.http import build_transport
from frontdesk.sandbox.unity import (
    DEFAULT_APPNAME,
    DEFAULT_SERVICE_PASSWORD,
    Knobs,
    Latency,
    multi_group_config,
)
from frontdesk.settings import Settings, UnitySettings

SERVICE_USERNAME = "Front-4d2e-FrontDesk-test"
DAY = date(2025, 3, 3)  # a Monday: the full weekday count of appointments


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - http://127.0.0.1
        return json.loads(response.read())


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of another process (Linux ``/proc``), else ``None``."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_transport(kind: str, settings: Settings, max_connections: int) -> httpx.AsyncBaseTransport:
    """The transport under test (see ``--transport``)."""
    if kind == "ours":
        return build_transport(settings, max_connections=max_connections)
    if kind == "httpx":
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        return httpx.AsyncHTTPTransport(limits=limits)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from aiohttp_transport import AiohttpTransport

    return AiohttpTransport(
        ssl_context=ssl.create_default_context(), max_connections=max_connections
    )


def start_sandbox(config_json: str, port: int, latency_ms: float) -> subprocess.Popen[bytes]:
    config_file = Path(tempfile.mkdtemp(prefix="unity-bench-")) / "sandbox.json"
    config_file.write_text(config_json)
    command = [
        sys.executable,
        "-m",
        "frontdesk.sandbox",
        "unity",
        "--config",
        str(config_file),
        "--port",
        str(port),
        "--latency-ms",
        str(latency_ms),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            get_json(f"http://127.0.0.1:{port}/sandbox/admin/knobs")
            return process
        except OSError:
            if process.poll() is not None:
                raise SystemExit(
                    f"sandbox exited: {process.stderr.read() if process.stderr else ''!r}"
                ) from None
            time.sleep(0.1)
    process.kill()
    raise SystemExit("sandbox did not start")


async def read_group(connector: UnityConnector) -> list[str]:
    try:
        ids = []
        async for appointment in connector.read(Window.day(DAY)):
            assert appointment.patient is not None or not appointment.patient_id
            ids.append(appointment.source_appointment_id)
        return ids
    finally:
        await connector.aclose()


async def run(
    args: argparse.Namespace, base: str, expected: dict[str, list[str]]
) -> dict[str, Any]:
    settings = Settings(
        unity=UnitySettings(
            url=f"{base}/UnityService.svc/json",
            appname=DEFAULT_APPNAME,
            service_username=SERVICE_USERNAME,
            service_password=SecretStr(DEFAULT_SERVICE_PASSWORD),
            concurrency_per_group=args.per_group,
            concurrency_total=args.total,
        ),
        log_level=args.log_level,
    )
    configure_logging(settings)
    limits = ConcurrencyLimits.from_settings(settings)
    shared = make_transport(args.transport, settings, args.total)
    transports = [shared]
    connectors: list[UnityConnector] = []
    for i in range(1, args.groups + 1):
        transport = shared
        if args.pool == "group":
            transport = make_transport(args.transport, settings, args.per_group)
            transports.append(transport)
        # Stale since the composition root (the lead's to port); imported here so that the
        # helpers of this module still serve bench/sync_throughput.py.
        from frontdesk.connectors.registry import create_connector  # type: ignore[import-not-found]

        connector = create_connector(
            "ALLSCRIPTS",
            {
                "User_Name": f"FDG{i:04d}PM:PMG{i:04d}^1^",
                "pms_user_name": f"pmuser{i:04d}",
                "PM_Password": f"PmPass-{i:04d}",
            },
            settings,
            transport=transport,
            limits=limits,
        )
        assert isinstance(connector, UnityConnector)
        connectors.append(connector)
    cpu_started = time.process_time()
    started = time.perf_counter()
    results = await asyncio.gather(*(read_group(c) for c in connectors))
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    for transport in transports:
        await transport.aclose()

    lost = duplicated = 0
    for (user, want), got in zip(expected.items(), results, strict=True):
        lost += len(set(want) - set(got))
        duplicated += len(got) - len(set(got))
        assert got == want, f"group {user.split(':')[0]} read differs"
    appointments = sum(len(r) for r in results)
    stats = [c.client.stats for c in connectors]
    calls = sum(s.requests for s in stats)
    chains = [
        4 + math.ceil(s.actions["GetPatientDemographics"] / args.per_group) + 1 for s in stats
    ]
    slots = min(args.total, args.groups * args.per_group)
    rounds = max(max(chains), math.ceil(calls / slots))
    lower = rounds * args.latency_ms / 1000
    return {
        "groups": args.groups,
        "transport": args.transport,
        "pool": args.pool,
        "appointments": appointments,
        "calls": calls,
        "retries": sum(s.retries for s in stats),
        "latency_ms": args.latency_ms,
        "per_group_limit": args.per_group,
        "total_limit": args.total,
        "rounds": rounds,
        "wall_s": round(wall, 3),
        "lower_bound_s": round(lower, 3),
        "ratio": round(wall / lower, 3),
        "cpu_s": round(cpu, 3),
        "cpu_ms_per_appointment": round(cpu * 1000 / appointments, 3),
        "lost": lost,
        "duplicated": duplicated,
    }


def add_event_loop_option(parser: argparse.ArgumentParser) -> None:
    """``--event-loop``: as ``FRONTDESK_EVENT_LOOP`` (default: what ``frontdesk serve`` runs on)."""
    parser.add_argument(
        "--event-loop",
        choices=typing.get_args(eventloop.EventLoopChoice),
        default=os.environ.get("FRONTDESK_EVENT_LOOP", "auto"),
        help="as FRONTDESK_EVENT_LOOP (default: what frontdesk serve runs on)",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--appointments", type=int, default=200, help="per group (10 locations)")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--per-group", type=int, default=4)
    parser.add_argument("--total", type=int, default=32)
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument("--transport", choices=["ours", "httpx", "aiohttp"], default="ours")
    parser.add_argument("--pool", choices=["process", "group"], default="process")
    add_event_loop_option(parser)
    args = parser.parse_args()
    config = multi_group_config(
        groups=args.groups,
        locations=10,
        appointments_per_location=args.appointments // 10,
        service_username=SERVICE_USERNAME,
        knobs=Knobs(latency=Latency(ms=args.latency_ms)),
    )
    port = free_port()
    sandbox = start_sandbox(config.model_dump_json(), port, args.latency_ms)
    base = f"http://127.0.0.1:{port}"
    try:
        expected: dict[str, list[str]] = {}
        for credential in config.credentials:
            query = urllib.parse.urlencode(
                {"date": DAY.isoformat(), "service_user": credential.service_user}
            )
            served = get_json(f"{base}/sandbox/admin/appointments?{query}")
            expected[credential.service_user] = [str(i) for i in served["appointment_ids"]]
        sandbox_cpu_before = process_cpu_s(sandbox.pid)
        result = eventloop.run(run(args, base, expected), choice=args.event_loop)
        result["event_loop"] = eventloop.resolve(args.event_loop)
        sandbox_cpu_after = process_cpu_s(sandbox.pid)
        if sandbox_cpu_before is not None and sandbox_cpu_after is not None:
            result["sandbox_cpu_s"] = round(sandbox_cpu_after - sandbox_cpu_before, 3)
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
    print(f"groups × appointments    {args.groups} × {result['appointments'] // args.groups}")
    print(f"calls                    {result['calls']} ({result['retries']} retries)")
    print(f"limits                   {args.per_group} per group, {args.total} in total")
    print(f"wall                     {result['wall_s']:.3f} s")
    print(f"lower bound              {result['lower_bound_s']:.3f} s ({result['rounds']} rounds)")
    print(f"ratio                    {result['ratio']:.3f} (target ≤ 1.3)")
    print(f"CPU per appointment      {result['cpu_ms_per_appointment']:.3f} ms (target ≤ 1)")
    print(f"lost / duplicated        {result['lost']} / {result['duplicated']}")
    print(f"transport                {args.transport}, one pool per {args.pool}")
    print(f"event loop               {result['event_loop']}")
    print(f"sandbox process CPU      {result.get('sandbox_cpu_s', '?')} s")
    print(f"host                     {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
