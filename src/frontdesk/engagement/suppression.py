"""The suppression list of a practice: its opt-outs as CSV, out and in.

Export: one row per opt-out of the practice (the enterprise of a location), optionally of
one channel — ``channel,contact_hash,source,created_at``. Contacts are never stored, so the
export carries their hashes (keyed with the install's pepper: only this install can match
them), which is what an import into another system of the same install needs, and what an
audit asks ("how many, since when, how").

Import: ``channel,contact`` rows with the contacts in plain text (an email address, a phone
number in any common format); each is hashed and recorded with source ``import``. Rows
already opted out are counted, not duplicated; unusable rows are reported by line number,
never by value.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.clock import Clock
from frontdesk.delivery.addresses import check_email_address
from frontdesk.delivery.phone import e164
from frontdesk.engagement.optout_models import OptOut
from frontdesk.engagement.optouts import (
    contact_pepper,
    hash_contact,
    opt_out_scope,
    record_opt_out,
)
from frontdesk.errors import InvalidInput
from frontdesk.security.secrets import SecretBox

EXPORT_HEADER = ("channel", "contact_hash", "source", "created_at")
MAX_IMPORT_ROWS = 100_000


@dataclass
class ImportReport:
    added: int = 0
    already: int = 0
    rejected_lines: list[int] = field(default_factory=list)


async def export_csv(session: AsyncSession, *, business_id: int, channel: str | None) -> str:
    """The practice's opt-outs as CSV (oldest first)."""
    scope = await opt_out_scope(session, business_id=business_id)
    query = select(OptOut).where(OptOut.business_id == scope).order_by(OptOut.id)
    if channel:
        query = query.where(OptOut.channel == channel)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_HEADER)
    for row in (await session.execute(query)).scalars():
        writer.writerow((row.channel, row.contact_hash, row.source, row.created_at.isoformat()))
    return out.getvalue()


async def import_csv(
    session: AsyncSession,
    *,
    secrets: SecretBox,
    clock: Clock,
    business_id: int,
    text: str,
    channels: tuple[str, ...],
) -> ImportReport:
    """Record the opt-outs of a ``channel,contact`` CSV (a header row is optional)."""
    scope = await opt_out_scope(session, business_id=business_id)
    pepper = await contact_pepper(session, secrets=secrets, clock=clock)
    assert pepper is not None
    report = ImportReport()
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if number > MAX_IMPORT_ROWS:
            raise InvalidInput(f"at most {MAX_IMPORT_ROWS} rows per import", field="csv")
        if not row or (
            number == 1 and [c.strip().lower() for c in row[:2]] == ["channel", "contact"]
        ):
            continue
        channel = row[0].strip().lower() if row else ""
        contact = _contact(channel, row[1] if len(row) > 1 else "")
        if channel not in channels or contact is None:
            report.rejected_lines.append(number)
            continue
        _, created = await record_opt_out(
            session,
            clock=clock,
            scope_business_id=scope,
            channel=channel,
            contact_hash=hash_contact(pepper, channel=channel, contact=contact),
            source="import",
        )
        if created:
            report.added += 1
        else:
            report.already += 1
    return report


def _contact(channel: str, raw: str) -> str | None:
    if channel == "email":
        return check_email_address(raw).address
    if channel == "sms":
        return e164(raw)
    return raw.strip() or None
