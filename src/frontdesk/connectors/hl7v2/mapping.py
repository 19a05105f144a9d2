"""SIU and ADT messages → the visit they describe (an appointment with its patient).

Supported: SIU S12 (new), S13 (rescheduled), S14 (modified), S15 (cancelled), S17 (deleted),
S26 (no-show); ADT A04 (registered), A08 (updated), A03 (discharged: the visit happened).

- appointment id: SCH-2.1 (filler id), else SCH-1.1 (placer id); ADT: PV1-19.1 (visit
  number), else PID-18.1 (account number);
- start: TQ1-7 (v2.7+), else AIS-4, else AIL-6, else SCH-11.4 (deprecated since v2.7, and
  seen stale in real feeds while TQ1/AIS carry the booked time), else PV1-44; ADT: PV1-44,
  else EVN-6, else EVN-2. A time without an offset is a wall-clock time (the group's
  ``hl7.timezone``, default UTC);
- status: S15 ``Cancelled``, S17 ``Deleted``, S26 ``Noshow`` whatever SCH-25 says (these
  never match an allow-list: :data:`NEVER_ELIGIBLE`); otherwise SCH-25.1 (filler status,
  e.g. ``Booked``, ``Complete``). ADT: A03 ``Complete``; A04 ``Arrived``; A08 ``Complete``
  when PV1-45 (discharge time) is valued, else ``Arrived`` (inferred; see docs/hl7.md);
- type: SCH-8.1 / SCH-8.2 (description), else AIS-3.1 / AIS-3.2; ADT: PV1-4.1, else PV1-2.1;
- location: AIL-3.1, else PV1-3.1; practitioner: AIP-3 (or PV1-7) given and family names;
- patient: PID-3.1 (first repetition), PID-5 names, PID-7 birth date, PID-13 telecoms
  (cell phone by equipment ``CP``, else the first phone; e-mail by ``NET``/``Internet``).

Parsing is lenient: a missing optional field is blank. A message without an appointment id
or a readable start is :class:`Unusable` (ACK AE with the field at fault); an unsupported
type is :class:`Unsupported` (ACK AR). Error texts name fields, never their values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

import hl7

from frontdesk.connectors.base import Appointment, Patient
from frontdesk.hl7.message import Header, value

SIU_EVENTS = {"S12", "S13", "S14", "S15", "S17", "S26"}
ADT_EVENTS = {"A03", "A04", "A08"}
FIXED_STATUS = {"S15": "Cancelled", "S17": "Deleted", "S26": "Noshow"}
NEVER_ELIGIBLE = frozenset({"cancelled", "canceled", "deleted", "noshow", "no-show", "no show"})
"""Statuses that never match an allow-list: cancellations and no-shows are never reviewed."""

_TS = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d+)?([+-]\d{4})?$")


class Unusable(ValueError):
    """The message's content cannot describe a visit (ACK AE); ``field`` is at fault."""

    def __init__(self, text: str, field: str, code: int = 101) -> None:
        super().__init__(text)
        self.text = text
        self.field = field
        self.code = code


class Unsupported(ValueError):
    """A message type or event this source does not use (ACK AR)."""

    def __init__(self, text: str, code: int) -> None:
        super().__init__(text)
        self.text = text
        self.code = code


@dataclass(frozen=True)
class Visit:
    """One message's view of one appointment (``patient`` hidden from ``repr``)."""

    appointment_id: str
    start: datetime
    status: str
    appointment_type: str
    type_description: str
    location: str
    practitioner: str
    patient: Patient | None

    def appointment(self) -> Appointment:
        patient_id = self.patient.patient_id if self.patient is not None else ""
        return Appointment(
            source_appointment_id=self.appointment_id,
            patient_id=patient_id,
            start=self.start,
            status=self.status,
            appointment_type=self.appointment_type,
            location_name=self.location,
            practitioner=self.practitioner,
            appointment_type_description=self.type_description,
            patient=self.patient,
        )


def check_supported(header: Header) -> None:
    """Raise :class:`Unsupported` unless this source reads ``header``'s type and event."""
    if header.message_type == "SIU":
        if header.trigger_event not in SIU_EVENTS:
            raise Unsupported("unsupported SIU event", 201)
    elif header.message_type == "ADT":
        if header.trigger_event not in ADT_EVENTS:
            raise Unsupported("unsupported ADT event", 201)
    else:
        raise Unsupported("unsupported message type", 200)


def timestamp(text: str, zone: tzinfo = UTC) -> datetime | None:
    """An HL7 DTM/TS (``YYYY[MM[DD[HH[MM[SS[.S]]]]]][+-ZZZZ]``); no offset: ``zone``."""
    match = _TS.match(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, offset = match.groups()
    tz = zone
    if offset is not None:
        sign = -1 if offset[0] == "-" else 1
        minutes = int(offset[1:3]) * 60 + int(offset[3:5])
        tz = timezone(sign * timedelta(minutes=minutes))
    try:
        return datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=tz,
        )
    except ValueError:
        return None


