"""Benchmark of the dashboard's pages on a filled database: every page's p95 should be ≤ 200 ms.

Run: ``.venv/bin/python bench/dashboard_pages.py [--checkins 100000] [--tickets 10000]
[--requests 50000] [-n 30]``.

1. A fresh temporary data directory; the SQLite database is migrated by ``frontdesk db
   upgrade`` and an admin user made with ``frontdesk admin create-user`` (an admin works
   tickets: the ticket page renders its forms, the heaviest case).
2. Seeded in this process: an enterprise with four locations and an SMB, their groups and
   mappings through the integration services; then bulk Core inserts: one succeeded sync run
   per group and day (with the rule settings of each mapping, as the engine freezes them),
   ``--checkins`` check-ins spread over 30 days (08:00-18:00 every 15 minutes, five EHR
   locations of which one is unmapped, every decision and restriction reason, sealed patient
   documents) and ``--tickets`` answering-service tickets in every status, each with its first
   status step (one with a longer history and notes, for the ticket page); then ``--requests``
   review requests (the ledger: one per eligible check-in, then, to reach the count, per other
   mapped check-in; mostly sent, some pending, failed and parked with their errors).
3. ``frontdesk serve --no-worker`` in its own process (the shipped defaults otherwise).
4. One HTTP client logs in through the form like a browser, then each page of :data:`PAGES`
   is fetched ``-n`` times after three warm-up requests (sequentially: latency, not load).

The output is a table and, on the last line, one JSON object
``{"pages": {"<page>": {"median_ms": …, "p95_ms": …}, …}, …}``.
A new page (Tickets, Outbox) is one more line in :data:`PAGES`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from cryptography.fernet import Fernet
from sqlalchemy import (
    Boolean,
    DateTime,
    Integer,
    String,
    Table,
    case,
    func,
    insert,
    literal,
    select,
)

from frontdesk.access.principal import Principal
from frontdesk.answering.desk import lifecycle
from frontdesk.answering.desk.models import AnsweringTicketNote
from frontdesk.answering.models import (
    AnsweringCompany,
    AnsweringPractice,
    AnsweringTicket,
    AnsweringTicketStatus,
)
from frontdesk.businesses.service import add_business
from frontdesk.composition import builtin_plugins
from frontdesk.context import AppContext
from frontdesk.engagement.checkin_models import CheckIn
from frontdesk.engagement.ledger_models import FAILED, PARKED, PENDING, SENT, ReviewRequest
from frontdesk.engagement.reasons import Reason
from frontdesk.engagement.rules import MappingRules
from frontdesk.integrations.catalog import TriggerRef
from frontdesk.integrations.groups import PropertyInput, create_group
from frontdesk.integrations.mappings import MappingChanges, create_mapping
from frontdesk.integrations.models import IntegrationMapping
from frontdesk.settings import Settings
from frontdesk.sync.models import SyncRun, SyncRunMapping

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench password 1"
USERNAME = "bench"
DAYS = 30
TZ = "America/New_York"
ENTERPRISE, SMB = 149547879572938, 149547800000001
LOCATIONS = {  # EHR location name → business number (None: not mapped)
    "Loudoun Office": 149547899859201,
    "Ashburn Office": 149547899859202,
    "Leesburg Family Medicine": 149547899859203,
    "Sterling Pediatrics": 149547899859204,
    "Reston Office": None,
}
STATUSES = ("Acknowledge", "Confirmed", "Cancelled", "No Show", "Scheduled")
TYPES = ("FOLLOWUP", "SICK", "PHYSICAL", "NEWPT", "TELEHLTH", "BEHAVHLT", "WELLCHLD")
OUTCOMES: list[tuple[str | None, int]] = [  # (restriction reason or None = eligible, weight)
    (None, 22),
    (Reason.STATUS_NOT_ALLOWED, 20),
    (Reason.TYPE_NOT_ALLOWED, 5),
    (Reason.DUPLICATE, 2),
    (Reason.MINOR, 6),
    (Reason.SENSITIVE_TYPE, 3),
    (Reason.NO_REVIEW_LINK, 5),
    (Reason.NO_USABLE_CONTACT, 12),
    (Reason.OPTED_OUT, 2),
    (Reason.FREQUENCY_CAP, 18),
    (Reason.DRY_RUN, 5),
]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
NEXT = re.compile(r'rel="next" href="([^"]+)"')


@dataclass
class Seeded:
    """What the pages are opened with."""

    group_id: int = 0
    last_day: date = date(2026, 1, 1)
    appointment_id: str = ""
    checkin_id: int = 0
    page_two: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# The pages timed: name → path (a future page is one more line).
PAGES: dict[str, Callable[[Seeded], str]] = {
    "login": lambda s: "/login",
    "integrations": lambda s: "/integrations",
    "group_detail": lambda s: f"/integrations/groups/{s.group_id}",
    "group_edit": lambda s: f"/integrations/groups/{s.group_id}/edit",
    "checkins": lambda s: "/checkins",
    "checkins_business": lambda s: f"/checkins?business={ENTERPRISE}&day={s.last_day}",
    "checkins_reason": lambda s: f"/checkins?day={s.last_day}&reason=frequency_cap",
    "checkins_appointment": lambda s: f"/checkins?appointment={s.appointment_id}",
    "checkins_page2": lambda s: s.page_two,
    "checkin_detail": lambda s: f"/checkins/{s.checkin_id}",
    "outbox": lambda s: "/outbox",
    "tickets": lambda s: "/tickets",
    "ticket_detail": lambda s: f"/tickets/{s.extra['ticket_id']}",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def table_of(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def chunked(rows: list[dict[str, Any]], size: int = 5000) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


async def seed_config(ctx: AppContext) -> tuple[int, dict[str, tuple[int, int, int]]]:
    """Businesses, groups and mappings through the services; returns the enterprise's group
    id and, per mapped location name, (mapping id, business id, scope business id)."""
    system = Principal.system("bench")
    plugins = builtin_plugins(ctx)
    mapped: dict[str, tuple[int, int, int]] = {}
    async with ctx.db.transaction() as session:
        enterprise = await add_business(
            session, principal=system, clock=ctx.clock, number=ENTERPRISE, name="Loudoun Valley"
        )
        smb = await add_business(
            session, principal=system, clock=ctx.clock, number=SMB, name="Lakeside Pediatrics"
        )
        groups = {}
        for owner in (enterprise, smb):
            group = await create_group(
                session,
                principal=system,
                clock=ctx.clock,
                secrets=ctx.secrets,
                plugins=plugins,
                parent_business_number=owner.number,
                source_id=32,
                triggers=[TriggerRef(56)],
                properties=[
                    PropertyInput("User_Name", "VHCP001PM:PMGA02^8^", True),
                    PropertyInput("PM_Password", "bench-password", True),
                    PropertyInput("pms_user_name", "frontdesk"),
                    PropertyInput("allscripts.appointment.status", "Acknowledge,Confirmed"),
                ],
            )
            groups[owner.id] = group.id
        for name, number in LOCATIONS.items():
            if number is None:
                continue
            location = await add_business(
                session,
                principal=system,
                clock=ctx.clock,
                number=number,
                name=name,
                enterprise_number=ENTERPRISE,
            )
            mapping = await create_mapping(
                session,
                principal=system,
                clock=ctx.clock,
                secrets=ctx.secrets,
                plugins=plugins,
                group_id=groups[enterprise.id],
                business_number=number,
                changes=MappingChanges(
                    properties=[
                        PropertyInput("allscripts.location.name", name),
                        PropertyInput("review.url", f"https://reviews.example.org/{number}"),
                    ]
                ),
            )
            mapped[name] = (mapping.id, location.id, enterprise.id)
        smb_mapping = await create_mapping(
            session,
            principal=system,
            clock=ctx.clock,
            secrets=ctx.secrets,
            plugins=plugins,
            group_id=groups[smb.id],
            business_number=SMB,
            changes=MappingChanges(
                properties=[PropertyInput("review.url", "https://reviews.example.org/lakeside")]
            ),
        )
        mapped["Lakeside Pediatrics"] = (smb_mapping.id, smb.id, smb.id)
    return groups[enterprise.id], mapped


async def seed_rows(ctx: AppContext, checkins: int, tickets: int, rng: random.Random) -> Seeded:
    group_id, mapped = await seed_config(ctx)
    now = datetime.now(UTC).replace(microsecond=0)
    zone = ZoneInfo(TZ)
    last_day = now.astimezone(zone).date() - timedelta(days=1)
    first_day = last_day - timedelta(days=DAYS - 1)
    async with ctx.db.transaction() as session:
        found = await session.execute(select(IntegrationMapping.id, IntegrationMapping.group_id))
        groups = {mapping_id: gid for mapping_id, gid in found}
        source_ids = {g: 32 for g in set(groups.values())}
        runs: dict[tuple[int, date], int] = {}
        run_table = table_of(SyncRun)
        for day_no in range(DAYS):
            day = first_day + timedelta(days=day_no)
            for gid in sorted(set(groups.values())):
                at = datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC)
                result = await session.execute(
                    insert(run_table)
                    .returning(run_table.c.id)
                    .values(
                        group_id=gid,
                        status="succeeded",
                        kind="scheduled",
                        run_day=day + timedelta(days=1),
                        window_first=day,
                        window_last=day,
                        attempts=1,
                        available_at=at,
                        counts={"fetched": 0},
                        requested_by="bench",
                        created_at=at,
                        started_at=at,
                        finished_at=at + timedelta(seconds=20),
                    )
                )
                runs[(gid, day)] = int(result.scalar_one())
        run_mappings = []
        for (gid, _day), run_id in runs.items():
            for name, (m_id, b_id, _scope) in mapped.items():
                if groups[m_id] != gid:
                    continue
                rules = MappingRules(
                    mapping_id=m_id,
                    business_id=b_id,
                    location_name=name,
                    timezone=TZ,
                    dry_run=False,
                    allowed_statuses=("Acknowledge", "Confirmed"),
                    allowed_types=(),
                    min_age=18,
                    frequency_cap_days=30,
                    sensitive_types=("BEHAVHLT",),
                    review_link=True,
                )
                run_mappings.append(
                    {"run_id": run_id, "mapping_id": m_id, "rules": rules.to_json()}
                )
        await session.execute(insert(table_of(SyncRunMapping)), run_mappings)

    # Patients: a few hundred sealed documents, reused (encrypting 100 k takes a while).
    sealed = [
        ctx.secrets.encrypt(
            json.dumps(
                {
                    "first_name": rng.choice(["Ada", "Grace", "Alan", "Linus", "Mia", "Noah"]),
                    "last_name": rng.choice(["Lovelace", "Hopper", "Turing", "Kay", "Ritchie"]),
                    "email": f"patient{i}@example.org" if i % 9 else None,
                    "phone": f"(571) 555-{i:04d}",
                    "birth_date": f"19{50 + i % 50}-0{1 + i % 9}-1{i % 9}",
                }
            )
        )
        for i in range(400)
    ]
    reasons = [r for r, _ in OUTCOMES]
    weights = [w for _, w in OUTCOMES]
    names = [*LOCATIONS, "Lakeside Pediatrics"]
    slots = [(h, m) for h in range(8, 18) for m in (0, 15, 30, 45)]
    table = table_of(CheckIn)
    rows: list[dict[str, Any]] = []
    per_day = checkins // DAYS + 1
    seq = 0
    for day_no in range(DAYS):
        day = first_day + timedelta(days=day_no)
        for _ in range(per_day):
            if len(rows) >= checkins:
                break
            seq += 1
            name = rng.choices(names, weights=[22, 22, 18, 18, 8, 12])[0]
            mapping = mapped.get(name)
            mapping_id: int | None
            business_id: int | None
            if mapping is None:
                reason: str | None = Reason.LOCATION_NOT_ALLOWED
                mapping_id, business_id, scope = None, None, mapped["Loudoun Office"][2]
                gid = groups[mapped["Loudoun Office"][0]]
            else:
                reason = rng.choices(reasons, weights=weights)[0]
                mapping_id, business_id, scope = mapping
                gid = groups[mapping_id]
            hour, minute = rng.choice(slots)
            start = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
            status = "Cancelled" if reason == Reason.STATUS_NOT_ALLOWED else "Confirmed"
            kind = "BEHAVHLT" if reason == Reason.SENSITIVE_TYPE else rng.choice(TYPES[:5])
            rows.append(
                {
                    "run_id": runs[(gid, day)],
                    "group_id": gid,
                    "source_id": source_ids[gid],
                    "trigger_id": 56,
                    "mapping_id": mapping_id,
                    "business_id": business_id,
                    "scope_business_id": scope,
                    "appointment_id": f"{27_000_000 + seq}",
                    "patient_id": str(10_000 + rng.randrange(20_000)),
                    "appointment_start": start.astimezone(UTC),
                    "appointment_day": day,
                    "pms_appointment_status": status,
                    "pms_appointment_type": kind,
                    "pms_appointment_practice_name": name,
                    "decision": "eligible" if reason is None else "restricted",
                    "restriction_reason": None if reason is None else str(reason),
                    "detail": None,
                    "contact_hash": f"{rng.getrandbits(256):064x}",
                    "patient_sealed": rng.choice(sealed),
                    "decided_at": start.astimezone(UTC) + timedelta(hours=20),
                }
            )
    for part in chunked(rows):
        async with ctx.db.transaction() as session:
            await session.execute(insert(table), part)
    ticket_id = await seed_tickets(ctx, tickets, rng)
    async with ctx.db.reader() as session:
        restricted = await session.scalar(
            select(func.max(CheckIn.id)).where(CheckIn.restriction_reason == "frequency_cap")
        )
    probe = rows[len(rows) // 2]
    return Seeded(
        group_id=group_id,
        last_day=last_day,
        appointment_id=probe["appointment_id"],
        checkin_id=int(restricted or 1),
        extra={"ticket_id": ticket_id},
    )


async def seed_tickets(ctx: AppContext, count: int, rng: random.Random) -> str:
    """``count`` answering-service tickets (bulk; any column added later gets a filler), each
    with its first status step; returns the id of one with a longer history and notes."""
    now = datetime.now(UTC)
    async with ctx.db.transaction() as session:
        companies = table_of(AnsweringCompany)
        company_id = await session.scalar(
            insert(companies)
            .returning(companies.c.id)
            .values(name="Bench Answering", created_at=now)
        )
        practice_ids = []
        for i in range(5):
            practices = table_of(AnsweringPractice)
            made = await session.scalar(
                insert(practices)
                .returning(practices.c.id)
                .values(code=f"{1000 + i}", name=f"Practice {i}", created_at=now)
            )
            practice_ids.append(int(made))
    table = table_of(AnsweringTicket)
    statuses = lifecycle.STATUSES
    rows = []
    for i in range(count):
        row: dict[str, Any] = {
            "ticket_id": f"T{i:08d}",
            "company_id": company_id,
            "user_id": None,
            "practice_id": rng.choice(practice_ids),
            "doctor_id": None,
            "unassigned": False,
            "status": rng.choice(statuses),
            "content_hash": f"{rng.getrandbits(256):064x}",
            "created_at": now - timedelta(minutes=rng.randrange(60 * 24 * 30)),
            "dob": "19891230",
        }
        for column in table.columns:
            if column.name in row or column.primary_key or column.nullable:
                continue
            row[column.name] = filler(column.type)
        rows.append(row)
    for part in chunked(rows):
        async with ctx.db.transaction() as session:
            await session.execute(insert(table), part)
    if not rows:
        return ""
    return await seed_ticket_history(ctx, probe=rows[count // 2]["ticket_id"])


async def seed_ticket_history(ctx: AppContext, *, probe: str) -> str:
    """Every ticket's first status step (as the API writes it); ``probe`` also gets six more
    steps and three notes."""
    tickets, history = table_of(AnsweringTicket), table_of(AnsweringTicketStatus)
    async with ctx.db.transaction() as session:
        await session.execute(
            insert(history).from_select(
                ["ticket_pk", "status", "at", "actor"],
                select(
                    tickets.c.id,
                    literal("IN PROGRESS"),
                    tickets.c.created_at,
                    literal("answering_user:bench"),
                ),
            )
        )
        pk, at = (
            await session.execute(
                select(tickets.c.id, tickets.c.created_at).where(tickets.c.ticket_id == probe)
            )
        ).one()
        steps = ["ASSIGNED", "CALLBACK PENDING", "ASSIGNED", "ESCALATED", "ASSIGNED", "COMPLETED"]
        for n, status in enumerate(steps, start=1):
            when = at + timedelta(minutes=7 * n)
            await session.execute(
                insert(history).values(
                    ticket_pk=pk,
                    status=status,
                    at=when,
                    actor=f"user:{USERNAME}",
                    actor_role="admin",
                    assignee=USERNAME,
                    note=f"step {n}",
                )
            )
            if n % 2:
                await session.execute(
                    insert(table_of(AnsweringTicketNote)).values(
                        ticket_pk=pk,
                        body=f"note {n}",
                        actor=f"user:{USERNAME}",
                        actor_role="admin",
                        at=when,
                    )
                )
        await session.execute(
            tickets.update()
            .where(tickets.c.id == pk)
            .values(status="COMPLETED", assignee_name=USERNAME, assignee_user_id=1)
        )
    return probe


def filler(kind: Any) -> Any:
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, Integer):
        return 0
    if isinstance(kind, DateTime) or getattr(kind, "impl", None).__class__ is DateTime:
        return datetime.now(UTC)
    if isinstance(kind, String) and kind.length is not None:
        return "x"[: kind.length]
    return "bench"


REQUEST_STATES = [(SENT, 90), (PENDING, 3), (FAILED, 4), (PARKED, 3)]
REQUEST_ERRORS = {
    PENDING: ("delivery_transient", "RCPT: the SMTP server refused the message for now (451)"),
    FAILED: ("recipient_refused", "RCPT: the SMTP server refused the recipient (550)"),
    PARKED: ("attempts_exhausted", "the SMTP server could not be reached (SMTPConnectError)"),
}


async def seed_requests(ctx: AppContext, count: int, rng: random.Random) -> int:
    """Up to ``count`` review requests: one per eligible check-in, then per other mapped one.
    Returns how many were made."""
    eligible_first = case((CheckIn.decision == "eligible", 0), else_=1)
    async with ctx.db.reader() as session:
        found = await session.execute(
            select(
                CheckIn.id,
                CheckIn.business_id,
                CheckIn.scope_business_id,
                CheckIn.source_id,
                CheckIn.trigger_id,
                CheckIn.appointment_id,
                CheckIn.decided_at,
            )
            .where(CheckIn.business_id.is_not(None))
            .order_by(eligible_first, CheckIn.decided_at)
            .limit(count)
        )
        checkins = sorted(found.all(), key=lambda c: c.decided_at)  # ids grow with time
    states = [state for state, _ in REQUEST_STATES]
    weights = [weight for _, weight in REQUEST_STATES]
    rows = []
    for c in checkins:
        state = rng.choices(states, weights=weights)[0]
        created = c.decided_at
        code, error = REQUEST_ERRORS.get(state, (None, None))
        attempts = {SENT: rng.choice((1, 1, 1, 2)), PENDING: 1, FAILED: 1, PARKED: 5}[state]
        rows.append(
            {
                "checkin_id": c.id,
                "business_id": c.business_id,
                "scope_business_id": c.scope_business_id,
                "source_id": c.source_id,
                "trigger_id": c.trigger_id or 0,
                "appointment_id": c.appointment_id,
                "channel": "email",
                "state": state,
                "attempts": attempts,
                "claim_token": attempts,
                "next_attempt_at": created + timedelta(minutes=attempts),
                "claimed_at": created,
                "sent_at": created + timedelta(seconds=2) if state == SENT else None,
                "message_id": f"<{rng.getrandbits(128):032x}@frontdesk.bench>",
                "last_error_code": code,
                "last_error": error,
                "created_at": created,
                "updated_at": created + timedelta(seconds=2),
            }
        )
    for part in chunked(rows):
        async with ctx.db.transaction() as session:
            await session.execute(insert(table_of(ReviewRequest)), part)
    return len(rows)


def seed(env: dict[str, str], checkins: int, tickets: int, requests: int = 0) -> Seeded:
    os.environ.update(env)

    async def go() -> Seeded:
        ctx = await AppContext.open(Settings(), migrate=False)
        try:
            seeded = await seed_rows(ctx, checkins, tickets, random.Random(7))
            seeded.extra["requests"] = await seed_requests(ctx, requests, random.Random(11))
            return seeded
        finally:
            await ctx.close()

    return asyncio.run(go())


def log_in(client: httpx.Client) -> None:
    form = client.get("/login")
    token = CSRF.search(form.text)
    assert token, "no CSRF field on the login page"
    done = client.post(
        "/login", data={"csrf_token": token[1], "username": USERNAME, "password": PASSWORD}
    )
    assert done.status_code == 303, done.status_code


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def time_pages(url: str, seeded: Seeded, repeat: int) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    with (
        httpx.Client(base_url=url, timeout=30) as anonymous,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        log_in(client)
        first = client.get("/checkins")
        found = NEXT.search(first.text)
        assert found, "the default Check-ins page has no next page"
        seeded.page_two = found[1].replace("&amp;", "&")
        for name, path_of in PAGES.items():
            path = path_of(seeded)
            session = anonymous if name == "login" else client
            for _ in range(3):
                session.get(path)
            samples = []
            for _ in range(repeat):
                started = time.perf_counter()
                response = session.get(path)
                samples.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (name, response.status_code)
            results[name] = {
                "median_ms": round(statistics.median(samples), 1),
                "p95_ms": round(p95(samples), 1),
            }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkins", type=int, default=100_000)
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("-n", "--repeat", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fd-bench-pages-") as tmp:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
        env |= {
            "FRONTDESK_DATA_DIR": str(Path(tmp) / "data"),
            "FRONTDESK_SECRET_KEYS": Fernet.generate_key().decode(),
            "FRONTDESK_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "FRONTDESK_LOG_LEVEL": "WARNING",
        }
        cli = [sys.executable, "-c", "from frontdesk.cli.main import main; main()"]
        subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
        subprocess.run(
            [*cli, "admin", "create-user", "--username", USERNAME, "--role", "admin"],
            env=env,
            input=PASSWORD + "\n",
            text=True,
            check=True,
            capture_output=True,
        )
        started = time.perf_counter()
        seeded = seed(env, args.checkins, args.tickets, args.requests)
        fill_s = time.perf_counter() - started
        print(
            f"filled {args.checkins} check-ins, {args.tickets} tickets and "
            f"{seeded.extra['requests']} review requests in {fill_s:.1f} s"
        )
        server = subprocess.Popen([*cli, "serve", "--no-worker", "--port", str(port)], env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start")
                time.sleep(0.1)
            results = time_pages(url, seeded, args.repeat)
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"{'page':<24}{'median ms':>12}{'p95 ms':>10}")
    for name, numbers in results.items():
        flag = "" if numbers["p95_ms"] <= 200 else "  > 200 ms"
        print(f"{name:<24}{numbers['median_ms']:>12}{numbers['p95_ms']:>10}{flag}")
    print(
        json.dumps(
            {
                "pages": results,
                "checkins": args.checkins,
                "tickets": args.tickets,
                "requests": seeded.extra["requests"],
                "repeat": args.repeat,
                "fill_s": round(fill_s, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
