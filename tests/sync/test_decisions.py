"""End to end over the sandbox on loopback: every rule and reason, routing by location name,
the frequency cap across locations, dry run, duplicates — checked against an independent
re-statement of the rules computed from the sandbox's own data."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update

from frontdesk.context import AppContext
from frontdesk.delivery.addresses import AddressCheck, check_email_address
from frontdesk.engagement.checkin_models import CheckIn
from frontdesk.engagement.optouts import record_contact_opt_out
from frontdesk.integrations.models import IntegrationSource
from frontdesk.sandbox.unity import Sandbox
from frontdesk.sandbox.unity.patients import Patient as SandboxPatient
from frontdesk.sync.engine import SyncEngine

from .conftest import DAY, LOCATIONS, STATUSES, TYPES, Loopback, Practice

ACTIVE = {"Loudoun Office", "Ashburn Office", "Leesburg Family Medicine", "Sterling Pediatrics"}
DRY_RUN = {"Ashburn Office"}
NO_LINK = {"Leesburg Family Medicine"}


def addressee(patient: SandboxPatient, day: date) -> tuple[AddressCheck, bool]:
    """The e-mail a request about ``patient``'s visit on ``day`` goes to, and whether it is
    their guardian's: a minor's guarantor's when usable (else the minor stays restricted)."""
    if patient.age_on(day) < 18 and patient.guarantor is not None:
        theirs = check_email_address(patient.guarantor.email)
        if theirs.address is not None:
            return theirs, True
    return check_email_address(patient.email), False


def expected(
    sandbox: Sandbox,
    days: Iterable[date],
    *,
    opted: set[str] = frozenset(),  # type: ignore[assignment]
    moves: dict[str, date] | None = None,
    bookings: dict[str, tuple[str, date]] | None = None,
    beta: bool = False,
) -> dict[tuple[str, date], str]:
    """(appointment id, day) → "eligible" or the restriction reason (``moves`` and
    ``bookings`` as the :class:`~.conftest.ScheduleEditor` has them)."""
    practice = sandbox.practice
    moves = moves or {}
    bookings = bookings or {}
    statuses, types = set(STATUSES.split(",")), set(TYPES.split(","))
    decided: dict[str, set[date]] = {}
    requested: dict[str, set[date]] = {}
    seen: dict[str, Any] = {}
    out: dict[tuple[str, date], str] = {}
    for day in days:
        rows = list(practice.appointments_on(day))
        for appointment in rows:
            seen[str(appointment.appointment_id)] = appointment
        rows += [seen[a] for a, moved_to in moves.items() if moved_to == day and a in seen]
        rows += [
            replace(seen[a], appointment_id=int(new_id), day=day)
            for new_id, (a, booked_on) in bookings.items()
            if booked_on == day and a in seen
        ]
        for appointment in rows:
            aid = str(appointment.appointment_id)
            patient = practice.patient(appointment.patient_id)
            assert patient is not None
            email, to_guardian = addressee(patient, day)
            keys = [f"p:{appointment.patient_id}"]
            if email.address:
                keys.append("c:" + email.address.lower())
            location = appointment.location.name
            if beta:
                reason = "integration_is_beta"
            elif location not in ACTIVE:
                reason = "location_not_allowed"
            elif appointment.status.description not in statuses:
                reason = "status_not_allowed"
            elif appointment.appointment_type.abbreviation not in types:
                reason = "type_not_allowed"
            elif decided.get(aid, set()) - {day}:
                reason = "duplicate"
            elif patient.age_on(day) < 18 and not to_guardian:
                reason = "minor"
            elif appointment.appointment_type.abbreviation == "BEHAVHLT":
                reason = "sensitive_type"
            elif location in NO_LINK:
                reason = "no_review_link"
            elif email.address is None:
                reason = "no_usable_contact"
            elif email.address.lower() in opted:
                reason = "opted_out"
            elif any(abs((day - d).days) < 30 for k in keys for d in requested.get(k, ())):
                reason = "frequency_cap"
            elif location in DRY_RUN:
                reason = "dry_run"
            else:
                reason = "eligible"
                for key in keys:
                    requested.setdefault(key, set()).add(day)
            decided.setdefault(aid, set()).add(day)
            out[(aid, day)] = reason
    return out


async def all_checkins(ctx: AppContext) -> list[Any]:
    """Every check-in as a row (attribute access, no ORM session needed)."""
    async with ctx.db.reader() as session:
        return list((await session.execute(select(CheckIn.__table__))).all())


async def decisions(ctx: AppContext) -> dict[tuple[str, date], str]:
    async with ctx.db.reader() as session:
        rows = await session.execute(
            select(CheckIn.appointment_id, CheckIn.appointment_day, CheckIn.restriction_reason)
        )
        return {(a, d): r or "eligible" for a, d, r in rows}


