"""End-to-end benchmark: EHR → decisions → review requests → SMTP (or Twilio), at 50 and 200
locations.

Run: ``.venv/bin/python bench/sync_throughput.py [--locations 50,200] [--latency-ms 50]
[--appointments 100] [--per-group 4] [--total 32] [--database-url URL] [--channel sms]
[--metering on|off|compare]``.

``--metering``: usage metering and the /metrics instruments on (default) or off; ``compare``
runs each case 3 times each way, alternating, and prints every run, the medians of wall time
and CPU per appointment and on/off (``bench/metering_switch.py``).

``--channel sms``: every group sends texts (``review.quiet.hours`` off) to the Twilio
simulator (``python -m frontdesk.sandbox twilio``) in its own process instead of the SMTP
sink; "received" counts the simulator's captured messages by ``SM…`` sid.

Each case (``L`` locations = ``L / 10`` groups × 10 locations × ``--appointments`` per
location and day) runs in a subprocess of its own, so peak RSS figures do not mix:

1. the Unity sandbox in its own process (``python -m frontdesk.sandbox unity --latency-ms
   50``) serving ``multi_group_config``; an SMTP sink (aiosmtpd) in its own process writing
   one line per message received (its ``Message-ID``);
2. frontdesk in this process: SQLite in a temp dir (or ``--database-url``), one enterprise,
   group and ten mappings per group configured through the integration API (not timed),
   one manual run per group requested through the API;
3. timed: the process of ``frontdesk serve`` (role ``server``: the embedded runner, i.e. the
   job queue, the dispatcher and the review sender's sweeper) starts, runs every group's run
   and sends every review request; the clock stops when every run has ended and no request
   is pending or sending.

**Lower bound** (as ``bench/unity_read.py``): each group needs 4 dependent round trips
(GetToken → GetUserAuthentication → GetServerInfo → GetSchedule), ``ceil(D / per_group)``
rounds for its ``D`` demographics calls, and RetireToken; all ``C`` calls share at most
``min(total, groups × per_group)`` slots::

    rounds = max(max over groups of (4 + ceil(D_g / per_group) + 1), ceil(C / slots))
    lower_bound = rounds × latency

``ratio = wall / lower_bound`` (sending is inside ``wall``). CPU is ``time.process_time()``
of this process over the timed part (sandbox and sink are other processes), per appointment.
The last line is one JSON object.

To see where the CPU goes, one case can run without sending (``--case 200 --no-send``:
decisions only, no ledger) or with the ledger but a channel that discards every message
(``--case 200 --null-channel``);
``BENCH_PROFILE=file`` writes a cProfile of the timed part.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve()
sys.path.insert(0, str(BENCH.parent))

from metering_switch import (  # noqa: E402
    METRICS_TOKEN,
    add_metering_option,
    compare,
)
from unity_read import (  # noqa: E402
    SERVICE_USERNAME,
    add_event_loop_option,
    free_port,
    get_json,
    start_sandbox,
)

DAY = date(2025, 3, 3)  # a Monday; runs act as the 4th and read the 3rd (fetch delay 1)


# -- the SMTP sink (its own process) ------------------------------------------------------


def sink_main(path: str, port: int) -> None:
    """``--sink FILE PORT``: accept every message, append its Message-ID to FILE."""
    from email.parser import BytesHeaderParser

    from frontdesk.delivery.capture import LoopbackController

    out = open(path, "a", buffering=1)  # noqa: SIM115 - lives as long as the process
    parser = BytesHeaderParser()

    class Handler:
        async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
            headers = parser.parsebytes(envelope.content)
            out.write(f"{headers.get('Message-ID', '')}\n")
            return "250 OK"

    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    controller = LoopbackController(Handler(), port=port)
    controller.start()
    print("ready", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    controller.stop()
    out.close()


def start_sink(path: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, str(BENCH), "--sink", str(path), str(port)],
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    if process.stdout.readline().strip() != b"ready":
        raise SystemExit("SMTP sink did not start")
    return process


TWILIO_SID, TWILIO_TOKEN = "AC" + "0" * 31 + "1", "sandbox-auth-token"


def start_twilio(port: int) -> subprocess.Popen[bytes]:
    """The Twilio simulator in its own process (lifecycle callbacks go nowhere)."""
    command = [sys.executable, "-m", "frontdesk.sandbox", "twilio", "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            get_json(f"http://127.0.0.1:{port}/sandbox/knobs")
            return process
        except OSError:
            if process.poll() is not None:
                raise SystemExit("the Twilio simulator exited") from None
            time.sleep(0.1)
    raise SystemExit("the Twilio simulator did not start")


# -- one case (its own process) -----------------------------------------------------------


async def configure(
    ctx: Any, settings: Any, listing: list[dict[str, Any]], channel: str = "email"
) -> list[int]:
    """Enterprises, locations, groups and mappings through the integration API; group ids."""
    import httpx

    from frontdesk.access.principal import Principal
    from frontdesk.access.service import create_api_key
    from frontdesk.server.app import create_app

    async with ctx.db.transaction() as session:
        key = await create_api_key(
            session, principal=Principal.system("bench"), clock=ctx.clock, name="bench"
        )
    headers = {"Authorization": f"Bearer {key.secret}"}
    app = create_app(settings, context=ctx)
    groups: list[int] = []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

        async def call(method: str, url: str, body: Mapping[str, Any]) -> Any:
            r = await client.request(method, url, json=body, headers=headers)
            if r.status_code >= 300:
                raise SystemExit(f"{method} {url}: {r.status_code} {r.text}")
            return r.json()

        for g, credential in enumerate(listing, start=1):
            enterprise = 300_000_000_000_000 + g * 1000
            await call("POST", "/api/businesses", {"businessNumber": enterprise, "name": f"E{g}"})
            user = credential["service_user"].split("^1^")[0] + "^1^"
            group = await call(
                "PUT",
                "/integration/add/businessintegrationgroup",
                {
                    "parentBusinessNumber": enterprise,
                    "integrationSourceId": 32,
                    "integrationGroupTriggers": [{"triggerId": 56, "triggerTypeId": 1}],
                    "integrationGroupProperties": [
                        {"propertyKey": "User_Name", "propertyValue": user, "isSecure": True},
                        {
                            "propertyKey": "PM_Password",
                            "propertyValue": f"PmPass-{g:04d}",
                            "isSecure": True,
                        },
                        {"propertyKey": "pms_user_name", "propertyValue": f"pmuser{g:04d}"},
                        {"propertyKey": "review.url", "propertyValue": "https://r.example/x"},
                        {"propertyKey": "review.channel", "propertyValue": channel},
                        {"propertyKey": "review.quiet.hours", "propertyValue": "off"},
                    ],
                },
            )
            groups.append(group["groupId"])
            for n, name in enumerate(credential["locations"], start=1):
                number = enterprise + n
                await call(
                    "POST",
                    "/api/businesses",
                    {"businessNumber": number, "name": name, "enterpriseNumber": enterprise},
                )
                await call(
                    "PUT",
                    "/integration/add/businessintegrationmapping",
                    {
                        "businessNumber": number,
                        "integrationGroupId": group["groupId"],
                        "integrationProperties": [
                            {"propertyKey": "allscripts.location.name", "propertyValue": name}
                        ],
                    },
                )
        for group_id in groups:
            await call(
                "POST",
                f"/integration/businessintegrationgroup/id/{group_id}/run",
                {"on": (DAY + timedelta(days=1)).isoformat()},
            )
    return groups


class DiscardingChannel:
    """A review channel that accepts every message and keeps nothing (``--null-channel``)."""

    def __init__(self) -> None:
        from frontdesk.delivery.reach import Reach

        self.name = "email"
        self.reaches = Reach.EMAIL

    def message_id(self, ledger_key: str) -> str:
        return f"<{ledger_key}@discarded>"

    async def send(self, message: Any) -> Any:
        from frontdesk.delivery.channel import SendResult

        key = message.ledger_key
        return SendResult(channel=self.name, ledger_key=key, message_id=self.message_id(key))

    async def reconcile(self, ledger_key: str, message_id: str | None) -> bool | None:
        return None


def given(**values: Any) -> dict[str, Any]:
    """The settings given on the command line (None: the product's default)."""
    return {key: value for key, value in values.items() if value is not None}


async def run_case(args: argparse.Namespace) -> dict[str, Any]:
    from cryptography.fernet import Fernet
    from pydantic import SecretStr
    from sqlalchemy import func, select, text, update

    from frontdesk.composition import Role, build_process, builtin_plugins
    from frontdesk.connectors.limits import ConcurrencyLimits
    from frontdesk.context import AppContext
    from frontdesk.engagement.checkin_models import ELIGIBLE, CheckIn
    from frontdesk.engagement.ledger_models import PENDING, SENDING, SENT, ReviewRequest
    from frontdesk.integrations.models import IntegrationMapping
    from frontdesk.sandbox.unity import DEFAULT_APPNAME, DEFAULT_SERVICE_PASSWORD
    from frontdesk.settings import (
        JobsSettings,
        MetricsSettings,
        ReviewSettings,
        Settings,
        SmtpSettings,
        SyncSettings,
        TwilioSettings,
        UnitySettings,
        UsageSettings,
    )
    from frontdesk.sync.models import SyncRun

    metering = args.metering == "on"

    locations = args.case
    group_count = locations // 10
    work = Path(tempfile.mkdtemp(prefix="sync-bench-"))
    from frontdesk.sandbox.unity import Knobs, Latency, multi_group_config

    config = multi_group_config(
        groups=group_count,
        locations=10,
        appointments_per_location=args.appointments,
        service_username=SERVICE_USERNAME,
        knobs=Knobs(latency=Latency(ms=args.latency_ms)),
    )
    unity_port, smtp_port = free_port(), free_port()
    sandbox = start_sandbox(config.model_dump_json(), unity_port, args.latency_ms)
    received_file = work / "received.txt"
    sms = args.channel == "sms"
    twilio_port = free_port()
    sink = start_twilio(twilio_port) if sms else start_sink(received_file, smtp_port)
    base = f"http://127.0.0.1:{unity_port}"
    try:
        listing = get_json(f"{base}/sandbox/admin/credentials")
        served = 0
        for credential in listing:
            query = urllib.parse.urlencode(
                {"date": DAY.isoformat(), "service_user": credential["service_user"]}
            )
            served += get_json(f"{base}/sandbox/admin/appointments?{query}")["count"]
        settings = Settings(
            data_dir=work / "data",
            database_url=args.database_url or f"sqlite+aiosqlite:///{work / 'bench.db'}",
            secret_keys=SecretStr(Fernet.generate_key().decode()),
            log_level=args.log_level,
            access_log=False,
            unity=UnitySettings(
                url=f"{base}/UnityService.svc/json",
                appname=DEFAULT_APPNAME,
                service_username=SERVICE_USERNAME,
                service_password=SecretStr(DEFAULT_SERVICE_PASSWORD),
                concurrency_per_group=args.per_group,
                concurrency_total=args.total,
            ),
            smtp=SmtpSettings(
                host="127.0.0.1",
                port=smtp_port,
                **{"from": "reviews@bench.test"},
                **given(pool_size=args.smtp_pool),
            ),
            twilio=TwilioSettings(
                account_sid=TWILIO_SID if sms else None,
                auth_token=SecretStr(TWILIO_TOKEN),
                **{"from": "+15005550006"},
                api_url=f"http://127.0.0.1:{twilio_port}",
            ),
            # Status callbacks go nowhere (nothing listens there): the simulator's business.
            public_url=f"http://127.0.0.1:{free_port()}",
            usage=UsageSettings(enabled=metering),
            metrics=MetricsSettings(token=SecretStr(METRICS_TOKEN) if metering else None),
            sync=SyncSettings(tick_s=3600, **given(batch_max_wait_s=args.batch_max_wait)),
            review=ReviewSettings(
                sweep_s=float(os.environ.get("BENCH_SWEEP_S", "1.0")),
                **given(send_concurrency=args.send_concurrency, claim_batch=args.claim_batch),
            ),
        )
        # One job slot per group's run and one per message in flight, as a sized deployment.
        slots = group_count + settings.review.send_concurrency
        settings = settings.model_copy(update={"jobs": JobsSettings(concurrency=slots)})
        ctx = await AppContext.open(settings)
        try:
            await configure(ctx, settings, listing, args.channel)
            async with ctx.db.transaction() as session:  # only the runs requested above
                await session.execute(
                    update(IntegrationMapping).values(next_run_at=datetime(2100, 1, 1, tzinfo=UTC))
                )
            connectors: list[Any] = []
            plugins = builtin_plugins(ctx)
            shared: list[ConcurrencyLimits] = []

            def build(source: str, properties: Mapping[str, str], s: Settings) -> Any:
                if not shared:  # the process's meter observes the calls, as in serve
                    observer = process.meter if metering else None
                    shared.append(
                        ConcurrencyLimits.from_settings(settings, observer=observer)
                        if observer is not None
                        else ConcurrencyLimits.from_settings(settings)
                    )
                connector = plugins.connector(source, properties, s, limits=shared[0])
                connectors.append(connector)
                return connector

            channels = None
            if args.null_channel:  # the ledger without SMTP: what the channel costs
                from frontdesk.delivery.channel import ChannelPlugin
                from frontdesk.delivery.reach import Reach

                discard = DiscardingChannel()
                channels = [ChannelPlugin(discard.name, Reach.EMAIL, lambda: discard)]
            process = build_process(
                ctx, Role.SERVER, plugins=plugins, connectors=build, channels=channels
            )
            if args.no_send:  # decisions only: no ledger rows, nothing to send
                process.engine._on_decided = None
            profile = None
            if os.environ.get("BENCH_PROFILE"):  # a cProfile of the timed part, to this file
                import cProfile

                profile = cProfile.Profile()
                profile.enable()
            cpu_started = time.process_time()
            started = time.perf_counter()
            await process.start()
            runs_done = None  # when the last run ended (sending may still be going on)
            while True:
                await asyncio.sleep(0.2)
                async with ctx.db.reader() as session:
                    open_runs = (
                        await session.execute(
                            select(func.count())
                            .select_from(SyncRun)
                            .where(SyncRun.status.in_(("queued", "running", "waiting")))
                        )
                    ).scalar_one()
                    open_requests = (
                        await session.execute(
                            select(func.count())
                            .select_from(ReviewRequest)
                            .where(ReviewRequest.state.in_((PENDING, SENDING)))
                        )
                    ).scalar_one()
                if open_runs == 0 and runs_done is None:
                    runs_done = time.perf_counter() - started
                if open_runs == 0 and open_requests == 0:
                    break
            wall = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
            if profile is not None:
                profile.disable()
                profile.dump_stats(os.environ["BENCH_PROFILE"])
            await process.stop()
            async with ctx.db.reader() as session:
                metered = dict(
                    (
                        await session.execute(
                            text("SELECT kind, SUM(count) FROM usage_counts GROUP BY kind")
                        )
                    ).all()
                )
                decided = (
                    await session.execute(select(func.count()).select_from(CheckIn))
                ).scalar_one()
                eligible = (
                    await session.execute(
                        select(func.count())
                        .select_from(CheckIn)
                        .where(CheckIn.decision == ELIGIBLE)
                    )
                ).scalar_one()
                sent_ids = list(
                    (
                        await session.execute(
                            select(ReviewRequest.message_id).where(ReviewRequest.state == SENT)
                        )
                    ).scalars()
                )
                failed_runs = (
                    await session.execute(
                        select(func.count())
                        .select_from(SyncRun)
                        .where(SyncRun.status != "succeeded")
                    )
                ).scalar_one()
        finally:
            await ctx.close()
        captured_texts = get_json(f"http://127.0.0.1:{twilio_port}/sandbox/messages") if sms else []
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
        sink.terminate()
        sink.wait(timeout=10)
    if sms:
        received = Counter(str(m["sid"]) for m in captured_texts)
    else:
        received = Counter(line for line in received_file.read_text().splitlines() if line)
    stats = [c.client.stats for c in connectors]
    calls = sum(s.requests for s in stats)
    chains = [
        4 + math.ceil(s.actions.get("GetPatientDemographics", 0) / args.per_group) + 1
        for s in stats
    ]
    slots = min(args.total, group_count * args.per_group)
    rounds = max(max(chains), math.ceil(calls / slots))
    lower = rounds * args.latency_ms / 1000
    return {
        "locations": locations,
        "groups": group_count,
        "appointments": served,
        "decided": decided,
        "eligible": eligible,
        "sent": len(sent_ids),
        "received": sum(received.values()),
        "duplicates": sum(n - 1 for n in received.values() if n > 1),
        "lost": eligible - len(set(sent_ids) & set(received)),
        "failed_runs": failed_runs,
        "calls": calls,
        "rounds": rounds,
        "latency_ms": args.latency_ms,
        "wall_s": round(wall, 3),
        "runs_done_s": round(runs_done or wall, 3),
        "lower_bound_s": round(lower, 3),
        "ratio": round(wall / lower, 3),
        "appointments_per_s": round(served / wall, 1),
        "cpu_s": round(cpu, 3),
        "cpu_ms_per_appointment": round(cpu * 1000 / served, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "metering": metering,
        "metered": {str(k): int(v) for k, v in metered.items()},
    }


# -- the driver ----------------------------------------------------------------------------


def run_subprocess(args: argparse.Namespace, locations: int, metering: str) -> dict[str, Any]:
    """One case in a process of its own; its JSON result."""
    command = [sys.executable, str(BENCH), "--case", str(locations), "--metering", metering]
    for flag in (
        "appointments",
        "latency_ms",
        "per_group",
        "total",
        "send_concurrency",
        "claim_batch",
        "smtp_pool",
        "batch_max_wait",
    ):
        if getattr(args, flag) is not None:
            command += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
    command += ["--log-level", args.log_level, "--event-loop", args.event_loop]
    command += ["--channel", args.channel]
    if args.database_url:
        command += ["--database-url", args.database_url]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"case {locations} failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--sink":
        sink_main(sys.argv[2], int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--locations", default="50,200")
    parser.add_argument("--case", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--appointments", type=int, default=100, help="per location and day")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--per-group", type=int, default=4)
    parser.add_argument("--total", type=int, default=32)
    # Unset: the product's defaults (FRONTDESK_REVIEW__SEND_CONCURRENCY, __CLAIM_BATCH,
    # FRONTDESK_SMTP__POOL_SIZE, FRONTDESK_SYNC__BATCH_MAX_WAIT_S).
    parser.add_argument("--send-concurrency", type=int, default=None)
    parser.add_argument("--claim-batch", type=int, default=None)
    parser.add_argument("--smtp-pool", type=int, default=None)
    parser.add_argument("--batch-max-wait", type=float, default=None)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--no-send", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--null-channel", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument("--channel", choices=("email", "sms"), default="email")
    add_event_loop_option(parser)
    add_metering_option(parser)
    args = parser.parse_args()
    if args.case is not None:
        from frontdesk import eventloop

        result = eventloop.run(run_case(args), choice=args.event_loop)
        result["event_loop"] = eventloop.resolve(args.event_loop)
        print(json.dumps(result))
        return
    if args.metering == "compare":
        verdicts = {
            locations: compare(
                lambda on, n=locations: run_subprocess(args, n, "on" if on else "off"),
                repeat=args.repeat,
                higher_is_better={"wall_s": False, "cpu_ms_per_appointment": False},
            )
            for locations in [int(x) for x in args.locations.split(",")]
        }
        print(json.dumps(verdicts))
        return
    results: dict[int, dict[str, Any]] = {}
    for locations in [int(x) for x in args.locations.split(",")]:
        results[locations] = run_subprocess(args, locations, args.metering)
        r = results[locations]
        print(f"== {locations} locations ({r['groups']} groups × 10 × {args.appointments})")
        print(f"appointments             {r['appointments']} (decided {r['decided']})")
        print(f"eligible / sent / recv   {r['eligible']} / {r['sent']} / {r['received']}")
        print(f"duplicates / lost        {r['duplicates']} / {r['lost']}")
        print(f"wall                     {r['wall_s']:.3f} s ({r['appointments_per_s']} appt/s)")
        print(f"lower bound              {r['lower_bound_s']:.3f} s ({r['rounds']} rounds)")
        print(f"ratio                    {r['ratio']:.3f} (target ≤ 1.3)")
        print(f"CPU per appointment      {r['cpu_ms_per_appointment']:.3f} ms (target ≤ 1)")
        print(f"peak RSS                 {r['peak_rss_mb']} MB")
        print(f"event loop               {r['event_loop']}")
    print(f"host                     {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    big = results[max(results)]
    summary: dict[str, Any] = {
        "appointments": sum(r["appointments"] for r in results.values()),
        "eligible": sum(r["eligible"] for r in results.values()),
        "sent": sum(r["sent"] for r in results.values()),
        "received": sum(r["received"] for r in results.values()),
        "duplicates": sum(r["duplicates"] for r in results.values()),
        "lost": sum(r["lost"] for r in results.values()),
        "ratio": max(r["ratio"] for r in results.values()),
        "cpu_ms_per_appointment": max(r["cpu_ms_per_appointment"] for r in results.values()),
        "appointments_per_s": big["appointments_per_s"],
        "event_loop": big["event_loop"],
    }
    for locations, r in sorted(results.items()):
        summary[f"peak_rss_mb_{locations}"] = r["peak_rss_mb"]
    if 50 in results and 200 in results:
        summary["rss_growth"] = round(results[200]["peak_rss_mb"] / results[50]["peak_rss_mb"], 3)
    summary["cases"] = results
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
