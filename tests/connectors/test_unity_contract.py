"""The connector contract against the Unity sandbox, in-process (ASGI) and over loopback TCP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from frontdesk.clock import ManualClock
from frontdesk.composition import builtin_sources
from frontdesk.connectors.allscripts.connector import UnityConnector
from frontdesk.connectors.base import (
    AppointmentStream,
    CheckStatus,
    Connector,
    CursorNotReady,
    Window,
)
from frontdesk.plugins import Plugins
from frontdesk.sandbox.unity import Sandbox
from frontdesk.settings import CredentialSettings, Settings

MONDAY = date(2025, 3, 3)
EASTERN = ZoneInfo("America/New_York")


@pytest.fixture(params=["asgi", "loopback"])
async def live(
    request: pytest.FixtureRequest,
    app: Any,
    make_connector: Callable[..., UnityConnector],
    make_settings: Callable[..., Settings],
) -> AsyncIterator[UnityConnector]:
    """The default group's connector, in-process or through uvicorn on 127.0.0.1."""
    if request.param == "asgi":
        yield make_connector()
        return
    serve_loopback = request.getfixturevalue("serve_loopback")
    async with serve_loopback(app) as url:
        transport = httpx.AsyncHTTPTransport()
        connector = make_connector(settings=make_settings(url), transport=transport)
        yield connector
        await connector.aclose()
        await transport.aclose()


async def read_all(stream: AppointmentStream) -> list[Any]:
    return [item async for item in stream]


async def test_connector_satisfies_the_protocol(connector: UnityConnector) -> None:
    assert isinstance(connector, Connector)
    stream: AppointmentStream = connector.read(Window.day(MONDAY))  # checked by mypy
    with pytest.raises(CursorNotReady):
        _ = stream.cursor
    await stream.aclose()


async def test_check_ok(live: UnityConnector) -> None:
    result = await live.check()
    assert result.status is CheckStatus.OK, result
    assert result.ok
    assert result.server_version == "10.4.2.31.000"
    assert result.server_timezone == "America/New_York"
    assert result.server_timezone_name == "Eastern Standard Time"
    assert result.server_system == "Allscripts Practice Management"
    assert result.missing_actions == ()
    calls = live.client.stats.actions
    for action in (
        "GetServerInfo",
        "GetUserAuthentication",
        "GetSchedule",
        "GetPatientDemographics",
        "LastLogs",
    ):
        assert calls[action] == 1, action


async def test_read_returns_every_appointment_once_with_its_patient(
    live: UnityConnector, sandbox: Sandbox
) -> None:
    stream = live.read(Window.day(MONDAY))
    with pytest.raises(CursorNotReady):
        _ = stream.cursor
    appointments = await read_all(stream)
    practice = sandbox.practice
    expected = practice.appointments_on(MONDAY)
    assert [a.source_appointment_id for a in appointments] == [
        str(e.appointment_id) for e in expected
    ]
    for got, want in zip(appointments, expected, strict=True):
        assert got.patient_id == str(want.patient_id)
        assert got.start == want.start.replace(tzinfo=EASTERN)
        assert got.start.tzinfo is not None
        assert got.status == want.status.description
        assert got.appointment_type == want.appointment_type.abbreviation
        assert got.location_name == want.location.name
        assert got.practitioner == want.practitioner.practitioner_name
        source = practice.patient(want.patient_id)
        assert source is not None
        assert got.patient is not None
        assert got.patient.first_name == source.first_name.strip()
        assert got.patient.last_name == source.last_name.strip()
        assert got.patient.birth_date == source.birth_date
    patients = {a.patient_id for a in appointments}
    stats = live.client.stats
    assert stats.actions["GetPatientDemographics"] == len(patients)  # once per patient
    assert stats.actions["GetSchedule"] == 1
    assert stats.logins == 1
    cursor = stream.cursor
    assert cursor is not None
    assert json.loads(cursor)["window"] == ["2025-03-03", "2025-03-03"]


async def test_read_of_several_days_fetches_each_patient_once(
    connector: UnityConnector, sandbox: Sandbox
) -> None:
    window = Window(MONDAY, MONDAY + timedelta(days=2))
    appointments = await read_all(connector.read(window))
    expected = [
        str(a.appointment_id)
        for day in window.days()
        for a in sandbox.practice.appointments_on(day)
    ]
    assert [a.source_appointment_id for a in appointments] == expected
    patients = {a.patient_id for a in appointments}
    assert connector.client.stats.actions["GetPatientDemographics"] == len(patients)
    assert connector.client.stats.actions["GetSchedule"] == 3


