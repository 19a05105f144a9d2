"""Scale-out benchmark: the same sync + send workload on 1, 2 and 4 ``frontdesk worker``
processes (procrastinate on PostgreSQL), appointments per second for each.

Run: ``.venv/bin/python bench/scale_workers.py [--processes 1,2,4] [--groups 100]
[--locations 5] [--appointments 10] [--latency-ms 50] [--concurrency 2]
[--database-url URL]``.

1. PostgreSQL from ``--database-url`` (default ``FRONTDESK_TEST_POSTGRES_URL``, else
   ``postgresql://postgres@127.0.0.1:5432/test``): a scratch database of this run is created,
   migrated and configured once (``--groups`` enterprises, each with ``--locations``
   locations, its group and one mapping per location, through the service layer), then
   copied for each case (``CREATE DATABASE … TEMPLATE``) so every case starts from the same
   rows; all of them are dropped at the end.
2. The Unity sandbox runs in its own process (``multi_group_config``, ``--latency-ms`` per
   call) and serves ``--appointments`` per location on the day read; an SMTP sink in its own
   process (``bench/sync_throughput.py``'s) writes one line per message received.
3. Per case: ``N`` ``frontdesk worker --concurrency C`` processes start (the real command,
   defaults for everything else); once all are registered the clock starts and this process,
   as an API node, asks for one run per group — each run inserted together with its
   ``sync_group`` job, in one transaction. The clock stops when every run has ended and no
   review request is pending or sending. Then the workers get SIGTERM.

``--concurrency 2`` keeps one process, not the machine, the limit: a run is mostly waiting
for the EHR (``4 + ceil(D / per_group) + 1`` round trips of ``--latency-ms`` for ``D``
patients), so one process runs 2 groups at a time, 2 processes 4, and so on — until CPU runs
out. Each case reports, to tell which:

- ``latency bound``: every run's round trips packed perfectly into the ``N × C`` slots
  (sending ignored), and ``efficiency`` = that bound / wall;
- ``worker slots``: how busy the slots were, and the seconds each task held one (from
  procrastinate's job events);
- CPU seconds (user + system, ``/proc``) of the workers, of PostgreSQL (the backends serving
  this case's database), of the sandbox, of the sink and of this process; the cores they used
  together; and how busy the whole machine was (``/proc/stat``: other people's work included
  — the load average is printed too).

Correctness, per case: every run succeeded, every appointment has a decision, every eligible
one a message: ``duplicates`` (a Message-ID received twice) and ``lost`` (eligible, not
received) must be 0. The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

BENCH = Path(__file__).resolve()
sys.path.insert(0, str(BENCH.parent))

from sync_throughput import start_sink  # noqa: E402
from unity_read import SERVICE_USERNAME, free_port, get_json, start_sandbox  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
DAY = date(2025, 3, 3)  # a Monday; runs act as the 4th and read the 3rd (fetch delay 1)
TARGET_2_OVER_1 = 1.5


# -- CPU accounting ------------------------------------------------------------------------


def cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process (Linux ``/proc``), or None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


class Backends:
    """CPU of the PostgreSQL backends serving one database, sampled while the case runs
    (a backend first seen after the start counts from zero)."""

    def __init__(self, admin_url: str, database: str) -> None:
        self.admin_url = admin_url
        self.database = database
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.started = False

    def sample(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.database,)
            ).fetchall()
        for (pid,) in rows:
            used = cpu_s(pid)
            if used is None:
                continue
            self.first.setdefault(pid, used if not self.started else 0.0)
            self.last[pid] = used
        self.started = True

    def total(self) -> float:
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


def latency_chains(config: Any, *, per_group: int) -> list[int]:
    """Dependent EHR round trips of each group's run (as ``bench/unity_read.py``): GetToken →
    GetUserAuthentication → GetServerInfo → GetSchedule, its ``D`` patients ``per_group`` at
    a time, RetireToken."""
    from frontdesk.sandbox.unity import Sandbox

    sandbox = Sandbox(config)
    chains = []
    for credential in config.credentials:
        practice = sandbox.practice_for(credential.service_user)
        patients = {a.patient_id for a in practice.appointments_on(DAY)}
        chains.append(4 + -(-len(patients) // per_group) + 1)
    return chains


# -- the database ---------------------------------------------------------------------------


def pg_exec(admin_url: str, sql: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def database_url(admin_url: str, name: str) -> str:
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


async def configure(url: str, key: str, listing: list[dict[str, Any]]) -> None:
    """Migrate; each sandbox credential gets an enterprise, its locations, a group and one
    mapping per location (no schedule due: the runs are asked for in the timed part)."""
    from frontdesk.access.principal import Principal
    from frontdesk.businesses.service import add_business
    from frontdesk.composition import builtin_plugins
    from frontdesk.context import AppContext
    from frontdesk.integrations.catalog import TriggerRef
    from frontdesk.integrations.groups import PropertyInput, create_group
    from frontdesk.integrations.mappings import MappingChanges, create_mapping
    from frontdesk.settings import Settings

    settings = Settings(database_url=url, secret_keys=SecretStr(key), log_level="WARNING")
    ctx = await AppContext.open(settings, migrate=True)
    system = Principal.system("bench")
    plugins = builtin_plugins(ctx)
    try:
        for g, credential in enumerate(listing, start=1):
            enterprise = 300_000_000_000_000 + g * 1000
            async with ctx.db.transaction() as session:
                await add_business(
                    session, principal=system, clock=ctx.clock, number=enterprise, name=f"E{g}"
                )
                group = await create_group(
                    session,
                    principal=system,
                    clock=ctx.clock,
                    secrets=ctx.secrets,
                    plugins=plugins,
                    parent_business_number=enterprise,
                    source_id=32,
                    triggers=[TriggerRef(trigger_id=56, trigger_type_id=1)],
                    properties=[
                        PropertyInput(
                            "User_Name", credential["service_user"].split("^1^")[0] + "^1^", True
                        ),
                        PropertyInput("PM_Password", f"PmPass-{g:04d}", True),
                        PropertyInput("pms_user_name", f"pmuser{g:04d}"),
                        PropertyInput("review.url", "https://r.example/x"),
                    ],
                )
                for n, name in enumerate(credential["locations"], start=1):
                    await add_business(
                        session,
                        principal=system,
                        clock=ctx.clock,
                        number=enterprise + n,
                        name=name,
                        enterprise_number=enterprise,
                    )
                    await create_mapping(
                        session,
                        principal=system,
                        clock=ctx.clock,
                        secrets=ctx.secrets,
                        plugins=plugins,
                        group_id=group.id,
                        business_number=enterprise + n,
                        changes=MappingChanges(
                            next_run_at=datetime(2100, 1, 1),
                            properties=[PropertyInput("allscripts.location.name", name)],
                        ),
                    )
    finally:
        await ctx.close()


# -- one case -------------------------------------------------------------------------------


def worker_env(
    url: str, key: str, unity_port: int, smtp_port: int, work: Path, per_group: int
) -> dict[str, str]:
    from frontdesk.sandbox.unity import DEFAULT_APPNAME, DEFAULT_SERVICE_PASSWORD

    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env.update(
        {
            "FRONTDESK_DATA_DIR": str(work / "data"),
            "FRONTDESK_DATABASE_URL": url,
            "FRONTDESK_JOBS__BACKEND": "procrastinate",
            "FRONTDESK_SECRET_KEYS": key,
            "FRONTDESK_AUTO_MIGRATE": "false",
            "FRONTDESK_LOG_LEVEL": "WARNING",
            "FRONTDESK_ACCESS_LOG": "false",
            "FRONTDESK_UNITY__URL": f"http://127.0.0.1:{unity_port}/UnityService.svc/json",
            "FRONTDESK_UNITY__APPNAME": DEFAULT_APPNAME,
            "FRONTDESK_UNITY__SERVICE_USERNAME": SERVICE_USERNAME,
            "FRONTDESK_UNITY__SERVICE_PASSWORD": DEFAULT_SERVICE_PASSWORD,
            "FRONTDESK_UNITY__CONCURRENCY_PER_GROUP": str(per_group),
            "FRONTDESK_SMTP__HOST": "127.0.0.1",
            "FRONTDESK_SMTP__PORT": str(smtp_port),
            "FRONTDESK_SMTP__FROM": "reviews@bench.test",
        }
    )
    return env


def worker_command(concurrency: int) -> list[str]:
    script = Path(sys.executable).with_name("frontdesk")
    base = (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "from frontdesk.cli.main import main; main()"]
    )
    return [*base, "worker", "--concurrency", str(concurrency)]


def spawn_workers(
    n: int, concurrency: int, env: dict[str, str], work: Path
) -> list[subprocess.Popen[bytes]]:
    """``n`` worker processes, each logging to ``work/worker-<i>.log``."""
    workers = []
    for i in range(n):
        with (work / f"worker-{i}.log").open("wb") as log:
            workers.append(subprocess.Popen(worker_command(concurrency), env=env, stderr=log))
    return workers


SLOT_TIME = """
SELECT j.task_name, count(*),
       sum(extract(epoch FROM e_end.at - e_start.at))
  FROM procrastinate_jobs j
  JOIN (SELECT job_id, min(at) AS at FROM procrastinate_events
         WHERE type = 'started' GROUP BY job_id) e_start ON e_start.job_id = j.id
  JOIN (SELECT job_id, max(at) AS at FROM procrastinate_events
         WHERE type IN ('succeeded', 'failed') GROUP BY job_id) e_end ON e_end.job_id = j.id
 GROUP BY j.task_name
