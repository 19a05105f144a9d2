"""Working a ticket from the dashboard over HTTP: assign, note, status changes, re-file; the
CSRF token; refusals shown next to the forms; audit events; the answering service sees it.
"""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import httpx
import pytest
from sqlalchemy import select

from frontdesk.answering.client import AnsweringClient
from frontdesk.audit.models import AuditEvent
from frontdesk.clock import ManualClock
from frontdesk.context import AppContext

from .conftest import LoginAs, UserFactory
from .tickets_world import API_KEY, API_PASSWORD, API_USER, UNASSIGNED, Desk, desk

__all__ = ["desk"]
pytestmark = pytest.mark.usefixtures("clock")
HX = {"HX-Request": "true"}


async def post(
    client: httpx.AsyncClient, path: str, token: str, *, htmx: bool = True, **data: str
) -> httpx.Response:
    return await client.post(path, data={"csrf_token": token, **data}, headers=HX if htmx else {})


async def test_a_nurse_works_a_ticket_to_completed(
    client: httpx.AsyncClient, ctx: AppContext, clock: ManualClock, login_as: LoginAs, desk: Desk
) -> None:
    token = await login_as("nurse", username="nina")
    await desk.link("nina", "1234")
    base = f"/tickets/{desk.ids['riverside']}"

    async def post(path: str, *, htmx: bool = True, **data: str) -> httpx.Response:
        clock.advance(timedelta(minutes=3))  # the history is in time order
        return await client.post(
            path, data={"csrf_token": token, **data}, headers=HX if htmx else {}
        )

    assigned = await post(f"{base}/assign", assignee="nina")
    assert assigned.status_code == 200
    assert assigned.text.lstrip().startswith('<div id="ticket"')  # the htmx fragment
    assert "Assigned to nina." in assigned.text
    assert await desk.status("riverside") == ("ASSIGNED", "nina")

    noted = await post(f"{base}/notes", body="Called back, no answer; try 21:00")
    assert "Note added." in noted.text
    for status, note in (("CALLBACK PENDING", "left a voicemail"), ("ESCALATED", "")):
        moved = await post(f"{base}/transition", status=status, note=note)
        assert moved.status_code == 200, moved.text
        assert f"Status changed to {status}." in moved.text
    done = await post(f"{base}/transition", status="completed", htmx=False)
    assert done.status_code == 303  # a plain form: back to the ticket
    assert done.headers["location"] == base
    assert await desk.status("riverside") == ("COMPLETED", "nina")

    page = unescape((await client.get(base)).text)
    history = page.split('id="history-title"')[1]
    steps = [
        "Received from the answering service",
        "Assigned to nina",
        "Called back, no answer; try 21:00",
        "ASSIGNED → CALLBACK PENDING",
        "left a voicemail",
        "CALLBACK PENDING → ESCALATED",
        "ESCALATED → COMPLETED",
    ]
    positions = [history.index(step) for step in steps]
    assert positions == sorted(positions)
    # COMPLETED leads only to CLOSED (or back to ASSIGNED, by assigning).
    assert '<option value="CLOSED">' in page
    assert '<option value="ESCALATED">' not in page

    async with AnsweringClient(
        "http://frontdesk.test",
        API_USER,
        API_PASSWORD,
        API_KEY,
        transport=httpx.ASGITransport(app=desk.app),
    ) as answering:
        assert await answering.status(desk.ids["riverside"]) == "COMPLETED"

    async with ctx.db.reader() as session:
        events = (
            await session.execute(
                select(AuditEvent)
                .where(AuditEvent.target_id == desk.ids["riverside"])
                .order_by(AuditEvent.id)
            )
        ).scalars()
        audited = [(e.actor, e.action) for e in events]
        details = str([e.details for e in events])
    assert audited == [
        ("user:nina", "answering.ticket.assign"),
        ("user:nina", "answering.ticket.note"),
        *[("user:nina", "answering.ticket.transition")] * 3,
    ]
    assert "voicemail" not in details
    assert "no answer" not in details


