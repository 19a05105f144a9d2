"""The meter counts the work done: N integration-API calls, a sync run against the Unity
sandbox (every request to it counted by the sandbox's side), its check-ins, M review requests
sent to a real SMTP server, answering-service calls and tickets — all equal after a flush,
per business; nothing is written before the flush. And ``/metrics``: 404 without a token,
401 without or with a wrong bearer, Prometheus text that prometheus-client's parser reads."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from tests.answering.conftest import KEY, PASSWORD, VALID_TICKET, add_user
from tests.sync.conftest import DAY, ENTERPRISE, LOCATIONS, Practice

from frontdesk.access.principal import Principal
from frontdesk.answering.password_token import encrypt_password_token
from frontdesk.businesses.models import Business
from frontdesk.composition import Process
from frontdesk.context import AppContext
from frontdesk.engagement.checkin_models import ELIGIBLE, CheckIn
from frontdesk.engagement.ledger_models import PENDING, ReviewRequest
from frontdesk.server.app import create_app
from frontdesk.settings import MetricsSettings, Settings
from frontdesk.usage.models import UsageCount
from frontdesk.usage.report import UsageReport, read_usage

from .conftest import TOKEN, CallCounter

ON = DAY + timedelta(days=1)
ANSWERING = "/cc/modules/apiv2/index.php"
STAFF = Principal.system("test")


async def report(ctx: AppContext, business: int | None = None) -> UsageReport:
    return await read_usage(ctx, principal=STAFF, business=business, start=DAY, end=ON)


async def drain(ctx: AppContext, server: Process) -> None:
    """Send every due review request (the sweeper re-defers what is due; wait for it)."""
    queue = server.queue
    assert queue is not None
    for _ in range(50):
        await asyncio.sleep(0)
        await queue.join()  # type: ignore[attr-defined]
        await server.sender.sweep(grace_s=0)
        await queue.join()  # type: ignore[attr-defined]
        async with ctx.db.reader() as session:
            due = await session.scalar(
                select(func.count())
                .select_from(ReviewRequest)
                .where(
                    ReviewRequest.state == PENDING,
                    ReviewRequest.next_attempt_at <= ctx.clock.now(),
                )
            )
        if not due:
            return
    raise AssertionError("requests still due after draining")


async def usage_rows(ctx: AppContext) -> int:
    async with ctx.db.reader() as session:
        return int(await session.scalar(select(func.count()).select_from(UsageCount)) or 0)


async def checkins_in_db(ctx: AppContext, business_id: int | None = None) -> dict[str, int]:
    query = select(CheckIn.decision, CheckIn.restriction_reason, func.count()).group_by(
        CheckIn.decision, CheckIn.restriction_reason
    )
    if business_id is not None:
        query = query.where(CheckIn.business_id == business_id)
    found: Counter[str] = Counter()
    async with ctx.db.reader() as session:
        for decision, reason, count in await session.execute(query):
            found["eligible" if decision == ELIGIBLE else f"restricted:{reason}"] += count
    return dict(found)


async def answering_work(client: httpx.AsyncClient, ctx: AppContext, tickets: int) -> None:
    await add_user(ctx, username="agent1", company="Acme Answering", practices=["1234"])
    login = {
        "login_username": "agent1",
        "login_password": encrypt_password_token(PASSWORD.encode(), KEY.encode()),
    }
    r = await client.post(ANSWERING, params={"resource": "tokenCreate"}, json=login)
    token = r.json()["result"]["token"]
    for _ in range(tickets):
        r = await client.post(
            ANSWERING, params={"resource": "as", "token": token}, json=VALID_TICKET
        )
        assert r.json()["success"] is True, r.text
    wrong = {"resource": "as", "token": "wrong"}
    r = await client.post(ANSWERING, params=wrong, json=VALID_TICKET)
    assert r.json()["success"] is False  # refused: not an authenticated call


async def test_counters_equal_the_work_done_after_a_flush(
    ctx: AppContext,
    server: Process,
    client: httpx.AsyncClient,
    practice: Practice,
    staff_headers: dict[str, str],
    counted: tuple[Any, CallCounter],
    sink: tuple[Any, int],
) -> None:
    handler, _ = sink
    calls = counted[1].calls
    await server.usage.flush()
    before = await report(ctx)
    rows_before = await usage_rows(ctx)
    api_before = before.subjects["integration_api"]["api_key:staff"]
    assert api_before >= 13  # the practice's set-up: 7 businesses, a group, 5 mappings

    n_calls = 7
    for _ in range(n_calls):
        r = await client.get("/api/businesses", headers=staff_headers)
        assert r.status_code == 200
    assert await usage_rows(ctx) == rows_before  # counted in memory: no write per request
    assert server.meter.pending > 0

    runs = await practice.run_now(ON)  # one more API call
    for run in runs:
        await server.engine.attempt(run["runId"])
    await drain(ctx, server)
    tickets = 3
    await answering_work(client, ctx, tickets)
    await server.usage.flush()
    after = await report(ctx)

    sent = handler.message_ids()
    assert len(sent) >= 10
    assert after.subjects["integration_api"]["api_key:staff"] == api_before + n_calls + 1
    assert after.subjects["sync_run"] == {"succeeded": len(runs)}
    assert after.sync_ms > 0
    assert after.subjects["checkin"] == await checkins_in_db(ctx)
    assert after.subjects["review_request"] == {"email:sent": len(sent)}
    assert after.subjects["source_call"] == {f"ALLSCRIPTS {a}": n for a, n in calls.items()}
    assert "source_error" not in after.subjects
    assert after.subjects["answering_api"] == {"agent1": 1 + tickets}
    assert after.subjects["ticket"] == {"created": tickets}
    assert after.totals["review_request"] == len(sent)

    # Per business: a location sees its own check-ins and requests, nothing of no business.
    async with ctx.db.reader() as session:
        loudoun = await session.scalar(
            select(Business.id).where(Business.number == LOCATIONS["Loudoun Office"])
        )
        loudoun_sent = await session.scalar(
            select(func.count())
            .select_from(ReviewRequest)
            .where(ReviewRequest.business_id == loudoun)
        )
    own = await report(ctx, LOCATIONS["Loudoun Office"])
    assert own.subjects["checkin"] == await checkins_in_db(ctx, loudoun)
    assert own.subjects["review_request"] == {"email:sent": loudoun_sent}
    assert "answering_api" not in own.subjects
    assert "ticket" not in own.subjects
    whole = await report(ctx, ENTERPRISE)  # the enterprise: its group's runs and calls
    assert whole.subjects["sync_run"] == {"succeeded": len(runs)}
    assert whole.subjects["source_call"] == after.subjects["source_call"]
    assert whole.subjects["checkin"] == after.subjects["checkin"]
    # The day series add up to the totals.
    assert sum(after.daily("checkin")) == after.totals["checkin"]

    # /metrics sees the same work, parsed by prometheus-client's own parser.
    r = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(r.text)}
    assert all(name.startswith("frontdesk_") for name in families)
    requests = {
        (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
        for s in families["frontdesk_http_requests"].samples
        if s.name == "frontdesk_http_requests_total"
    }
    assert requests[("GET", "/api/businesses", "200")] == n_calls
    latency = {
        s.labels["action"]: s.value
        for s in families["frontdesk_source_call_duration_seconds"].samples
        if s.name.endswith("_count") and s.labels["source"] == "ALLSCRIPTS"
    }
    assert latency == {a: float(n) for a, n in calls.items()}
    ledger = {s.labels["state"]: s.value for s in families["frontdesk_review_requests"].samples}
    assert ledger["sent"] == len(sent)
    assert ledger["pending"] == 0
    runs_by_status = {s.labels["status"]: s.value for s in families["frontdesk_sync_runs"].samples}
    assert runs_by_status["succeeded"] == len(runs)
    durations = [
        s
        for s in families["frontdesk_sync_run_duration_seconds"].samples
        if s.name.endswith("_count")
    ]
    assert [(s.labels["status"], s.value) for s in durations] == [("succeeded", len(runs))]
    depth = {s.labels["queue"]: s.value for s in families["frontdesk_job_queue_depth"].samples}
    assert depth == {"sync_runs": 0, "review_requests_due": 0}


async def test_metrics_wants_the_bearer_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/metrics")).status_code == 401
    wrong = {"Authorization": "Bearer " + TOKEN[:-1] + "x"}
    assert (await client.get("/metrics", headers=wrong)).status_code == 401
    basic = {"Authorization": f"Basic {TOKEN}"}
    assert (await client.get("/metrics", headers=basic)).status_code == 401
    ok = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200
    assert list(text_string_to_metric_families(ok.text))


async def test_metrics_is_absent_without_a_token(settings: Settings, ctx: AppContext) -> None:
    plain = settings.model_copy(update={"metrics": MetricsSettings()})
    ctx.settings = plain
    app = create_app(plain, context=ctx)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://fd.test") as c:
        assert (await c.get("/metrics")).status_code == 404
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        assert (await c.get("/metrics", headers=bearer)).status_code == 404


async def test_requests_are_timed_with_the_access_log_off(
    settings: Settings, server: Process
) -> None:
    """One middleware observes requests for the log and the metrics: turning the access log
    off keeps the request counter and the latency histogram."""
    quiet = settings.model_copy(update={"access_log": False})
    app = create_app(quiet, process=server)
    transport = httpx.ASGITransport(app=app)
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://fd.test") as c:
        for _ in range(3):
            assert (await c.get("/healthz")).status_code == 200
        r = await c.get("/metrics", headers=bearer)
    families = {f.name: f for f in text_string_to_metric_families(r.text)}
    counts = {
        s.labels["route"]: s.value
        for s in families["frontdesk_http_requests"].samples
        if s.name == "frontdesk_http_requests_total"
    }
    assert counts["/healthz"] == 3
    timed = [
        s
        for s in families["frontdesk_http_request_duration_seconds"].samples
        if s.name.endswith("_count") and s.labels["route"] == "/healthz"
    ]
    assert [s.value for s in timed] == [3.0]


def test_a_short_metrics_token_is_refused() -> None:
    import pydantic
    import pytest

    with pytest.raises(pydantic.ValidationError):
        MetricsSettings(token="short")  # type: ignore[arg-type]


async def test_the_sweepers_resolutions_are_counted(
    ctx: AppContext, server: Process, practice: Practice, sink: tuple[Any, int]
) -> None:
    for run in await practice.run_now(ON):
        await server.engine.attempt(run["runId"])
    await drain(ctx, server)
    await server.usage.flush()
    sent = (await report(ctx)).subjects["review_request"]["email:sent"]
    # A send that crashed mid-way: its row stays ``sending`` past the lease.
    async with ctx.db.transaction() as session:
        row = await session.scalar(select(ReviewRequest).limit(1))
        assert row is not None
        row.state = "sending"
        row.claimed_at = ctx.clock.now() - timedelta(hours=1)
    resolved = await server.sender.sweep(grace_s=0)
    await server.usage.flush()
    after = (await report(ctx)).subjects["review_request"]
    state = next(k.removeprefix("resolved_") for k, v in resolved.items() if v == 1)
    assert after[f"email:{state}"] == (sent + 1 if state == "sent" else 1)
