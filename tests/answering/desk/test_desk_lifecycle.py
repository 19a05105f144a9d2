"""Every (from, to) pair of the lifecycle through HTTP: allowed ones succeed, the rest 409."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from frontdesk.answering.desk import lifecycle
from frontdesk.answering.desk.lifecycle import STATUSES, TRANSITIONS

EXPECTED_TABLE = {
    "IN PROGRESS": {"ASSIGNED", "CALLBACK PENDING", "ESCALATED", "CANCELLED"},
    "ASSIGNED": {"IN PROGRESS", "CALLBACK PENDING", "ESCALATED", "COMPLETED", "CANCELLED"},
    "CALLBACK PENDING": {"ASSIGNED", "ESCALATED", "COMPLETED", "CANCELLED"},
    "ESCALATED": {"ASSIGNED", "COMPLETED", "CANCELLED"},
    "COMPLETED": {"CLOSED", "ASSIGNED"},
    "CLOSED": set(),
    "CANCELLED": set(),
}


def test_the_table_is_the_documented_one() -> None:
    assert {k: set(v) for k, v in TRANSITIONS.items()} == EXPECTED_TABLE
    assert {"CLOSED", "CANCELLED"} == lifecycle.TERMINAL
    assert lifecycle.normalise_status("callback_pending") == "CALLBACK PENDING"
    assert lifecycle.normalise_status(" in  progress ") == "IN PROGRESS"
    assert lifecycle.normalise_status("DONE") is None


def _id(value: str) -> str:
    return value.lower().replace(" ", "-")


@pytest.mark.parametrize("source", STATUSES, ids=[_id(s) for s in STATUSES])
async def test_every_transition_from(desk: Any, source: str) -> None:
    """From ``source`` to every status: allowed → 200 and recorded; refused → 409 naming the
    allowed next states; the vendor's ticketStatus reports the status either way."""
    for target in STATUSES:
        ticket = await desk.new_ticket()
        await desk.bring_to(ticket, source)
        desk.clock.advance(timedelta(minutes=1))
        if target == lifecycle.ASSIGNED:
            response = await desk.assign(ticket, "nina")
            allowed = target in TRANSITIONS[source] or source == lifecycle.ASSIGNED  # re-assign
        else:
            response = await desk.transition(ticket, target, note=f"to {target}")
            allowed = target in TRANSITIONS[source]
        vendor = await desk.vendor_status(ticket)
        if allowed:
            assert response.status_code == 200, (source, target, response.text)
            body = response.json()
            assert body["status"] == target
            assert body["allowedNext"] == list(TRANSITIONS[target])
            last = body["history"][-1]
            assert last["status"] == target
            assert last["fromStatus"] == source
            assert last["actor"] == "api_key:staff"
            assert last["actorRole"] == "staff"
            assert last["at"].startswith(desk.clock.now().strftime("%Y-%m-%dT%H:%M"))
            assert vendor.result == {"ticket_id": ticket, "ticket_status": target}
        else:
            assert response.status_code == 409, (source, target, response.text)
            error = response.json()["error"]
            assert error["code"] == "transition_refused"
            assert error["field"] == "status"
            named = error["message"].split("allowed next: ", 1)[1]
            if TRANSITIONS[source]:
                assert named == ", ".join(TRANSITIONS[source])
            else:
                assert named == "none (terminal status)"
            assert vendor.result == {"ticket_id": ticket, "ticket_status": source}


async def test_history_records_each_step_with_actor_and_time(desk: Any) -> None:
    ticket = await desk.new_ticket()
    created = desk.clock.now()
    desk.clock.advance(timedelta(minutes=5))
    assert (await desk.assign(ticket, "nina")).status_code == 200
    desk.clock.advance(timedelta(minutes=5))
    nina = desk.as_user("nina")
    response = await desk.transition(ticket, "callback pending", client=nina, note="left voicemail")
    assert response.status_code == 200
    history = response.json()["history"]
    assert [(h["fromStatus"], h["status"]) for h in history] == [
        (None, "IN PROGRESS"),
        ("IN PROGRESS", "ASSIGNED"),
        ("ASSIGNED", "CALLBACK PENDING"),
    ]
    assert history[0]["actor"] == "answering_user:agent1"
    assert history[1]["actor"] == "api_key:staff"
    assert history[1]["assignee"] == "nina"
    assert history[2] == {
        "status": "CALLBACK PENDING",
        "fromStatus": "ASSIGNED",
        "at": (created + timedelta(minutes=10)).isoformat().replace("+00:00", "Z"),
        "actor": "user:nina",
        "actorRole": "nurse",
        "assignee": "nina",
        "note": "left voicemail",
    }


async def test_assigned_is_reached_by_assigning_and_unassign_clears(desk: Any) -> None:
    ticket = await desk.new_ticket()
    response = await desk.transition(ticket, "ASSIGNED")
    assert response.status_code == 422
    assert "assign" in response.json()["error"]["message"]
    assigned = await desk.assign(ticket, "nina")
    assert assigned.json()["assignee"]["username"] == "nina"
    back = await desk.transition(ticket, "IN PROGRESS")
    assert back.status_code == 200
    assert back.json()["assignee"] is None


async def test_unknown_status_and_unknown_ticket(desk: Any) -> None:
    ticket = await desk.new_ticket()
    response = await desk.transition(ticket, "DONE")
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "status"
    assert (await desk.transition("NOSUCHONE", "ESCALATED")).status_code == 404


async def test_reassignment_keeps_status_and_records_it(desk: Any) -> None:
    await desk.add_staff("nell", "nurse", ["1234"])
    ticket = await desk.new_ticket()
    await desk.assign(ticket, "nina")
    response = await desk.assign(ticket, "nell")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ASSIGNED"
    assert body["assignee"]["username"] == "nell"
    assert [h["assignee"] for h in body["history"][1:]] == ["nina", "nell"]
