"""The Tickets pages over HTTP: the queue by practice and status, the detail, who sees what.

Tickets come through the real Answering Service API v2 (``tickets_world.py``); staff log in
through the form. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from html import unescape

import httpx
import pytest

from frontdesk.access.principal import Principal
from frontdesk.businesses.service import add_business
from frontdesk.context import AppContext
from frontdesk.staff.roles import PATIENT_DETAIL_MASK

from .conftest import LoginAs
from .tickets_world import ROW, TICKETS, UNASSIGNED, Desk, desk

__all__ = ["desk"]
pytestmark = pytest.mark.usefixtures("clock")
SOLO = 149547800000009


def rows(html: str) -> list[str]:
    return ROW.findall(html)


async def test_a_nurse_sees_the_open_tickets_of_her_practices(
    client: httpx.AsyncClient, login_as: LoginAs, desk: Desk
) -> None:
    await login_as("nurse", username="nina")
    await desk.link("nina", "1234", UNASSIGNED)
    home = await client.get("/", follow_redirects=True)
    assert home.url.path == "/tickets"  # the nurse's first (and only) page
    listed = rows(home.text)
    assert set(listed) == {desk.ids["riverside"], desk.ids["riverside2"], desk.ids["stray"]}
    assert listed[0] == desk.ids["stray"]  # newest first
    text = unescape(home.text)
    assert "Harriet Quimby" in text
    assert "chest tightness since noon" in text
    assert "Unassigned practice" in text  # the stray ticket is flagged
    assert "Open <span" in home.text  # status tabs with counts
    # Another practice's ticket does not exist for her.
    assert (await client.get(f"/tickets/{desk.ids['lakeside']}")).status_code == 404
    assert (await client.get("/tickets?practice=5678")).status_code == 200
    assert rows((await client.get("/tickets?practice=5678")).text) == []


async def test_filters_by_practice_status_assignee_and_complaint(
    client: httpx.AsyncClient, login_as: LoginAs, desk: Desk
) -> None:
    await login_as("admin", username="ada")
    everything = rows((await client.get("/tickets")).text)
    assert len(everything) == len(TICKETS)
    riverside = rows((await client.get("/tickets?practice=1234")).text)
    assert set(riverside) == {desk.ids["riverside"], desk.ids["riverside2"]}
    assert rows((await client.get("/tickets?status=completed")).text) == []
    assert len(rows((await client.get("/tickets?status=all")).text)) == len(TICKETS)
    assert rows((await client.get("/tickets?assignee=me")).text) == []
    assert len(rows((await client.get("/tickets?assignee=none")).text)) == len(TICKETS)
    assert rows((await client.get("/tickets?q=EAR+PAIN")).text) == [desk.ids["lakeside"]]
    for bad in ("status=DONE", "assignee=bob", "after=x"):
        refused = await client.get(f"/tickets?{bad}")
        assert refused.status_code == 422, bad


async def test_htmx_gets_the_queue_fragment_and_keyset_pages(
    client: httpx.AsyncClient, login_as: LoginAs, desk: Desk
) -> None:
    await login_as("admin", username="ada")
    made = [await desk.submit("riverside", complaint=f"call {n}") for n in range(52)]
    first = await client.get("/tickets?practice=1234")
    assert rows(first.text)[:50] == list(reversed(made))[:50]
    assert 'rel="next"' in first.text
    nxt = unescape(first.text.split('rel="next" href="')[1].split('"')[0])
    fragment = await client.get(nxt, headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="tickets"')
    assert "<html" not in fragment.text
    second = rows(fragment.text)
    assert second == [*list(reversed(made))[50:], desk.ids["riverside2"], desk.ids["riverside"]]
    assert 'rel="next"' not in fragment.text
    assert ">First</a>" in fragment.text


async def test_the_detail_shows_every_field_and_the_history(
    client: httpx.AsyncClient, login_as: LoginAs, desk: Desk
) -> None:
    await login_as("admin", username="ada")
    page = await client.get(f"/tickets/{desk.ids['riverside']}")
    assert page.status_code == 200
    text = unescape(page.text)
    for shown in ("Harriet Quimby", "1970-01-02", "5550001111", "harriet@example.org"):
        assert shown in text
    assert "Received from the answering service" in text
    assert "owl (answering service)" in text
    assert "Created by Answering Service API v2.0 from Night Owl Answering by owl" in text
    assert "Work this ticket" in text  # an admin works tickets
    assert "Assign to me" in text
    stray = unescape((await client.get(f"/tickets/{desk.ids['stray']}")).text)
    assert "Unassigned</strong> practice" in stray
    assert "4242" in stray


@pytest.mark.parametrize("role", ["viewer", "support"])
async def test_roles_that_do_not_work_tickets_read_them_without_forms(
    client: httpx.AsyncClient, login_as: LoginAs, desk: Desk, role: str
) -> None:
    await login_as(role)
    page = await client.get(f"/tickets/{desk.ids['riverside']}")
    assert page.status_code == 200
    assert "Work this ticket" not in page.text
    assert 'action="/tickets/' not in page.text
    text = unescape(page.text)
    masked = role == "viewer"
    for detail in ("Harriet", "Quimby", "chest tightness", "5550001111", "harriet@", "1970"):
        assert (detail in text) is not masked, detail
    assert (PATIENT_DETAIL_MASK in text) is masked


async def test_a_viewer_never_sees_patient_details(
    client: httpx.AsyncClient, login_as: LoginAs, desk: Desk
) -> None:
    await login_as("viewer", username="vera")
    listing = await client.get("/tickets")
    assert len(rows(listing.text)) == len(TICKETS)
    details = [(await client.get(f"/tickets/{tid}")).text for tid in desk.ids.values()]
    for html in details:
        assert "Your role does not show patient details." in html
    # A search would reveal what the mask hides: the field is not offered and is ignored.
    searched = await client.get("/tickets?q=ear+pain")
    assert len(rows(searched.text)) == len(TICKETS)
    assert 'name="q"' not in searched.text
    for html in (listing.text, searched.text, *details):
        text = unescape(html)
        assert PATIENT_DETAIL_MASK in text
        for _prac, first, last, complaint, phone in TICKETS.values():
            for value in (first, last, complaint, phone, "1970-01-02", "@example.org"):
                assert value not in text


async def test_anonymous_and_business_scoped_users(
    client: httpx.AsyncClient, ctx: AppContext, login_as: LoginAs, desk: Desk
) -> None:
    anonymous = await client.get("/tickets")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=/tickets"
    async with ctx.db.transaction() as session:
        await add_business(
            session, principal=Principal.system("t"), clock=ctx.clock, number=SOLO, name="Solo"
        )
    await login_as("viewer", business=SOLO)
    page = await client.get("/tickets")
    assert page.status_code == 200
    assert "an account limited to one business has none" in page.text
    assert rows(page.text) == []
    assert (await client.get(f"/tickets/{desk.ids['riverside']}")).status_code == 404


async def test_a_nurse_without_practices_is_told_why_the_queue_is_empty(
    client: httpx.AsyncClient, login_as: LoginAs, desk: Desk
) -> None:
    await login_as("nurse", username="nora")
    page = await client.get("/tickets")
    assert rows(page.text) == []
    assert "not linked to a practice yet" in page.text
