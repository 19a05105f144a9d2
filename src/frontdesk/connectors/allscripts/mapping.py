"""Unity rows → frontdesk values, with the field spellings of reference §3 copied exactly.

PM ``GetSchedule`` rows give ``AppointmentID``, ``patientID``, ``ApptTime2`` (server-local
wall clock), ``Status``, ``appttype`` (CHAR, blank-padded), ``type`` (its description),
``LocationName`` and ``Practitioner_Name``. Professional-EHR rows lack ``AppointmentID``,
``appttype`` and ``Practitioner_Name``; their fall-backs are listed in
:data:`SCHEDULE_FIELDS`. ``GetPatientDemographics`` rows give ``First_Name``, ``Last_Name``,
``DOB``, ``Cell_Phone``, ``HomePhone`` (no underscore) and ``Email_Address``, and the
account's guarantor: ``Is_Guarantor``, ``RelationToGuarantor``, ``Guarantor_First_Name``,
``Guarantor_Last_Name``, ``Guarantor_Email``, ``Guarantor_Cell_Phone``,
``Guarantor_Home_Phone``; a guarantor who is someone else (a minor's parent) becomes the
patient's :class:`~frontdesk.connectors.base.Guardian`. Every value is trimmed: CHAR columns
keep their padding in JSON (§2).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from frontdesk.connectors.allscripts.dates import in_zone, parse_date, parse_datetime
from frontdesk.connectors.allscripts.timezones import iana_zone_name
from frontdesk.connectors.allscripts.wire import Row
from frontdesk.connectors.base import Appointment, Guardian, Patient
from frontdesk.connectors.errors import ServerLogEntry, remote_text

SCHEDULE_FIELDS = {
    "id": ("AppointmentID", "Appointment_ID"),
    "patient": ("patientID", "Patient_ID"),
    "start": ("ApptTime2", "Appointment_DateTime"),
    "status": ("Status",),
    "type": ("appttype", "type"),
    "type_description": ("type",),
    "location": ("LocationName",),
    "practitioner": ("Practitioner_Name", "Provider"),
}
"""Normalised field → the row columns that carry it, first non-blank wins."""


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """``GetServerInfo``: product, version, zone and the server's current time."""

    system: str
    product_version: str
    time_zone_name: str
    zone: tzinfo
    iana_zone: str | None
    server_time: datetime | None
    """The server's clock when it answered (aware), if it said."""


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A schedule row that could not become an appointment (ids only, never patient data)."""

    appointment_id: str
    reason: str


def server_info(row: Row) -> ServerInfo:
    """Read a ``getserverinfoinfo`` row; the zone falls back to the offset when unknown."""
    name = row.get("ServerTimeZone", "").strip()
    iana = iana_zone_name(name) if name else None
    stamp = parse_datetime(row.get("ServerDateTimeOffset", ""))
    zone: tzinfo
    if iana is not None:
        zone = ZoneInfo(iana)
    elif stamp is not None and stamp.tzinfo is not None:
        offset = stamp.utcoffset() or timedelta(0)
        zone = timezone(offset)
    else:
        zone = UTC
    if stamp is None:
        local = parse_datetime(row.get("ServerTime", ""))
        stamp = in_zone(local, zone) if local is not None else None
    elif stamp.tzinfo is None:
        stamp = in_zone(stamp, zone)
    return ServerInfo(
        system=row.get("System", "").strip(),
        product_version=row.get("ProductVersion", "").strip(),
        time_zone_name=name,
        zone=zone,
        iana_zone=iana,
        server_time=stamp,
    )


def _first(row: Row, names: tuple[str, ...]) -> str:
    for name in names:
        value = row.get(name)
        if value is not None:
            value = value.strip()
            if value:
                return value
    return ""


def appointment(row: Row, zone: tzinfo) -> Appointment | RejectedRow:
    """A schedule row as an appointment without its patient, or why it cannot be one."""
    appointment_id = _first(row, SCHEDULE_FIELDS["id"])
    if not appointment_id:
        return RejectedRow("", "no AppointmentID")
    start = parse_datetime(_first(row, SCHEDULE_FIELDS["start"]))
    if start is None:
        return RejectedRow(appointment_id, "ApptTime2 is missing or unreadable")
    return Appointment(
        source_appointment_id=appointment_id,
        patient_id=_first(row, SCHEDULE_FIELDS["patient"]),
        start=in_zone(start, zone),
        status=_first(row, SCHEDULE_FIELDS["status"]),
        appointment_type=_first(row, SCHEDULE_FIELDS["type"]),
        location_name=_first(row, SCHEDULE_FIELDS["location"]),
        practitioner=_first(row, SCHEDULE_FIELDS["practitioner"]),
        appointment_type_description=_first(row, SCHEDULE_FIELDS["type_description"]),
    )


def patient(row: Row, patient_id: str) -> Patient:
    """A ``getpatientdemographicsinfo`` row as a patient."""
    return Patient(
        patient_id=row.get("Patient_ID", "").strip() or patient_id,
        first_name=row.get("First_Name", "").strip(),
        last_name=row.get("Last_Name", "").strip(),
        birth_date=parse_date(row.get("DOB", "")),
        cell_phone=row.get("Cell_Phone", "").strip(),
        home_phone=row.get("HomePhone", "").strip(),
        email=row.get("Email_Address", "").strip(),
        guardian=guardian(row),
    )


SELF = frozenset({"", "self", "18"})  # 18: "Self" in the X12 individual relationship codes


def guardian(row: Row) -> Guardian | None:
    """The account's guarantor when it is not the patient (``Is_Guarantor`` ``N`` or a
    ``RelationToGuarantor`` other than ``Self``) and has a name or a contact; else None."""
    is_guarantor = row.get("Is_Guarantor", "").strip().upper()
    relation = row.get("RelationToGuarantor", "").strip()
    if is_guarantor != "N" and relation.casefold() in SELF:
        return None
    found = Guardian(
        first_name=row.get("Guarantor_First_Name", "").strip(),
        last_name=row.get("Guarantor_Last_Name", "").strip(),
        email=row.get("Guarantor_Email", "").strip(),
        cell_phone=row.get("Guarantor_Cell_Phone", "").strip(),
        home_phone=row.get("Guarantor_Home_Phone", "").strip(),
        relation=relation,
    )
    if not any(
        (found.first_name, found.last_name, found.email, found.cell_phone, found.home_phone)
    ):
        return None
    return found


def log_entry(row: Row) -> ServerLogEntry:
    """A ``LastLogs`` row (synthetic columns, reference §3.5), message scrubbed."""
    return ServerLogEntry(
        log_id=row.get("LogID", "").strip(),
        logged_at=row.get("LogDateTime", "").strip(),
        action=row.get("Action", "").strip(),
        message=remote_text(row.get("Message", "")),
    )
