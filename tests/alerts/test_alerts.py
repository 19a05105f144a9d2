"""Alerts end to end over the Unity sandbox and a real SMTP sink, on an injected clock:
each kind is raised once (one support mail) however often the conditions are evaluated,
and resolves by itself when its condition clears."""

from __future__ import annotations

import socket
from datetime import timedelta

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select
from tests.sync.conftest import ENTERPRISE, foreground, unity_settings

from frontdesk.alerts.heartbeat import LISTENER, WORKER, Heartbeat
from frontdesk.alerts.models import Alert, ComponentHeartbeat
from frontdesk.alerts.service import evaluate
from frontdesk.clock import ManualClock
from frontdesk.composition import Role, build_process, running
from frontdesk.context import AppContext
from frontdesk.engagement.ledger_models import PARKED, SENT
from frontdesk.settings import AlertSettings, MllpSettings

from .conftest import ON, PUBLIC_URL, SUPPORT, Practice, Sink, Wired, requests, support_mails


async def alerts(ctx: AppContext) -> list[Alert]:
    async with ctx.db.reader() as session:
        found = list((await session.execute(select(Alert).order_by(Alert.id))).scalars())
        session.expunge_all()
        return found


async def evaluate_often(ctx: AppContext, clock: ManualClock, times: int = 3) -> None:
    """Evaluate as the loop would, ``times`` rounds a minute apart."""
    for _ in range(times):
        await evaluate(ctx)
        clock.advance(timedelta(minutes=1))


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_failed_run_mails_once_and_resolves_when_a_run_succeeds(
    ctx: AppContext, practice: Practice, clock: ManualClock, sink: tuple[Sink, int]
) -> None:
    handler, _ = sink
    broken = ctx.settings.model_copy(
        update={"unity": unity_settings(f"http://127.0.0.1:{dead_port()}", timeout_s=0.5)}
    )
    for day in (ON, ON + timedelta(days=1)):  # two failed runs: one incident
        for run in await practice.run_now(day):
            outcome = await foreground(ctx, broken).attempt(run["runId"])
            assert outcome is not None
            assert outcome.status == "failed"
        await evaluate_often(ctx, clock)
    (alert,) = await alerts(ctx)
    assert (alert.kind, alert.subject) == ("run_failed", f"group:{practice.group_id}")
    assert alert.resolved_at is None
    assert alert.notification == "sent"
    (mail,) = support_mails(handler)
    assert str(mail["Subject"]).startswith("[frontdesk] Sync run failed: Integration group")
    assert f"{PUBLIC_URL}/integrations/groups/{practice.group_id}" in mail.get_content()

    for run in await practice.run_now(ON + timedelta(days=2)):
        outcome = await foreground(ctx).attempt(run["runId"])
        assert outcome is not None
        assert outcome.status == "succeeded"
    await evaluate_often(ctx, clock)
    (alert,) = await alerts(ctx)
    assert alert.resolved_at is not None
    assert alert.resolved_by == "condition cleared"
    assert len(support_mails(handler)) == 1

    for run in await practice.run_now(ON + timedelta(days=3)):  # a new incident: a new mail
        await foreground(ctx, broken).attempt(run["runId"])
    await evaluate_often(ctx, clock)
    assert [a.resolved_at is None for a in await alerts(ctx)] == [False, True]
    assert len(support_mails(handler)) == 2


async def test_parked_requests_mail_once_past_the_threshold_and_resolve_when_requeued(
    ctx: AppContext,
    practice: Practice,
    wired: Wired,
    clock: ManualClock,
    sink: tuple[Sink, int],
    staff_headers: dict[str, str],
) -> None:
    handler, _ = sink
    refusing = True
    handler.rcpt_reply = lambda rcpt, _n: (
        "421 4.7.0 closing" if refusing and rcpt != SUPPORT else None
    )
    await wired.run_day(practice, ON)
    for _ in range(3):
        if {r.state for r in await requests(ctx)} == {PARKED}:
            break
        clock.advance(timedelta(hours=1))
        await wired.drain()
    parked = await requests(ctx)
    assert parked
    assert {r.state for r in parked} == {PARKED}
    await evaluate_often(ctx, clock, times=2)  # parked a moment ago: below the threshold
    assert await alerts(ctx) == []
    clock.advance(timedelta(hours=1))
    await evaluate_often(ctx, clock)
    (alert,) = await alerts(ctx)
    assert alert.kind == "requests_parked"
    assert alert.resolved_at is None
    assert alert.details is not None
    assert alert.details["count"] == len(parked)
    (mail,) = support_mails(handler)
    assert f"{PUBLIC_URL}/outbox?state=parked" in mail.get_content()
    assert "421" not in mail.get_content()

    refusing = False
    for row in parked:
        r = await practice.client.post(f"/api/outbox/{row.id}/requeue", headers=staff_headers)
        assert r.status_code == 200, r.text
    await wired.drain()
    assert {r.state for r in await requests(ctx)} == {SENT}
    await evaluate_often(ctx, clock)
    (alert,) = await alerts(ctx)
    assert alert.resolved_at is not None
    assert len(support_mails(handler)) == 1


