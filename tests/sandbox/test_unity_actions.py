"""The Magic actions of the integration, row by row (reference §3, §4)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import pytest

from frontdesk.sandbox.unity import (
    ClientCredential,
    ManualClock,
    Sandbox,
    SandboxConfig,
    create_unity_app,
)

if TYPE_CHECKING:
    from conftest import UnityWire, WireOpener

G_DATETIME = re.compile(r"^\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2} (AM|PM)$")
MDY = re.compile(r"^\d{2}/\d{2}/\d{4}$")
HHMM = re.compile(r"^\d{2}:\d{2}$")
MONDAY = date(2025, 3, 3)

PM_SCHEDULE_FIELDS = {
    "LocationName", "Practitioner_Name", "TimeOut", "Link_Control_Number", "Duration",
    "Comment", "patient", "base64image", "organizationMRN", "Status", "PatientFirstName",
    "SchedComment", "ApptTime2", "appttype", "ApptTime", "AppointmentID", "SchedText",
    "OrganizationID", "TimeStart", "Practitioner_ID", "ProviderID", "OrgName",
    "PatientLastName", "Patient_DOB", "TimeIn", "statuscolor", "Provider", "type",
    "patientID", "username",
}  # fmt: skip
PM_DEMOGRAPHICS_FIELDS = {
    "Patient_ID", "Patient_Number", "Patient_Med_Rec_No", "Patient_Enterprise_Number",
    "Account_ID", "Account_Number", "Account_Type_Abbr", "Account_Type_Desc", "Contact_ID",
    "First_Name", "Middle_Initial", "Last_Name", "Suffix", "DOB", "Sex", "Marital_Status",
    "Race", "Ethnicity", "Language", "HomePhone", "Work_Phone", "Work_Phone_Ext",
    "Cell_Phone", "Email_Address", "Street1", "Street2", "City", "State", "Zip_Code", "SSN",
    "HideSSN", "SuppressSSN", "PCP_Name", "PCP_Abbr", "Usual_Provider_Name",
    "Usual_Provider_Abbr", "ReferringDr_Name", "ReferringDr_Abbr", "Patient_Employer_ID",
    "Patient_Employer_Abbr", "Patient_Employer_Name", "Emergency_Contact",
    "EmergencyContactRelation", "Is_Guarantor", "Is_Patient", "RelationToGuarantor",
    "Guarantor_Name", "Guarantor_First_Name", "Guarantor_Last_Name", "Guarantor_MI",
    "Guarantor_Suffix", "Guarantor_DOB", "Guarantor_SSN", "Guarantor_Street1",
    "Guarantor_Street2", "Guarantor_City", "Guarantor_State", "Guarantor_Zip_Code",
    "Guarantor_Country", "Guarantor_Home_Phone", "Guarantor_Work_Phone", "Guarantor_Work_Ext",
    "Guarantor_Cell_Phone", "Guarantor_Email", "HIPAAStmtExp",
}  # fmt: skip


def all_strings(rows: list[dict[str, str]]) -> bool:
    return all(isinstance(value, str) for row in rows for value in row.values())


# GetServerInfo ---------------------------------------------------------------------------


async def test_server_info_has_the_six_fields_in_local_time(
    unity: UnityWire, clock: ManualClock
) -> None:
    clock.set(datetime(2025, 7, 4, 16, 5, 9, 29200, tzinfo=UTC))
    await unity.get_token()
    (row,) = await unity.rows("GetServerInfo")
    assert row == {
        "ServerTimeZone": "Eastern Standard Time",
        "ServerTime": "2025-07-04T12:05:09",
        "ServerDateTimeOffset": "2025-07-04T12:05:09.0292000-04:00",
        "System": "Allscripts Practice Management",
        "ProductVersion": "10.4.2.31.000",
        "uaibornondate": "03/18/2021",
    }


async def test_server_info_offset_follows_standard_time(unity: UnityWire) -> None:
    await unity.get_token()
    (row,) = await unity.rows("GetServerInfo")
    assert row["ServerDateTimeOffset"].endswith("-05:00")  # 3 March: EST


# GetUserAuthentication -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "password", "valid", "message"),
    [
        ("frontdesk", "PmSandbox#90", "YES", ""),
        ("FrontDesk", "PmSandbox#90", "YES", ""),
        ("frontdesk", "pmsandbox#90", "NO", "Invalid user name or password."),
        ("frontdesk", "", "NO", "Invalid user name or password."),
        ("nobody", "PmSandbox#90", "NO", "Invalid user name or password."),
    ],
    ids=["valid", "user-name-any-case", "password-case-matters", "no-password", "unknown-user"],
)
async def test_get_user_authentication(
    unity: UnityWire, user: str, password: str, valid: str, message: str
) -> None:
    await unity.get_token()
    unity.user = user
    (row,) = await unity.rows("GetUserAuthentication", Parameter1=password)
    assert row == {"ValidUser": valid, "ErrorMessage": message, "ClientID": "PMGA02"}


async def test_expired_pm_password_answers_no_saying_it_expired(
    unity: UnityWire, sandbox: Sandbox
) -> None:
    assert sandbox.expire_password("frontdesk") == 1
    await unity.get_token()
    (row,) = await unity.rows("GetUserAuthentication", Parameter1="PmSandbox#90")
    assert row["ValidUser"] == "NO"
    assert "password" in row["ErrorMessage"].lower()
    assert "expired" in row["ErrorMessage"].lower()
    sandbox.renew_password("frontdesk", password="NewPass#91")
    (row,) = await unity.rows("GetUserAuthentication", Parameter1="NewPass#91")
    assert row["ValidUser"] == "YES"


async def test_lockout_after_failures_when_configured(
    clock: ManualClock, open_wire: WireOpener
) -> None:
    credential = ClientCredential(
        service_user="svc", service_password="pw", lockout_after_failures=3
    )
    app = create_unity_app(SandboxConfig(credentials=(credential,)), clock=clock)
    async with open_wire(app) as wire:
        await wire.get_token("svc", "pw")
        for _ in range(3):
            (row,) = await wire.rows("GetUserAuthentication", Parameter1="wrong")
            assert row["ErrorMessage"] == "Invalid user name or password."
        (row,) = await wire.rows("GetUserAuthentication", Parameter1="PmSandbox#90")
        assert row["ValidUser"] == "NO"
        assert "locked" in row["ErrorMessage"]
        app.state.sandbox.renew_password("frontdesk")
        (row,) = await wire.rows("GetUserAuthentication", Parameter1="PmSandbox#90")
        assert row["ValidUser"] == "YES"


# GetSchedule -----------------------------------------------------------------------------


async def test_schedule_rows_have_exactly_the_pm_fields_all_strings(session: UnityWire) -> None:
    rows = await session.rows("GetSchedule", Parameter1="03/03/2025", Parameter4="All")
    assert rows
    assert all(set(row) == PM_SCHEDULE_FIELDS for row in rows)
    assert all_strings(rows)


async def test_schedule_is_exactly_the_practice_appointments_of_the_day(
    session: UnityWire, sandbox: Sandbox
) -> None:
    rows = await session.rows("GetSchedule", Parameter1="3/3/2025", Parameter4="All")
    expected = sandbox.practice.appointments_on(MONDAY)
    assert [row["AppointmentID"] for row in rows] == [str(a.appointment_id) for a in expected]
    assert len(rows) == 6 * 25


async def test_schedule_row_values_and_formats(session: UnityWire, sandbox: Sandbox) -> None:
    rows = await session.rows("GetSchedule", Parameter1="03/03/2025", Parameter4="All")
    practice = sandbox.practice
    for row, appointment in zip(rows, practice.appointments_on(MONDAY), strict=True):
        patient = practice.patient(appointment.patient_id)
        assert patient is not None
        assert G_DATETIME.match(row["ApptTime2"])
        start = datetime.strptime(row["ApptTime2"], "%m/%d/%Y %I:%M:%S %p")
        assert start == appointment.start
        assert row["ApptTime"] == row["TimeStart"] == start.strftime("%H:%M")
        assert HHMM.match(row["TimeIn"]) or row["TimeIn"] == ""
        assert MDY.match(row["Patient_DOB"])
        assert row["Patient_DOB"] == patient.birth_date.strftime("%m/%d/%Y")
        assert row["patientID"] == str(patient.patient_id)
        assert row["LocationName"] == appointment.location.name
        assert row["Status"] == appointment.status.description
        assert len(row["appttype"]) == 10  # CHAR(10), blank-padded
        assert row["appttype"].rstrip() == appointment.appointment_type.abbreviation
        assert row["Duration"].isdigit()
        assert row["base64image"] == ""


async def test_schedule_statuses_are_pm_descriptions(session: UnityWire) -> None:
    rows = await session.rows("GetSchedule", Parameter1="03/03/2025|03/07/2025", Parameter4="All")
    assert {row["Status"] for row in rows} == {
        "Acknowledge", "Confirmed", "Scheduled", "Cancelled", "No Show", "Bumped", "Wait Listed",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("parameter1", "first", "last"),
    [
        ("03/03/2025", MONDAY, MONDAY),
        ("3/3/2025", MONDAY, MONDAY),
        ("2025-03-03", MONDAY, MONDAY),
        ("03/01/2025|03/04/2025", date(2025, 3, 1), date(2025, 3, 4)),
        ("3/1/2025|3/4/2025", date(2025, 3, 1), date(2025, 3, 4)),
        ("03/03/2025|", MONDAY, MONDAY),
        ("", MONDAY, MONDAY),
    ],
    ids=["mmddyyyy", "no-leading-zeros", "iso", "range", "range-short", "open-range", "today"],
)
async def test_schedule_date_parameter(
    session: UnityWire, sandbox: Sandbox, parameter1: str, first: date, last: date
) -> None:
    rows = await session.rows("GetSchedule", Parameter1=parameter1, Parameter4="All")
    expected = list(sandbox.practice.appointments_between(first, last))
    assert [row["AppointmentID"] for row in rows] == [str(a.appointment_id) for a in expected]


async def test_reversed_range_is_empty(session: UnityWire) -> None:
    assert await session.rows("GetSchedule", Parameter1="03/04/2025|03/03/2025") == []


@pytest.mark.parametrize(
    ("parameter", "value"),
    [("Parameter1", "13/45/2025"), ("Parameter1", "tomorrow"), ("Parameter2", "yesterday")],
    ids=["impossible-date", "word-date", "word-changed-since"],
)
async def test_unreadable_dates_are_sql_conversion_errors(
    session: UnityWire, parameter: str, value: str
) -> None:
    members = {"Parameter1": "03/03/2025", "Parameter4": "All", parameter: value}
    message = await session.error("GetSchedule", **members)
    assert message == "Error converting data type varchar to datetime."


async def test_empty_parameter4_reads_the_app_users_own_schedule(session: UnityWire) -> None:
    # The integration user schedules nobody, so its own schedule is empty.
    assert await session.rows("GetSchedule", Parameter1="03/03/2025") == []


async def test_parameter4_filters_by_practitioner_user(
    session: UnityWire, sandbox: Sandbox
) -> None:
    first, second = sandbox.practice.enterprise.practitioners[:2]
    members = {
        "Parameter1": "03/03/2025",
        "Parameter4": f"{first.username.upper()}|{second.username}",
    }
    rows = await session.rows("GetSchedule", **members)
    expected = [
        str(a.appointment_id)
        for a in sandbox.practice.appointments_on(MONDAY)
        if a.practitioner in (first, second)
    ]
    assert expected
    assert [row["AppointmentID"] for row in rows] == expected
    assert {row["username"] for row in rows} == {first.username, second.username}


@pytest.mark.parametrize(
    ("parameter6", "expected"),
    [
        ("Acknowledge", {"Acknowledge"}),
        ("A", {"Acknowledge"}),
        ("cancelled|N", {"Cancelled", "No Show"}),
        (
            "All",
            {
                "Acknowledge",
                "Confirmed",
                "Scheduled",
                "Cancelled",
                "No Show",
                "Bumped",
                "Wait Listed",
            },
        ),
    ],
    ids=["description", "pm-letter", "mixed-list", "all"],
)
async def test_parameter6_filters_statuses(
    session: UnityWire, parameter6: str, expected: set[str]
) -> None:
    rows = await session.rows(
        "GetSchedule", Parameter1="03/03/2025|03/07/2025", Parameter4="All", Parameter6=parameter6
    )
    assert {row["Status"] for row in rows} == expected


async def test_parameter5_filters_appointment_types(session: UnityWire) -> None:
    rows = await session.rows(
        "GetSchedule",
        Parameter1="03/03/2025|03/07/2025",
        Parameter4="All",
        Parameter5="WELLBAB1|sick",
    )
    assert rows
    assert {row["appttype"].rstrip() for row in rows} == {"WELLBAB1", "SICK"}


async def test_parameter2_returns_only_rows_changed_since(
    session: UnityWire, sandbox: Sandbox
) -> None:
    since = datetime(2025, 2, 20, 12, 0)
    rows = await session.rows(
        "GetSchedule", Parameter1="03/03/2025", Parameter2="2/20/2025 12:00 PM", Parameter4="All"
    )
    expected = [
        str(a.appointment_id)
        for a in sandbox.practice.appointments_on(MONDAY)
        if a.changed_at > since
    ]
    assert 0 < len(expected) < 150
    assert [row["AppointmentID"] for row in rows] == expected


async def test_parameter3_y_fills_the_picture(session: UnityWire) -> None:
    rows = await session.rows(
        "GetSchedule", Parameter1="03/03/2025", Parameter3="Y", Parameter4="All"
    )
    assert all(row["base64image"].startswith("/9j/") for row in rows)


# GetPatientDemographics ------------------------------------------------------------------


async def test_demographics_row_has_the_pm_fields_and_matches_the_patient(
    session: UnityWire, sandbox: Sandbox
) -> None:
    appointment = sandbox.practice.appointments_on(MONDAY)[0]
    patient = sandbox.practice.patient(appointment.patient_id)
    assert patient is not None
    (row,) = await session.rows("GetPatientDemographics", PatientID=str(patient.patient_id))
    assert set(row) == PM_DEMOGRAPHICS_FIELDS
    assert all_strings([row])
    assert MDY.match(row["DOB"])
    assert row["DOB"] == patient.birth_date.strftime("%m/%d/%Y")
    assert (row["First_Name"], row["Last_Name"]) == (patient.first_name, patient.last_name)
    assert row["Cell_Phone"] == patient.cell_phone
    assert row["HomePhone"] == patient.home_phone
    assert row["Email_Address"] == patient.email
    assert row["Sex"] in {"M", "F"}
    assert len(row["Zip_Code"]) == 10


async def test_demographics_accepts_sql_tolerated_spellings(
    session: UnityWire, sandbox: Sandbox
) -> None:
    (row,) = await session.rows("GetPatientDemographics", PatientID=" +10001 ")
    assert row["Patient_ID"] == "10001"


async def test_minor_has_a_parent_as_guarantor(session: UnityWire, sandbox: Sandbox) -> None:
    minor = next(
        p
        for pid in range(10001, 10400)
        if (p := sandbox.practice.patient(pid)) is not None and p.guarantor is not None
    )
    (row,) = await session.rows("GetPatientDemographics", PatientID=str(minor.patient_id))
    assert (row["Is_Guarantor"], row["RelationToGuarantor"]) == ("N", "Child")
    assert row["Guarantor_Last_Name"] == minor.last_name


# LastLogs and Echo -----------------------------------------------------------------------


async def test_last_logs_records_calls_and_errors_newest_first(session: UnityWire) -> None:
    await session.magic("GetPatientDemographics", PatientID="22a")
    await session.magic("GetServerInfo")
    rows = await session.rows("LastLogs", Parameter3="2")
    assert [row["Action"] for row in rows] == ["GetServerInfo", "GetPatientDemographics"]
    assert [row["IsError"] for row in rows] == ["N", "Y"]
    assert rows[1]["Message"] == "Error converting data type varchar to int."
    assert set(rows[0]) == {
        "LogID", "LogDateTime", "Source", "Action", "UserID", "Appname", "IsError", "Message",
        "ElapsedMS",
    }  # fmt: skip
    assert G_DATETIME.match(rows[0]["LogDateTime"])


async def test_last_logs_errors_only_and_default_count(session: UnityWire) -> None:
    for _ in range(12):
        await session.magic("GetServerInfo")
    await session.magic("NoSuchAction")
    assert len(await session.rows("LastLogs")) == 10
    errors = await session.rows("LastLogs", Parameter1="Y", Parameter3="50")
    assert [row["Message"] for row in errors] == ["Error: Action is not valid for this license."]


async def test_last_logs_shows_only_the_callers_credential(
    session: UnityWire, sandbox: Sandbox
) -> None:
    sandbox.server_log.record("other", logged_at=sandbox.now(), action="X", error="boom")
    rows = await session.rows("LastLogs", Parameter3="100")
    assert "X" not in {row["Action"] for row in rows}


async def test_echo_returns_the_request_members(unity: UnityWire) -> None:
    await unity.get_token()
    (row,) = await unity.rows(
        "Echo", PatientID="42", Parameter1="a", Parameter6="f", Data="ZGF0YQ=="
    )
    assert row == {
        "userid": "frontdesk",
        "appname": "Frontdesk.ReviewHub.TestApp",
        "patientid": "42",
        "parameter1": "a",
        "parameter2": "",
        "parameter3": "",
        "parameter4": "",
        "parameter5": "",
        "parameter6": "f",
        "data": "ZGF0YQ==",
    }
