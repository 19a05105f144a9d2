"""End to end over real TCP: uvicorn on an ephemeral loopback port, and the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import httpx
import pytest
import uvicorn
from rich.console import Console
from typer.testing import CliRunner

from frontdesk.sandbox.cli import app as cli_app
from frontdesk.sandbox.cli import build_config, describe
from frontdesk.sandbox.unity import (
    DEFAULT_APPNAME,
    DEFAULT_PM_PASSWORD,
    DEFAULT_PM_USER,
    DEFAULT_SERVICE_PASSWORD,
    DEFAULT_SERVICE_USER,
    Knobs,
    Latency,
    Sandbox,
    create_unity_app,
    default_config,
    multi_group_config,
)

UBIQUITY = "/UnityService.svc/json"


@pytest.fixture
async def live_sandbox() -> AsyncIterator[tuple[str, Sandbox]]:
    """The default sandbox served by uvicorn on 127.0.0.1:<ephemeral>, real clock."""
    app = create_unity_app(default_config())
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", ws="none"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(1000):
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", app.state.sandbox
    server.should_exit = True
    await task


async def magic(http: httpx.AsyncClient, token: str, action: str, **members: str) -> httpx.Response:
    body = {
        "Action": action,
        "AppUserID": DEFAULT_PM_USER,
        "Appname": DEFAULT_APPNAME,
        "PatientID": "",
        "Token": token,
        **{f"Parameter{n}": "" for n in range(1, 7)},
        "Data": "",
    }
    return await http.post(f"{UBIQUITY}/MagicJson", json=body | members)


async def test_canonical_sequence_over_loopback(live_sandbox: tuple[str, Sandbox]) -> None:
    url, sandbox = live_sandbox
    async with httpx.AsyncClient(base_url=url) as http:
        token = (
            await http.post(
                f"{UBIQUITY}/GetToken",
                json={"Username": DEFAULT_SERVICE_USER, "Password": DEFAULT_SERVICE_PASSWORD},
            )
        ).text
        auth = await magic(http, token, "GetUserAuthentication", Parameter1=DEFAULT_PM_PASSWORD)
        assert auth.json()[0]["getuserauthenticationinfo"][0]["ValidUser"] == "YES"
        today = sandbox.now().astimezone(sandbox.practice.time_zone).date()
        schedule = await magic(http, token, "GetSchedule", Parameter4="All")
        rows = schedule.json()[0]["getscheduleinfo"]
        assert len(rows) == len(sandbox.practice.appointments_on(today))
        assert "content-length" in schedule.headers
        retired = await http.post(f"{UBIQUITY}/RetireToken", json={"Token": token})
        assert retired.status_code == 200
        assert "logged out" in (await magic(http, token, "Echo")).json()[0]["Error"]


async def test_large_ranges_stream_and_parse(live_sandbox: tuple[str, Sandbox]) -> None:
    url, sandbox = live_sandbox
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        token = (
            await http.post(
                f"{UBIQUITY}/GetToken",
                json={"Username": DEFAULT_SERVICE_USER, "Password": DEFAULT_SERVICE_PASSWORD},
            )
        ).text
        await magic(http, token, "GetUserAuthentication", Parameter1=DEFAULT_PM_PASSWORD)
        response = await magic(
            http, token, "GetSchedule", Parameter1="01/01/2025|02/28/2025", Parameter4="All"
        )
        assert response.headers.get("transfer-encoding") == "chunked"
        rows = response.json()[0]["getscheduleinfo"]
    expected = list(sandbox.practice.appointments_between(date(2025, 1, 1), date(2025, 2, 28)))
    assert len(rows) > 5000
    assert [r["AppointmentID"] for r in rows] == [str(a.appointment_id) for a in expected]


async def test_client_timeout_on_a_hanging_request(live_sandbox: tuple[str, Sandbox]) -> None:
    url, sandbox = live_sandbox
    sandbox.update_knobs(timeout_rate=1.0, timeout_seconds=0.5, endpoints=("GetToken",))
    async with httpx.AsyncClient(base_url=url, timeout=0.2) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.post(f"{UBIQUITY}/GetToken", json={})
    await asyncio.sleep(0.4)  # let the hung handler finish before shutdown


def test_cli_help_lists_the_unity_options() -> None:
    result = CliRunner().invoke(cli_app, ["unity", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in ("--host", "--port", "--seed", "--service-user", "--app-password", "--appname"):
        assert option in result.output


def test_banner_prints_defaults_and_both_layouts() -> None:
    from rich.console import Console

    console = Console(width=200, record=True)
    console.print(describe(default_config(), "http://127.0.0.1:8077"))
    text = console.export_text()
    for expected in (
        "http://127.0.0.1:8077/UnityPM/UnityService.svc/json/",
        "http://127.0.0.1:8077/UnityService.svc/json/",
        DEFAULT_SERVICE_USER,
        DEFAULT_SERVICE_PASSWORD,
        DEFAULT_APPNAME,
        f"{DEFAULT_PM_USER} / {DEFAULT_PM_PASSWORD}",
    ):
        assert expected in text


def test_config_file_supplies_several_credentials(tmp_path: Path) -> None:
    path = tmp_path / "groups.json"
    knobs_in_file = Knobs(latency=Latency(ms=7), timeout_rate=0.2)
    from_file = multi_group_config(groups=3, locations=2, seed=9, knobs=knobs_in_file)
    path.write_text(from_file.model_dump_json())
    arguments = {
        "seed": None,
        "service_user": "ignored",
        "service_password": "ignored",
        "app_user": "ignored",
        "app_password": "ignored",
        "appname": "ignored",
        "config_file": path,
        "knobs": Knobs(error_rate=0.1),
    }
    config = build_config(**arguments)  # type: ignore[arg-type]
    assert [c.users[0].username for c in config.credentials] == [
        "pmuser0001",
        "pmuser0002",
        "pmuser0003",
    ]
    assert config.seed == 9  # no --seed: the file's
    assert config.knobs == Knobs(latency=Latency(ms=7), timeout_rate=0.2, error_rate=0.1)
    assert build_config(**{**arguments, "seed": 4}).seed == 4  # type: ignore[arg-type]


async def test_not_activated_client_over_loopback() -> None:
    """``--not-activated``: GetToken answers the (inferred) "not activated" error until the
    admin call activates the client; the CLI's description says how."""
    arguments = {
        "seed": None,
        "service_user": DEFAULT_SERVICE_USER,
        "service_password": DEFAULT_SERVICE_PASSWORD,
        "app_user": DEFAULT_PM_USER,
        "app_password": DEFAULT_PM_PASSWORD,
        "appname": DEFAULT_APPNAME,
        "config_file": None,
        "knobs": Knobs(),
        "not_activated": True,
    }
    config = build_config(**arguments)  # type: ignore[arg-type]
    assert [c.activated for c in config.credentials] == [False]
    app = create_unity_app(config)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(1000):
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started
    url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    login = {"Username": DEFAULT_SERVICE_USER, "Password": DEFAULT_SERVICE_PASSWORD}
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            refused = await http.post(f"{UBIQUITY}/GetToken", json=login)
            assert refused.status_code == 200
            assert (
                refused.text == f"error: Appname {DEFAULT_APPNAME} is not activated for this client"
            )
            done = await http.post("/sandbox/admin/clients/activate")
            assert done.json()["changed"] == [DEFAULT_SERVICE_USER]
            token = (await http.post(f"{UBIQUITY}/GetToken", json=login)).text
            assert not token.startswith("error")
            auth = await magic(http, token, "GetUserAuthentication", Parameter1=DEFAULT_PM_PASSWORD)
            assert auth.json()[0]["getuserauthenticationinfo"][0]["ValidUser"] == "YES"
    finally:
        server.should_exit = True
        await task
    banner = Console(record=True, width=200)
    banner.print(describe(config, url))
    assert "not activated: POST" in banner.export_text()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.slow
