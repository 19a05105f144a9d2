"""The group-commit writer: shared transactions, isolated failures, results after commit."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.answering.group_commit import BatchPlan, GroupCommitter
from frontdesk.answering.models import AnsweringLockout
from frontdesk.answering.tickets import TicketWriter
from frontdesk.context import AppContext

_rows = AnsweringLockout.__table__
AT = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


class FailureRowWriter:
    """Writes lockout rows; a username of 'BAD' violates NOT NULL (failures None)."""

    statement = insert(_rows)

    def row(self, username: str) -> dict[str, Any]:
        failures = None if username == "BAD" else 1
        return {"username": username, "locked_at": AT, "locked_until": AT, "failures": failures}

    def plan(self, items: Sequence[str]) -> BatchPlan[str]:
        return BatchPlan(
            steps=[(self.statement, [self.row(u) for u in items])], results=list(items)
        )

    async def write_one(self, session: AsyncSession, item: str) -> str:
        await session.execute(self.statement, [self.row(item)])
        return item


async def stored(ctx: AppContext) -> list[str]:
    async with ctx.db.reader() as session:
        query = select(AnsweringLockout.username).order_by(AnsweringLockout.id)
        return list((await session.execute(query)).scalars())


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "session"])
async def test_concurrent_items_share_transactions(ctx: AppContext, direct: bool) -> None:
    committer = GroupCommitter(ctx.db, direct_sqlite=direct)
    writer = FailureRowWriter()
    names = [f"u{i}" for i in range(100)]
    results = await asyncio.gather(*(committer.submit(writer, n) for n in names))
    assert results == names
    assert sorted(await stored(ctx)) == sorted(names)
    assert committer.stats.items == 100
    assert committer.stats.transactions < 10  # the first item alone, then the rest in batches
    assert committer.stats.largest_batch > 50


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "session"])
async def test_a_failing_item_fails_alone(ctx: AppContext, direct: bool) -> None:
    committer = GroupCommitter(ctx.db, direct_sqlite=direct)
    writer = FailureRowWriter()
    outcomes = await asyncio.gather(
        *(committer.submit(writer, n) for n in ["a", "b", "BAD", "c"]), return_exceptions=True
    )
    assert outcomes[:2] == ["a", "b"]
    assert isinstance(outcomes[2], Exception)
    assert outcomes[3] == "c"
    assert sorted(await stored(ctx)) == ["a", "b", "c"]
    assert committer.stats.fallbacks >= 1


async def test_max_batch_splits_transactions(ctx: AppContext) -> None:
    committer = GroupCommitter(ctx.db, max_batch=10)
    writer = FailureRowWriter()
    await asyncio.gather(*(committer.submit(writer, f"u{i}") for i in range(35)))
    assert committer.stats.largest_batch <= 10
    assert len(await stored(ctx)) == 35


async def test_commit_failure_fails_every_item(
    ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    committer = GroupCommitter(ctx.db, direct_sqlite=False)

    class Exploding(FailureRowWriter):
        async def write_one(self, session: AsyncSession, item: str) -> str:
            raise RuntimeError("disk full")

        def plan(self, items: Sequence[str]) -> BatchPlan[str]:
            raise RuntimeError("disk full")

    outcomes = await asyncio.gather(
        *(committer.submit(Exploding(), n) for n in "xyz"), return_exceptions=True
    )
    assert all(isinstance(o, RuntimeError) for o in outcomes)
    assert await stored(ctx) == []


async def test_ticket_id_collision_draws_a_new_id(ctx: AppContext) -> None:
    """The batch fails on the duplicate id; the fallback retries that ticket with a new id."""
    from frontdesk.answering.tickets import _NewTicket

    async with ctx.db.transaction() as session:
        from frontdesk.access.principal import Principal
        from frontdesk.answering import accounts

        view = await accounts.create_user(
            session, principal=Principal.system(), clock=ctx.clock, secrets=ctx.secrets,
            username="u", password="p", key="k", company="C", practices=["1"],
        )  # fmt: skip
    fresh = iter(["FRESH0001", "FRESH0002"])
    writer = TicketWriter(make_id=lambda: next(fresh))
    committer = GroupCommitter(ctx.db)

    def ticket(ticket_id: str) -> _NewTicket:
        values: dict[str, Any] = {
            name: "" for name in (
                "prac", "client_code", "dc", "patient_lname", "patient_fname", "dob", "sex",
                "complaint", "caller_lname", "caller_fname", "relationship", "contact_phone",
                "contact_phone_2", "email", "address", "city", "state", "zip", "comments", "txt",
                "call_type", "field_mr", "notes", "content_hash",
            )
        }  # fmt: skip
        values |= {
            "ticket_id": ticket_id, "company_id": view.company.id, "user_id": view.user.id,
            "practice_id": 1, "doctor_id": None, "unassigned": False, "status": "IN PROGRESS",
            "created_at": AT,
        }  # fmt: skip
        return _NewTicket(values, actor="test")

    first = await committer.submit(writer, ticket("SAMEID001"))
    results = await asyncio.gather(
        committer.submit(writer, ticket("SAMEID001")), committer.submit(writer, ticket("OTHER0001"))
    )
    assert first == "SAMEID001"
    assert sorted(results) == ["FRESH0001", "OTHER0001"]
    async with ctx.db.reader() as session:
        from frontdesk.answering.models import AnsweringTicket, AnsweringTicketStatus

        assert (
            await session.execute(select(func.count()).select_from(AnsweringTicket))
        ).scalar() == 3
        count = select(func.count()).select_from(AnsweringTicketStatus)
        assert (await session.execute(count)).scalar() == 3
