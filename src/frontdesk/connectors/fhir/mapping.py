"""FHIR R4 resources → the connector contract's :class:`Appointment` and :class:`Patient`.

Each resource is validated with the ``fhir.resources`` R4B models (R4B's Appointment,
Patient and Location are R4's, field for field); one that fails validation is rejected by
itself (its id and a reason are logged, never the validation text, which quotes values).

- ``Appointment.start`` (an instant with its offset) is the appointment time; one without a
  start (a proposal, a waitlist entry) is rejected.
- The patient is the participant whose actor references ``Patient/{id}``; the location the
  one referencing ``Location/{id}``; the practitioner's display is kept for the check-in.
- The type is ``appointmentType.coding[0].code`` (its display as the description), else the
  first ``serviceType`` coding, else ``appointmentType.text``.
- ``Patient.telecom``: the first current ``email``; the first current ``phone``/``sms`` with
  ``use=mobile`` is the mobile, the first other phone the home phone. ``birthDate`` only when
  it is a full date (a year alone cannot decide the minor rule: it counts as unknown).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.location import Location as FhirLocation
from fhir.resources.R4B.patient import Patient as FhirPatient
from pydantic import ValidationError

from frontdesk.connectors.base import Appointment, Patient


@dataclass(frozen=True)
class Rejected:
    """A resource that could not be used: its id and why (no values)."""

    resource_id: str
    reason: str


@dataclass(frozen=True)
class Visit:
    """An appointment and the ids it refers to (its patient, its location)."""

    appointment: Appointment
    location_id: str
    location_display: str


def reference_id(reference: str | None, resource_type: str) -> str | None:
    """``Patient/123`` (or an absolute URL ending so) → ``123``; None for another type."""
    if not reference:
        return None
    parts = reference.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == resource_type:
        return parts[-1]
    if len(parts) >= 4 and parts[-4] == resource_type and parts[-2] == "_history":
        return parts[-3]
    return None


def visit(resource: dict[str, Any]) -> Visit | Rejected:
    """One Appointment resource as a :class:`Visit` (its ``location_name`` still empty)."""
    rid = str(resource.get("id") or "?")
    try:
        model = FhirAppointment.model_validate(resource)
    except ValidationError:
        return Rejected(rid, "invalid Appointment")
    if model.start is None:
        return Rejected(rid, "no start")
    patient_id, location_id, location_display, practitioner = "", "", "", ""
    for participant in model.participant or []:
        actor = participant.actor
        if actor is None:
            continue
        if (pid := reference_id(actor.reference, "Patient")) is not None and not patient_id:
            patient_id = pid
        elif (lid := reference_id(actor.reference, "Location")) is not None and not location_id:
            location_id, location_display = lid, (actor.display or "").strip()
        elif reference_id(actor.reference, "Practitioner") is not None and not practitioner:
            practitioner = (actor.display or "").strip()
    code, description = _type(model)
    return Visit(
        appointment=Appointment(
            source_appointment_id=model.id or rid,
            patient_id=patient_id,
            start=model.start,
            status=(model.status or "").strip(),
            appointment_type=code,
            location_name="",
            practitioner=practitioner,
            appointment_type_description=description,
        ),
        location_id=location_id,
        location_display=location_display,
    )


def _type(model: FhirAppointment) -> tuple[str, str]:
    concepts = [model.appointmentType] if model.appointmentType is not None else []
    for service in model.serviceType or []:
        concepts.append(service)
    for concept in concepts:
        for coding in concept.coding or []:
            if coding.code:
                return coding.code.strip(), (coding.display or concept.text or "").strip()
    text = (model.appointmentType.text or "").strip() if model.appointmentType else ""
    return text, text


def patient(resource: dict[str, Any]) -> Patient | Rejected:
    """One Patient resource."""
    rid = str(resource.get("id") or "?")
    try:
        model = FhirPatient.model_validate(resource)
    except ValidationError:
        return Rejected(rid, "invalid Patient")
    first, last = "", ""
    names = model.name or []
    official = next((n for n in names if n.use == "official"), names[0] if names else None)
    if official is not None:
        first = (official.given or [""])[0] or ""
        last = official.family or ""
    email, mobile, home = "", "", ""
    for point in model.telecom or []:
        if not point.value or (point.period is not None and point.period.end is not None):
            continue
        if point.use == "old":
            continue
        if point.system == "email" and not email:
            email = point.value.strip()
        elif point.system in ("phone", "sms") and point.use == "mobile" and not mobile:
            mobile = point.value.strip()
        elif point.system == "phone" and not home:
            home = point.value.strip()
    born = model.birthDate if isinstance(model.birthDate, date) else None
    return Patient(
        patient_id=model.id or rid,
        first_name=first.strip(),
        last_name=last.strip(),
        birth_date=born,
        cell_phone=mobile,
        home_phone=home,
        email=email,
    )


def location_name(resource: dict[str, Any]) -> tuple[str, str] | None:
    """(id, name) of one Location resource; None when it is not valid."""
    try:
        model = FhirLocation.model_validate(resource)
    except ValidationError:
        return None
    return (model.id or "", (model.name or "").strip())