def test_python_m_sandbox_unity_serves_with_custom_credentials() -> None:
    port = _free_port()
    command = [
        sys.executable, "-m", "frontdesk.sandbox", "unity", "--port", str(port), "--seed", "3",
        "--service-user", "10220c34e:0010220^1^svc-user", "--service-password", "svc-pw",
        "--app-user", "Birdeye", "--app-password", "pm-pw",
    ]  # fmt: skip
    env = {**os.environ, "COLUMNS": "200"}
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                reply = httpx.post(
                    f"http://127.0.0.1:{port}/UnityService.svc/json/GetToken",
                    json={"Username": "10220c34e:0010220^1^svc-user", "Password": "svc-pw"},
                )
                break
            except httpx.ConnectError:
                assert server.poll() is None, "sandbox exited early"
                assert time.monotonic() < deadline, "sandbox did not start"
                time.sleep(0.1)
        assert len(reply.text) == 36
        body = {"Action": "GetUserAuthentication", "AppUserID": "birdeye", "Parameter1": "pm-pw"}
        body |= {"Appname": DEFAULT_APPNAME, "Token": reply.text}
        auth = httpx.post(
            f"http://127.0.0.1:{port}/UnityPM/UnityService.svc/json/MagicJson", json=body
        )
        assert json.loads(auth.text)[0]["getuserauthenticationinfo"][0]["ClientID"] == "0010220"
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=10)
    banner = output.decode()
    assert "10220c34e:0010220^1^svc-user" in banner
    assert f"http://127.0.0.1:{port}/UnityPM/UnityService.svc/json/" in banner