async def run_day(practice: Practice, engine: SyncEngine, on: date) -> list[dict[str, Any]]:
    """Run now (through the API) acting as ``on``, then execute the runs here."""
    outcomes = []
    for run in await practice.run_now(on):
        outcome = await engine.attempt(run["runId"])
        assert outcome is not None
        assert outcome.status == "succeeded", outcome
        outcomes.append(outcome.counts)
    return outcomes


async def test_every_rule_and_reason(
    ctx: AppContext, practice: Practice, engine: SyncEngine, unity: Loopback
) -> None:
    sandbox = unity.sandbox
    day2 = DAY + timedelta(days=1)
    # opt out the first patient who would otherwise be eligible at Loudoun
    first_pass = expected(sandbox, [DAY])
    loudoun = [
        a
        for a in sandbox.practice.appointments_on(DAY)
        if a.location.name == "Loudoun Office"
        and first_pass[(str(a.appointment_id), DAY)] == "eligible"
    ]
    patient = sandbox.practice.patient(loudoun[0].patient_id)
    assert patient is not None
    contact = addressee(patient, DAY)[0].address
    assert contact is not None
    async with ctx.db.transaction() as session:
        await record_contact_opt_out(
            session,
            secrets=ctx.secrets,
            clock=ctx.clock,
            business_id=await _business_id(ctx, LOCATIONS["Loudoun Office"]),
            channel="email",
            contact=contact.upper(),
        )
    opted = {contact.lower()}

    (counts,) = await run_day(practice, engine, DAY + timedelta(days=1))
    assert counts["fetched"] == 150
    assert await decisions(ctx) == expected(sandbox, [DAY], opted=opted)

    # day 2: one of day 1's appointments shows up again, rescheduled; another's patient
    # comes back under a new appointment (within the frequency cap)
    moved = str(loudoun[1].appointment_id)
    unity.editor.moves[moved] = day2
    bookings = {"999000001": (str(loudoun[2].appointment_id), day2)}
    unity.editor.bookings.update(bookings)
    await run_day(practice, engine, day2 + timedelta(days=1))
    want = expected(sandbox, [DAY, day2], opted=opted, moves={moved: day2}, bookings=bookings)
    got = await decisions(ctx)
    assert got == want
    assert got[("999000001", day2)] == "frequency_cap"
    # an eligible minor's request goes to the guardian, and the decision says so (no name)
    to_guardian = 0
    for row in await all_checkins(ctx):
        if row.decision != "eligible":
            continue
        patient = sandbox.practice.patient(int(row.patient_id))
        assert patient is not None
        minor = patient.age_on(row.appointment_day) < 18
        assert row.detail == ("to guardian" if minor else None)
        to_guardian += minor
    assert to_guardian > 0
    reasons = set(got.values())
    assert reasons >= {
        "eligible",
        "location_not_allowed",
        "status_not_allowed",
        "type_not_allowed",
        "duplicate",
        "minor",
        "sensitive_type",
        "no_review_link",
        "no_usable_contact",
        "opted_out",
        "frequency_cap",
        "dry_run",
    }, reasons
    assert got[(moved, day2)] == "duplicate"


async def test_beta_source_restricts_everything(
    ctx: AppContext, practice: Practice, engine: SyncEngine, unity: Loopback
) -> None:
    async with ctx.db.transaction() as session:
        await session.execute(
            update(IntegrationSource).where(IntegrationSource.id == 32).values(lifecycle="beta")
        )
    await run_day(practice, engine, DAY + timedelta(days=1))
    got = await decisions(ctx)
    assert got == expected(unity.sandbox, [DAY], beta=True)
    assert set(got.values()) == {"integration_is_beta"}


async def test_routing_by_location_name_is_trimmed_and_case_insensitive(
    ctx: AppContext, practice: Practice, engine: SyncEngine
) -> None:
    await practice.patch_mapping(
        "Loudoun Office",
        integrationProperties=[
            {"propertyKey": "allscripts.location.name", "propertyValue": "  LOUDOUN   office "}
        ],
    )
    await run_day(practice, engine, DAY + timedelta(days=1))
    rows = await all_checkins(ctx)
    loudoun = await _business_id(ctx, LOCATIONS["Loudoun Office"])
    routed = [r for r in rows if r.pms_appointment_practice_name == "Loudoun Office"]
    assert len(routed) == 25
    assert {r.business_id for r in routed} == {loudoun}
    assert all(r.restriction_reason != "location_not_allowed" for r in routed)


async def _business_id(ctx: AppContext, number: int) -> int:
    from frontdesk.businesses.service import get_by_number

    async with ctx.db.reader() as session:
        business = await get_by_number(session, number=number)
        assert business is not None
        return business.id
