"""The Check-ins page over HTTP, on real decisions: a sync run against the Unity sandbox.

An enterprise with two mapped locations (Loudoun with a review link, Ashburn without) and an
SMB of another tenant; each group runs for two days through the sync engine, so the decision
log holds eligible check-ins and many restriction reasons made by the real rules.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from html import unescape
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from frontdesk.access.principal import Principal
from frontdesk.businesses.models import Business
from frontdesk.businesses.service import add_business
from frontdesk.clock import ManualClock
from frontdesk.composition import Role, build_process, builtin_plugins
from frontdesk.context import AppContext
from frontdesk.engagement.checkin_models import CheckIn
from frontdesk.engagement.reasons import Reason
from frontdesk.integrations.catalog import TriggerRef
from frontdesk.integrations.groups import PropertyInput, create_group
from frontdesk.integrations.mappings import MappingChanges, create_mapping
from frontdesk.sandbox.unity import Sandbox
from frontdesk.staff.roles import PATIENT_DETAIL_MASK
from frontdesk.sync.service import request_run

from .conftest import ASHBURN, ENTERPRISE, LOUDOUN, OTHER_SMB, SECRET_VALUES, LoginAs

RUN_DAYS = (date(2026, 1, 6), date(2026, 1, 7))  # read Mon 5 and Tue 6 (fetch delay 1 day)
ROW = re.compile(r'<tr id="checkin-(\d+)"')
PAGER = re.compile(r'rel="next" href="([^"]+)"')
PREVIOUS = re.compile(r'rel="prev" href="([^"]+)"')


@dataclass(frozen=True)
class Decided:
    """The decision log the sync runs wrote."""

    rows: list[Any]  # rows of the checkins table (attribute access, no ORM session)
    ids: dict[int, int]  # business number → id

    def of(self, scope: int) -> list[Any]:
        return [c for c in self.rows if c.scope_business_id == self.ids[scope]]


@pytest.fixture
async def decided(ctx: AppContext, clock: ManualClock, unity_sandbox: Sandbox) -> Decided:
    system = Principal.system("test")
    plugins = builtin_plugins(ctx)
    async with ctx.db.transaction() as session:
        for number, name, enterprise in (
            (ENTERPRISE, "Loudoun Valley Medical Group", None),
            (LOUDOUN, "Loudoun Office", ENTERPRISE),
            (ASHBURN, "Ashburn Office", ENTERPRISE),
            (OTHER_SMB, "Lakeside Pediatrics", None),
        ):
            await add_business(
                session,
                principal=system,
                clock=clock,
                number=number,
                name=name,
                enterprise_number=enterprise,
            )
        groups = []
        for parent, locations in (
            (ENTERPRISE, {LOUDOUN: "Loudoun Office", ASHBURN: "Ashburn Office"}),
            (OTHER_SMB, {OTHER_SMB: "Sterling Pediatrics"}),
        ):
            group = await create_group(
                session,
                principal=system,
                clock=clock,
                secrets=ctx.secrets,
                plugins=plugins,
                parent_business_number=parent,
                source_id=32,
                triggers=[TriggerRef(56)],
                properties=[
                    PropertyInput("User_Name", SECRET_VALUES[0], True),
                    PropertyInput("PM_Password", SECRET_VALUES[1], True),
                    PropertyInput("pms_user_name", "frontdesk"),
                    PropertyInput("allscripts.appointment.status", "Acknowledge,Confirmed"),
                ],
            )
            groups.append(group.id)
            for number, location in locations.items():
                props = [PropertyInput("allscripts.location.name", location)]
                if number != ASHBURN:
                    props.append(
                        PropertyInput("review.url", f"https://reviews.example.org/{number}")
                    )
                await create_mapping(
                    session,
                    principal=system,
                    clock=clock,
                    secrets=ctx.secrets,
                    plugins=plugins,
                    group_id=group.id,
                    business_number=number,
                    changes=MappingChanges(properties=props),
                )
    engine = build_process(ctx, Role.CLI).engine  # decides in the foreground, as sync run does
    for group_id in groups:
        for day in RUN_DAYS:
            async with ctx.db.transaction() as session:
                created = await request_run(
                    session, principal=system, clock=clock, group_id=group_id, on=day
                )
                ids = [run.id for run in created]
            for run_id in ids:
                outcome = await engine.attempt(run_id)
                assert outcome is not None
                assert outcome.status == "succeeded", outcome
    async with ctx.db.reader() as session:
        rows = list((await session.execute(select(CheckIn.__table__).order_by("id"))).all())
        numbers = {n: i for n, i in await session.execute(select(Business.number, Business.id))}
    found = Decided(rows, numbers)
    assert found.of(OTHER_SMB), "the other tenant has decisions too"
    return found


def ids_on(html: str) -> list[int]:
    return [int(i) for i in ROW.findall(html)]


def latest(decided: Decided, scope: int | None = None) -> date:
    rows = decided.rows if scope is None else decided.of(scope)
    day: date = max(c.appointment_day for c in rows)
    return day


def ordered(rows: list[Any]) -> list[int]:
    return [c.id for c in sorted(rows, key=lambda c: (c.appointment_start, c.id))]


async def test_default_day_counts_and_reasons_in_plain_words(
    client: httpx.AsyncClient, login_as: LoginAs, decided: Decided
) -> None:
    await login_as("support")
    page = await client.get("/checkins")
    assert page.status_code == 200
    html = unescape(page.text)
    day = latest(decided)
    assert f'name="day" value="{day.isoformat()}"' in html
    today = [c for c in decided.rows if c.appointment_day == day]
    expected = Counter(c.restriction_reason for c in today)
    assert len(expected) >= 4, expected  # eligible and several reasons
    assert f"<dt>Check-ins</dt><dd>{len(today)}</dd>" in html
    for reason, count in expected.items():
        if reason is None:
            assert f">{count}</a></dd></div>" in html  # the eligible tile
            continue
        words = Reason(reason).words
        assert re.search(
            re.escape(words)
            + r"</a></td>\s*<td[^>]*>.*?\s*<td[^>]*><strong>"
            + str(count)
            + "</strong>",
            html,
            re.S,
        ), (reason, count)
    # The first page: the day in appointment order, reasons in words, never the codes alone.
    shown = ids_on(html)
    assert shown == ordered(today)[: len(shown)]
    restricted = next(c for c in today if c.restriction_reason)
    assert Reason(restricted.restriction_reason or "").words in html
    # The navigation names the page, and marks it current.
    assert 'href="/checkins" class="current"' in page.text


@pytest.mark.parametrize(
    "reason", [Reason.NO_REVIEW_LINK, Reason.STATUS_NOT_ALLOWED, Reason.LOCATION_NOT_ALLOWED]
)
async def test_filter_by_reason(
    client: httpx.AsyncClient, login_as: LoginAs, decided: Decided, reason: Reason
) -> None:
    await login_as("admin")
    wanted = [c for c in decided.rows if c.restriction_reason == reason.value]
    day = max(c.appointment_day for c in wanted)
    page = await client.get("/checkins", params={"day": day.isoformat(), "reason": reason.value})
    assert page.status_code == 200
    shown = ids_on(page.text)
    assert shown == ordered([c for c in wanted if c.appointment_day == day])[:50]
    assert reason.words in unescape(page.text)


async def test_filter_eligible_business_location_and_ids(
    client: httpx.AsyncClient, login_as: LoginAs, decided: Decided
) -> None:
    await login_as("support")
    day = latest(decided, ENTERPRISE)
    eligible = await client.get(
        "/checkins", params={"day": day.isoformat(), "reason": "eligible", "business": ENTERPRISE}
    )
    want = [
        c for c in decided.of(ENTERPRISE) if c.appointment_day == day and c.decision == "eligible"
    ]
    assert want
    assert ids_on(eligible.text) == ordered(want)[:50]

    # A location (business number of a location): its mapped check-ins only.
    loudoun = await client.get("/checkins", params={"day": day.isoformat(), "business": LOUDOUN})
    mapped = {c.id for c in decided.rows if c.business_id is not None}
    shown = ids_on(loudoun.text)
    assert shown
    assert set(shown) <= mapped
    assert all(
        c.pms_appointment_practice_name == "Loudoun Office" for c in decided.rows if c.id in shown
    )
    # The EHR location name: also the unmapped ones (location not allowed).
    leesburg = [
        c for c in decided.of(ENTERPRISE) if c.business_id is None and c.appointment_day == day
    ]
    name = leesburg[0].pms_appointment_practice_name
    by_name = await client.get(
        "/checkins", params={"day": day.isoformat(), "business": ENTERPRISE, "location": name}
    )
    assert (
        ids_on(by_name.text)
        == ordered(
            [
                c
                for c in decided.of(ENTERPRISE)
                if c.appointment_day == day and c.pms_appointment_practice_name == name
            ]
        )[:50]
    )

    # An appointment id searches every day; so does a patient id.
    some = decided.of(ENTERPRISE)[0]
    by_appointment = await client.get(
        "/checkins", params={"day": day.isoformat(), "appointment": some.appointment_id}
    )
    assert ids_on(by_appointment.text) == ordered(
        [c for c in decided.rows if c.appointment_id == some.appointment_id]
    )
    by_patient = await client.get("/checkins", params={"patient": some.patient_id, "day": ""})
    assert (
        ids_on(by_patient.text)
        == ordered([c for c in decided.rows if c.patient_id == some.patient_id])[:50]
    )
    nothing = await client.get("/checkins", params={"appointment": "no-such-appointment"})
    assert ids_on(nothing.text) == []
    assert "No check-in matches" in nothing.text


async def test_keyset_pagination_walks_every_row_once(
    client: httpx.AsyncClient, login_as: LoginAs, decided: Decided
) -> None:
    await login_as("support")
    everything = ordered(decided.rows)
    assert len(everything) > 100  # at least three pages of 50 over both days
    seen: list[int] = []
    pages: list[str] = []
    url = "/checkins?day="  # every day (no day): pages over the whole log
    while url:
        response = await client.get(unescape(url))
        assert response.status_code == 200
        assert "offset" not in response.text.lower()
        seen += ids_on(response.text)
        pages.append(unescape(url))
        found = PAGER.search(response.text)
        url = found[1] if found else ""
        assert len(pages) < 20
    assert seen == everything
    # Back from the last page: the previous page is the one before it.
    last = await client.get(pages[-1])
    previous = PREVIOUS.search(last.text)
    assert previous is not None
    back = await client.get(unescape(previous[1]))
    assert ids_on(back.text) == everything[(len(pages) - 2) * 50 : (len(pages) - 1) * 50]
    # htmx gets the fragment only; a broken position is a clean 422, not a crash.
    fragment = await client.get(pages[1], headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="checkins"')
    broken = await client.get("/checkins", params={"after": "nope"})
    assert broken.status_code == 422


async def test_detail_explains_every_rule_in_plain_words(
    client: httpx.AsyncClient, login_as: LoginAs, decided: Decided
) -> None:
    await login_as("support")
    restricted = next(
        c for c in decided.rows if c.restriction_reason == Reason.STATUS_NOT_ALLOWED.value
    )
    page = await client.get(f"/checkins/{restricted.id}")
    assert page.status_code == 200
    html = unescape(page.text)
    assert f"Not asked for a review: {Reason.STATUS_NOT_ALLOWED.words}" in html
    assert (
        f"status '{restricted.pms_appointment_status}' is not in [Acknowledge, Confirmed]" in html
    )
    assert html.count('class="step-passed"') == 2  # beta and location, before the status rule
    assert html.count('class="step-restricted"') == 1
    assert html.count('class="step-not_evaluated"') == len(Reason) - 3
    eligible = next(c for c in decided.rows if c.decision == "eligible")
    shown = unescape((await client.get(f"/checkins/{eligible.id}")).text)
    assert "Eligible: every rule passed" in shown
    assert shown.count('class="step-passed"') == len(Reason)
    assert (await client.get("/checkins/999999")).status_code == 404


async def test_viewer_sees_decisions_but_never_patient_details(
    client: httpx.AsyncClient, login_as: LoginAs, decided: Decided, ctx: AppContext
) -> None:
    some = next(c for c in decided.rows if c.patient_sealed)
    patient = json.loads(ctx.secrets.decrypt(some.patient_sealed or ""))
    names = [patient["first_name"], patient["last_name"]]
    await login_as("support", username="sam")
    staff_view = await client.get(
        "/checkins",
        params={"day": some.appointment_day.isoformat(), "appointment": some.appointment_id},
    )
    assert " ".join(names) in unescape(staff_view.text)
    client.cookies.clear()  # a new browser: log in as the viewer
    await login_as("viewer", username="vera")
    listing = await client.get("/checkins", params={"appointment": some.appointment_id})
    detail = await client.get(f"/checkins/{some.id}")
    for response in (listing, detail):
        assert response.status_code == 200
        text = unescape(response.text)
        assert PATIENT_DETAIL_MASK in text
        for value in (
            *names,
            patient.get("email"),
            patient.get("phone"),
            patient.get("birth_date"),
        ):
            if value:
                assert str(value) not in text
    assert some.appointment_id in listing.text  # the decision itself is shown


async def test_nurse_is_refused(
    client: httpx.AsyncClient, login_as: LoginAs, decided: Decided
) -> None:
    await login_as("nurse")
    for path in ("/checkins", f"/checkins/{decided.rows[0].id}"):
        refused = await client.get(path)
        assert refused.status_code == 403
        assert "Not allowed" in refused.text
    assert 'href="/checkins"' not in refused.text


async def test_anonymous_is_sent_to_login(client: httpx.AsyncClient) -> None:
    response = await client.get("/checkins")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/checkins"


async def test_tenant_scoped_user_sees_only_its_tenant(
    client: httpx.AsyncClient, login_as: LoginAs, decided: Decided
) -> None:
    await login_as("viewer", business=ENTERPRISE)
    mine = {c.id for c in decided.of(ENTERPRISE)}
    theirs = decided.of(OTHER_SMB)
    page = await client.get("/checkins", params={"day": ""})
    assert page.status_code == 200
    assert set(ids_on(page.text)) <= mine
    assert "Lakeside Pediatrics" not in page.text
    assert (await client.get(f"/checkins/{theirs[0].id}")).status_code == 404
    other = await client.get("/checkins", params={"business": OTHER_SMB})
    assert other.status_code == 404
    by_id = await client.get("/checkins", params={"appointment": theirs[0].appointment_id})
    assert set(ids_on(by_id.text)) <= mine
