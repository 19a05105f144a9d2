"""The message store: durable writes (group commit), searches, the latest state of visits.

Writes go through :class:`~frontdesk.answering.group_commit.GroupCommitter`: messages arriving
on many connections at once share one transaction, and each caller learns that its own
message is committed before it sends its ACK. The insert ignores a (facility, control id)
that is already stored, so a re-sent message is stored once and acknowledged again.

Repository functions take a session and never commit; :class:`MessageStore` owns the
transactions of its own operations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Executable, Select, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.answering.group_commit import BatchPlan, GroupCommitter
from frontdesk.db.engine import Database
from frontdesk.hl7.models import ACCEPTED, Hl7Message
from frontdesk.security.secrets import SecretBox


@dataclass(frozen=True)
class StoredMessage:
    """One message to store: its MSH keys, its state and the plain index columns."""

    control_id: str
    sending_facility: str
    sending_application: str
    message_type: str
    state: str
    error: str | None
    appointment_id: str | None
    appointment_day: date | None
    location: str | None
    received_at: datetime
    raw: str
    """Ciphertext (SecretBox)."""

    def row(self) -> dict[str, Any]:
        return {
            "control_id": self.control_id,
            "sending_facility": self.sending_facility,
            "sending_application": self.sending_application[:200],
            "message_type": self.message_type[:20],
            "state": self.state,
            "error": self.error,
            "appointment_id": self.appointment_id,
            "appointment_day": self.appointment_day,
            "location": self.location,
            "received_at": self.received_at,
            "processed_at": self.received_at,
            "raw": self.raw,
        }


class MessageWriter:
    """The group-commit writer of :class:`StoredMessage` items (insert, duplicates ignored)."""

    def __init__(self, dialect: str) -> None:
        insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        self.statement: Executable = insert(Hl7Message).on_conflict_do_nothing(
            index_elements=["sending_facility", "control_id"]
        )

    def plan(self, items: Sequence[StoredMessage]) -> BatchPlan[None]:
        return BatchPlan(
            steps=[(self.statement, [i.row() for i in items])], results=[None] * len(items)
        )

    async def write_one(self, session: AsyncSession, item: StoredMessage) -> None:
        await session.execute(self.statement, [item.row()])


@dataclass(frozen=True)
class Search:
    """What ``frontdesk hl7 messages`` and the dashboard filter by (all optional)."""

    control_id: str | None = None
    facility: str | None = None
    message_type: str | None = None
    state: str | None = None
    limit: int = 100
    facilities: frozenset[str] | None = None
    """Only these facilities (case-insensitive; None: every facility)."""


class MessageStore:
    """The HL7v2 message store of one database (see the module docstring)."""

    def __init__(self, db: Database, secrets: SecretBox) -> None:
        self.db = db
        self.secrets = secrets
        self.writer = MessageWriter(db.dialect)
        self._committer: GroupCommitter | None = None

    @property
    def committer(self) -> GroupCommitter:
        if self._committer is None:
            self._committer = GroupCommitter(self.db, max_batch=256)
        return self._committer

    async def put(self, message: StoredMessage) -> None:
        """Store ``message`` durably (returns after the commit; a duplicate is a no-op)."""
        await self.committer.submit(self.writer, message)

    async def drain(self) -> None:
        if self._committer is not None:
            await self._committer.drain()

    def raw_text(self, row: Hl7Message) -> str:
        """The decrypted message (patient data: never log it)."""
        return self.secrets.decrypt(row.raw)

    async def search(self, query: Search) -> list[Hl7Message]:
        """Messages matching ``query``, newest first."""
        statement = select(Hl7Message).order_by(Hl7Message.id.desc()).limit(query.limit)
        if query.control_id:
            statement = statement.where(Hl7Message.control_id == query.control_id)
        if query.facility:
            statement = statement.where(Hl7Message.sending_facility == query.facility)
        if query.message_type:
            kind = query.message_type.upper()
            column = Hl7Message.message_type
            statement = statement.where(column == kind if "^" in kind else column.like(f"{kind}^%"))
        if query.state:
            statement = statement.where(Hl7Message.state == query.state)
        if query.facilities is not None:
            folded = [f.lower() for f in query.facilities]
            statement = statement.where(func.lower(Hl7Message.sending_facility).in_(folded))
        return await self._rows(statement)

    async def count(self, *, state: str | None = None) -> int:
        statement = select(func.count()).select_from(Hl7Message)
        if state is not None:
            statement = statement.where(Hl7Message.state == state)
        async with self.db.reader() as session:
            return int((await session.execute(statement)).scalar_one())

    async def summary(self, *, facilities: Sequence[str]) -> tuple[int, datetime | None]:
        """How many accepted messages ``facilities`` sent, and when the last arrived."""
        folded = [f.strip().lower() for f in facilities]
        statement = select(func.count(), func.max(Hl7Message.received_at)).where(
            Hl7Message.state == ACCEPTED, func.lower(Hl7Message.sending_facility).in_(folded)
        )
        async with self.db.reader() as session:
            count, last = (await session.execute(statement)).one()
        return int(count), last

    async def latest_of_visits(
        self, *, facilities: Sequence[str], first: date, last: date
    ) -> list[Hl7Message]:
        """The newest accepted message of every visit with any message dated ``first..last``.

        Newest is the last received: a sender delivers one message at a time and waits for
        its ACK, so the store's order is the sender's. A visit moved out of the window by a
        later message is returned too (its latest start decides, in the caller).
        """
        folded = [f.strip().lower() for f in facilities]
        accepted = (Hl7Message.state == ACCEPTED) & func.lower(Hl7Message.sending_facility).in_(
            folded
        )
        touched = (
            select(Hl7Message.appointment_id)
            .where(accepted)
            .where(Hl7Message.appointment_day.between(first, last))
            .distinct()
        )
        newest = (
            select(func.max(Hl7Message.id))
            .where(accepted)
            .where(Hl7Message.appointment_id.in_(touched))
            .group_by(Hl7Message.sending_facility, Hl7Message.appointment_id)
        )
        statement = select(Hl7Message).where(Hl7Message.id.in_(newest)).order_by(Hl7Message.id)
        return await self._rows(statement)

    async def purge(self, *, before: datetime) -> int:
        """Delete messages received before ``before``; how many were deleted."""
        async with self.db.transaction() as session:
            result = await session.execute(
                delete(Hl7Message).where(Hl7Message.received_at < before)
            )
        return int(getattr(result, "rowcount", 0) or 0)

    async def by_ids(self, ids: Sequence[int]) -> list[Hl7Message]:
        statement = select(Hl7Message).where(Hl7Message.id.in_(ids)).order_by(Hl7Message.id)
        return await self._rows(statement)

    async def _rows(self, statement: Select[Hl7Message]) -> list[Hl7Message]:
        """Rows detached from their (read-only) session, usable after it ended."""
        async with self.db.reader() as session:
            rows = list((await session.execute(statement)).scalars())
            session.expunge_all()
        return rows
