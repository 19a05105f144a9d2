"""The ledger's state machine in the database: insert, claim, record, sweep, requeue.

Every transition is one conditional ``UPDATE`` whose row count decides: two workers cannot
both claim a request (``WHERE state = 'pending'``), and a worker whose claim was taken over
cannot record an outcome (``WHERE claim_token = :token``). Functions take the caller's
session and never commit (the send task and the API own the transactions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, and_, bindparam, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.engagement.checkin_models import ELIGIBLE, CheckIn
from frontdesk.engagement.checkins import WrittenCheckIn, chunks
from frontdesk.engagement.ledger_models import (
    PENDING,
    REQUEUEABLE,
    SENDING,
    SENT,
    ReviewRequest,
    ledger_key,
)
from frontdesk.integrations.models import GroupProperty, IntegrationMapping, MappingProperty

CHANNEL_KEY = "review.channel"
DEFAULT_CHANNEL = "email"
_TABLE: Table = ReviewRequest.__table__  # type: ignore[assignment]
_KEY = ["business_id", "source_id", "appointment_id", "trigger_id", "channel"]


async def mapping_channels(session: AsyncSession, *, mapping_ids: Sequence[int]) -> dict[int, str]:
    """Mapping id → its effective ``review.channel`` (location, else group, else email)."""
    channels = {mapping_id: DEFAULT_CHANNEL for mapping_id in mapping_ids}
    if not channels:
        return channels
    group_rows = await session.execute(
        select(IntegrationMapping.id, GroupProperty.value)
        .join(GroupProperty, GroupProperty.group_id == IntegrationMapping.group_id)
        .where(IntegrationMapping.id.in_(channels), GroupProperty.key == CHANNEL_KEY)
    )
    location_rows = await session.execute(
        select(MappingProperty.mapping_id, MappingProperty.value).where(
            MappingProperty.mapping_id.in_(channels), MappingProperty.key == CHANNEL_KEY
        )
    )
    for mapping_id, value in [*group_rows, *location_rows]:
        if value and value.strip():
            channels[mapping_id] = value.strip().lower()
    return channels


async def insert_requests(
    session: AsyncSession, *, written: Sequence[WrittenCheckIn], now: datetime
) -> list[int]:
    """Ledger rows for the eligible check-ins in ``written``; the ids actually inserted.

    ``INSERT ... SELECT`` from the check-ins themselves (their location, source, trigger and
    appointment id), ``ON CONFLICT DO NOTHING`` on the unique key: a request exists once.
    """
    eligible = [w for w in written if w.decision == ELIGIBLE and w.mapping_id is not None]
    if not eligible:
        return []
    # A check-in carries the channels its decision chose (the contact, opt-outs and cap were
    # checked for each; one request per channel); older ones look the mapping's up now.
    unknown = sorted({w.mapping_id for w in eligible if not w.channels and w.mapping_id})
    channels = await mapping_channels(session, mapping_ids=unknown) if unknown else {}
    by_channel: dict[str, list[int]] = {}
    for w in eligible:
        for name in (w.channels or channels[w.mapping_id or 0]).split(","):
            by_channel.setdefault(name, []).append(w.id)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    inserted: list[int] = []
    for channel, ids in sorted(by_channel.items()):
        for part in chunks(ids):
            source = select(
                CheckIn.id,
                CheckIn.business_id,
                CheckIn.scope_business_id,
                CheckIn.source_id,
                func.coalesce(CheckIn.trigger_id, 0),
                CheckIn.appointment_id,
                literal(channel),
                literal(PENDING),
                literal(0),
                literal(0),
                literal(now, ReviewRequest.next_attempt_at.type),
                literal(now, ReviewRequest.created_at.type),
                literal(now, ReviewRequest.updated_at.type),
            ).where(CheckIn.id.in_(part), CheckIn.business_id.is_not(None))
            statement = (
                insert(_TABLE)
                .from_select(
                    [
                        "checkin_id",
                        "business_id",
                        "scope_business_id",
                        "source_id",
                        "trigger_id",
                        "appointment_id",
                        "channel",
                        "state",
                        "attempts",
                        "claim_token",
                        "next_attempt_at",
                        "created_at",
                        "updated_at",
                    ],
                    source,
                )
                .on_conflict_do_nothing(index_elements=_KEY)
                .returning(_TABLE.c.id)
            )
            inserted.extend((await session.execute(statement)).scalars())
    return inserted


@dataclass(frozen=True)
class Claim:
    """A request this worker owns until it records an outcome (``token`` fences it)."""

    request_id: int
    token: int
    attempt: int


@dataclass(frozen=True)
class Claimed:
    """A claim with what sending needs of the row (read by the claiming statement)."""

    claim: Claim
    checkin_id: int
    business_id: int
    scope_business_id: int
    channel: str
    key: str


async def claim(session: AsyncSession, *, request_id: int, now: datetime) -> Claimed | None:
    """``pending`` (and due) → ``sending``; None when someone else has it or it is not due."""
    found = await claim_many(session, request_ids=[request_id], now=now)
    return found[0] if found else None


async def claim_many(
    session: AsyncSession, *, request_ids: Sequence[int], now: datetime
) -> list[Claimed]:
    """Claim those of ``request_ids`` that are ``pending`` and due, in one statement.

    One conditional ``UPDATE ... RETURNING``: a row another worker claimed first is not in
    the result, so each request is owned by exactly one claim.
    """
    if not request_ids:
        return []
    t = _TABLE.c
    result = await session.execute(
        update(_TABLE)
        .where(t.id.in_(list(request_ids)), t.state == PENDING, t.next_attempt_at <= now)
        .values(
            state=SENDING,
            attempts=t.attempts + 1,
            claim_token=t.claim_token + 1,
            claimed_at=now,
            updated_at=now,
        )
        .returning(
            t.id,
            t.claim_token,
            t.attempts,
            t.checkin_id,
            t.business_id,
            t.scope_business_id,
            t.source_id,
            t.appointment_id,
            t.trigger_id,
            t.channel,
        )
    )
    return [
        Claimed(
            claim=Claim(row.id, token=row.claim_token, attempt=row.attempts),
            checkin_id=row.checkin_id,
            business_id=row.business_id,
            scope_business_id=row.scope_business_id,
            channel=row.channel,
            key=ledger_key(
                business_id=row.business_id,
                source_id=row.source_id,
                appointment_id=row.appointment_id,
                trigger_id=row.trigger_id,
                channel=row.channel,
            ),
        )
        for row in result
    ]


async def record_sent(
    session: AsyncSession, *, sent: Sequence[tuple[Claim, str]], now: datetime
) -> None:
    """``sending`` → ``sent`` for many claims at once (one executemany, fenced per row)."""
    if not sent:
        return
    t = _TABLE.c
    statement = (
        update(_TABLE)
        .where(
            t.id == bindparam("b_id"),
            t.state == SENDING,
            t.claim_token == bindparam("b_token"),
        )
        .values(
            state=SENT,
            sent_at=now,
            updated_at=now,
            message_id=bindparam("b_message_id"),
            last_error_code=None,
            last_error=None,
        )
    )
    await session.execute(
        statement,
        [
            {"b_id": c.request_id, "b_token": c.token, "b_message_id": message_id}
            for c, message_id in sent
        ],
    )


async def assign_message_ids(session: AsyncSession, *, ids: Sequence[tuple[Claim, str]]) -> None:
    """Store the id each claimed message will carry, before it is sent (fenced per claim):
    a request whose outcome a crash leaves unknown can then be looked up at the remote side."""
    if not ids:
        return
    t = _TABLE.c
    await session.execute(
        update(_TABLE)
        .where(t.id == bindparam("b_id"), t.claim_token == bindparam("b_token"))
        .values(message_id=bindparam("b_message_id")),
        [{"b_id": c.request_id, "b_token": c.token, "b_message_id": m} for c, m in ids],
    )


async def record(
    session: AsyncSession,
    *,
    claim_: Claim,
    state: str,
    now: datetime,
    message_id: str | None = None,
    error_code: str | None = None,
    error: str | None = None,
    next_attempt_at: datetime | None = None,
) -> bool:
    """The outcome of a claimed send; False when the claim was taken over (nothing written)."""
    values: dict[str, object] = {
        "state": state,
        "updated_at": now,
        "last_error_code": error_code,
        "last_error": error[:300] if error else None,
    }
    if state == SENT:
        values.update(sent_at=now, message_id=message_id)
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    result = await session.execute(
        update(_TABLE)
        .where(
            _TABLE.c.id == claim_.request_id,
            _TABLE.c.state == SENDING,
            _TABLE.c.claim_token == claim_.token,
        )
        .values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def due_pending(
    session: AsyncSession, *, now: datetime, untouched_since: datetime, limit: int
) -> list[int]:
    """Ids of pending requests that are due and were not changed since ``untouched_since``
    (fresh rows have a job already), oldest first."""
    t = _TABLE.c
    rows = await session.execute(
        select(t.id)
        .where(t.state == PENDING, t.next_attempt_at <= now, t.updated_at <= untouched_since)
        .order_by(t.id)
        .limit(limit)
    )
    return list(rows.scalars())


@dataclass(frozen=True)
class Stale:
    """A request found ``sending`` past its lease (its worker died or hangs)."""

    request_id: int
    token: int
    attempt: int
    channel: str
    key: str
    message_id: str | None = None
    business_id: int = 0


async def stale_sending(session: AsyncSession, *, now: datetime, lease_s: float) -> list[Stale]:
    """Requests ``sending`` whose claim is older than the lease."""
    rows = await session.execute(
        select(ReviewRequest).where(
            ReviewRequest.state == SENDING,
            ReviewRequest.claimed_at < now - timedelta(seconds=lease_s),
        )
    )
    return [
        Stale(
            r.id,
            token=r.claim_token,
            attempt=r.attempts,
            channel=r.channel,
            key=r.ledger_key,
            message_id=r.message_id,
            business_id=r.business_id,
        )
        for r in rows.scalars()
    ]


async def requeue(session: AsyncSession, *, request_id: int, now: datetime) -> bool:
    """Operator: ``failed``/``parked`` → ``pending`` now, with a fresh attempt budget."""
    result = await session.execute(
        update(_TABLE)
        .where(and_(_TABLE.c.id == request_id, _TABLE.c.state.in_(REQUEUEABLE)))
        .values(state=PENDING, attempts=0, next_attempt_at=now, updated_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def requests_of_runs(session: AsyncSession, *, run_ids: Sequence[int]) -> list[int]:
    """Ids of the review requests written for the check-ins of ``run_ids`` (in id order)."""
    if not run_ids:
        return []
    rows = await session.execute(
        select(ReviewRequest.id)
        .join(CheckIn, CheckIn.id == ReviewRequest.checkin_id)
        .where(CheckIn.run_id.in_(list(run_ids)))
        .order_by(ReviewRequest.id)
    )
    return list(rows.scalars())