async def test_a_quiet_listener_mails_once_and_resolves_on_its_next_heartbeat(
    ctx: AppContext, clock: ManualClock, sink: tuple[Sink, int]
) -> None:
    handler, _ = sink
    listener = Heartbeat(ctx, LISTENER)
    await listener.beat()
    clock.advance(timedelta(seconds=299))
    await evaluate(ctx)
    assert await alerts(ctx) == []
    clock.advance(timedelta(seconds=2))
    await evaluate_often(ctx, clock)
    (alert,) = await alerts(ctx)
    assert (alert.kind, alert.subject, alert.business_id) == (
        "component_quiet",
        "component:mllp_listener",
        None,
    )
    (mail,) = support_mails(handler)
    assert "MLLP listener" in str(mail["Subject"])
    assert f"{PUBLIC_URL}/alerts#alert-{alert.id}" in mail.get_content()
    await listener.beat()
    await evaluate_often(ctx, clock)
    (alert,) = await alerts(ctx)
    assert alert.resolved_at is not None
    assert len(support_mails(handler)) == 1


async def test_a_clean_stop_raises_nothing_and_a_restart_clears_a_dead_instance(
    ctx: AppContext, clock: ManualClock, sink: tuple[Sink, int]
) -> None:
    stopped = Heartbeat(ctx, WORKER)
    await stopped.start()
    await stopped.stop()
    clock.advance(timedelta(hours=1))
    await evaluate(ctx)
    assert await alerts(ctx) == []
    dead = Heartbeat(ctx, WORKER)
    await dead.beat()  # then killed: never stops
    clock.advance(timedelta(minutes=10))
    await evaluate(ctx)
    assert [a.resolved_at for a in await alerts(ctx)] == [None]
    replacement = Heartbeat(ctx, WORKER)
    await replacement.start()
    try:
        await evaluate(ctx)
        assert [a.resolved_at is not None for a in await alerts(ctx)] == [True]
    finally:
        await replacement.stop()
    assert len(support_mails(sink[0])) == 1


async def test_no_support_address_records_the_outcome(
    ctx: AppContext, clock: ManualClock, sink: tuple[Sink, int]
) -> None:
    ctx.settings = ctx.settings.model_copy(update={"support_email": None})
    await Heartbeat(ctx, LISTENER).beat()
    clock.advance(timedelta(hours=1))
    await evaluate_often(ctx, clock)
    (alert,) = await alerts(ctx)
    assert alert.notification == "no_support_email"
    assert sink[0].messages == []


def test_the_composition_root_gives_runners_and_listeners_a_heartbeat(ctx: AppContext) -> None:
    ctx.settings = ctx.settings.model_copy(update={"mllp": MllpSettings(port=0)})
    server = build_process(ctx, Role.SERVER)
    assert sorted(h.component for h in server.heartbeats) == [WORKER, LISTENER]
    assert server.alerts is not None
    assert build_process(ctx, Role.CLI).heartbeats == []
    assert build_process(ctx, Role.CLI).alerts is None


def test_a_quiet_threshold_within_two_heartbeats_is_refused() -> None:
    with pytest.raises(ValidationError, match="quiet_after_s"):
        AlertSettings(heartbeat_s=30, quiet_after_s=45)


async def test_the_api_lists_alerts_of_the_callers_tenant_only(
    ctx: AppContext,
    practice: Practice,
    clock: ManualClock,
    client: httpx.AsyncClient,
    staff_headers: dict[str, str],
    api_key: object,
) -> None:
    broken = ctx.settings.model_copy(
        update={"unity": unity_settings(f"http://127.0.0.1:{dead_port()}", timeout_s=0.5)}
    )
    for run in await practice.run_now(ON):
        await foreground(ctx, broken).attempt(run["runId"])
    await Heartbeat(ctx, LISTENER).beat()
    clock.advance(timedelta(hours=1))
    await evaluate(ctx)
    r = await client.get("/api/alerts", headers=staff_headers)
    assert r.status_code == 200, r.text
    assert sorted(a["kind"] for a in r.json()["items"]) == ["component_quiet", "run_failed"]
    assert r.json()["items"][0]["link"]
    tenant = await api_key(name="practice", business=ENTERPRISE)  # type: ignore[operator]
    r = await client.get("/api/alerts", headers=tenant)
    assert [a["kind"] for a in r.json()["items"]] == ["run_failed"]
    other = await client.post(
        "/api/businesses",
        json={"businessNumber": 149547800000001, "name": "Lakeside"},
        headers=staff_headers,
    )
    assert other.status_code == 201, other.text
    r = await client.get(
        "/api/alerts",
        headers=await api_key(name="other", business=149547800000001),  # type: ignore[operator]
    )
    assert r.json()["items"] == []
    assert (await client.get("/api/alerts")).status_code == 401


async def test_a_serving_process_beats_while_it_runs_and_says_goodbye_when_it_stops(
    ctx: AppContext, clock: ManualClock
) -> None:
    ctx.settings = ctx.settings.model_copy(update={"mllp": MllpSettings(port=0)})
    async with running(ctx, Role.SERVER), ctx.db.reader() as session:
        beating = (await session.execute(select(ComponentHeartbeat.component))).scalars()
        assert sorted(beating) == [WORKER, LISTENER]
    async with ctx.db.reader() as session:
        assert (await session.execute(select(ComponentHeartbeat))).first() is None
    clock.advance(timedelta(hours=1))
    await evaluate(ctx)
    assert await alerts(ctx) == []
