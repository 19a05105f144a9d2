"""What a run tells the outside: decision log lines, the unauthorized group status.

Log lines carry ids and codes only — the support guide's ``pms_appointment_status``,
``pms_appointment_type`` and ``pms_appointment_practice_name`` fields, the decision and the
restriction reason — never a patient's name, birth date, phone or email.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.principal import Principal
from frontdesk.clock import Clock
from frontdesk.connectors.errors import CredentialsRejected
from frontdesk.engagement.checkins import WrittenCheckIn
from frontdesk.errors import Unauthorized
from frontdesk.integrations.groups import set_group_status
from frontdesk.logs import get_logger
from frontdesk.sync.runs import Claim

log = get_logger("frontdesk.checkins")

SYNC_ACTOR = Principal.system("sync")


def log_decisions(
    claim: Claim, rows: Sequence[dict[str, Any]], written: Sequence[WrittenCheckIn]
) -> None:
    """One ``checkin.decided`` line per check-in this batch inserted."""
    if not written:
        return
    ids = {w.id: w for w in written}
    by_key = {(w.appointment_id, w.appointment_day): w.id for w in ids.values()}
    for row in rows:
        checkin_id = by_key.get((row["appointment_id"], row["appointment_day"]))
        if checkin_id is None:
            continue
        log.info(
            "checkin.decided",
            checkin_id=checkin_id,
            run_id=claim.run_id,
            group_id=row["group_id"],
            source_id=row["source_id"],
            mapping_id=row["mapping_id"],
            appointment_id=row["appointment_id"],
            pms_appointment_status=row["pms_appointment_status"],
            pms_appointment_type=row["pms_appointment_type"],
            pms_appointment_practice_name=row["pms_appointment_practice_name"],
            decision=row["decision"],
            restriction_reason=row["restriction_reason"],
        )


async def record_unauthorized(
    session: AsyncSession, *, clock: Clock, claim: Claim, error: Unauthorized
) -> None:
    """Mark the group ``unauthorized`` with the reason: it stops until re-authorised."""
    reason = error.reason if isinstance(error, CredentialsRejected) else error.code
    await set_group_status(
        session,
        actor=SYNC_ACTOR,
        clock=clock,
        group_id=claim.group_id,
        status="unauthorized",
        reason=f"{reason}: {error.message}"[:300],
    )
    log.warning("sync.group.unauthorized", group_id=claim.group_id, reason=reason)
