"""MagicJson envelope errors and token rules (reference §1.4, §1.7, §1.8, §2)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from frontdesk.sandbox.unity import (
    DEFAULT_SERVICE_PASSWORD,
    DEFAULT_SERVICE_USER,
    ClientCredential,
    ManualClock,
    Sandbox,
    SandboxConfig,
    create_unity_app,
)

if TYPE_CHECKING:
    from conftest import UnityWire, WireOpener

NOT_LICENSED = "Error: Action is not valid for this license."
VARCHAR_TO_INT = "Error converting data type varchar to int."


def logged_out(action: str) -> str:
    return (
        f"Magic Error - Action: {action} - As a Security precaution, you have been logged out "
        "due to inactivity."
    )


@pytest.mark.parametrize(
    "token",
    ["", "not-a-guid", "9C5A74C6-B23B-4707-8A1F-8BC0AA261A8C"],
    ids=["empty", "garbage", "never-issued"],
)
async def test_unknown_token_is_logged_out_with_the_action_in_the_text(
    unity: UnityWire, token: str
) -> None:
    unity.token = token
    assert await unity.error("GetSchedule") == logged_out("GetSchedule")


async def test_token_expires_after_twenty_idle_minutes(
    session: UnityWire, clock: ManualClock
) -> None:
    clock.advance(20 * 60 + 1)
    assert await session.error("GetServerInfo") == logged_out("GetServerInfo")
    clock.advance(1)  # and stays dead: the token was forgotten
    assert "logged out" in await session.error("Echo")


async def test_idle_window_slides_with_every_call(session: UnityWire, clock: ManualClock) -> None:
    for _ in range(3):
        clock.advance(19 * 60)
        await session.rows("GetServerInfo")
    clock.advance(20 * 60)  # exactly the timeout: still alive
    await session.rows("Echo")


async def test_idle_timeout_is_configurable_at_runtime(
    session: UnityWire, sandbox: Sandbox, clock: ManualClock
) -> None:
    sandbox.update_knobs(idle_timeout_seconds=30)
    clock.advance(31)
    assert await session.error("GetServerInfo") == logged_out("GetServerInfo")


async def test_failed_calls_do_not_revive_an_expired_token(
    session: UnityWire, clock: ManualClock
) -> None:
    clock.advance(21 * 60)
    await session.error("GetServerInfo")
    assert "logged out" in await session.error("GetSchedule")


@pytest.mark.parametrize(
    "action", ["GetSchedule", "GetPatientDemographics", "LastLogs"], ids=str.lower
)
async def test_data_actions_need_get_user_authentication_first(
    unity: UnityWire, action: str
) -> None:
    await unity.get_token()
    message = await unity.error(action, PatientID="10001")
    assert message.startswith(f"Magic Error - Action: {action} - ")
    assert "GetUserAuthentication" in message


@pytest.mark.parametrize("action", ["GetServerInfo", "Echo"])
async def test_server_info_and_echo_work_on_an_unbound_token(unity: UnityWire, action: str) -> None:
    await unity.get_token()
    assert len(await unity.rows(action)) == 1


async def test_a_failed_login_leaves_the_token_unbound(unity: UnityWire) -> None:
    await unity.get_token()
    (row,) = await unity.rows("GetUserAuthentication", Parameter1="wrong")
    assert row["ValidUser"] == "NO"
    assert "GetUserAuthentication" in await unity.error("GetSchedule", Parameter4="All")


async def test_bound_token_refuses_another_app_user(session: UnityWire) -> None:
    session.user = "someone-else"
    message = await session.error("GetSchedule", Parameter4="All")
    assert message.startswith("Magic Error - Action: GetSchedule - ")


async def test_bound_user_name_matches_case_insensitively(session: UnityWire) -> None:
    session.user = session.user.upper()
    await session.rows("GetSchedule", Parameter1="03/03/2025", Parameter4="All")


@pytest.mark.parametrize(
    "action",
    ["NoSuchAction", "GetPatient", "GetProviders", "SaveAppointment", "LastLog", ""],
    ids=["unknown", "ehr-only-getpatient", "ehr-only-getproviders", "pm-write", "typo", "empty"],
)
async def test_actions_outside_the_licence_are_not_valid(session: UnityWire, action: str) -> None:
    assert await session.error(action) == NOT_LICENSED


@pytest.mark.parametrize(
    "spelling",
    ["GETSERVERINFO", "getserverinfo", "GetServerInfo\t", "  GetServerInfo"],
    ids=["upper", "lower", "trailing-tab", "leading-blanks"],
)
async def test_action_names_are_trimmed_and_case_insensitive(
    session: UnityWire, spelling: str
) -> None:
    response = await session.magic(spelling)
    assert list(response.json()[0]) == ["getserverinfoinfo"]


async def test_a_credential_licence_limits_its_actions(
    clock: ManualClock, open_wire: WireOpener
) -> None:
    config = SandboxConfig(
        credentials=(
            ClientCredential(
                service_user="10220c34e:0010220^1^svc",
                service_password="pw",
                licensed_actions=("GetUserAuthentication", "GetServerInfo"),
            ),
        )
    )
    app = create_unity_app(config, clock=clock)
    async with open_wire(app, "/UnityService.svc/json") as wire:
        await wire.get_token("10220c34e:0010220^1^svc", "pw")
        (row,) = await wire.rows("GetUserAuthentication", Parameter1="PmSandbox#90")
        assert row == {"ValidUser": "YES", "ErrorMessage": "", "ClientID": "0010220"}
        assert await wire.error("GetSchedule", Parameter4="All") == NOT_LICENSED
        assert await wire.error("Echo") == NOT_LICENSED


@pytest.mark.parametrize(
    "patient_id",
    ["22a", "abc", "1.5", "1e3", "0x10", "12 34", "١٢"],
    ids=["22a-as-captured", "letters", "decimal", "exponent", "hex", "inner-blank", "non-ascii"],
)
async def test_non_numeric_patient_id_is_a_sql_conversion_error(
    session: UnityWire, patient_id: str
) -> None:
    assert await session.error("GetPatientDemographics", PatientID=patient_id) == VARCHAR_TO_INT


async def test_patient_id_beyond_int_overflows(session: UnityWire) -> None:
    message = await session.error("GetPatientDemographics", PatientID="99999999999")
    assert message == "The conversion of the varchar value '99999999999' overflowed an int column."


@pytest.mark.parametrize(
    "patient_id", ["-22", "0", "", "999999"], ids=["negative-as-captured", "zero", "empty", "high"]
)
async def test_unknown_patient_is_an_empty_row_list_not_an_error(
    session: UnityWire, patient_id: str
) -> None:
    assert await session.rows("GetPatientDemographics", PatientID=patient_id) == []


async def test_wrong_appname_on_magic_is_refused(session: UnityWire) -> None:
    session.appname = "Other.App.TestApp"
    message = await session.error("GetServerInfo")
    assert message == "Error: Other.App.TestApp is not supported on PM version 10.4.2"


@pytest.mark.parametrize(
    "content",
    [b"{oops", b"[1, 2]", b'"GetServerInfo"', b'{"Action": {"nested": 1}}', b"\xff\xfe"],
    ids=["broken-json", "array", "string", "nested-member", "not-utf8"],
)
async def test_malformed_magic_body_is_object_reference_error(
    client: httpx.AsyncClient, content: bytes
) -> None:
    response = await client.post("/UnityService.svc/json/MagicJson", content=content)
    assert response.status_code == 200
    assert response.json() == [{"Error": "Object reference not set to an instance of an object."}]


async def test_null_and_missing_members_read_as_empty(session: UnityWire) -> None:
    body: dict[str, object] = {"Action": "Echo", "Token": session.token}
    body["Appname"] = session.appname
    body |= {"AppUserID": None, "PatientID": None, "Parameter3": 7}
    response = await session.client.post(f"{session.base}/MagicJson", json=body)
    (row,) = response.json()[0]["echoinfo"]
    assert row["userid"] == ""
    assert row["patientid"] == ""
    assert row["parameter3"] == "7"
    assert row["data"] == ""


async def test_get_token_for_the_default_credential_is_documented(unity: UnityWire) -> None:
    response = await unity.get_token(DEFAULT_SERVICE_USER, DEFAULT_SERVICE_PASSWORD)
    assert response.status_code == 200
    assert len(response.text) == 36
