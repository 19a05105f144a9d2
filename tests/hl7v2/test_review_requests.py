"""Messages received over MLLP become check-ins through the unchanged sync machinery: the
run of the day after (the customer fetch delay) reads the latest state of each visit; only
visits that happened become review requests — never cancellations or no-shows."""

from __future__ import annotations

from datetime import UTC, date, timedelta

from sqlalchemy import select
from tests.hl7v2.conftest import Practice
from tests.hl7v2.feeds import Adt, Sender, Siu, msa

from frontdesk.access.principal import Principal
from frontdesk.connectors.hl7v2.connector import Hl7Connector
from frontdesk.engagement.checkin_models import CheckIn
from frontdesk.engagement.ledger import requests_of_runs
from frontdesk.engagement.ledger_models import ReviewRequest
from frontdesk.sync.foreground import run_all
from frontdesk.sync.service import request_run

DAY = date(2026, 3, 2)


def patient(n: int) -> dict[str, str]:
    return {"mrn": f"MRN{n}", "email": f"patient{n}@example.org"}


FEED: list[Siu | Adt] = [
    Siu("S12", "M1", "APT1", status="Booked", **patient(1)),
    Siu("S14", "M2", "APT1", status="Complete", **patient(1)),  # the visit happened
    Siu("S12", "M3", "APT2", status="Booked", **patient(2)),
    Siu("S15", "M4", "APT2", status="Complete", **patient(2)),  # cancelled wins over SCH-25
    Siu("S26", "M5", "APT3", status="Complete", **patient(3)),  # no-show
    Siu("S12", "M6", "APT4", status="Booked", **patient(4)),  # default allow-list: Complete
    Siu("S12", "M7", "APT5", status="Complete", location="WEST-PC", **patient(5)),
    Siu("S12", "M8", "APT6", status="Complete", **patient(6)),
    Siu(  # moved to another day: not this day's visit any more
        "S13", "M9", "APT6", status="Complete", start="20260305093000-0500", **patient(6)
    ),
    Adt("A03", "M10", "V7", location="SOUTH-PC", email="patient7@example.org"),
    Adt("A04", "M11", "V8", location="SOUTH-PC", email="patient8@example.org"),
]


async def test_the_run_after_the_fetch_delay_requests_reviews_of_visits_that_happened(
    practice: Practice,
) -> None:
    sender = await Sender.connect(practice.port)
    for message in FEED:
        assert msa(await sender.send(str(message)))[0] == "AA"
    await sender.close()

    ctx = practice.ctx
    async with ctx.db.transaction() as session:
        runs = await request_run(
            session,
            principal=Principal.system("test"),
            clock=ctx.clock,
            group_id=practice.group_id,
            on=DAY + timedelta(days=1),
        )
    run_ids = [r.id for r in runs]
    finished = await run_all(ctx, practice.process.engine, run_ids)
    assert {r.status for r in finished} == {"succeeded"}
    async with ctx.db.reader() as session:
        decided = {
            c.appointment_id: (c.decision, c.restriction_reason)
            for c in (await session.execute(select(CheckIn))).scalars()
        }
        request_ids = await requests_of_runs(session, run_ids=run_ids)
        requested = (
            await session.execute(
                select(ReviewRequest.appointment_id).where(ReviewRequest.id.in_(request_ids))
            )
        ).scalars()
    assert decided == {
        "APT1": ("eligible", None),
        "APT2": ("restricted", "status_not_allowed"),
        "APT3": ("restricted", "status_not_allowed"),
        "APT4": ("restricted", "status_not_allowed"),
        "APT5": ("restricted", "location_not_allowed"),
        "V7": ("eligible", None),
        "V8": ("restricted", "status_not_allowed"),
    }
    assert sorted(requested) == ["APT1", "V7"]


async def test_cancellations_and_no_shows_never_match_an_allow_list(practice: Practice) -> None:
    connector = Hl7Connector(practice.listener.store, facilities=["NORTHSIDE"], zone=UTC)
    allowed = ["Complete", "Cancelled", "Noshow", "Deleted"]
    assert connector.status_matches(allowed, "complete")
    for status in ("Cancelled", "NOSHOW", "Deleted", "Canceled"):
        assert not connector.status_matches(allowed, status)