"""


async def slot_time(ctx: Any) -> dict[str, dict[str, float]]:
    """Per task: jobs run and the seconds they held a worker slot (procrastinate's events)."""
    async with ctx.db.reader() as session:
        rows = (await session.execute(text(SLOT_TIME))).all()
    return {
        name.removeprefix("frontdesk."): {"jobs": int(n), "slot_s": round(float(total), 2)}
        for name, n, total in rows
    }


async def count(ctx: Any, query: Any) -> int:
    async with ctx.db.reader() as session:
        return int((await session.execute(query)).scalar_one())


async def run_case(
    args: argparse.Namespace,
    *,
    processes: int,
    admin_url: str,
    database: str,
    key: str,
    unity_port: int,
    sandbox: subprocess.Popen[bytes],
    served: int,
) -> dict[str, Any]:
    from frontdesk.access.principal import Principal
    from frontdesk.composition import Role, build_process
    from frontdesk.context import AppContext
    from frontdesk.engagement.checkin_models import ELIGIBLE, CheckIn
    from frontdesk.engagement.ledger_models import PENDING, SENDING, SENT, ReviewRequest
    from frontdesk.integrations.models import IntegrationGroup
    from frontdesk.jobs.procrastinate_queue import ProcrastinateJobQueue
    from frontdesk.logs import configure_logging
    from frontdesk.settings import JobsSettings, Settings
    from frontdesk.sync import service
    from frontdesk.sync.models import SyncRun

    url = database_url(admin_url, database)
    work = Path(tempfile.mkdtemp(prefix="scale-bench-"))
    smtp_port = free_port()
    received_file = work / "received.txt"
    sink = start_sink(received_file, smtp_port)
    settings = Settings(
        data_dir=work / "data",
        database_url=url,
        secret_keys=SecretStr(key),
        log_level="WARNING",
        jobs=JobsSettings(backend="procrastinate"),
    )
    configure_logging(settings)
    ctx = await AppContext.open(settings, migrate=False)
    env = worker_env(url, key, unity_port, smtp_port, work, args.per_group)
    workers = spawn_workers(processes, args.concurrency, env, work)
    # an API node (on procrastinate): its queue only defers, into the workers' queue
    node = build_process(ctx, Role.API)
    queue = node.queue
    assert isinstance(queue, ProcrastinateJobQueue)
    dispatcher = node.sync.dispatcher
    backends = Backends(admin_url, database)
    try:
        deadline = time.monotonic() + 120
        while await count(ctx, text("SELECT count(*) FROM procrastinate_workers")) < processes:
            if any(w.poll() is not None for w in workers) or time.monotonic() > deadline:
                raise SystemExit(f"a worker did not start: {(work / 'worker-0.log').read_text()}")
            await asyncio.sleep(0.1)
        async with ctx.db.reader() as session:
            group_ids = list((await session.execute(select(IntegrationGroup.id))).scalars())
        others = {"sandbox": sandbox.pid, "sink": sink.pid}
        before = {w.pid: cpu_s(w.pid) or 0.0 for w in workers}
        before_others = {name: cpu_s(pid) or 0.0 for name, pid in others.items()}
        backends.sample()
        busy0, total0 = machine_ticks()
        own0 = time.process_time()
        started = time.perf_counter()

        # as an API node: each run and its job in one transaction
        principal = Principal.system("bench")
        for group_id in group_ids:
            async with ctx.db.transaction() as session:
                (run,) = await service.request_run(
                    session,
                    principal=principal,
                    clock=ctx.clock,
                    group_id=group_id,
                    on=DAY + timedelta(days=1),
                )
                await dispatcher.defer(run.id, group_id, connection=session)
        open_runs = select(func.count()).select_from(SyncRun)
        open_runs = open_runs.where(SyncRun.status.in_(("queued", "running", "waiting")))
        open_requests = select(func.count()).select_from(ReviewRequest)
        open_requests = open_requests.where(ReviewRequest.state.in_((PENDING, SENDING)))
        samples = 0
        while True:
            await asyncio.sleep(0.2)
            samples += 1
            if samples % 5 == 0:
                backends.sample()  # catch backends that come and go
            if any(w.poll() is not None for w in workers):
                raise SystemExit(f"a worker died: {(work / 'worker-0.log').read_text()[-3000:]}")
            if await count(ctx, open_runs) == 0 and await count(ctx, open_requests) == 0:
                break
        wall = time.perf_counter() - started
        own = time.process_time() - own0
        busy1, total1 = machine_ticks()
        backends.sample()
        worker_cpu = [(cpu_s(w.pid) or 0.0) - before[w.pid] for w in workers]
        other_cpu = {n: (cpu_s(pid) or 0.0) - before_others[n] for n, pid in others.items()}
        load = os.getloadavg()[0]
        async with ctx.db.reader() as session:
            decided = (
                await session.execute(select(func.count()).select_from(CheckIn))
            ).scalar_one()
            eligible = (
                await session.execute(
                    select(func.count()).select_from(CheckIn).where(CheckIn.decision == ELIGIBLE)
                )
            ).scalar_one()
            sent_ids = list(
                (
                    await session.execute(
                        select(ReviewRequest.message_id).where(ReviewRequest.state == SENT)
                    )
                ).scalars()
            )
            statuses = Counter((await session.execute(select(SyncRun.status))).scalars())
        slots = await slot_time(ctx)
    finally:
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.wait(timeout=60)
            except subprocess.TimeoutExpired:
                w.kill()
        await node.stop()  # its queue too
        await ctx.close()
        sink.terminate()
        sink.wait(timeout=10)
    received = Counter(line for line in received_file.read_text().splitlines() if line)
    cores = os.cpu_count() or 1
    return {
        "processes": processes,
        "concurrency": args.concurrency,
        "runs": dict(statuses),
        "appointments": served,
        "decided": decided,
        "eligible": eligible,
        "sent": len(sent_ids),
        "received": sum(received.values()),
        "duplicates": sum(n - 1 for n in received.values() if n > 1),
        "lost": eligible - len(set(sent_ids) & set(received)),
        "wall_s": round(wall, 3),
        "appointments_per_s": round(served / wall, 1),
        "cpu_s": {
            "workers": round(sum(worker_cpu), 2),
            "per_worker": [round(c, 2) for c in worker_cpu],
            "postgres": round(backends.total(), 2),
            "sandbox": round(other_cpu["sandbox"], 2),
            "sink": round(other_cpu["sink"], 2),
            "bench": round(own, 2),
        },
        "worker_cpu_ms_per_appointment": round(sum(worker_cpu) * 1000 / served, 3),
        "our_cores": round(
            (sum(worker_cpu) + backends.total() + sum(other_cpu.values()) + own) / wall, 2
        ),
        "slot_time": slots,
        "slot_use": round(
            sum(t["slot_s"] for t in slots.values()) / (processes * args.concurrency * wall), 2
        ),
        "machine_busy_cores": round((busy1 - busy0) / max(1, total1 - total0) * cores, 2),
        "load_avg_1m": round(load, 2),
    }


# -- the driver -----------------------------------------------------------------------------


def main() -> None:
    from frontdesk.sandbox.unity import Knobs, Latency, multi_group_config

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--locations", type=int, default=5, help="per group")
    parser.add_argument("--appointments", type=int, default=10, help="per location and day")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=2, help="jobs per worker process")
    parser.add_argument("--per-group", type=int, default=4, help="Unity calls at once per group")
    parser.add_argument(
        "--database-url", default=os.environ.get("FRONTDESK_TEST_POSTGRES_URL", DEFAULT_URL)
    )
    args = parser.parse_args()
    counts = [int(x) for x in args.processes.split(",")]
    admin_url = args.database_url.replace("postgresql+psycopg://", "postgresql://")
    template = f"fd_scale_{os.getpid()}"
    key = Fernet.generate_key().decode()
    config = multi_group_config(
        groups=args.groups,
        locations=args.locations,
        appointments_per_location=args.appointments,
        service_username=SERVICE_USERNAME,
        knobs=Knobs(latency=Latency(ms=args.latency_ms)),
    )
    unity_port = free_port()
    sandbox = start_sandbox(config.model_dump_json(), unity_port, args.latency_ms)
    results: list[dict[str, Any]] = []
    pg_exec(admin_url, f"DROP DATABASE IF EXISTS {template} WITH (FORCE)")
    pg_exec(admin_url, f"CREATE DATABASE {template}")
    try:
        base = f"http://127.0.0.1:{unity_port}"
        listing = get_json(f"{base}/sandbox/admin/credentials")
        served = 0
        for credential in listing:  # what the sandbox serves (its days generated up front)
            query = urllib.parse.urlencode(
                {"date": DAY.isoformat(), "service_user": credential["service_user"]}
            )
            served += get_json(f"{base}/sandbox/admin/appointments?{query}")["count"]
        chains = latency_chains(config, per_group=args.per_group)
        configured = time.perf_counter()
        asyncio.run(configure(database_url(admin_url, template), key, listing))
        print(
            f"configured {len(listing)} groups × {args.locations} locations × "
            f"{args.appointments} appointments ({served}) in "
            f"{time.perf_counter() - configured:.1f} s",
            flush=True,
        )
        for processes in counts:
            database = f"{template}_{processes}"
            pg_exec(admin_url, f"CREATE DATABASE {database} TEMPLATE {template}")
            try:
                r = asyncio.run(
                    run_case(
                        args,
                        processes=processes,
                        admin_url=admin_url,
                        database=database,
                        key=key,
                        unity_port=unity_port,
                        sandbox=sandbox,
                        served=served,
                    )
                )
                # all runs' EHR round trips packed perfectly into processes × concurrency slots
                ideal = sum(chains) * args.latency_ms / 1000 / (processes * args.concurrency)
                r["latency_bound_s"] = round(max(ideal, max(chains) * args.latency_ms / 1000), 2)
                r["efficiency"] = round(r["latency_bound_s"] / r["wall_s"], 2)
            finally:
                pg_exec(admin_url, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
            results.append(r)
            cpu = r["cpu_s"]
            print(f"== {processes} worker process(es) × --concurrency {args.concurrency}")
            print(f"runs                     {r['runs']}")
            print(f"appointments / decided   {r['appointments']} / {r['decided']}")
            print(f"eligible / sent / recv   {r['eligible']} / {r['sent']} / {r['received']}")
            print(f"duplicates / lost        {r['duplicates']} / {r['lost']}")
            print(
                f"wall                     {r['wall_s']:.2f} s ({r['appointments_per_s']} appt/s)"
            )
            print(
                f"CPU s                    workers {cpu['workers']} {cpu['per_worker']}, "
                f"postgres {cpu['postgres']}, sandbox {cpu['sandbox']}, sink {cpu['sink']}, "
                f"bench {cpu['bench']}"
            )
            print(
                f"latency bound            {r['latency_bound_s']} s (efficiency {r['efficiency']})"
            )
            print(f"worker CPU / appointment {r['worker_cpu_ms_per_appointment']} ms")
            slots = ", ".join(
                f"{name} {t['jobs']} jobs {t['slot_s']} s" for name, t in r["slot_time"].items()
            )
            print(f"worker slots             {r['slot_use']:.0%} busy: {slots}")
            print(
                f"machine                  {r['machine_busy_cores']} of {os.cpu_count()} cores "
                f"busy, {r['our_cores']} by this benchmark's processes, "
                f"load {r['load_avg_1m']}",
                flush=True,
            )
    finally:
        pg_exec(admin_url, f"DROP DATABASE IF EXISTS {template} WITH (FORCE)")
        sandbox.terminate()
        sandbox.wait(timeout=10)
    rates = [r["appointments_per_s"] for r in results]
    summary: dict[str, Any] = {
        "processes": counts,
        "appointments_per_s": rates,
        "speedup": [round(rate / rates[0], 2) for rate in rates],
        "duplicates": sum(r["duplicates"] for r in results),
        "lost": sum(r["lost"] for r in results),
        "failed_runs": sum(n for r in results for s, n in r["runs"].items() if s != "succeeded"),
        "groups": args.groups,
        "appointments": served,
        "latency_ms": args.latency_ms,
        "concurrency": args.concurrency,
        "cpus": os.cpu_count(),
        "cases": results,
    }
    if 1 in counts and 2 in counts:
        ratio = rates[counts.index(2)] / rates[counts.index(1)]
        print(f"2 processes / 1          {ratio:.2f} (target ≥ {TARGET_2_OVER_1})")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
