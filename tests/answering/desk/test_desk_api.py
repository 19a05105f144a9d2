"""The staff ticket API: filters, pagination, the Unassigned queue, notes, audit, nurse links."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from frontdesk.audit.models import AuditEvent

TICKETS = "/api/answering/tickets"


def _ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["ticketId"] for item in response.json()["items"]]


@pytest.fixture
async def spread(desk: Any) -> dict[str, str]:
    """Five tickets over three days, two practices, various states and complaints."""
    made: dict[str, str] = {}
    made["a"] = await desk.new_ticket(prac="1234", complaint="Fever and cough")
    desk.clock.advance(timedelta(days=1))
    made["b"] = await desk.new_ticket(prac="5678", complaint="sprained ankle")
    made["c"] = await desk.new_ticket(prac="1234", complaint="high FEVER, 100%")
    desk.clock.advance(timedelta(days=1))
    made["d"] = await desk.new_ticket(prac="1234", complaint="rash")
    made["e"] = await desk.new_ticket(prac="5678", complaint="headache")
    await desk.assign(made["c"], "nina")
    await desk.transition(made["d"], "ESCALATED")
    await desk.transition(made["e"], "CANCELLED")
    return made


async def test_filters(desk: Any, spread: dict[str, str]) -> None:
    s, t = desk.staff, spread
    assert _ids(await s.get(TICKETS)) == [t["e"], t["d"], t["c"], t["b"], t["a"]]
    assert _ids(await s.get(TICKETS, params={"practice": "5678"})) == [t["e"], t["b"]]
    both = await s.get(TICKETS, params=[("status", "escalated"), ("status", "CANCELLED")])
    assert _ids(both) == [t["e"], t["d"]]
    day2 = desk.clock.now().date() - timedelta(days=1)
    only_day2 = {"createdFrom": day2.isoformat(), "createdTo": day2.isoformat()}
    assert _ids(await s.get(TICKETS, params=only_day2)) == [t["c"], t["b"]]
    assert _ids(await s.get(TICKETS, params={"createdFrom": day2.isoformat()})) == [
        t["e"],
        t["d"],
        t["c"],
        t["b"],
    ]
    assert _ids(await s.get(TICKETS, params={"assignee": "nina"})) == [t["c"]]
    nina_id = str(desk.principals["nina"].id)
    assert _ids(await s.get(TICKETS, params={"assignee": nina_id})) == [t["c"]]
    assert t["c"] not in _ids(await s.get(TICKETS, params={"assignee": "none"}))
    assert _ids(await s.get(TICKETS, params={"assignee": "ghost"})) == []
    assert _ids(await s.get(TICKETS, params={"q": "fever"})) == [t["c"], t["a"]]
    assert _ids(await s.get(TICKETS, params={"q": "100%"})) == [t["c"]]  # % is literal
    assert _ids(await s.get(TICKETS, params={"q": "_"})) == []
    combined = {"practice": "1234", "q": "FEVER", "status": "IN PROGRESS"}
    assert _ids(await s.get(TICKETS, params=combined)) == [t["a"]]
    assert (await s.get(TICKETS, params={"status": "DONE"})).status_code == 422
    assert (await s.get(TICKETS, params={"createdFrom": "yesterday"})).status_code == 422


async def test_cursor_pagination(desk: Any, spread: dict[str, str]) -> None:
    seen: list[str] = []
    cursor: int | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor is not None:
            params["cursor"] = cursor
        body = (await desk.staff.get(TICKETS, params=params)).json()
        seen += [item["ticketId"] for item in body["items"]]
        pages += 1
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert pages == 3
    t = spread
    assert seen == [t["e"], t["d"], t["c"], t["b"], t["a"]]
    assert (await desk.staff.get(TICKETS, params={"limit": 0})).status_code == 422
    assert (await desk.staff.get(TICKETS, params={"limit": 201})).status_code == 422


async def test_unassigned_queue_is_open_unassigned_oldest_first(
    desk: Any, spread: dict[str, str]
) -> None:
    t = spread
    # c is assigned, e cancelled; d (escalated) still needs someone
    queue = await desk.staff.get("/api/answering/queues/unassigned")
    assert _ids(queue) == [t["a"], t["b"], t["d"]]
    first = (await desk.staff.get("/api/answering/queues/unassigned", params={"limit": 1})).json()
    assert [i["ticketId"] for i in first["items"]] == [t["a"]]
    rest = await desk.staff.get(
        "/api/answering/queues/unassigned", params={"cursor": first["nextCursor"]}
    )
    assert _ids(rest) == [t["b"], t["d"]]
    by_practice = await desk.staff.get(
        "/api/answering/queues/unassigned", params={"practice": "1234"}
    )
    assert _ids(by_practice) == [t["a"], t["d"]]


async def test_notes(desk: Any) -> None:
    ticket = await desk.new_ticket()
    nina = desk.as_user("nina")
    created = await nina.post(f"{TICKETS}/{ticket}/notes", json={"body": "  called, no answer  "})
    assert created.status_code == 201
    note = created.json()
    assert note["body"] == "called, no answer"
    assert note["actor"] == "user:nina"
    assert note["actorRole"] == "nurse"
    assert (await nina.post(f"{TICKETS}/{ticket}/notes", json={"body": "  "})).status_code == 422
    detail = (await desk.staff.get(f"{TICKETS}/{ticket}")).json()
    assert [n["body"] for n in detail["notes"]] == ["called, no answer"]
    await desk.transition(ticket, "CANCELLED")
    late = await nina.post(f"{TICKETS}/{ticket}/notes", json={"body": "caller called back"})
    assert late.status_code == 201  # notes are allowed after the end


async def test_detail_shape(desk: Any) -> None:
    ticket = await desk.new_ticket(dc="D1")
    body = (await desk.staff.get(f"{TICKETS}/{ticket}")).json()
    assert body["ticketId"] == ticket
    assert body["company"]["name"] == "Acme Answering"
    assert body["practice"] == {"code": "1234", "name": "1234"}
    assert body["doctor"] == "D1"
    assert body["allowedNext"] == ["ASSIGNED", "CALLBACK PENDING", "ESCALATED", "CANCELLED"]
    assert body["fields"]["client_code"] == "AS-77"
    assert body["fields"]["call_type"] == "1"
    assert body["fields"]["notes"].endswith("from Acme Answering by agent1")
    assert body["patient"] == {"lastName": "Doe", "firstName": "Jane", "dob": "19891230"}
    assert body["history"][0]["status"] == "IN PROGRESS"
    assert (await desk.staff.get(f"{TICKETS}/nope")).status_code == 404


async def test_every_action_is_audited_without_patient_data(desk: Any) -> None:
    ticket = await desk.new_ticket()
    await desk.assign(ticket, "nina")
    await desk.staff.post(f"{TICKETS}/{ticket}/notes", json={"body": "Jane Doe, fever"})
    await desk.transition(ticket, "COMPLETED", note="Jane Doe is fine")
    await desk.staff.post(f"{TICKETS}/{ticket}/refile", json={"practice": "5678", "reason": "Doe"})
    async with desk.ctx.db.reader() as session:
        events = list(
            (
                await session.execute(
                    select(AuditEvent.action, AuditEvent.details, AuditEvent.actor)
                    .where(AuditEvent.target_id == ticket)
                    .order_by(AuditEvent.id)
                )
            ).all()
        )
    assert [e[0] for e in events] == [
        "answering.ticket.assign",
        "answering.ticket.note",
        "answering.ticket.transition",
        "answering.ticket.refile",
    ]
    assert all(actor == "api_key:staff" for _, _, actor in events)
    for _, details, _ in events:
        assert "Jane" not in str(details)
        assert "fever" not in str(details)
    assert events[2][1] == {"from": "ASSIGNED", "to": "COMPLETED", "withNote": True}


async def test_practice_links(desk: Any) -> None:
    path = "/api/answering/staff-users/nora/practices"
    assert (await desk.staff.get(path)).json()["practices"] == ["5678"]
    response = await desk.staff.put(path, json={"practices": ["1234", "5678", "1234"]})
    assert response.status_code == 200
    assert response.json() == {
        "userId": desk.principals["nora"].id,
        "username": "nora",
        "role": "nurse",
        "practices": ["1234", "5678"],
    }
    ticket = await desk.new_ticket(prac="1234")
    assert (await desk.as_user("nora").get(f"{TICKETS}/{ticket}")).status_code == 200
    unknown = await desk.staff.put(path, json={"practices": ["0000"]})
    assert unknown.status_code == 404
    assert (await desk.as_user("nina").put(path, json={"practices": []})).status_code == 403
    assert (await desk.as_user("ada").put(path, json={"practices": []})).status_code == 200
    assert (await desk.staff.get("/api/answering/staff-users/ghost/practices")).status_code == 404
