"""Repair: review requests for eligible check-ins that have none.

Before the composition root, ``frontdesk sync run``, ``sync backfill`` and ``integration
reauthorize --wait`` decided check-ins without the decision hook: those check-ins are
``eligible`` and have no review request, and no later sync makes one (the appointment is
already decided). :func:`repair_missing_requests` finds them and writes their requests,
subject to the rules that could have changed since the decision:

- ``too_old``: an appointment older than ``sync.backfill_request_max_age_days`` (in UTC days)
  is not asked about any more;
- ``opted_out``: the contact opted out of the channel since;
- ``frequency_cap``: the patient already has a request for an appointment within the cap
  (``engagement.frequency.cap.days`` of the location, else ``sync.frequency_cap_days``),
  counting the requests this repair writes.

Such a check-in predates channel choices and records no channels: it goes by its mapping's
``review.channel`` now; when that is a choice (``sms_then_email``), by the choice's first
member — or every member, ``email_and_sms`` — that the sealed contact can use
(``channels``: the process's registry; with no usable member the check-in is skipped as
``no_usable_contact``; without a registry the name is taken as a channel's).

Nothing else changes: the check-ins keep their decisions. ``frontdesk outbox repair`` runs
it (``--dry-run`` counts only); the requests it writes wait ``pending`` for the sender.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.delivery.channel import ChannelRegistry
from frontdesk.delivery.reach import contact_of
from frontdesk.engagement import ledger
from frontdesk.engagement.checkin_models import ELIGIBLE, CheckIn
from frontdesk.engagement.checkins import WrittenCheckIn
from frontdesk.engagement.ledger_models import ReviewRequest
from frontdesk.engagement.optout_models import OptOut
from frontdesk.errors import ConfigurationError
from frontdesk.integrations.mappings import effective_properties
from frontdesk.integrations.models import IntegrationMapping
from frontdesk.security.secrets import SecretBox
from frontdesk.settings import SyncSettings

CAP_KEY = "engagement.frequency.cap.days"


@dataclass
class RepairReport:
    """What a repair found and did (counts only: no patient data)."""

    missing: int = 0
    written: list[int] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {
            "missing": self.missing,
            "written": len(self.written),
            "skipped": dict(sorted(self.skipped.items())),
        }


async def repair_missing_requests(
    session: AsyncSession,
    *,
    now: datetime,
    settings: SyncSettings,
    secrets: SecretBox,
    dry_run: bool = False,
    channels: ChannelRegistry | None = None,
) -> RepairReport:
    """Write the missing requests (see the module docstring); the caller commits."""
    missing = (
        (
            await session.execute(
                select(CheckIn)
                .outerjoin(ReviewRequest, ReviewRequest.checkin_id == CheckIn.id)
                .where(
                    CheckIn.decision == ELIGIBLE,
                    CheckIn.mapping_id.is_not(None),
                    CheckIn.business_id.is_not(None),
                    ReviewRequest.id.is_(None),
                )
                .order_by(CheckIn.appointment_day, CheckIn.id)
            )
        )
        .scalars()
        .all()
    )
    report = RepairReport(missing=len(missing))
    if not missing:
        return report
    oldest = now.date() - timedelta(days=settings.backfill_request_max_age_days)
    mapping_channels = await ledger.mapping_channels(
        session, mapping_ids=sorted({c.mapping_id for c in missing if c.mapping_id})
    )
    caps = await _caps(session, missing, settings=settings, secrets=secrets)
    requested = await _requested_days(session, missing)
    repair: list[WrittenCheckIn] = []
    for checkin in missing:
        assert checkin.mapping_id is not None
        names = checkin.channels or _resolved(
            checkin, mapping_channels[checkin.mapping_id], channels, secrets
        )
        channel = names.split(",")[0] if names else ""
        reason = None
        if not names:
            reason = "no_usable_contact"
        elif checkin.appointment_day < oldest:
            reason = "too_old"
        elif checkin.contact_hash and await _opted_out(session, checkin, channel):
            reason = "opted_out"
        else:
            days = requested.setdefault((checkin.scope_business_id, checkin.patient_id), set())
            cap = caps[checkin.mapping_id]
            if cap > 0 and any(abs((checkin.appointment_day - d).days) < cap for d in days):
                reason = "frequency_cap"
            else:
                days.add(checkin.appointment_day)
        if reason is not None:
            report.skipped[reason] += 1
            continue
        repair.append(
            WrittenCheckIn(
                id=checkin.id,
                appointment_id=checkin.appointment_id,
                appointment_day=checkin.appointment_day,
                decision=checkin.decision,
                mapping_id=checkin.mapping_id,
                channels=names,
            )
        )
    if not dry_run:
        report.written = await ledger.insert_requests(session, written=repair, now=now)
    else:
        report.written = [w.id for w in repair]
    return report


async def _caps(
    session: AsyncSession,
    checkins: Sequence[CheckIn],
    *,
    settings: SyncSettings,
    secrets: SecretBox,
) -> dict[int, int]:
    """Mapping id → its frequency cap in days."""
    caps: dict[int, int] = {}
    for mapping_id in sorted({c.mapping_id for c in checkins if c.mapping_id}):
        mapping = await session.get(IntegrationMapping, mapping_id)
        value = effective_properties(mapping, secrets=secrets).get(CAP_KEY) if mapping else None
        try:
            caps[mapping_id] = int(value) if value else settings.frequency_cap_days
        except ValueError:
            caps[mapping_id] = settings.frequency_cap_days
    return caps


async def _requested_days(
    session: AsyncSession, checkins: Sequence[CheckIn]
) -> dict[tuple[int, str], set[date]]:
    """(practice, patient) → the appointment days that already have a request."""
    patients = sorted({c.patient_id for c in checkins})
    rows = await session.execute(
        select(CheckIn.scope_business_id, CheckIn.patient_id, CheckIn.appointment_day)
        .join(ReviewRequest, ReviewRequest.checkin_id == CheckIn.id)
        .where(CheckIn.patient_id.in_(patients))
    )
    found: dict[tuple[int, str], set[date]] = {}
    for scope, patient, day in rows:
        found.setdefault((scope, patient), set()).add(day)
    return found


def _resolved(
    checkin: CheckIn, name: str, channels: ChannelRegistry | None, secrets: SecretBox
) -> str | None:
    """The channels (comma-separated) of a check-in that recorded none: its mapping's
    ``review.channel``, a choice resolved by the sealed contact (None: no usable one)."""
    if channels is None:
        return name  # as before channel choices: the caller knows no registry
    try:
        choice = channels.choice(name)
    except ConfigurationError:
        return None
    if len(choice.members) == 1:
        return name
    sealed: dict[str, Any] = (
        json.loads(secrets.decrypt(checkin.patient_sealed)) if checkin.patient_sealed else {}
    )
    document = {**sealed, "patient_id": checkin.patient_id}
    usable = [
        member
        for member in choice.members
        if contact_of(channels.reach(member), document).address is not None
    ]
    chosen = usable if choice.every else usable[:1]
    return ",".join(chosen) or None


async def _opted_out(session: AsyncSession, checkin: CheckIn, channel: str) -> bool:
    row = await session.execute(
        select(OptOut.id).where(
            and_(
                OptOut.business_id == checkin.scope_business_id,
                OptOut.channel == channel,
                OptOut.contact_hash == checkin.contact_hash,
            )
        )
    )
    return row.first() is not None
