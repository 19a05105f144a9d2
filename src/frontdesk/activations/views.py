"""What callers (API, CLI, page, mail) see of an activation request: plain values only.

The service user is never shown in full: only its last four characters (it is stored
encrypted, like a group's secure ``User_Name``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from frontdesk.activations.models import ActivationEvent, ActivationRequest
from frontdesk.security.secrets import SecretBox

MASK = "•••"


@dataclass(frozen=True)
class EventView:
    """One entry of a request's history."""

    at: datetime
    actor: str
    from_status: str | None
    to_status: str
    note: str | None
    notification: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "actor": self.actor,
            "fromStatus": self.from_status,
            "toStatus": self.to_status,
            "note": self.note,
            "notification": self.notification,
        }


@dataclass(frozen=True)
class ActivationView:
    """An activation request with its history."""

    id: int
    business_number: int
    business_name: str
    source_id: int
    source: str
    status: str
    practice_name: str
    contact_name: str
    contact_email: str | None
    contact_phone: str | None
    client_id: str | None
    service_user: str | None
    """Masked: the last four characters only."""
    environment: str
    notes: str | None
    created_at: datetime
    created_by: str
    changed_at: datetime
    changed_by: str
    history: tuple[EventView, ...]

    def as_json(self) -> dict[str, Any]:
        """The JSON shape of the API and ``frontdesk activation list --json``."""
        return {
            "id": self.id,
            "businessNumber": self.business_number,
            "businessName": self.business_name,
            "integrationSourceId": self.source_id,
            "source": self.source,
            "status": self.status,
            "practiceName": self.practice_name,
            "contactName": self.contact_name,
            "contactEmail": self.contact_email,
            "contactPhone": self.contact_phone,
            "clientId": self.client_id,
            "serviceUser": self.service_user,
            "environment": self.environment,
            "notes": self.notes,
            "createdAt": self.created_at.isoformat(),
            "createdBy": self.created_by,
            "changedAt": self.changed_at.isoformat(),
            "changedBy": self.changed_by,
            "history": [e.as_json() for e in self.history],
        }


def masked(value: str | None) -> str | None:
    """``•••`` and the last four characters (the whole value never leaves the service)."""
    if not value:
        return None
    return MASK + value[-4:] if len(value) > 8 else MASK


def event_view(event: ActivationEvent) -> EventView:
    return EventView(
        at=event.at,
        actor=event.actor,
        from_status=event.from_status,
        to_status=event.to_status,
        note=event.note,
        notification=event.notification,
    )


def activation_view(row: ActivationRequest, secrets: SecretBox) -> ActivationView:
    """The view of a loaded request (its business, source and events loaded with it)."""
    service_user = secrets.decrypt(row.service_user_secret) if row.service_user_secret else None
    return ActivationView(
        id=row.id,
        business_number=row.business.number,
        business_name=row.business.name,
        source_id=row.source.id,
        source=row.source.name,
        status=row.status,
        practice_name=row.practice_name,
        contact_name=row.contact_name,
        contact_email=row.contact_email,
        contact_phone=row.contact_phone,
        client_id=row.client_id,
        service_user=masked(service_user),
        environment=row.environment,
        notes=row.notes,
        created_at=row.created_at,
        created_by=row.created_by,
        changed_at=row.changed_at,
        changed_by=row.changed_by,
        history=tuple(event_view(e) for e in row.events),
    )
