"""SIU/ADT → visit mapping and the ACK rules, table-driven."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from tests.hl7v2.feeds import Adt, Siu, err, msa

from frontdesk.connectors.hl7v2.mapping import Unsupported, Unusable, timestamp, visit_of
from frontdesk.hl7.acks import AckCode, AckError, ack_for, should_send
from frontdesk.hl7.message import Unreadable, decode, header_of, parse


def read(message: object) -> tuple[object, object]:
    parsed = parse(decode(str(message).encode()))
    return parsed, header_of(parsed)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20260302", datetime(2026, 3, 2, tzinfo=UTC)),
        ("202603020930", datetime(2026, 3, 2, 9, 30, tzinfo=UTC)),
        ("20260302093015.1234", datetime(2026, 3, 2, 9, 30, 15, tzinfo=UTC)),
        (
            "20260302093000-0500",
            datetime(2026, 3, 2, 9, 30, tzinfo=timezone(timedelta(hours=-5))),
        ),
        (
            "20260302093000+0530",
            datetime(2026, 3, 2, 9, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        ),
        ("2026-03-02", None),
        ("20261302", None),
        ("", None),
    ],
)
def test_timestamps(text: str, expected: datetime | None) -> None:
    assert timestamp(text) == expected


def test_a_time_without_offset_is_read_in_the_group_zone() -> None:
    zone = ZoneInfo("America/New_York")
    message, header = read(Siu(start="20260302093000"))
    visit = visit_of(message, header, zone)
    assert visit.start == datetime(2026, 3, 2, 9, 30, tzinfo=zone)


@pytest.mark.parametrize(
    ("message", "status"),
    [
        pytest.param(Siu("S12", status="Booked"), "Booked", id="S12"),
        pytest.param(Siu("S13", status="Booked"), "Booked", id="S13"),
        pytest.param(Siu("S14", status="Complete"), "Complete", id="S14"),
        pytest.param(Siu("S15", status="Complete"), "Cancelled", id="S15"),
        pytest.param(Siu("S17", status="Booked"), "Deleted", id="S17"),
        pytest.param(Siu("S26", status="Complete"), "Noshow", id="S26"),
        pytest.param(Adt("A03"), "Complete", id="A03"),
        pytest.param(Adt("A04"), "Arrived", id="A04"),
        pytest.param(Adt("A08"), "Complete", id="A08-discharged"),
        pytest.param(Adt("A08", discharged=""), "Arrived", id="A08-open"),
    ],
)
def test_statuses(message: object, status: str) -> None:
    assert visit_of(*read(message)).status == status


def test_siu_fields_and_patient() -> None:
    visit = visit_of(*read(Siu()))
    assert (visit.appointment_id, visit.appointment_type, visit.type_description) == (
        "APT1001",
        "FOLLOWUP",
        "Follow-up visit",
    )
    assert (visit.location, visit.practitioner) == ("NORTH-PC", "Marcus Welby")
    patient = visit.patient
    assert patient is not None
    assert (patient.patient_id, patient.first_name, patient.last_name) == (
        "MRN88812",
        "Zebulon",
        "Quackenbush",
    )
    assert patient.birth_date == date(1971, 3, 4)
    assert (patient.cell_phone, patient.email) == ("+1 703 5550147", "zebulon.q@example.org")
    assert "Quackenbush" not in repr(visit)
    assert "Zebulon" not in repr(visit.appointment())


@pytest.mark.parametrize(
    ("message", "error", "field"),
    [
        pytest.param(Siu(sch_id=False), Unusable, "SCH-2", id="no-id"),
        pytest.param(Siu(start=""), Unusable, "TQ1-7", id="no-start"),
        pytest.param(Siu(event="S99"), Unsupported, None, id="event"),
        pytest.param(Adt(visit=""), Unusable, "PV1-19", id="adt-no-visit"),
        pytest.param(Adt(event="A01"), Unsupported, None, id="adt-event"),
    ],
)
def test_unusable_messages(message: object, error: type[Exception], field: str | None) -> None:
    with pytest.raises(error) as raised:
        visit_of(*read(message))
    if field is not None:
        assert isinstance(raised.value, Unusable)
        assert raised.value.field == field
    assert "Quackenbush" not in str(raised.value)


@pytest.mark.parametrize(
    "data",
    [b"", b"hello", b"PID|1||X", b"MSH|^~\\&|A|B|C|D|2026||SIU^S12||P|2.5"],
)
def test_unreadable(data: bytes) -> None:
    with pytest.raises(Unreadable):
        header_of(parse(decode(data)))


def test_latin1_and_crlf_are_accepted() -> None:
    data = str(Siu()).replace("Quackenbush", "Quäckenbush").replace("\r", "\r\n").encode("latin-1")
    message = parse(decode(data))
    visit = visit_of(message, header_of(message))
    assert visit.patient is not None
    assert visit.patient.last_name == "Quäckenbush"


@pytest.mark.parametrize(
    ("mode", "code", "sent"),
    [
        ("", AckCode.AA, True),
        ("", AckCode.AR, True),
        ("AL", AckCode.AE, True),
        ("NE", AckCode.AA, False),
        ("NE", AckCode.AR, False),
        ("ER", AckCode.AA, False),
        ("ER", AckCode.AE, True),
        ("SU", AckCode.AA, True),
        ("SU", AckCode.AR, False),
    ],
)
def test_msh15_decides_whether_a_commit_ack_is_sent(mode: str, code: AckCode, sent: bool) -> None:
    _, header = read(Siu(accept_ack=mode))
    assert should_send(header, code) is sent  # type: ignore[arg-type]


def test_ack_with_err_names_the_field_and_never_the_content() -> None:
    message, header = read(Siu())
    ack = ack_for(
        message, header, AckCode.AE, error=AckError(101, "the appointment id is missing", "SCH-2")
    )  # type: ignore[arg-type]
    assert msa(ack) == ["AE", "MSG0001", "the appointment id is missing"]
    assert (
        err(ack)
        == "ERR||SCH^2|101^Required field missing^HL70357|E||||the appointment id is missing"
    )
    enhanced, eheader = read(Siu(accept_ack="AL"))
    assert msa(ack_for(enhanced, eheader, AckCode.AA))[0] == "CA"  # type: ignore[arg-type]