def visit_of(message: hl7.Message, header: Header, zone: tzinfo = UTC) -> Visit:
    """The visit ``message`` describes (raises :class:`Unsupported` or :class:`Unusable`)."""
    check_supported(header)
    if header.message_type == "SIU":
        return _siu(message, header.trigger_event, zone)
    return _adt(message, header.trigger_event, zone)


def _first(message: hl7.Message, *paths: str) -> tuple[str, str]:
    """The first valued path among ``paths``: (value, path)."""
    for path in paths:
        found = value(message, path)
        if found:
            return found, path
    return "", paths[0]


def _field_name(path: str) -> str:
    segment, field = path.split(".")[:2]
    return f"{segment}-{field[1:]}"


def _start(message: hl7.Message, zone: tzinfo, *paths: str) -> datetime:
    text, path = _first(message, *paths)
    if not text:
        fields = ", ".join(_field_name(p) for p in paths)
        raise Unusable(f"the start time is missing ({fields})", _field_name(path))
    start = timestamp(text, zone)
    if start is None:
        raise Unusable("the start time is not an HL7 timestamp", _field_name(path), 102)
    return start


def _siu(message: hl7.Message, event: str, zone: tzinfo) -> Visit:
    appointment_id, _ = _first(message, "SCH.F2.R1.C1", "SCH.F1.R1.C1")
    if not appointment_id:
        raise Unusable("the appointment id is missing", "SCH-2")
    start = _start(
        message,
        zone,
        "TQ1.F7.R1.C1",
        "AIS.F4.R1.C1",
        "AIL.F6.R1.C1",
        "SCH.F11.R1.C4",
        "PV1.F44.R1.C1",
    )
    status = FIXED_STATUS.get(event) or value(message, "SCH.F25.R1.C1")
    type_code, type_path = _first(message, "SCH.F8.R1.C1", "AIS.F3.R1.C1")
    description = value(message, type_path.replace(".C1", ".C2"))
    location, _ = _first(message, "AIL.F3.R1.C1", "PV1.F3.R1.C1")
    return Visit(
        appointment_id=appointment_id,
        start=start,
        status=status,
        appointment_type=type_code,
        type_description=description,
        location=location,
        practitioner=_person(message, "AIP.F3") or _person(message, "PV1.F7"),
        patient=_patient(message),
    )


def _adt(message: hl7.Message, event: str, zone: tzinfo) -> Visit:
    visit_id, _ = _first(message, "PV1.F19.R1.C1", "PID.F18.R1.C1")
    if not visit_id:
        raise Unusable("the visit number is missing", "PV1-19")
    start = _start(message, zone, "PV1.F44.R1.C1", "EVN.F6.R1.C1", "EVN.F2.R1.C1")
    if event == "A03" or (event == "A08" and value(message, "PV1.F45.R1.C1")):
        status = "Complete"
    else:
        status = "Arrived"
    type_code, _ = _first(message, "PV1.F4.R1.C1", "PV1.F2.R1.C1")
    return Visit(
        appointment_id=visit_id,
        start=start,
        status=status,
        appointment_type=type_code,
        type_description="",
        location=value(message, "PV1.F3.R1.C1"),
        practitioner=_person(message, "PV1.F7"),
        patient=_patient(message),
    )


def _person(message: hl7.Message, field: str) -> str:
    """An XCN as "given family" (id^family^given)."""
    family = value(message, f"{field}.R1.C2")
    given = value(message, f"{field}.R1.C3")
    return " ".join(p for p in (given, family) if p)


def _patient(message: hl7.Message) -> Patient | None:
    patient_id = value(message, "PID.F3.R1.C1")
    if not patient_id:
        return None
    cell, home, email = _telecoms(message)
    return Patient(
        patient_id=patient_id,
        first_name=value(message, "PID.F5.R1.C2"),
        last_name=value(message, "PID.F5.R1.C1"),
        birth_date=_birth_date(value(message, "PID.F7.R1.C1")),
        cell_phone=cell,
        home_phone=home,
        email=email,
    )


def _birth_date(text: str) -> date | None:
    moment = timestamp(text[:8]) if len(text) >= 8 else None
    return moment.date() if moment is not None else None


def _telecoms(message: hl7.Message) -> tuple[str, str, str]:
    """(cell phone, other phone, e-mail) from the PID-13 repetitions (XTN)."""
    cell = home = email = ""
    for repeat in range(1, 8):
        base = f"PID.F13.R{repeat}"
        number = value(message, f"{base}.C1")
        use = value(message, f"{base}.C2").upper()
        equipment = value(message, f"{base}.C3").upper()
        address = value(message, f"{base}.C4")
        area, local = value(message, f"{base}.C6"), value(message, f"{base}.C7")
        country = value(message, f"{base}.C5")
        if not any((number, use, equipment, address, area, local)):
            if repeat > 1:
                break
            continue
        if use == "NET" or equipment in ("INTERNET", "X.400") or (address and "@" in address):
            email = email or address or number
            continue
        if local:
            phone = f"+{country} {area} {local}" if country else f"({area}) {local}"
        else:
            phone = number
        if not phone:
            continue
        if equipment == "CP" and not cell:
            cell = phone
        elif not home:
            home = phone
    return cell, home or "", email