async def test_cursor_reads_only_changes_of_the_same_window(
    connector: UnityConnector, sandbox: Sandbox
) -> None:
    first = connector.read(Window.day(MONDAY))
    everything = await read_all(first)
    second = connector.read(Window.day(MONDAY), first.cursor)
    changed = await read_all(second)
    assert not second.full_read
    server_time = datetime(2025, 3, 3, 9, 0) - timedelta(minutes=10)  # cursor minus overlap
    expected = {
        str(a.appointment_id)
        for a in sandbox.practice.appointments_on(MONDAY)
        if a.changed_at > server_time
    }
    assert {a.source_appointment_id for a in changed} == expected
    assert len(changed) < len(everything)
    # Another window ignores the cursor: a full read.
    other = connector.read(Window.day(MONDAY + timedelta(days=1)), first.cursor)
    assert len(await read_all(other)) == len(sandbox.practice.appointments_on(date(2025, 3, 4)))
    assert other.full_read
    # A damaged cursor is ignored, not fatal.
    damaged = connector.read(Window.day(MONDAY), "{not json")
    assert len(await read_all(damaged)) == len(everything)


async def test_discover_lists_locations_types_and_statuses(
    live: UnityConnector, sandbox: Sandbox
) -> None:
    discovery = await live.discover(MONDAY)
    assert discovery.window == Window(MONDAY - timedelta(days=29), MONDAY)
    enterprise = sandbox.practice.enterprise
    assert {s.value for s in discovery.locations} == {loc.name for loc in enterprise.locations}
    descriptions = {t.value: t.description for t in discovery.appointment_types}
    assert descriptions["PHYSICAL"] == "Annual Physical"
    assert {s.value for s in discovery.statuses} == {s.description for s in enterprise.statuses}
    expected = sum(len(sandbox.practice.appointments_on(day)) for day in discovery.window.days())
    assert discovery.appointments == expected
    assert live.client.stats.actions["GetPatientDemographics"] == 0


async def test_aclose_retires_the_token(connector: UnityConnector, sandbox: Sandbox) -> None:
    await connector.check()
    assert len(sandbox.tokens) == 1
    await connector.aclose()
    assert len(sandbox.tokens) == 0
    assert connector.client.stats.actions["RetireToken"] == 1
    await connector.aclose()  # idempotent
    assert connector.client.stats.actions["RetireToken"] == 1


async def test_status_matching_through_the_connector(connector: UnityConnector) -> None:
    assert connector.status_matches(["A", "confirmed"], "Acknowledge")
    assert connector.status_matches(["A", "confirmed"], " Confirmed ")
    assert not connector.status_matches(["A"], "Cancelled")


async def test_registry_builds_a_working_connector(
    app: Any,
    make_settings: Callable[..., Settings],
    make_properties: Callable[..., dict[str, str]],
    serve_loopback: Callable[[Any], Any],
) -> None:
    async with serve_loopback(app) as url:
        settings = make_settings(base_url=url)
        plugins = Plugins.of(builtin_sources(), [])
        connector = plugins.connector("allscripts", make_properties(), settings)
        try:
            assert isinstance(connector, UnityConnector)
            assert (await connector.check()).status is CheckStatus.OK
        finally:
            await connector.aclose()


async def test_pm_layout_override(
    make_connector: Callable[..., UnityConnector],
    make_properties: Callable[..., dict[str, str]],
) -> None:
    properties = make_properties(
        **{"allscripts.unity.url": "http://unity.test/UnityPM/UnityService.svc/json"}
    )
    connector = make_connector(properties)
    assert (await connector.check()).ok
    assert connector.client.config.base_url.endswith("/UnityPM/UnityService.svc/json")


async def test_stopping_early_leaves_no_cursor_and_no_background_work(
    connector: UnityConnector,
) -> None:
    stream = connector.read(Window.day(MONDAY))
    taken = 0
    async for _appointment in stream:
        taken += 1
        if taken == 5:
            break
    await stream.aclose()
    with pytest.raises(CursorNotReady):
        _ = stream.cursor
    await asyncio.sleep(0)
    pending = [t for t in asyncio.all_tasks() if "_fetch_patients" in repr(t.get_coro())]
    assert all(t.done() for t in pending)


@pytest.mark.parametrize(
    ("days_left", "warn_days", "warned"),
    [
        pytest.param(14, 14, True, id="on the first warning day"),
        pytest.param(15, 14, False, id="one day before the warning"),
        pytest.param(29, 14, False, id="inside the old hard-coded 30 days"),
        pytest.param(2, 2, True, id="a shorter setting"),
        pytest.param(-1, 14, True, id="already expired"),
    ],
)
async def test_service_credentials_warning_uses_the_setting_and_the_clock(
    make_connector: Callable[..., UnityConnector],
    make_settings: Callable[..., Settings],
    days_left: int,
    warn_days: int,
    warned: bool,
) -> None:
    # a clock years away from the real date: only the injected clock can produce a warning
    clock = ManualClock(datetime(2031, 5, 1, 12, 0, tzinfo=UTC))
    settings = make_settings(
        service_credentials_expire_on=clock.now().date() + timedelta(days=days_left)
    )
    settings = settings.model_copy(
        update={"credentials": CredentialSettings(service_credentials_warn_days=warn_days)}
    )
    result = await make_connector(settings=settings, clock=clock).check()
    assert result.ok
    assert bool(result.warnings) is warned, result.warnings
