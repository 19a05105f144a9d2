"""Deciding a batch of appointments: route, look up what the database knows, apply the rules.

One :class:`BatchDecider` per run attempt. For each batch it routes the rows, drops rows of
other runs and rows already decided, runs three bulk look-ups (decisions of these
appointment ids, opt-outs of these contacts, eligible check-ins of these patients in the
frequency-cap window), then evaluates each candidate with plain functions and returns the
rows to insert. A patient under the mapping's minimum age whose source names a guardian with
a usable contact for the channel is decided on the guardian's contact (hash, opt-outs, cap)
and the sealed document carries the guardian's first name and contact. Nothing is written
here; nothing of the patient is logged.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from frontdesk.connectors.base import Appointment, Guardian
from frontdesk.db.engine import Database
from frontdesk.delivery.addresses import AddressCheck
from frontdesk.delivery.choice import ChannelChoice
from frontdesk.delivery.reach import Reach, contact_of
from frontdesk.engagement import checkins
from frontdesk.engagement.optouts import hash_contact
from frontdesk.engagement.rules import (
    Candidate,
    Facts,
    PreparedRules,
    Route,
    Verdict,
    evaluate,
    under_age,
)
from frontdesk.errors import ConfigurationError
from frontdesk.integrations.properties import DEFAULT_CHANNEL
from frontdesk.security.secrets import SecretBox
from frontdesk.sync.routing import SKIP, Router

ReachOf = Callable[[str], Reach]
"""Channel name → how it reaches a patient (ConfigurationError: not registered here)."""
ChoiceOf = Callable[[str], ChannelChoice]
"""``review.channel`` value → the channels it resolves to (ConfigurationError: unknown)."""


@dataclass(frozen=True)
class RunScope:
    """Ids a run's check-ins carry."""

    run_id: int
    group_id: int
    source_id: int
    trigger_id: int | None
    scope_business_id: int
    beta: bool


@dataclass
class Tally:
    """What one attempt saw: rows fetched, skipped (other runs' locations), already decided."""

    fetched: int = 0
    skipped: int = 0
    already_decided: int = 0
    decided: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "fetched": self.fetched,
            "skipped": self.skipped,
            "already_decided": self.already_decided,
            "decided": self.decided,
        }