async def test_refusals_are_shown_next_to_the_forms(
    client: httpx.AsyncClient, login_as: LoginAs, make_user: UserFactory, desk: Desk
) -> None:
    token = await login_as("admin", username="ada")
    await make_user("nora", "nurse")  # a nurse of no practice
    await make_user("vic", "viewer")
    base = f"/tickets/{desk.ids['riverside2']}"
    cases = [
        ("transition", {"status": "COMPLETED"}, "cannot move to COMPLETED; allowed next"),
        ("transition", {"status": "ASSIGNED"}, "becomes ASSIGNED by assigning it"),
        ("assign", {"assignee": "ghost"}, "that staff user does not exist or is inactive"),
        ("assign", {"assignee": "nora"}, "is not linked to the ticket's practice"),
        ("assign", {"assignee": "vic"}, "(viewer) may not work tickets"),
        ("notes", {"body": "   "}, "body must not be blank"),
        (
            "refile",
            {"practice": "5678", "doctor": "D1", "reason": "x"},
            "no doctor of that code in practice id",
        ),
        ("refile", {"practice": "1234", "reason": "same place"}, "already filed there"),
    ]
    for action, data, message in cases:
        refused = await post(client, f"{base}/{action}", token, **data)
        assert refused.status_code == 422, (action, data)
        assert message in unescape(refused.text), (action, refused.text[:500])
        assert refused.text.lstrip().startswith('<div id="ticket"')
    plain = await post(client, f"{base}/notes", token, htmx=False, body="")
    assert plain.status_code == 422
    assert "<html" in plain.text  # a full page for a plain form
    assert await desk.status("riverside2") == ("IN PROGRESS", None)
    assert (await post(client, "/tickets/nope/notes", token, body="x")).status_code == 404


async def test_re_filing_an_unassigned_ticket_and_out_of_a_nurses_view(
    client: httpx.AsyncClient, login_as: LoginAs, desk: Desk
) -> None:
    token = await login_as("nurse", username="nina")
    await desk.link("nina", "1234", UNASSIGNED)
    stray = f"/tickets/{desk.ids['stray']}"
    moved = await post(client, f"{stray}/refile", token, practice="1234", doctor="D1", reason="r1")
    assert moved.status_code == 200
    text = unescape(moved.text)
    assert "Re-filed from 0000 (Unassigned practice) to 1234, doctor D1" in text
    assert "Unassigned</strong> practice" not in text
    # Assigned to her, then sent to a practice she does not work: the ticket leaves her view.
    await post(client, f"{stray}/assign", token, assignee="nina")
    gone = await post(client, f"{stray}/refile", token, practice="5678", reason="wrong office")
    assert gone.status_code == 204
    assert gone.headers["HX-Redirect"] == "/tickets"
    assert (await client.get(stray)).status_code == 404
    assert await desk.status("stray") == ("IN PROGRESS", None)  # unassigned by the re-filing
    other = f"/tickets/{desk.ids['riverside2']}"
    plain = await post(client, f"{other}/refile", token, htmx=False, practice="5678", reason="r")
    assert plain.status_code == 303
    assert plain.headers["location"] == "/tickets"


async def test_posts_need_the_csrf_token_and_a_role_that_works_tickets(
    client: httpx.AsyncClient, login_as: LoginAs, desk: Desk
) -> None:
    token = await login_as("admin", username="ada")
    base = f"/tickets/{desk.ids['riverside']}"
    forms = {
        "assign": {"assignee": "ada"},
        "transition": {"status": "ESCALATED"},
        "notes": {"body": "hello"},
        "refile": {"practice": "5678", "reason": "r"},
    }
    for action, data in forms.items():
        missing = await client.post(f"{base}/{action}", data=data, headers=HX)
        assert missing.status_code == 403, action
        assert "security token" in missing.text
        wrong = await client.post(f"{base}/{action}", data={**data, "csrf_token": "x" * 43})
        assert wrong.status_code == 403, action
    assert await desk.status("riverside") == ("IN PROGRESS", None)
    by_header = await client.post(
        f"{base}/notes", data={"body": "via htmx"}, headers={**HX, "X-CSRF-Token": token}
    )
    assert by_header.status_code == 200

    for role in ("viewer", "support"):
        other = await login_as(role)
        for action, data in forms.items():
            refused = await post(client, f"{base}/{action}", other, **data)
            assert refused.status_code == 403, (role, action)
    assert await desk.status("riverside") == ("IN PROGRESS", None)
