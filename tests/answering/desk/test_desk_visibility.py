"""Who sees which tickets and which fields, through HTTP, for every kind of principal."""

from __future__ import annotations

from typing import Any

import pytest

from frontdesk.access.principal import Principal
from frontdesk.answering.desk.visibility import MASK, PATIENT_FIELDS, ticket_access

TICKETS = "/api/answering/tickets"


async def _two_practices(desk: Any) -> tuple[str, str]:
    """One ticket in 1234 (nina's) and one in 5678 (nora's)."""
    t1234 = await desk.new_ticket(prac="1234", dc="D1")
    t5678 = await desk.new_ticket(prac="5678", patient_lname="Roe")
    return t1234, t5678


def _ids(response: Any) -> set[str]:
    assert response.status_code == 200, response.text
    return {item["ticketId"] for item in response.json()["items"]}


async def test_nurse_sees_and_works_only_her_practices(desk: Any) -> None:
    t1234, t5678 = await _two_practices(desk)
    nina = desk.as_user("nina")
    assert _ids(await nina.get(TICKETS)) == {t1234}
    assert _ids(await nina.get("/api/answering/queues/unassigned")) == {t1234}
    assert (await nina.get(f"{TICKETS}/{t1234}")).status_code == 200
    hidden = await nina.get(f"{TICKETS}/{t5678}")
    assert hidden.status_code == 404  # never 403: nothing says it exists
    assert (await desk.transition(t5678, "ESCALATED", client=nina)).status_code == 404
    assert (await desk.transition(t1234, "ESCALATED", client=nina)).status_code == 200
    detail = (await nina.get(f"{TICKETS}/{t1234}")).json()
    assert detail["fields"]["patient_lname"] == "Doe"  # nurses see patient details
    nora = desk.as_user("nora")
    assert _ids(await nora.get(TICKETS)) == {t5678}


async def test_nurse_without_practices_sees_nothing(desk: Any) -> None:
    await _two_practices(desk)
    await desk.add_staff("newbie", "nurse")
    assert _ids(await desk.as_user("newbie").get(TICKETS)) == set()


async def test_viewer_sees_tickets_but_never_patient_details(desk: Any) -> None:
    t1234, t5678 = await _two_practices(desk)
    await desk.assign(t1234, "nina")
    await desk.staff.post(f"{TICKETS}/{t1234}/notes", json={"body": "Jane Doe says fever 39.5"})
    await desk.transition(t1234, "CALLBACK PENDING", note="called 5551234567")
    vic = desk.as_user("vic")
    listed = await vic.get(TICKETS)
    assert _ids(listed) == {t1234, t5678}
    for item in listed.json()["items"]:
        assert item["patient"] == {"lastName": MASK, "firstName": MASK, "dob": MASK}
        assert item["complaint"] == MASK
    detail = (await vic.get(f"{TICKETS}/{t1234}")).json()
    text = str(detail)
    for value in ("Doe", "Jane", "19891230", "fever", "5551234567", "jane.doe", "Tampa"):
        assert value not in text, value
    for name in PATIENT_FIELDS:
        assert detail["fields"][name] in (MASK, ""), name
    assert detail["fields"]["prac"] == "1234"  # routing codes are not patient details
    assert detail["notes"][0]["body"] == MASK
    assert detail["history"][-1]["note"] == MASK
    assert detail["assignee"]["username"] == "nina"


async def test_viewer_may_not_search_or_work(desk: Any) -> None:
    ticket = await desk.new_ticket()
    vic = desk.as_user("vic")
    search = await vic.get(TICKETS, params={"q": "fever"})
    assert search.status_code == 403
    assert search.json()["error"]["field"] == "q"
    assert (await desk.transition(ticket, "ESCALATED", client=vic)).status_code == 403
    assert (await vic.post(f"{TICKETS}/{ticket}/notes", json={"body": "x"})).status_code == 403
    assert (await desk.assign(ticket, "nina", client=vic)).status_code == 403