@dataclass
class BatchDecider:
    """Decides batches of one run attempt (see the module docstring)."""

    scope: RunScope
    router: Router
    pepper: bytes
    secrets: SecretBox
    cap_days: int
    reach_of: ReachOf
    choice_of: ChoiceOf | None = None
    """None: every ``review.channel`` value names one channel."""
    tally: Tally = field(default_factory=Tally)
    _seen: dict[str, set[date]] = field(default_factory=dict)

    async def decide(
        self, db: Database, batch: Sequence[Appointment], now: datetime
    ) -> list[dict[str, Any]]:
        """The check-in rows to insert for ``batch`` (in schedule order)."""
        routed: list[tuple[Appointment, date, PreparedRules | None]] = []
        for appointment in batch:
            self.tally.fetched += 1
            target = self.router.route(appointment.location_name)
            if target is SKIP:
                self.tally.skipped += 1
                continue
            day = appointment.start.date()
            days = self._seen.setdefault(appointment.source_appointment_id, set())
            if day in days:
                self.tally.already_decided += 1
                continue
            days.add(day)
            routed.append((appointment, day, target if isinstance(target, PreparedRules) else None))
        if not routed:
            return []
        candidates = [(a, self._candidate(a, day, target), target) for a, day, target in routed]
        facts = await self._facts(db, [c for _, c, _ in candidates])
        rows: list[dict[str, Any]] = []
        for appointment, candidate, target in candidates:
            known = facts.decided_days.get(candidate.appointment_id, set())
            if candidate.day in known:
                self.tally.already_decided += 1
                continue
            verdict = evaluate(candidate, target, facts)
            known.add(candidate.day)
            facts.decided_days[candidate.appointment_id] = known
            rows.append(self._row(appointment, candidate, target, verdict, now))
        self.tally.decided += len(rows)
        return rows

    def _candidate(
        self, appointment: Appointment, day: date, target: PreparedRules | None
    ) -> Candidate:
        patient = appointment.patient
        channel = target.rules.channel if target is not None else DEFAULT_CHANNEL
        try:
            choice = (
                self.choice_of(channel) if self.choice_of else ChannelChoice(channel, (channel,))
            )
            reaches = [(member, self.reach_of(member)) for member in choice.members]
        except ConfigurationError:
            choice = ChannelChoice(channel, (channel,))
            checks = [(channel, Reach.EMAIL, AddressCheck(problem="channel_unavailable"))]
            to_guardian = False
        else:
            own = _contact_document(appointment)
            checks = [(member, reach, contact_of(reach, own)) for member, reach in reaches]
            to_guardian = False
            guardian = _guardian_of(appointment, day, target)
            if guardian is not None:
                document = _guardian_document(guardian)
                theirs = [(member, reach, contact_of(reach, document)) for member, reach in reaches]
                if any(check.address is not None for _, _, check in theirs):
                    checks, to_guardian = theirs, True
        first, *more = [
            Route(
                channel=member,
                contact_kind=reach.value,
                contact_problem=check.problem,
                contact_hash=hash_contact(self.pepper, channel=member, contact=check.address)
                if check.address is not None
                else None,
            )
            for member, reach, check in checks
        ]
        return Candidate(
            appointment_id=appointment.source_appointment_id,
            patient_id=appointment.patient_id,
            day=day,
            status=appointment.status,
            appointment_type=appointment.appointment_type,
            type_description=appointment.appointment_type_description,
            birth_date=patient.birth_date if patient else None,
            contact_problem=first.contact_problem,
            contact_hash=first.contact_hash,
            channel=first.channel,
            contact_kind=first.contact_kind,
            contact_is_guardian=to_guardian,
            more_routes=tuple(more),
            every_route=choice.every,
        )

    async def _facts(self, db: Database, candidates: Sequence[Candidate]) -> Facts:
        ids = [c.appointment_id for c in candidates]
        by_channel: dict[str, list[str]] = {}
        for c in candidates:
            for route in c.routes():
                if route.contact_hash:
                    by_channel.setdefault(route.channel, []).append(route.contact_hash)
        hashes = [h for channel_hashes in by_channel.values() for h in channel_hashes]
        patients = [c.patient_id for c in candidates if c.patient_id]
        reach = timedelta(days=max(self.cap_days - 1, 0))
        first = min(c.day for c in candidates) - reach
        last = max(c.day for c in candidates) + reach
        scope = self.scope
        async with db.reader() as session:
            decided = await checkins.decided_days(
                session, group_id=scope.group_id, appointment_ids=ids
            )
            opted: set[str] = set()
            for channel, channel_hashes in sorted(by_channel.items()):
                opted |= await checkins.opted_out_hashes(
                    session,
                    scope_business_id=scope.scope_business_id,
                    channel=channel,
                    hashes=channel_hashes,
                )
            requested = (
                await checkins.eligible_days(
                    session,
                    scope_business_id=scope.scope_business_id,
                    source_id=scope.source_id,
                    patient_ids=patients,
                    contact_hashes=hashes,
                    first=first,
                    last=last,
                )
                if self.cap_days > 0
                else {}
            )
        return Facts(beta=scope.beta, decided_days=decided, opted_out=opted, requested=requested)

    def _row(
        self,
        appointment: Appointment,
        candidate: Candidate,
        target: PreparedRules | None,
        verdict: Verdict,
        now: datetime,
    ) -> dict[str, Any]:
        scope = self.scope
        return {
            "run_id": scope.run_id,
            "group_id": scope.group_id,
            "source_id": scope.source_id,
            "trigger_id": scope.trigger_id,
            "mapping_id": target.rules.mapping_id if target else None,
            "business_id": target.rules.business_id if target else None,
            "scope_business_id": scope.scope_business_id,
            "appointment_id": candidate.appointment_id[:64],
            "patient_id": candidate.patient_id[:64],
            "appointment_start": appointment.start.astimezone(UTC),
            "appointment_day": candidate.day,
            "pms_appointment_status": appointment.status[:64],
            "pms_appointment_type": appointment.appointment_type[:64],
            "pms_appointment_practice_name": appointment.location_name[:200],
            "decision": verdict.decision,
            "restriction_reason": verdict.reason.value if verdict.reason else None,
            "detail": verdict.detail,
            "contact_hash": verdict.routes[0].contact_hash
            if verdict.routes
            else candidate.contact_hash,
            "channels": ",".join(r.channel for r in verdict.routes) or None,
            "patient_sealed": self._seal(appointment, to_guardian=candidate.contact_is_guardian),
            "decided_at": now,
        }

    def _seal(self, appointment: Appointment, *, to_guardian: bool) -> str | None:
        """The patient's names and birth date, and the contact the request goes to: the
        patient's own, or (``to_guardian``) the guardian's, with the guardian's names."""
        patient = appointment.patient
        if patient is None:
            return None
        document: dict[str, Any] = {
            "first_name": patient.first_name,
            "last_name": patient.last_name,
            "email": patient.email,
            "phone": patient.cell_phone or patient.home_phone,
            "birth_date": patient.birth_date.isoformat() if patient.birth_date else None,
        }
        guardian = patient.guardian
        if to_guardian and guardian is not None:  # never the child's own contact
            document["email"] = guardian.email
            document["phone"] = guardian.cell_phone or guardian.home_phone
            document["to_guardian"] = True
            document["guardian_first_name"] = guardian.first_name
            document["guardian_last_name"] = guardian.last_name
        return self.secrets.encrypt(json.dumps(document, separators=(",", ":")))


def _contact_document(appointment: Appointment) -> dict[str, str | None]:
    """What :func:`~frontdesk.delivery.reach.contact_of` reads of a patient."""
    patient = appointment.patient
    if patient is None:
        return {"patient_id": appointment.patient_id}
    return {
        "patient_id": appointment.patient_id,
        "email": patient.email,
        "cell_phone": patient.cell_phone,
        "home_phone": patient.home_phone,
    }


def _guardian_of(
    appointment: Appointment, day: date, target: PreparedRules | None
) -> Guardian | None:
    """The guardian a minor's request may go to: the patient is under the mapping's minimum
    age on ``day`` and the source knows someone else responsible for them."""
    patient = appointment.patient
    if patient is None or patient.guardian is None or target is None:
        return None
    if not under_age(target.rules.min_age, patient.birth_date, day):
        return None
    return patient.guardian


def _guardian_document(guardian: Guardian) -> dict[str, str | None]:
    """What :func:`~frontdesk.delivery.reach.contact_of` reads of a guardian (no patient id:
    a channel that needs no contact, a webhook, has none for a guardian)."""
    return {
        "email": guardian.email,
        "cell_phone": guardian.cell_phone,
        "home_phone": guardian.home_phone,
    }
