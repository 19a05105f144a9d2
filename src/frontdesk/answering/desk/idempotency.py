"""Idempotent ticket creation: ``Idempotency-Key`` (header) or ``idempotency_key`` (body field).

Within 24 hours of the first use of a key by a company, a request with the same key and the
same ticket fields answers the ticket the first one created (the same 19-key result); the same
key with different fields answers 409 ``Idempotency-Key already used with a different
request``. After 24 hours the key is free again. Keys belong to the company (any of its API
users may retry another's request); they are stored as SHA-256.

**Why it holds under concurrency.** ``answering_idempotency_keys`` has UNIQUE(company, key) and
its row is inserted in the same transaction as the ticket:

* requests that meet in one group-commit batch are deduplicated in :meth:`KeyedTicketWriter.plan`
  — the first item of a key inserts, the others answer its ticket;
* a request whose key was committed by an earlier batch (or another process) after this request
  looked it up makes the batch's INSERT fail; nothing of the batch was written, and the group
  committer writes its items again one by one, where :meth:`KeyedTicketWriter.write_one` finds
  the committed key and answers its ticket instead of inserting.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final, cast

from sqlalchemy import Integer, String, Table, bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.answering.desk.models import AnsweringIdempotencyKey
from frontdesk.answering.failures import AnsweringFailure, Failure
from frontdesk.answering.group_commit import BatchPlan
from frontdesk.answering.models import AnsweringTicket
from frontdesk.answering.runtime import AnsweringRuntime
from frontdesk.answering.tickets import (
    NewTicket,
    TicketWriter,
    log_created,
    new_ticket_id,
    prepare_ticket,
    request_hash,
    stored_result,
)
from frontdesk.answering.tokens import Caller
from frontdesk.context import AppContext
from frontdesk.db.types import UTCDateTime
from frontdesk.logs import get_logger

log = get_logger(__name__)
WINDOW: Final = timedelta(hours=24)
MAX_KEY_LENGTH: Final = 255
HEADER: Final = "Idempotency-Key"
BODY_FIELD: Final = "idempotency_key"
_keys = cast(Table, AnsweringIdempotencyKey.__table__)
_tickets = cast(Table, AnsweringTicket.__table__)

_DELETE_EXPIRED = delete(_keys).where(
    _keys.c.company_id == bindparam("idem_company", type_=Integer()),
    _keys.c.key_hash == bindparam("idem_key", type_=String()),
    _keys.c.created_at < bindparam("idem_cutoff", type_=UTCDateTime()),
)
_INSERT_KEY = insert(_keys).from_select(
    ["company_id", "key_hash", "request_hash", "ticket_pk", "created_at"],
    select(
        bindparam("idem_company", type_=Integer()),
        bindparam("idem_key", type_=String()),
        bindparam("idem_request", type_=String()),
        _tickets.c.id,
        bindparam("idem_at", type_=UTCDateTime()),
    ).where(_tickets.c.ticket_id == bindparam("idem_ticket_id", type_=String())),
)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def check_key(key: str) -> str:
    """The key as used (surrounding whitespace dropped); 407 when longer than 255 characters."""
    key = key.strip()
    if len(key) > MAX_KEY_LENGTH:
        raise AnsweringFailure(Failure.INVALID_IDEMPOTENCY_KEY)
    return key


@dataclass(frozen=True, slots=True)
class KeyedTicket:
    ticket: NewTicket
    company_id: int
    key_hash: str
    request_hash: str


@dataclass(frozen=True, slots=True)
class KeyedOutcome:
    ticket_id: str
    request_hash: str
    """The request hash stored with the key (the first request's)."""
    created: bool


class KeyedTicketWriter:
    """Group-commit writer of tickets with an idempotency key (see the module docstring)."""

    def __init__(self, tickets: TicketWriter | None = None, attempts: int = 5) -> None:
        self.tickets = tickets or TicketWriter()
        self.attempts = attempts

    def plan(self, items: Sequence[KeyedTicket]) -> BatchPlan[KeyedOutcome]:
        leaders: dict[tuple[int, str], KeyedTicket] = {}
        results = []
        for item in items:
            leader = leaders.setdefault((item.company_id, item.key_hash), item)
            results.append(
                KeyedOutcome(
                    ticket_id=leader.ticket.values["ticket_id"],
                    request_hash=leader.request_hash,
                    created=leader is item,
                )
            )
        base = self.tickets.plan([leader.ticket for leader in leaders.values()])
        keys = [
            {
                "idem_company": leader.company_id,
                "idem_key": leader.key_hash,
                "idem_request": leader.request_hash,
                "idem_at": leader.ticket.values["created_at"],
                "idem_ticket_id": leader.ticket.values["ticket_id"],
            }
            for leader in leaders.values()
        ]
        expired = [
            {
                "idem_company": row["idem_company"],
                "idem_key": row["idem_key"],
                "idem_cutoff": row["idem_at"] - WINDOW,
            }
            for row in keys
        ]
        return BatchPlan(
            steps=[(_DELETE_EXPIRED, expired), *base.steps, (_INSERT_KEY, keys)],
            results=results,
        )

    async def write_one(self, session: AsyncSession, item: KeyedTicket) -> KeyedOutcome:
        """The fallback: answer a committed key's ticket, else insert (new id on a collision)."""
        for attempt in range(self.attempts):
            existing = await _find(
                session,
                company_id=item.company_id,
                key_hash=item.key_hash,
                now=item.ticket.values["created_at"],
            )
            if existing is not None:
                return existing
            try:
                async with session.begin_nested():
                    plan = self.plan([item])
                    for statement, rows in plan.steps:
                        await session.execute(statement, rows)
                    return plan.results[0]
            except IntegrityError:
                if attempt + 1 == self.attempts:
                    raise
                # a ticket id collision, or the key raced in from elsewhere (found next turn)
                values = {**item.ticket.values, "ticket_id": new_ticket_id()}
                item = replace(item, ticket=NewTicket(values, item.ticket.actor))
        raise AssertionError("unreachable")


async def _find(
    session: AsyncSession, *, company_id: int, key_hash: str, now: datetime
) -> KeyedOutcome | None:
    row = (
        await session.execute(
            select(AnsweringTicket.ticket_id, AnsweringIdempotencyKey.request_hash)
            .join(AnsweringTicket, AnsweringTicket.id == AnsweringIdempotencyKey.ticket_pk)
            .where(
                AnsweringIdempotencyKey.company_id == company_id,
                AnsweringIdempotencyKey.key_hash == key_hash,
                AnsweringIdempotencyKey.created_at >= now - WINDOW,
            )
        )
    ).first()
    return KeyedOutcome(row[0], row[1], created=False) if row is not None else None


KEYED_WRITER = KeyedTicketWriter()
"""The writer of keyed submissions (stateless, like the plain ticket writer)."""


async def create_ticket_once(
    ctx: AppContext,
    runtime: AnsweringRuntime,
    *,
    caller: Caller,
    params: Mapping[str, str],
    key: str,
) -> dict[str, str]:
    """Create the ticket, or answer the one created for ``key`` (409 when the fields differ).

    The key is looked up before validation: a retry of an accepted request answers its
    ticket even if accounts changed since, and a reused key with other fields is a conflict
    whatever those fields are.
    """
    key_hash = hash_key(check_key(key))
    wanted = request_hash(params)
    async with ctx.db.reader() as session:
        found = await _find(
            session, company_id=caller.company_id, key_hash=key_hash, now=ctx.clock.now()
        )
    if found is not None:
        return await _replay(ctx, caller, found, wanted)
    prepared = await prepare_ticket(ctx, runtime, caller=caller, params=params)
    item = KeyedTicket(prepared.item, caller.company_id, key_hash, prepared.request_hash)
    outcome = await runtime.committer.submit(KEYED_WRITER, item)
    if not outcome.created:
        return await _replay(ctx, caller, outcome, wanted)
    log_created(caller, prepared, outcome.ticket_id)
    if runtime.meter is not None:
        runtime.meter.ticket_created()
    return prepared.answer(outcome.ticket_id)


async def _replay(
    ctx: AppContext, caller: Caller, outcome: KeyedOutcome, wanted: str
) -> dict[str, str]:
    if outcome.request_hash != wanted:
        log.info(
            "answering.idempotency_conflict", user=caller.username, ticket_id=outcome.ticket_id
        )
        raise AnsweringFailure(Failure.IDEMPOTENCY_CONFLICT)
    async with ctx.db.reader() as session:
        row = (
            (
                await session.execute(
                    select(_tickets).where(_tickets.c.ticket_id == outcome.ticket_id)
                )
            )
            .mappings()
            .one()
        )
    log.info("answering.ticket_replayed", user=caller.username, ticket_id=outcome.ticket_id)
    return stored_result(row)
