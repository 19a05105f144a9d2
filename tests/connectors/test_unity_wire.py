"""Parsers and mappers on recorded payloads (reference field spellings), and configuration."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr

from frontdesk.composition import builtin_sources
from frontdesk.connectors.allscripts import mapping, wire
from frontdesk.connectors.allscripts.config import UnityGroupConfig, json_base_url
from frontdesk.connectors.allscripts.connector import UnityConnector
from frontdesk.connectors.allscripts.errors import (
    SessionExpired,
    http_error,
    login_refused,
    magic_error,
    token_error,
)
from frontdesk.connectors.base import Appointment, Guardian, Patient, Window
from frontdesk.connectors.errors import (
    CredentialsRejected,
    EndpointNotFound,
    MissingLicense,
    ProtocolViolation,
    RateLimited,
    RemoteRejected,
    RemoteServerError,
)
from frontdesk.connectors.spec import SourceRegistry
from frontdesk.errors import ConfigurationError, FatalError, TransientError, Unauthorized
from frontdesk.plugins import Plugins
from frontdesk.settings import Settings, UnitySettings

EASTERN = ZoneInfo("America/New_York")
PAYLOADS = Path(__file__).parent / "payloads"
SANDBOX_SERVICE_USER = "VHCP001PM:PMGA02^8^"


def payload_bytes(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


def payload(name: str) -> Any:
    return json.loads(payload_bytes(name))


def group_properties(**changes: str) -> dict[str, str]:
    return {
        "User_Name": SANDBOX_SERVICE_USER,
        "pms_user_name": "frontdesk",
        "PM_Password": "PmSandbox#90",
        **changes,
    }


def unity_settings(**unity: Any) -> Settings:
    values: dict[str, Any] = {
        "url": "http://unity.test/UnityService.svc/json",
        "appname": "Frontdesk.ReviewHub.TestApp",
        "service_username": "Front-4d2e-FrontDesk-test",
        "service_password": SecretStr("Sandbox-Svc-Pass-1"),
    }
    return Settings(unity=UnitySettings(**(values | unity)))


def rows_of(name: str, action: str) -> list[dict[str, str]]:
    reply = wire.parse_magic_reply(action, payload_bytes(name))
    assert isinstance(reply, list)
    return reply


def test_server_info_payload() -> None:
    (row,) = rows_of("getserverinfo.json", "GetServerInfo")
    info = mapping.server_info(row)
    assert info.iana_zone == "America/New_York"
    assert info.time_zone_name == "Eastern Standard Time"
    assert info.product_version == "10.4.2.31.000"
    assert info.system == "Allscripts Practice Management"
    assert info.server_time == datetime(2025, 3, 3, 9, tzinfo=timezone(timedelta(hours=-5)))


def test_server_info_with_an_unknown_zone_uses_the_offset() -> None:
    info = mapping.server_info(
        {
            "ServerTimeZone": "Martian Standard Time",
            "ServerDateTimeOffset": "2013-10-29T10:30:45.0292000-04:00",
        }
    )
    assert info.iana_zone is None
    assert info.zone.utcoffset(None) == timedelta(hours=-4)


def test_schedule_payload_maps_to_appointments() -> None:
    rows = rows_of("getschedule_pm.json", "GetSchedule")
    first = mapping.appointment(rows[0], EASTERN)
    assert isinstance(first, Appointment)
    assert first.source_appointment_id == "274303001"
    assert first.patient_id == "12887"
    assert first.start == datetime(2025, 3, 3, 8, 0, tzinfo=EASTERN)
    assert first.start.utcoffset() == timedelta(hours=-5)
    assert first.status == "Confirmed"
    assert first.appointment_type == "PHYSICAL"  # CHAR(10) padding trimmed
    assert first.appointment_type_description == "Annual Physical"
    assert first.location_name == "Loudoun Office"
    assert first.practitioner == "McDonald, Richard O"
    assert first.patient is None


def test_schedule_variants_are_trimmed_parsed_or_rejected() -> None:
    rows = rows_of("getschedule_pm_variants.json", "GetSchedule")
    results = [mapping.appointment(row, EASTERN) for row in rows]
    good = [r for r in results if isinstance(r, Appointment)]
    rejected = [r for r in results if isinstance(r, mapping.RejectedRow)]
    by_id = {a.source_appointment_id: a for a in good}
    assert by_id["900001"].status == "A"
    assert by_id["900001"].location_name == "Loudoun Office"
    assert by_id["900001"].start.hour == 13
    assert by_id["900002"].start == datetime(2025, 3, 3, 13, 30, tzinfo=EASTERN)
    assert by_id["900002"].status == "No Show"
    assert by_id["900002"].patient_id == "12887"
    assert by_id["900003"].start == datetime(2025, 3, 3, 14, 45, tzinfo=EASTERN)
    assert by_id["900003"].practitioner == "Richard O McDonald, PA-C"  # Provider fall-back
    assert by_id["900004"].start == datetime(2025, 3, 3, 15, 0, tzinfo=EASTERN)
    assert [(r.appointment_id, r.reason) for r in rejected] == [
        ("", "no AppointmentID"),
        ("900006", "ApptTime2 is missing or unreadable"),
    ]


def test_demographics_payload_maps_to_a_patient() -> None:
    (row,) = rows_of("getpatientdemographics.json", "GetPatientDemographics")
    raw = payload("getpatientdemographics.json")[0]["getpatientdemographicsinfo"][0]
    patient = mapping.patient(row, "12887")
    assert patient.patient_id == "12887"
    assert patient.first_name == raw["First_Name"].strip()
    assert patient.last_name == raw["Last_Name"].strip()
    assert patient.birth_date is not None
    assert patient.birth_date.strftime("%m/%d/%Y") == raw["DOB"]
    assert patient.cell_phone == raw["Cell_Phone"].strip()
    assert patient.home_phone == raw["HomePhone"].strip()
    assert patient.email == raw["Email_Address"].strip()


def test_a_patient_who_is_their_own_guarantor_has_no_guardian() -> None:
    (row,) = rows_of("getpatientdemographics.json", "GetPatientDemographics")
    assert row["RelationToGuarantor"] == "Self"
    assert mapping.patient(row, "12887").guardian is None


CHILD = {
    "Is_Guarantor": "N",
    "RelationToGuarantor": "Child",
    "Guarantor_First_Name": "Maria  ",
    "Guarantor_Last_Name": "Mitchell",
    "Guarantor_Email": " maria.mitchell7@example.net ",
    "Guarantor_Cell_Phone": "(571) 555-0142",
    "Guarantor_Home_Phone": "(571) 555-0113",
}


def test_a_minors_guarantor_becomes_their_guardian() -> None:
    (row,) = rows_of("getpatientdemographics.json", "GetPatientDemographics")
    patient = mapping.patient({**row, **CHILD}, "12887")
    assert patient.guardian == Guardian(
        first_name="Maria",
        last_name="Mitchell",
        email="maria.mitchell7@example.net",
        cell_phone="(571) 555-0142",
        home_phone="(571) 555-0113",
        relation="Child",
    )
    text = repr(patient) + repr(patient.guardian)
    for secret in ("Maria", "maria.mitchell7", "555-0142", "555-0113"):
        assert secret not in text


@pytest.mark.parametrize(
    ("change", "has_guardian"),
    [
        pytest.param({"RelationToGuarantor": "Self", "Is_Guarantor": "Y"}, False, id="self"),
        pytest.param({"RelationToGuarantor": " SELF ", "Is_Guarantor": ""}, False, id="SELF"),
        pytest.param(
            {"RelationToGuarantor": "", "Is_Guarantor": "N"}, True, id="only Is_Guarantor N"
        ),
        pytest.param({"RelationToGuarantor": "Ward", "Is_Guarantor": ""}, True, id="a ward"),
        pytest.param(
            {k: "" for k in CHILD if k.startswith("Guarantor_")},
            False,
            id="nobody named and no contact",
        ),
    ],
)
def test_who_counts_as_a_guardian(change: dict[str, str], has_guardian: bool) -> None:
    (row,) = rows_of("getpatientdemographics.json", "GetPatientDemographics")
    patient = mapping.patient({**row, **CHILD, **change}, "12887")
    assert (patient.guardian is not None) == has_guardian


def test_patient_and_appointment_repr_hide_patient_fields() -> None:
    (row,) = rows_of("getpatientdemographics.json", "GetPatientDemographics")
    patient = mapping.patient(row, "12887")
    rows = rows_of("getschedule_pm.json", "GetSchedule")
    appointment = mapping.appointment(rows[0], EASTERN)
    assert isinstance(appointment, Appointment)
    text = repr(patient) + repr(Appointment(**{**appointment.__dict__, "patient": patient}))
    for secret in (patient.first_name, patient.last_name, patient.email, patient.cell_phone):
        if secret:
            assert secret not in text
    assert str(patient.birth_date) not in text
    assert "12887" in text


def test_unknown_patient_is_an_empty_row_list() -> None:
    assert rows_of("getpatientdemographics_unknown.json", "GetPatientDemographics") == []


def test_last_logs_payload() -> None:
    entries = [mapping.log_entry(r) for r in rows_of("lastlogs_errors.json", "LastLogs")]
    assert entries[0].log_id == "12"
    assert entries[0].message.startswith("HTTP 500")
    assert entries[1].action == "GetProviders"


@pytest.mark.parametrize(
    ("name", "action", "error_type"),
    [
        ("error_logged_out.json", "GetSchedule", SessionExpired),
        ("getschedule_not_authenticated.json", "GetSchedule", SessionExpired),
        ("error_not_licensed.json", "GetProviders", MissingLicense),
        ("error_varchar_to_int.json", "GetPatientDemographics", RemoteRejected),
    ],
)
def test_magic_error_payloads_are_classified(
    name: str, action: str, error_type: type[Exception]
) -> None:
    reply = wire.parse_magic_reply(action, payload_bytes(name))
    assert isinstance(reply, wire.MagicErrorReply)
    error = magic_error(action, reply.text)
    assert isinstance(error, error_type)
    if isinstance(error, MissingLicense):
        assert error.action == action
        assert action in str(error)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("getuserauthentication_wrong_password.json", "wrong_pm_password"),
        ("getuserauthentication_expired.json", "pm_password_expired"),
    ],
)
def test_valid_user_no_is_classified(name: str, reason: str) -> None:
    (row,) = rows_of(name, "GetUserAuthentication")
    assert row["ValidUser"] == "NO"
    error = login_refused(row["ErrorMessage"])
    assert isinstance(error, Unauthorized)
    assert error.reason == reason
    assert error.field == "PM_Password"
    if reason == "pm_password_expired":
        assert "expired" in error.message


def test_locked_account() -> None:
    error = login_refused("This user account is locked because of too many failed logins.")
    assert error.reason == "pm_account_locked"


def test_token_replies() -> None:
    replies = payload("gettoken_replies.json")
    assert wire.parse_token_reply(replies["token"].encode()) == replies["token"]
    assert wire.parse_token_reply(replies["token_quoted"].encode()) == (
        "12345678-90AB-CDEF-1234-567890ABCDEF"
    )
    bad = wire.parse_token_reply(replies["bad_service_login"].encode())
    assert wire.is_token_error(bad)
    rejected = token_error(bad)
    assert isinstance(rejected, CredentialsRejected)
    assert rejected.reason == "wrong_service_credentials"
    app = token_error(replies["app_not_supported"])
    assert isinstance(app, ConfigurationError)
    assert not isinstance(app, Unauthorized)
    assert app.code == "app_not_supported"


BROKEN = [
    b"",
    b"[{",
    b"<html><body>Server Error</body></html>",
    b'<?xml version="1.0"?><string>Object reference not set</string>',
    b"42",
    b"[]",
    b'[{"somethingelse": []}]',
    b'[{"getscheduleinfo": "nope"}]',
    b'[{"getscheduleinfo": [1, 2]}]',
    b'[{"getscheduleinfo": [{"a": {"b": 1}}]}]',
    b'[{"getscheduleinfo": [{"a": "\xff"}]}]',  # not UTF-8
    b'\xef\xbb\xbf[{"getscheduleinfo": []}]',  # a byte-order mark
    b'[{"getscheduleinfo": []}] trailing',
    b'[{"getscheduleinfo": [{"a": "b"}]}',  # cut off
]


@pytest.mark.parametrize("body", BROKEN, ids=[f"broken{i}" for i in range(len(BROKEN))])
def test_malformed_magic_bodies_are_protocol_violations(body: bytes) -> None:
    with pytest.raises(ProtocolViolation) as caught:
        wire.parse_magic_reply("GetSchedule", body)
    assert isinstance(caught.value, FatalError)
    if body:
        text = body.decode(errors="replace")[:12]
        assert text not in str(caught.value) or text == "42"


@pytest.mark.parametrize("body", [b"", b"<html>", b"not-a-guid", b"\xff\xfe"])
def test_malformed_token_bodies_are_protocol_violations(body: bytes) -> None:
    with pytest.raises(ProtocolViolation):
        wire.parse_token_reply(body)


def test_non_ascii_values_and_escapes_come_through() -> None:
    body = '[{"getscheduleinfo": [{"Patient": "Zoë Ñúñez", "Note": "a\\u00e9\\n"}]}]'
    rows = wire.parse_magic_reply("GetSchedule", body.encode("utf-8"))
    assert rows == [{"Patient": "Zoë Ñúñez", "Note": "aé\n"}]


def test_lenient_envelopes() -> None:
    assert wire.parse_magic_reply("GetSchedule", b'[{"GetScheduleInfo": []}]') == []
    assert wire.parse_magic_reply("GetSchedule", b'[{"getscheduleinfo": null}]') == []
    assert wire.parse_magic_reply("GetTokenValidation", b'[{"tableinfo": [{"a": 1}]}]') == [
        {"a": "1"}
    ]
    one = wire.parse_magic_reply("GetSchedule", b'{"getscheduleinfo": {"a": null}}')
    assert one == [{"a": ""}]


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (500, RemoteServerError),
        (503, RemoteServerError),
        (504, RemoteServerError),
        (429, RateLimited),
        (401, CredentialsRejected),
        (403, CredentialsRejected),
        (404, EndpointNotFound),
        (400, ProtocolViolation),
        (302, ProtocolViolation),
    ],
)
def test_http_statuses_are_classified(status: int, error_type: type[Exception]) -> None:
    error = http_error("GetSchedule", status, "3", content_length=10)
    assert isinstance(error, error_type)
    assert str(status) in str(error)
    if isinstance(error, RateLimited):
        assert error.retry_after_s == 3.0
    assert isinstance(error, TransientError) == (status >= 500 or status == 429)


def test_magic_body_members() -> None:
    body = json.loads(
        wire.magic_body(
            action="GetSchedule",
            app_user_id="frontdesk",
            appname="App",
            token="T",
            parameters=("03/03/2025", "", "N", "All"),
        )
    )
    assert list(body) == [
        "Action",
        "AppUserID",
        "Appname",
        "PatientID",
        "Token",
        *(f"Parameter{n}" for n in range(1, 7)),
        "Data",
    ]
    assert body["Parameter4"] == "All"
    assert body["Parameter6"] == ""


# -- configuration ------------------------------------------------------------------------


def test_config_glues_the_service_user_to_the_service_username() -> None:
    config = UnityGroupConfig.from_properties(group_properties(), unity_settings())
    assert config.token_username == "VHCP001PM:PMGA02^8^Front-4d2e-FrontDesk-test"
    assert config.client_id == "PMGA02"
    assert config.pm_user == "frontdesk"
    assert config.base_url == "http://unity.test/UnityService.svc/json"
    text = repr(config)
    assert "PmSandbox" not in text
    assert "Sandbox-Svc-Pass" not in text


def test_group_url_overrides_the_app_url() -> None:
    properties = group_properties(
        **{"allscripts.unity.url": "https://pm.example/UnityPM/UnityService.svc/json/"}
    )
    config = UnityGroupConfig.from_properties(properties, unity_settings())
    assert config.base_url == "https://pm.example/UnityPM/UnityService.svc/json"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://h/UnityService.svc/json", "https://h/UnityService.svc/json"),
        ("https://h/UnityService.svc/json/", "https://h/UnityService.svc/json"),
        ("https://h/UnityPM/unityservice.svc", "https://h/UnityPM/unityservice.svc/json"),
        ("https://h/somewhere", None),
        ("ftp://h/UnityService.svc/json", None),
        ("not a url", None),
    ],
)
def test_json_base_url(url: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(ConfigurationError) as caught:
            json_base_url(url, "allscripts.unity.url")
        assert caught.value.field == "allscripts.unity.url"
        assert url not in str(caught.value)
    else:
        assert json_base_url(url, "allscripts.unity.url") == expected


@pytest.mark.parametrize("key", ["User_Name", "pms_user_name", "PM_Password"])
def test_missing_property_names_the_key_not_the_value(key: str) -> None:
    properties = group_properties()
    secret = properties[key]
    properties[key] = "   "
    with pytest.raises(ConfigurationError) as caught:
        Plugins.of(builtin_sources(), []).connector("ALLSCRIPTS", properties, unity_settings())
    assert caught.value.field == key
    assert key in str(caught.value)
    assert secret not in str(caught.value)
    del properties[key]
    with pytest.raises(ConfigurationError):
        Plugins.of(builtin_sources(), []).connector("ALLSCRIPTS", properties, unity_settings())


def test_bad_service_user_shape_and_missing_service_password() -> None:
    with pytest.raises(ConfigurationError) as caught:
        UnityGroupConfig.from_properties(group_properties(User_Name="nocolon"), unity_settings())
    assert "nocolon" not in str(caught.value)
    with pytest.raises(ConfigurationError) as caught:
        UnityGroupConfig.from_properties(group_properties(), unity_settings(service_password=""))
    assert caught.value.field == "unity.service_password"


async def test_registry() -> None:
    sources = SourceRegistry(builtin_sources())
    assert [source.spec.name for source in sources] == ["ALLSCRIPTS", "FHIR_R4", "HL7V2"]
    assert sources.get("allscripts") is sources.get("ALLSCRIPTS")
    plugins = Plugins(sources=sources)
    assert plugins.spec("Allscripts") is sources.get("ALLSCRIPTS").spec
    connector = plugins.connector("allscripts", group_properties(), unity_settings())
    assert isinstance(connector, UnityConnector)
    await connector.aclose()
    assert plugins.spec("EPIC") is None
    with pytest.raises(ConfigurationError) as caught:
        sources.get("EPIC")
    assert caught.value.field == "source"
    assert "EPIC" in str(caught.value)
    with pytest.raises(ConfigurationError):
        plugins.connector("EPIC", group_properties(), unity_settings())
    with pytest.raises(ValueError, match="twice"):
        sources.add(sources.get("ALLSCRIPTS"))


def test_window() -> None:
    window = Window(date(2025, 3, 1), date(2025, 3, 3))
    assert list(window.days()) == [date(2025, 3, 1), date(2025, 3, 2), date(2025, 3, 3)]
    with pytest.raises(ValueError, match="before"):
        Window(date(2025, 3, 3), date(2025, 3, 1))
    with pytest.raises(ValueError, match="longer"):
        Window(date(2025, 1, 1), date(2025, 6, 1))
    assert Window.day(date(2025, 3, 3)).first == date(2025, 3, 3)


def test_patient_defaults() -> None:
    assert Patient("1").birth_date is None
