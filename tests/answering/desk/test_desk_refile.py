"""Re-filing a ticket to another practice or doctor, through HTTP."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from frontdesk.answering.desk.visibility import MASK
from frontdesk.audit.models import AuditEvent

TICKETS = "/api/answering/tickets"


async def _refile(desk: Any, ticket: str, client: Any = None, **body: Any) -> Any:
    return await (client or desk.staff).post(f"{TICKETS}/{ticket}/refile", json=body)


async def test_refile_moves_practice_and_doctor_and_keeps_the_reason(desk: Any) -> None:
    ticket = await desk.new_ticket(prac="1234", dc="D1")
    response = await _refile(
        desk, ticket, practice="5678", doctor="D3", reason="caller named Dr. Three's office"
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["refiling"]["fromPractice"] == "1234"
    assert body["refiling"]["toPractice"] == "5678"
    assert body["refiling"]["fromDoctor"] == "D1"
    assert body["refiling"]["toDoctor"] == "D3"
    assert body["refiling"]["reason"] == "caller named Dr. Three's office"
    assert body["refiling"]["actor"] == "api_key:staff"
    detail = body["ticket"]
    assert detail["practice"]["code"] == "5678"
    assert detail["doctor"] == "D3"
    assert detail["fields"]["prac"] == "1234"  # what the answering service sent stays
    assert detail["status"] == "IN PROGRESS"
    assert detail["refilings"] == [body["refiling"]]
    # the answering service that created it still sees its status
    status = await desk.vendor_status(ticket)
    assert status.result == {"ticket_id": ticket, "ticket_status": "IN PROGRESS"}
    # and the practices' nurses see it move
    assert (await desk.as_user("nina").get(f"{TICKETS}/{ticket}")).status_code == 404
    assert (await desk.as_user("nora").get(f"{TICKETS}/{ticket}")).status_code == 200


async def test_refile_without_doctor_and_refusals(desk: Any) -> None:
    ticket = await desk.new_ticket(prac="1234", dc="D1")
    assert (await _refile(desk, ticket, practice="nope", reason="r")).status_code == 404
    wrong_doctor = await _refile(desk, ticket, practice="5678", doctor="D1", reason="r")
    assert wrong_doctor.status_code == 404
    assert wrong_doctor.json()["error"]["field"] == "doctor"
    assert (
        await _refile(desk, ticket, practice="1234", doctor="D1", reason="r")
    ).status_code == 409
    blank = await _refile(desk, ticket, practice="5678", reason="   ")
    assert blank.status_code == 422
    moved = await _refile(desk, ticket, practice="5678", reason="wrong practice")
    assert moved.status_code == 200
    assert moved.json()["ticket"]["doctor"] is None
    await desk.transition(ticket, "CANCELLED")
    closed = await _refile(desk, ticket, practice="1234", reason="again")
    assert closed.status_code == 409


async def test_refile_from_the_unassigned_practice(desk: Any) -> None:
    from frontdesk.access.principal import Principal
    from frontdesk.answering import accounts

    async with desk.ctx.db.transaction() as session:
        await accounts.set_unassigned_practice(
            session,
            principal=Principal.system("test"),
            clock=desk.clock,
            company_name="Acme Answering",
            practice_code="AS",
        )
    desk.runtime.invalidate()
    ticket = await desk.new_ticket(prac="UNKNOWN-42")
    queue = (await desk.staff.get("/api/answering/queues/unassigned")).json()["items"]
    assert [(i["ticketId"], i["unassignedPractice"]) for i in queue] == [(ticket, True)]
    listed = await desk.staff.get(TICKETS, params={"unassignedPractice": "true"})
    assert [i["ticketId"] for i in listed.json()["items"]] == [ticket]
    response = await _refile(desk, ticket, practice="1234", reason="prac 42 is our 1234")
    assert response.status_code == 200
    assert response.json()["refiling"]["wasUnassigned"] is True
    assert response.json()["refiling"]["fromPractice"] == "AS"
    assert response.json()["ticket"]["unassignedPractice"] is False


async def test_refile_drops_a_nurse_who_does_not_work_the_new_practice(desk: Any) -> None:
    ticket = await desk.new_ticket(prac="1234")
    assert (await desk.assign(ticket, "nina")).status_code == 200
    nina = desk.as_user("nina")
    response = await _refile(desk, ticket, client=nina, practice="5678", reason="belongs to 5678")
    assert response.status_code == 200
    body = response.json()
    assert body["ticket"] is None  # nina no longer sees it
    detail = (await desk.staff.get(f"{TICKETS}/{ticket}")).json()
    assert detail["assignee"] is None
    assert detail["status"] == "IN PROGRESS"
    assert [(h["fromStatus"], h["status"]) for h in detail["history"][-2:]] == [
        ("IN PROGRESS", "ASSIGNED"),
        ("ASSIGNED", "IN PROGRESS"),
    ]
    assert detail["refilings"][0]["actor"] == "user:nina"


async def test_refile_keeps_an_admin_assignee(desk: Any) -> None:
    ticket = await desk.new_ticket(prac="1234")
    await desk.assign(ticket, "ada")
    response = await _refile(desk, ticket, practice="5678", reason="r")
    assert response.json()["ticket"]["assignee"]["username"] == "ada"
    assert response.json()["ticket"]["status"] == "ASSIGNED"


async def test_refile_reason_is_masked_for_viewers_and_kept_out_of_audit(desk: Any) -> None:
    ticket = await desk.new_ticket(prac="1234")
    await _refile(desk, ticket, practice="5678", reason="Jane Doe is a patient of 5678")
    detail = (await desk.as_user("vic").get(f"{TICKETS}/{ticket}")).json()
    assert detail["refilings"][0]["reason"] == MASK
    async with desk.ctx.db.reader() as session:
        events = (
            await session.execute(
                select(AuditEvent).where(AuditEvent.action == "answering.ticket.refile")
            )
        ).scalars()
        (event,) = list(events)
        assert event.target_id == ticket
        assert event.details["fromPractice"] == "1234"
        assert "Jane" not in str(event.details)
