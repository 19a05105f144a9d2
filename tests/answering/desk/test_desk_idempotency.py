"""Idempotent ticket creation through the vendor API (``Idempotency-Key``)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from frontdesk.answering.desk.idempotency import (
    KEYED_WRITER,
    KeyedTicket,
    hash_key,
)
from frontdesk.answering.desk.models import AnsweringIdempotencyKey
from frontdesk.answering.models import AnsweringTicket, AnsweringTicketStatus
from frontdesk.answering.tickets import NewTicket, new_ticket_id, request_hash


async def _count(desk: Any, model: Any) -> int:
    async with desk.ctx.db.reader() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def _submit(
    desk: Any, key: str | None, *, body_key: str | None = None, **changes: str
) -> Any:
    token = await desk.token()
    fields = desk.api.ticket(**changes)
    if body_key is not None:
        fields["idempotency_key"] = body_key
    headers = {"Idempotency-Key": key} if key is not None else None
    return await desk.api.call("as", query={"token": token}, json=fields, headers=headers)


async def test_twenty_concurrent_identical_requests_make_one_ticket(desk: Any) -> None:
    await desk.token()
    answers = await asyncio.gather(*(_submit(desk, "call-2026-0001") for _ in range(20)))
    assert all(a.body["success"] for a in answers), [a.body for a in answers]
    ticket_ids = {a.result["ticket_id"] for a in answers}
    assert len(ticket_ids) == 1
    assert len({tuple(a.result.items()) for a in answers}) == 1  # the very same result
    assert await _count(desk, AnsweringTicket) == 1
    assert await _count(desk, AnsweringTicketStatus) == 1
    assert await _count(desk, AnsweringIdempotencyKey) == 1
    (ticket_id,) = ticket_ids
    later = await _submit(desk, "call-2026-0001")  # a retry after the commit: the lookup path
    assert later.result == answers[0].result
    assert (await desk.vendor_status(ticket_id)).result["ticket_status"] == "IN PROGRESS"


async def test_same_key_other_body_is_a_conflict(desk: Any) -> None:
    first = await _submit(desk, "k1")
    assert first.body["success"] is True
    other = await _submit(desk, "k1", complaint="something else")
    assert other.status == 200  # documented outcomes answer HTTP 200 by default
    assert other.body == {
        "success": False,
        "result": [],
        "errors": [
            {"code": 409, "message": "Idempotency-Key already used with a different request"}
        ],
    }
    desk.runtime.options = desk.runtime.options.model_copy(update={"http_status_codes": True})
    again = await _submit(desk, "k1", complaint="something else")
    assert again.status == 409
    assert await _count(desk, AnsweringTicket) == 1


async def test_concurrent_conflicting_bodies_make_one_ticket(desk: Any) -> None:
    await desk.token()
    answers = await asyncio.gather(*(_submit(desk, "k2", complaint=f"c{i % 2}") for i in range(10)))
    created = [a for a in answers if a.body["success"]]
    refused = [a for a in answers if not a.body["success"]]
    assert len(created) == 5
    assert {a.codes[0] for a in refused} == {409}
    assert len({a.result["ticket_id"] for a in created}) == 1
    assert await _count(desk, AnsweringTicket) == 1


async def test_body_field_and_header_precedence(desk: Any) -> None:
    by_body = await _submit(desk, None, body_key="k3")
    again = await _submit(desk, None, body_key="k3")
    assert again.result["ticket_id"] == by_body.result["ticket_id"]
    header_wins = await _submit(desk, "k4", body_key="k3")
    assert header_wins.result["ticket_id"] != by_body.result["ticket_id"]
    blank = await _submit(desk, "   ")
    blank_again = await _submit(desk, "   ")
    assert blank.result["ticket_id"] != blank_again.result["ticket_id"]  # no key: no dedupe
    too_long = await _submit(desk, "x" * 256)
    assert too_long.codes == [407]
    assert await _count(desk, AnsweringTicket) == 4


async def test_window_and_company_scope(desk: Any) -> None:
    first = await _submit(desk, "k5")
    other_company = await desk.api.call(
        "as",
        query={"token": await desk.api.token("other", key=desk.api.OTHER_KEY)},
        json=desk.api.ticket(),
        headers={"Idempotency-Key": "k5"},
    )
    assert other_company.result["ticket_id"] != first.result["ticket_id"]
    desk.clock.advance(timedelta(hours=23, minutes=59))
    desk._tokens.clear()
    assert (await _submit(desk, "k5")).result["ticket_id"] == first.result["ticket_id"]
    desk.clock.advance(timedelta(minutes=2))
    desk._tokens.clear()
    fresh = await _submit(desk, "k5", complaint="a new call, a day later")
    assert fresh.body["success"] is True
    assert fresh.result["ticket_id"] != first.result["ticket_id"]
    assert await _count(desk, AnsweringIdempotencyKey) == 2  # the expired one was replaced


async def test_key_committed_by_an_earlier_batch_falls_back_to_its_ticket(desk: Any) -> None:
    """The race the lookup cannot close: the key commits between lookup and insert."""
    committer = desk.runtime.committer
    writer = KEYED_WRITER
    values = await _values(desk)
    key = hash_key("k6")

    def item(ticket_id: str) -> KeyedTicket:
        ticket = NewTicket({**values, "ticket_id": ticket_id}, actor="test")
        return KeyedTicket(ticket, values["company_id"], key, values["content_hash"])

    first = await committer.submit(writer, item(new_ticket_id()))
    assert first.created
    fallbacks = committer.stats.fallbacks
    second = await committer.submit(writer, item(new_ticket_id()))
    assert committer.stats.fallbacks == fallbacks + 1  # the batch INSERT failed, nothing kept
    assert not second.created
    assert second.ticket_id == first.ticket_id
    assert await _count(desk, AnsweringTicket) == 1
    # and within one batch, the second item of a key answers the first one's ticket
    key = hash_key("k7")
    a, b = await asyncio.gather(
        committer.submit(writer, item(new_ticket_id())),
        committer.submit(writer, item(new_ticket_id())),
    )
    assert (a.created, b.created) == (True, False)
    assert a.ticket_id == b.ticket_id
    assert await _count(desk, AnsweringTicket) == 2


async def _values(desk: Any) -> dict[str, Any]:
    """The row values the API would insert for the standard ticket (one created and read)."""
    created = await _submit(desk, None)
    async with desk.ctx.db.transaction() as session:
        ticket = (
            await session.execute(
                select(AnsweringTicket).where(
                    AnsweringTicket.ticket_id == created.result["ticket_id"]
                )
            )
        ).scalar_one()
        columns = [c.key for c in AnsweringTicket.__table__.columns if c.key != "id"]
        values = {name: getattr(ticket, name) for name in columns}
        await session.delete(ticket)
    assert values["content_hash"] == request_hash(desk.api.ticket())
    return values
