"""Every response date format of reference §4, Windows zones → IANA, PM status matching."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from frontdesk.connectors.allscripts.dates import (
    format_request_date,
    format_request_datetime,
    in_zone,
    parse_date,
    parse_datetime,
    parse_time,
)
from frontdesk.connectors.allscripts.statuses import PM_STATUSES, StatusMatcher, status_matches
from frontdesk.connectors.allscripts.timezones import WINDOWS_TO_IANA, iana_zone_name, zone_for

EDT = timezone(timedelta(hours=-4))

DATETIMES = [
    # .NET "G" en-US, M/d/yyyy h:mm:ss tt (GetSchedule ApptTime2, GetOrders)
    ("7/6/2015 9:00:00 AM", datetime(2015, 7, 6, 9, 0)),
    ("8/17/2015 2:59:44 PM", datetime(2015, 8, 17, 14, 59, 44)),
    ("5/1/1950 12:00:00 AM", datetime(1950, 5, 1, 0, 0)),
    ("03/02/2018 5:26:53 PM", datetime(2018, 3, 2, 17, 26, 53)),
    ("12/31/2025 12:30:00 PM", datetime(2025, 12, 31, 12, 30)),
    ("  7/6/2015 9:00:00 AM  ", datetime(2015, 7, 6, 9, 0)),
    # PM Appointment_DateTime forms
    ("12/25/2013 12:37 PM", datetime(2013, 12, 25, 12, 37)),
    ("12/25/2013 12:37PM", datetime(2013, 12, 25, 12, 37)),
    ("12/25/2013 09:05am", datetime(2013, 12, 25, 9, 5)),
    ("12/25/2013 17:45", datetime(2013, 12, 25, 17, 45)),
    # MM/dd/yyyy (uaibornondate, PM DOB)
    ("10/07/2013", datetime(2013, 10, 7)),
    ("12/25/2013", datetime(2013, 12, 25)),
    # dd-MMM-yyyy (EHR dateofbirth), with a time (ClinicalSummary displaydate)
    ("01-May-1950", datetime(1950, 5, 1)),
    ("20-Jul-2014", datetime(2014, 7, 20)),
    ("26-Sep-2014 9:34 am", datetime(2014, 9, 26, 9, 34)),
    # SQL Server default "mon dd yyyy hh:miAM", double blank before one-digit parts
    ("Feb 27 2013 12:37PM", datetime(2013, 2, 27, 12, 37)),
    ("Feb 28 2013  1:34PM", datetime(2013, 2, 28, 13, 34)),
    ("Nov  1 2011 11:31AM", datetime(2011, 11, 1, 11, 31)),
    ("Jul 10 2013 12:00AM", datetime(2013, 7, 10, 0, 0)),
    # ISO (GetServerInfo), 7-digit fraction, offsets
    ("2013-10-29T10:30:45", datetime(2013, 10, 29, 10, 30, 45)),
    (
        "2013-10-29T10:30:45.0292000-04:00",
        datetime(2013, 10, 29, 10, 30, 45, 29200, tzinfo=EDT),
    ),
    ("2013-02-15T10:00:00-0500", datetime(2013, 2, 15, 10, tzinfo=timezone(timedelta(hours=-5)))),
    ("2013-02-15T15:00:00Z", datetime(2013, 2, 15, 15, tzinfo=UTC)),
    ("2013-02-15", datetime(2013, 2, 15)),
    ("2013-02-15 08:15:00", datetime(2013, 2, 15, 8, 15)),
    ("2014/08/06", datetime(2014, 8, 6)),
]


@pytest.mark.parametrize(("text", "expected"), DATETIMES, ids=[t for t, _ in DATETIMES])
def test_parse_datetime_reads_every_reference_format(text: str, expected: datetime) -> None:
    assert parse_datetime(text) == expected


INVALID = [
    "",
    "   ",
    "10/00/1999",
    "13/01/2020",
    "2/30/2021 9:00:00 AM",
    "7/6/2015 13:00:00 PM",
    "7/6/2015 0:00:00 AM",
    "Foo 12 2013",
    "31-Xyz-2014",
    "yesterday",
    "7/6/15",
    "2013-10-29T25:00:00",
    "09:00",
]


@pytest.mark.parametrize("text", INVALID)
def test_parse_datetime_tolerates_bad_values(text: str) -> None:
    assert parse_datetime(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("09:00", time(9, 0)),
        ("17:45", time(17, 45)),
        ("9:34 am", time(9, 34)),
        ("12:00 AM", time(0, 0)),
        ("12:15PM", time(12, 15)),
        ("08:00:30", time(8, 0, 30)),
        ("25:00", None),
        ("13:00 PM", None),
        ("", None),
    ],
)
def test_parse_time(text: str, expected: time | None) -> None:
    assert parse_time(text) == expected


def test_parse_date_drops_the_time() -> None:
    assert parse_date("7/6/2015 9:00:00 AM") == date(2015, 7, 6)
    assert parse_date("10/00/1999") is None


def test_in_zone_attaches_the_wall_clock_or_converts() -> None:
    eastern = ZoneInfo("America/New_York")
    naive = datetime(2025, 3, 9, 1, 30)
    assert in_zone(naive, eastern).utcoffset() == timedelta(hours=-5)
    summer = in_zone(datetime(2025, 7, 1, 9), eastern)
    assert summer.utcoffset() == timedelta(hours=-4)
    aware = datetime(2025, 7, 1, 13, tzinfo=UTC)
    assert in_zone(aware, eastern) == summer


def test_request_formats_round_trip() -> None:
    moment = datetime(2025, 3, 4, 6, 5)
    assert format_request_datetime(moment) == "3/4/2025 6:05:00 AM"
    assert parse_datetime(format_request_datetime(moment)) == moment
    assert format_request_datetime(datetime(2025, 3, 4, 12, 0)) == "3/4/2025 12:00:00 PM"
    assert format_request_datetime(datetime(2025, 3, 4, 0, 0)) == "3/4/2025 12:00:00 AM"
    assert format_request_date(date(2025, 3, 4)) == "03/04/2025"


ZONES = [
    ("Eastern Standard Time", "America/New_York"),
    ("Central Standard Time", "America/Chicago"),
    ("Mountain Standard Time", "America/Denver"),
    ("US Mountain Standard Time", "America/Phoenix"),
    ("Pacific Standard Time", "America/Los_Angeles"),
    ("Alaskan Standard Time", "America/Anchorage"),
    ("Hawaiian Standard Time", "Pacific/Honolulu"),
    ("US Eastern Standard Time", "America/Indiana/Indianapolis"),
    ("Atlantic Standard Time", "America/Halifax"),
    ("GMT Standard Time", "Europe/London"),
    ("UTC", "Etc/UTC"),
    ("  eastern   standard time ", "America/New_York"),
    ("America/Chicago", "America/Chicago"),
    ("Mars Standard Time", None),
    ("Not/AZone", None),
    ("", None),
]


@pytest.mark.parametrize(("windows", "iana"), ZONES, ids=[w or "blank" for w, _ in ZONES])
def test_windows_zone_names_map_to_iana(windows: str, iana: str | None) -> None:
    assert iana_zone_name(windows) == iana


def test_every_mapped_zone_exists_in_tzdata() -> None:
    for windows in WINDOWS_TO_IANA:
        assert zone_for(windows) is not None, windows


def test_sandbox_zones_are_all_mapped() -> None:
    from frontdesk.sandbox.unity.config import WINDOWS_TIME_ZONES

    for windows, iana in WINDOWS_TIME_ZONES.items():
        assert iana_zone_name(windows) == iana


STATUS_CASES = [
    (["Acknowledge"], "Acknowledge", True),
    (["acknowledge"], "ACKNOWLEDGE", True),
    ([" Acknowledge "], "Acknowledge   ", True),
    (["A"], "Acknowledge", True),
    (["a"], "Acknowledge", True),
    (["Acknowledge"], "A", True),
    (["Acknowledge"], " a ", True),
    (["No Show"], "N", True),
    (["N"], "No Show", True),
    (["no-show"], "No Show", True),
    (["NoShow"], "no show", True),
    (["Wait Listed"], "W", True),
    (["Cancelled"], "X", True),
    (["Canceled"], "Cancelled", True),
    (["X"], "Canceled", True),
    (["C"], "Confirmed", True),
    (["Confirmed", "Acknowledge"], "Confirmed", True),
    (["Confirmed"], "Acknowledge", False),
    (["A"], "Cancelled", False),
    (["C"], "Cancelled", False),
    (["N"], "Confirmed", False),
    ([], "Acknowledge", False),
    (["", "  "], "", False),
    (["Checked Out"], " checked out ", True),
    (["Checked Out"], "Checked In", False),
    (["Z"], "z", True),
]


@pytest.mark.parametrize(
    ("allowed", "status", "expected"),
    STATUS_CASES,
    ids=[f"{'|'.join(a) or 'none'}~{s.strip() or 'blank'}" for a, s, _ in STATUS_CASES],
)
def test_status_matching(allowed: list[str], status: str, expected: bool) -> None:
    assert status_matches(allowed, status) is expected
    assert StatusMatcher(allowed)(status) is expected


def test_every_pm_letter_matches_its_description_both_ways() -> None:
    for letter, description in PM_STATUSES.items():
        assert status_matches([letter], description)
        assert status_matches([description], letter)
        others = [d for code, d in PM_STATUSES.items() if code != letter]
        assert not status_matches(others, letter)