async def test_support_sees_all_details_but_does_not_work_tickets(desk: Any) -> None:
    t1234, t5678 = await _two_practices(desk)
    sue = desk.as_user("sue")
    assert _ids(await sue.get(TICKETS)) == {t1234, t5678}
    assert _ids(await sue.get(TICKETS, params={"q": "FEVER"})) == {t1234, t5678}
    detail = (await sue.get(f"{TICKETS}/{t5678}")).json()
    assert detail["fields"]["patient_lname"] == "Roe"
    assert (await desk.transition(t1234, "ESCALATED", client=sue)).status_code == 403


async def test_admin_user_sees_and_works_everything(desk: Any) -> None:
    t1234, t5678 = await _two_practices(desk)
    ada = desk.as_user("ada")
    assert _ids(await ada.get(TICKETS)) == {t1234, t5678}
    assert (await desk.assign(t5678, "nora", client=ada)).status_code == 200
    history = (await ada.get(f"{TICKETS}/{t5678}")).json()["history"]
    assert history[-1]["actor"] == "user:ada"
    assert history[-1]["actorRole"] == "admin"


async def test_business_scoped_key_sees_no_ticket(desk: Any, api_key: Any, client: Any) -> None:
    ticket = await desk.new_ticket()
    created = await desk.staff.post(
        "/api/businesses", json={"businessNumber": 123456789012345, "name": "B"}
    )
    assert created.status_code in (200, 201), created.text
    headers = await api_key(name="tenant", business=123456789012345)
    for path in (TICKETS, f"{TICKETS}/{ticket}", "/api/answering/queues/unassigned"):
        assert (await client.get(path, headers=headers)).status_code == 404, path
    response = await client.post(
        f"{TICKETS}/{ticket}/transition", json={"status": "ESCALATED"}, headers=headers
    )
    assert response.status_code == 404
    assert (await client.get(TICKETS)).status_code == 401


async def test_assignment_respects_nurse_practices(desk: Any) -> None:
    t1234, _ = await _two_practices(desk)
    refused = await desk.assign(t1234, "nora")
    assert refused.status_code == 409
    assert "not linked to the ticket's practice" in refused.json()["error"]["message"]
    assert (await desk.assign(t1234, "vic")).status_code == 422  # viewers do not work tickets
    assert (await desk.assign(t1234, "nobody")).status_code == 404
    by_id = await desk.assign(t1234, desk.principals["nina"].id)
    assert by_id.status_code == 200
    assert by_id.json()["assignee"] == {"id": desk.principals["nina"].id, "username": "nina"}


@pytest.mark.parametrize(
    ("principal", "view", "work", "details", "configure"),
    [
        (Principal("api_key", 1, "staff", "staff"), True, True, True, True),
        (Principal("api_key", 2, "t", "business", business_scope=7), False, False, False, False),
        (Principal.system(), True, True, True, True),
        (Principal("user", 99, "a", "admin"), True, True, True, True),
        (Principal("user", 99, "s", "support"), True, False, True, False),
        (Principal("user", 99, "n", "nurse"), True, True, True, False),
        (Principal("user", 99, "v", "viewer"), True, False, False, False),
        (Principal("user", 99, "x", "janitor"), False, False, False, False),
        (Principal("user", 99, "b", "admin", business_scope=3), False, False, False, False),
    ],
    ids=[
        "staff-key",
        "business-key",
        "system",
        "admin",
        "support",
        "nurse",
        "viewer",
        "unknown-role",
        "business-user",
    ],
)
async def test_rights_per_principal(
    ctx: Any, principal: Principal, view: bool, work: bool, details: bool, configure: bool
) -> None:
    async with ctx.db.reader() as session:
        access = await ticket_access(session, principal)
    assert (access.view, access.work, access.patient_details, access.configure) == (
        view,
        work,
        details,
        configure,
    )
    if principal.role == "nurse":
        assert access.practice_codes == frozenset()
    elif view:
        assert access.practice_codes is None
