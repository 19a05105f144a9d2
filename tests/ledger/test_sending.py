"""End to end over the Unity sandbox and a real SMTP server: one message per eligible
appointment, unsubscribe stops the next request, permanent refusals fail, transient ones
retry with backoff (domain state), the sweeper resolves interrupted sends."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select, update

from frontdesk.clock import ManualClock
from frontdesk.context import AppContext
from frontdesk.delivery.email_format import message_id_for
from frontdesk.engagement.checkin_models import ELIGIBLE, CheckIn
from frontdesk.engagement.ledger_models import (
    FAILED,
    PARKED,
    PENDING,
    SENDING,
    SENT,
    ReviewRequest,
    ledger_key,
)

from .conftest import DAY, ON, STATUSES, TYPES, Loopback, Practice, Sink, Wired, requests


async def eligible(ctx: AppContext) -> list[Any]:
    async with ctx.db.reader() as session:
        rows = await session.execute(select(CheckIn.__table__).where(CheckIn.decision == ELIGIBLE))
        return list(rows.all())


def key_of(row: Any) -> str:
    return ledger_key(
        business_id=row.business_id,
        source_id=row.source_id,
        appointment_id=row.appointment_id,
        trigger_id=row.trigger_id,
        channel=row.channel,
    )


async def test_one_message_per_eligible_appointment(
    ctx: AppContext, practice: Practice, wired: Wired, sink: tuple[Sink, int]
) -> None:
    handler, _ = sink
    await wired.run_day(practice, ON)
    chosen = await eligible(ctx)
    ledger = await requests(ctx)
    assert len(chosen) >= 10
    assert sorted(r.checkin_id for r in ledger) == sorted(c.id for c in chosen)
    assert {r.state for r in ledger} == {SENT}
    assert all(r.attempts == 1 for r in ledger)
    ids = handler.message_ids()
    assert len(ids) == len(chosen)
    assert len(set(ids)) == len(ids)
    assert sorted(ids) == sorted(message_id_for(key_of(r), domain="fd.test") for r in ledger)
    assert sorted(r.message_id for r in ledger) == sorted(ids)
    # Each message went to that check-in's patient, with the location's review link.
    emails = {
        c.id: json.loads(ctx.secrets.decrypt(c.patient_sealed))["email"].lower() for c in chosen
    }
    by_id = {message_id_for(key_of(r), domain="fd.test"): r for r in ledger}
    for message in handler.parsed():
        row = by_id[str(message["Message-ID"])]
        assert str(message["To"]).lower() == emails[row.checkin_id]
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # The same day again: decisions are final, nothing is inserted or sent twice.
    await wired.run_day(practice, ON)
    assert len(await requests(ctx)) == len(ledger)
    assert len(handler.message_ids()) == len(ids)


async def test_the_unsubscribe_link_stops_the_next_request_for_that_patient(
    ctx: AppContext,
    practice: Practice,
    wired: Wired,
    sink: tuple[Sink, int],
    client: httpx.AsyncClient,
    clock: ManualClock,
    unity: Loopback,
) -> None:
    handler, _ = sink
    await wired.run_day(practice, ON)
    asked = {str(m["To"]).lower(): m for m in handler.parsed()}
    # A later visit of someone asked on the first day, past the frequency cap, that the
    # rules would otherwise let through.
    data = unity.sandbox.practice
    found = None
    for offset in range(31, 200):
        day = DAY + timedelta(days=offset)
        for appointment in data.appointments_on(day):
            patient = data.patient(appointment.patient_id)
            if (
                patient is not None
                and (patient.email or "").lower() in asked
                and appointment.location.name in ("Loudoun Office", "Sterling Pediatrics")
                and appointment.status.description in STATUSES.split(",")
                and appointment.appointment_type.abbreviation in TYPES.split(",")
                and appointment.appointment_type.abbreviation != "BEHAVHLT"
                and patient.age_on(day) >= 18
            ):
                found = (day, str(appointment.appointment_id), (patient.email or "").lower())
                break
        if found:
            break
    assert found is not None, "the sandbox never brings an asked patient back"
    day, appointment_id, email = found
    link = str(asked[email]["List-Unsubscribe"]).strip("<>")
    r = await client.post(
        urlsplit(link).path,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200, r.text
    sent_before = len(handler.message_ids())
    clock.advance(day - DAY)
    await wired.run_day(practice, day + timedelta(days=1))
    async with ctx.db.reader() as session:
        checkin = (
            await session.execute(
                select(CheckIn.__table__).where(
                    CheckIn.appointment_id == appointment_id, CheckIn.appointment_day == day
                )
            )
        ).one()
    assert checkin.restriction_reason == "opted_out"
    later = handler.parsed()[sent_before:]
    assert later, "others were still asked"
    assert email not in {str(m["To"]).lower() for m in later}


async def test_a_permanent_refusal_fails_without_retry(
    ctx: AppContext, practice: Practice, wired: Wired, sink: tuple[Sink, int], clock: ManualClock
) -> None:
    handler, _ = sink
    handler.rcpt_reply = lambda _rcpt, _n: "550 5.1.1 mailbox unavailable"
    await wired.run_day(practice, ON)
    ledger = await requests(ctx)
    assert ledger
    assert {r.state for r in ledger} == {FAILED}
    assert {r.last_error_code for r in ledger} == {"recipient_refused"}
    assert all(r.attempts == 1 for r in ledger)
    clock.advance(timedelta(days=1))
    await wired.drain()
    assert all(n == 1 for n in handler.attempts.values())
    assert handler.message_ids() == []
    for row in ledger:  # no patient data in what is stored about the failure
        assert "@" not in (row.last_error or "")


async def test_a_transient_refusal_retries_with_backoff(
    ctx: AppContext, practice: Practice, wired: Wired, sink: tuple[Sink, int], clock: ManualClock
) -> None:
    handler, _ = sink
    handler.rcpt_reply = lambda _rcpt, n: "451 4.3.0 try again later" if n == 1 else None
    await wired.run_day(practice, ON)
    ledger = await requests(ctx)
    assert {r.state for r in ledger} == {PENDING}
    assert all(r.attempts == 1 and r.last_error_code == "delivery_transient" for r in ledger)
    assert all(r.next_attempt_at == clock.now() + timedelta(seconds=60) for r in ledger)
    assert handler.message_ids() == []
    clock.advance(timedelta(seconds=61))
    await wired.drain()
    ledger = await requests(ctx)
    assert {r.state for r in ledger} == {SENT}
    assert all(r.attempts == 2 for r in ledger)
    ids = handler.message_ids()
    assert len(ids) == len(ledger) == len(set(ids))


async def test_transient_refusals_park_the_request_once_attempts_are_spent(
    ctx: AppContext, practice: Practice, wired: Wired, sink: tuple[Sink, int], clock: ManualClock
) -> None:
    handler, _ = sink
    handler.rcpt_reply = lambda _rcpt, _n: "421 4.7.0 closing"
    await wired.run_day(practice, ON)
    for _ in range(3):
        clock.advance(timedelta(hours=1))
        await wired.drain()
    ledger = await requests(ctx)
    assert {r.state for r in ledger} == {PARKED}
    assert {r.last_error_code for r in ledger} == {"attempts_exhausted"}
    assert {r.attempts for r in ledger} == {3}


async def test_concurrent_sends_of_one_request_deliver_once(
    ctx: AppContext, practice: Practice, wired: Wired, sink: tuple[Sink, int]
) -> None:
    handler, _ = sink
    wired.sender.queue = None  # decide only; send by hand below
    for run in await practice.run_now(ON):
        await wired.engine.attempt(run["runId"])
    (first, *_) = await requests(ctx)
    outcomes = await asyncio.gather(*(wired.sender.send_request(first.id) for _ in range(5)))
    assert Counter(outcomes) == Counter({SENT: 1, None: 4})
    assert len(handler.message_ids()) == 1


async def test_the_sweeper_parks_a_request_interrupted_while_sending(
    ctx: AppContext, practice: Practice, wired: Wired, sink: tuple[Sink, int], clock: ManualClock
) -> None:
    """SMTP cannot say whether a message went out: a stale ``sending`` row is parked, not
    resent; an operator's requeue sends it."""
    handler, _ = sink
    wired.sender.queue = None
    for run in await practice.run_now(ON):
        await wired.engine.attempt(run["runId"])
    (first, *_) = await requests(ctx)
    async with ctx.db.transaction() as session:  # as if a worker died after claiming it
        await session.execute(
            update(ReviewRequest)
            .where(ReviewRequest.id == first.id)
            .values(state=SENDING, attempts=1, claim_token=1, claimed_at=clock.now())
        )
    assert (await wired.sender.sweep())["resolved_parked"] == 0  # within the lease
    clock.advance(timedelta(seconds=31))
    assert (await wired.sender.sweep())["resolved_parked"] == 1
    async with ctx.db.reader() as session:
        row = await session.get(ReviewRequest, first.id)
        assert row is not None
        assert row.state == PARKED
        assert row.last_error_code == "outcome_unknown"
    assert handler.message_ids() == []
