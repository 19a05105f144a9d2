"""Channel choices through the sync engine: ``sms_then_email`` (a text, else an email) and
``email_and_sms`` (both), against the Twilio simulator over HTTP and a real SMTP sink."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, select, update
from tests.ledger.conftest import Sink
from tests.messaging.conftest import DAY, SENDER, Simulator, Texting, practice

from frontdesk.connectors.base import Appointment, Patient
from frontdesk.context import AppContext
from frontdesk.delivery.capture import LoopbackController
from frontdesk.engagement.checkin_models import CheckIn
from frontdesk.engagement.ledger_models import ReviewRequest
from frontdesk.engagement.repair import repair_missing_requests
from frontdesk.settings import Settings, SmtpSettings

MOBILE, LANDLINE = "+15715550103", "+44 20 7183 8750"


@pytest.fixture
def sink() -> Iterator[tuple[Sink, int]]:
    handler = Sink()
    controller = LoopbackController(handler)
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


@pytest.fixture
def settings(settings: Settings, sink: tuple[Sink, int]) -> Settings:
    smtp = SmtpSettings(host="127.0.0.1", port=sink[1], **{"from": "reviews@fd.test"})
    return settings.model_copy(update={"smtp": smtp})


def visit(t: Texting, number: int, day: date, *, phone: str = "", email: str = "") -> None:
    start = datetime(day.year, day.month, day.day, 9, tzinfo=UTC) + timedelta(minutes=number)
    patient_id = f"P{number % 100}"  # A101 is P1's second visit
    patient = Patient(
        patient_id, first_name="Ann", birth_date=date(1970, 1, 1), cell_phone=phone, email=email
    )
    t.book.visits.append(
        Appointment(f"A{number}", patient_id, start, "DONE", "VISIT", "Clinic", patient=patient)
    )


async def decisions(t: Texting) -> dict[str, tuple[str, str | None, str | None]]:
    async with t.ctx.db.reader() as session:
        rows = (await session.execute(select(CheckIn))).scalars()
        return {c.appointment_id: (c.decision, c.restriction_reason, c.detail) for c in rows}


async def requests(t: Texting) -> list[tuple[str, str, str]]:
    async with t.ctx.db.reader() as session:
        rows = await session.execute(
            select(ReviewRequest.appointment_id, ReviewRequest.channel, ReviewRequest.state)
        )
        return sorted((a, c, s) for a, c, s in rows)


@pytest.fixture
async def then_email(
    ctx: AppContext, twilio_sim: Simulator, staff_headers: dict[str, str]
) -> AsyncIterator[Texting]:
    async with practice(ctx, twilio_sim, staff_headers, channel="sms_then_email") as t:
        yield t


@pytest.fixture
async def both(
    ctx: AppContext, twilio_sim: Simulator, staff_headers: dict[str, str]
) -> AsyncIterator[Texting]:
    async with practice(ctx, twilio_sim, staff_headers, channel="email_and_sms") as t:
        yield t


async def test_sms_then_email_texts_else_emails(
    then_email: Texting, sink: tuple[Sink, int]
) -> None:
    t = then_email
    r = await t.sim.client.post(
        "/sandbox/inbound", json={"from": "+17035550104", "to": SENDER, "body": "STOP"}
    )
    assert r.status_code == 200, r.text
    visit(t, 1, DAY, phone=MOBILE, email="one@example.org")
    visit(t, 2, DAY, phone=LANDLINE, email="two@example.org")  # cannot receive texts
    visit(t, 3, DAY)  # no contact at all
    visit(t, 4, DAY, phone="+17035550104", email="four@example.org")  # said STOP to texts
    ids = await t.run(DAY)
    decided = await decisions(t)
    assert decided["A3"] == ("restricted", "no_usable_contact", "mobile missing, email missing")
    assert [decided[a][0] for a in ("A1", "A2", "A4")] == ["eligible"] * 3
    assert await requests(t) == [
        ("A1", "sms", "pending"),
        ("A2", "email", "pending"),
        ("A4", "email", "pending"),
    ]
    outcomes = await t.process.sender.send_requests(ids)
    assert sorted(outcomes.values()) == ["sent"] * 3
    await t.process.sender.send_requests(ids)  # again: nothing twice
    assert [m.to for m in t.sim.state.messages] == [MOBILE]
    handler = sink[0]
    assert sorted(r for m in handler.messages for r in m[1]) == [
        "four@example.org",
        "two@example.org",
    ]
    items = (await t.api.get("/api/outbox", params={"limit": 1000})).json()["items"]
    assert sorted(i["channel"] for i in items) == ["email", "email", "sms"]
    assert await t.run(DAY) == []


async def test_email_and_sms_sends_both_once_and_the_cap_counts_both(
    both: Texting, sink: tuple[Sink, int]
) -> None:
    t = both
    visit(t, 1, DAY, phone=MOBILE, email="one@example.org")
    visit(t, 2, DAY, email="two@example.org")  # no phone: the email alone
    ids = await t.run(DAY)
    assert await requests(t) == [
        ("A1", "email", "pending"),
        ("A1", "sms", "pending"),
        ("A2", "email", "pending"),
    ]
    assert sorted((await t.process.sender.send_requests(ids)).values()) == ["sent"] * 3
    await t.process.sender.send_requests(ids)
    assert [m.to for m in t.sim.state.messages] == [MOBILE]
    assert sorted(r for m in sink[0].messages for r in m[1]) == [
        "one@example.org",
        "two@example.org",
    ]
    # P1 again a week later: one request per patient per cap, whatever the channels
    visit(t, 101, DAY + timedelta(days=7), phone=MOBILE, email="one@example.org")
    assert await t.run(DAY + timedelta(days=7)) == []
    decision, reason, _ = (await decisions(t))["A101"]
    assert (decision, reason) == ("restricted", "frequency_cap")


async def test_repair_resolves_a_choice_for_check_ins_that_recorded_no_channels(
    then_email: Texting, sink: tuple[Sink, int]
) -> None:
    t = then_email
    visit(t, 1, DAY, phone=MOBILE, email="one@example.org")
    visit(t, 2, DAY, phone=LANDLINE, email="two@example.org")
    visit(t, 3, DAY, phone=LANDLINE)  # eligible under no channel: the repair skips it
    await t.run(DAY)
    ctx = t.ctx
    async with ctx.db.transaction() as session:  # decided before channel choices existed
        await session.execute(delete(ReviewRequest))
        await session.execute(
            update(CheckIn).values(channels=None, decision="eligible", restriction_reason=None)
        )
    async with ctx.db.transaction() as session:
        report = await repair_missing_requests(
            session,
            now=datetime(DAY.year, DAY.month, DAY.day + 1, 12, tzinfo=UTC),  # not too old
            settings=ctx.settings.sync,
            secrets=ctx.secrets,
            channels=t.process.plugins.channels,
        )
    assert report.as_dict() == {
        "missing": 3,
        "written": 2,
        "skipped": {"no_usable_contact": 1},
    }
    assert await requests(t) == [("A1", "sms", "pending"), ("A2", "email", "pending")]
