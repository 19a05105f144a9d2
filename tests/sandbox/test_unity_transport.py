"""Transport: URL layouts, GetToken, RetireToken, HTTP details (reference §1.1–1.5)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import httpx
import pytest

from frontdesk.sandbox.unity import DEFAULT_SERVICE_PASSWORD, DEFAULT_SERVICE_USER

if TYPE_CHECKING:
    from conftest import UnityWire

GUID = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")
BAD_LOGIN = "error: Username and Password not valid for any licenses on this server"
GOOD_LOGIN = {"Username": DEFAULT_SERVICE_USER, "Password": DEFAULT_SERVICE_PASSWORD}


@pytest.mark.parametrize(
    "base",
    [
        "/UnityPM/UnityService.svc/json",
        "/unitypm/unityservice.svc/json",
        "/UNITYPM/UNITYSERVICE.SVC/JSON",
        "/UnityService.svc/json",
        "/unityservice.svc/json",
        "/UnityService.svc/JSON",
    ],
    ids=["pm", "pm-lower", "pm-upper", "ubiquity", "ubiquity-lower", "ubiquity-json-upper"],
)
@pytest.mark.parametrize("segment", ["GetToken", "gettoken", "GETTOKEN"])
async def test_get_token_answers_a_bare_upper_case_guid_on_both_layouts_in_any_case(
    client: httpx.AsyncClient, base: str, segment: str
) -> None:
    response = await client.post(f"{base}/{segment}", json=GOOD_LOGIN)
    assert response.status_code == 200
    assert GUID.match(response.text), response.text  # plain text, no JSON quotes


async def test_a_trailing_slash_is_ignored(client: httpx.AsyncClient) -> None:
    response = await client.post("/UnityService.svc/json/GetToken/", json=GOOD_LOGIN)
    assert GUID.match(response.text)


async def test_each_get_token_gives_a_new_token(unity: UnityWire) -> None:
    first, second = await unity.get_token(), await unity.get_token()
    assert first.text != second.text


@pytest.mark.parametrize(
    "body",
    [
        {"Username": DEFAULT_SERVICE_USER, "Password": "wrong"},
        {"Username": DEFAULT_SERVICE_USER.split("^")[-1], "Password": DEFAULT_SERVICE_PASSWORD},
        {"Username": DEFAULT_SERVICE_USER.lower(), "Password": DEFAULT_SERVICE_PASSWORD},
        {"Username": "someone-else", "Password": DEFAULT_SERVICE_PASSWORD},
        {"Password": DEFAULT_SERVICE_PASSWORD},
        {},
    ],
    ids=[
        "wrong-password",
        "missing-ubiquity-prefix",
        "username-case-differs",
        "unknown-user",
        "no-username",
        "empty-object",
    ],
)
async def test_get_token_refuses_bad_service_credentials_with_http_200_text(
    client: httpx.AsyncClient, body: dict[str, str]
) -> None:
    response = await client.post("/UnityService.svc/json/GetToken", json=body)
    assert response.status_code == 200
    assert response.text == BAD_LOGIN


async def test_get_token_with_unreadable_body_is_a_bad_login(client: httpx.AsyncClient) -> None:
    response = await client.post("/UnityService.svc/json/GetToken", content=b"{not json")
    assert (response.status_code, response.text) == (200, BAD_LOGIN)


async def test_get_token_ignores_extra_members_and_its_own_appname(
    client: httpx.AsyncClient,
) -> None:
    body = {**GOOD_LOGIN, "Appname": "Frontdesk.ReviewHub.TestApp", "OriginalToken": ""}
    response = await client.post("/UnityService.svc/json/GetToken", json=body)
    assert GUID.match(response.text)


async def test_get_token_refuses_an_app_not_licensed_on_this_server(
    client: httpx.AsyncClient,
) -> None:
    body = {**GOOD_LOGIN, "Appname": "Other.App.TestApp"}
    response = await client.post("/UnityService.svc/json/GetToken", json=body)
    assert response.status_code == 200
    assert response.text == "Error: Other.App.TestApp is not supported on PM version 10.4.2"


async def test_magic_json_replies_are_json_with_iis_headers(session: UnityWire) -> None:
    response = await session.magic("GetServerInfo")
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-aspnet-version"] == "4.0.30319"


async def test_retire_token_answers_empty_and_the_token_then_is_logged_out(
    session: UnityWire,
) -> None:
    response = await session.client.post(
        f"{session.base}/RetireToken", json={"Token": session.token, "Appname": session.appname}
    )
    assert (response.status_code, response.content) == (200, b"")
    message = await session.error("GetServerInfo")
    assert "you have been logged out due to inactivity" in message


async def test_retire_security_token_answers_the_xml_element(session: UnityWire) -> None:
    response = await session.client.post(
        "/unityservice.svc/json/RetireSecurityToken",
        json={"Token": session.token, "Appname": session.appname},
    )
    assert response.status_code == 200
    assert response.text == (
        '<RetireSecurityTokenResponse xmlns="http://www.allscripts.com/Unity"/>'
    )
    assert "logged out" in await session.error("Echo")


async def test_retiring_an_unknown_token_is_silent(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/UnityService.svc/json/RetireToken", json={"Token": "nope", "Appname": "x"}
    )
    assert (response.status_code, response.content) == (200, b"")


@pytest.mark.parametrize(
    "path",
    [
        "/Unity/UnityService.svc/json/GetToken",  # the EHR layout: not a PM server
        "/UnityService.svc/json/NoSuchOperation",
        "/UnityPM/UnityService.svc/GetToken",
        "/",
    ],
    ids=["ehr-layout", "unknown-operation", "missing-json-segment", "root"],
)
async def test_unknown_paths_answer_404(client: httpx.AsyncClient, path: str) -> None:
    response = await client.post(path, json=GOOD_LOGIN)
    assert response.status_code == 404


async def test_get_on_a_unity_endpoint_is_405(client: httpx.AsyncClient) -> None:
    response = await client.get("/UnityService.svc/json/GetToken")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


async def test_a_token_from_one_layout_works_on_the_other(unity: UnityWire) -> None:
    await unity.login()
    unity.base = "/unityservice.svc/json"
    (row,) = await unity.rows("GetServerInfo")
    assert row["ServerTimeZone"] == "Eastern Standard Time"
