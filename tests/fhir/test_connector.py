"""The FHIR connector against the FHIR sandbox (in-process): check, discover, read with
paging, _include or batched patients, the 401 rule, 429 and 5xx retries, refused keys."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from tests.fhir.conftest import ConnectorFactory, demo_client, group_properties

from frontdesk.connectors.base import CheckStatus, CursorNotReady, Window
from frontdesk.connectors.errors import (
    CredentialsRejected,
    ProtocolViolation,
    RateLimited,
    RemoteRejected,
    RemoteServerError,
)
from frontdesk.connectors.fhir.connector import status_matches
from frontdesk.connectors.fhir.keys import generate_key
from frontdesk.sandbox.fhir.app import FhirSandbox
from frontdesk.sandbox.fhir.config import Fault, PracticeShape
from frontdesk.sandbox.fhir.store import Store, appointment, patient

DAY = date(2026, 3, 2)
ZONE = ZoneInfo("America/New_York")


def _expected_ids(sandbox: FhirSandbox, window: Window) -> set[str]:
    sandbox.store.ensure_days(window.first, window.last)
    return {
        rid
        for rid in sandbox.store.appointments
        if (start := sandbox.store.start_of(rid)) is not None
        and window.first <= start.date() <= window.last
    }


async def test_check_reads_the_capability_statement_and_gets_a_token(
    make_connector: ConnectorFactory, fhir_sandbox: FhirSandbox
) -> None:
    connector = make_connector()
    result = await connector.check()
    await connector.aclose()
    assert result.status is CheckStatus.OK, result.message
    assert result.server_version == "4.0.1"
    assert result.server_system == "frontdesk FHIR sandbox"
    assert fhir_sandbox.auth.issued == 1


async def test_check_with_a_key_the_ehr_does_not_know_is_unauthorized(
    make_connector: ConnectorFactory,
) -> None:
    connector = make_connector(group_properties(**{"fhir.private.key": generate_key()}))
    result = await connector.check()
    await connector.aclose()
    assert result.status is CheckStatus.UNAUTHORIZED
    assert result.reason == "wrong_service_credentials"
    assert "BEGIN" not in result.message


async def test_a_read_follows_every_page_and_includes_each_patient(
    make_connector: ConnectorFactory, fhir_sandbox: FhirSandbox
) -> None:
    window = Window(DAY, date(2026, 3, 3))
    connector = make_connector()
    stream = connector.read(window)
    rows = [a async for a in stream]
    assert stream.cursor is None
    await connector.aclose()
    assert {a.source_appointment_id for a in rows} == _expected_ids(fhir_sandbox, window)
    assert len(rows) == 2 * 3 * 12
    assert stream.pages == 4  # 72 appointments, 20 a page
    assert stream.patient_batches == 0  # _include brought them
    assert all(a.patient is not None for a in rows)
    assert {a.location_name for a in rows} == {"loc-1-1", "loc-1-2", "loc-1-3"}
    assert all(a.start.tzinfo is not None for a in rows)


async def test_without_include_patients_come_in_batches_each_once(
    make_connector: ConnectorFactory, fhir_sandbox: FhirSandbox
) -> None:
    fhir_sandbox.update_knobs(include=False)
    connector = make_connector()
    stream = connector.read(Window.day(DAY))
    rows = [a async for a in stream]
    await connector.aclose()
    assert len(rows) == 36
    assert all(a.patient is not None for a in rows)
    asked = fhir_sandbox.requests["Patient"]
    assert asked == stream.patient_batches >= 1
    assert len({a.patient_id for a in rows}) <= asked * 50


async def test_location_names_when_the_group_matches_by_name(
    make_connector: ConnectorFactory,
) -> None:
    connector = make_connector(group_properties(**{"data.fetch.logic": "fhir.location.name"}))
    rows = [a async for a in connector.read(Window.day(DAY))]
    await connector.aclose()
    assert {a.location_name for a in rows} == {"North Clinic", "South Clinic", "East Clinic"}


async def test_a_token_that_dies_mid_run_is_replaced_once(
    make_connector: ConnectorFactory, fhir_sandbox: FhirSandbox
) -> None:
    fhir_sandbox.add_fault(Fault(status=401, target="next", after=1))
    connector = make_connector()
    stream = connector.read(Window(DAY, date(2026, 3, 3)))
    rows = [a async for a in stream]
    await connector.aclose()
    assert len(rows) == 72
    assert fhir_sandbox.auth.issued == 2
    assert connector.client.stats.reauthentications == 1


async def test_a_second_401_stops_the_integration(
    make_connector: ConnectorFactory, fhir_sandbox: FhirSandbox
) -> None:
    fhir_sandbox.add_fault(Fault(status=401, target="Appointment", times=2))
    connector = make_connector()
    with pytest.raises(CredentialsRejected):
        [a async for a in connector.read(Window.day(DAY))]
    await connector.aclose()
    assert fhir_sandbox.auth.issued == 2


async def test_429_waits_retry_after_then_reads_on(
    make_connector: ConnectorFactory, fhir_sandbox: FhirSandbox
) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    fhir_sandbox.add_fault(Fault(status=429, target="next", retry_after_s=0.02, times=2))
    connector = make_connector(sleep=sleep)
    rows = [a async for a in connector.read(Window(DAY, date(2026, 3, 3)))]
    await connector.aclose()
    assert len(rows) == 72
    assert len(slept) == 2
    assert all(s >= 0.02 for s in slept)


async def test_429_without_end_and_5xx_are_transient_errors(
    make_connector: ConnectorFactory, fhir_sandbox: FhirSandbox
) -> None:
    fhir_sandbox.add_fault(Fault(status=429, target="Appointment", times=10))
    connector = make_connector()
    with pytest.raises(RateLimited):
        [a async for a in connector.read(Window.day(DAY))]
    fhir_sandbox.faults.clear()
    fhir_sandbox.add_fault(Fault(status=503, target="Appointment", times=10))
    with pytest.raises(RemoteServerError) as info:
        [a async for a in connector.read(Window.day(DAY))]
    assert info.value.status_code == 503
    await connector.aclose()


def test_statuses_never_counted_whatever_the_allow_list_says() -> None:
    allowed = ["fulfilled", "Arrived", "noshow", "cancelled", "entered-in-error"]
    assert status_matches(allowed, "fulfilled")
    assert status_matches(allowed, "arrived")
    assert not status_matches(allowed, "checked-in")
    for never in ("noshow", "cancelled", "entered-in-error"):
        assert not status_matches(allowed, never)


async def test_discover_lists_locations_types_and_statuses(
    make_connector: ConnectorFactory, fhir_sandbox: FhirSandbox
) -> None:
    connector = make_connector()
    found = await connector.discover(DAY)
    await connector.aclose()
    assert found.appointments == 30 * 36
    assert {s.value for s in found.locations} == {"loc-1-1", "loc-1-2", "loc-1-3"}
    assert {s.value for s in found.appointment_types} >= {"ROUTINE", "FOLLOWUP"}
    assert "fulfilled" in {s.value for s in found.statuses}
    assert fhir_sandbox.requests["Patient"] == 0


def test_store_helpers_make_valid_resources() -> None:
    store = Store(1, PracticeShape(), synthetic=False)
    store.add(patient("p1", mobile="+15715550101"))
    start = datetime(2026, 3, 2, 9, tzinfo=ZONE)
    store.add(appointment("a1", start=start, status="fulfilled", patient_id="p1", location_id="l1"))
    assert store.start_of("a1") == start
    assert demo_client().jwks is not None


async def test_a_paging_link_to_another_host_is_never_followed(
    make_connector: ConnectorFactory, fhir_sandbox: FhirSandbox
) -> None:
    connector = make_connector()
    with pytest.raises(ProtocolViolation):
        await connector.client.page("http://elsewhere.test/fhir/Appointment?_offset=20")
    await connector.aclose()
    assert fhir_sandbox.auth.issued == 0  # refused before any token was asked for


async def test_a_short_lived_token_is_replaced_before_it_expires(
    make_connector: ConnectorFactory, fhir_sandbox: FhirSandbox
) -> None:
    fhir_sandbox.update_knobs(token_lifetime_s=1, slow_page_ms=300)
    connector = make_connector()
    rows = [a async for a in connector.read(Window(DAY, date(2026, 3, 3)))]  # 4 pages
    await connector.aclose()
    assert len(rows) == 72
    assert fhir_sandbox.auth.issued >= 2  # refreshed at half its life, ahead of expiry
    assert connector.client.stats.reauthentications == 0  # never refused


async def test_a_server_that_is_not_r4_or_not_there(
    make_connector: ConnectorFactory, fhir_sandbox: FhirSandbox
) -> None:
    connector = make_connector(group_properties(**{"fhir.base.url": "http://fhir.test/nothing"}))
    result = await connector.check()
    await connector.aclose()
    assert result.status is CheckStatus.UNREACHABLE
    assert "fhir.base.url" in result.message


async def test_a_stream_closed_early_stops_its_pager_and_has_no_cursor(
    make_connector: ConnectorFactory, fhir_sandbox: FhirSandbox
) -> None:
    fhir_sandbox.update_knobs(include=False)
    connector = make_connector()
    stream = connector.read(Window(DAY, date(2026, 3, 6)))  # 144 appointments, 8 pages
    taken = [await anext(stream) for _ in range(5)]
    await stream.aclose()
    await connector.aclose()
    assert len(taken) == 5
    with pytest.raises(CursorNotReady):
        _ = stream.cursor
    assert fhir_sandbox.requests["next"] < 7  # it stopped following the links


async def test_one_token_request_for_many_concurrent_calls(
    make_connector: ConnectorFactory, fhir_sandbox: FhirSandbox
) -> None:
    connector = make_connector()
    tokens = await asyncio.gather(*(connector.client.access_token() for _ in range(10)))
    await connector.aclose()
    assert len(set(tokens)) == 1
    assert fhir_sandbox.auth.issued == 1


async def test_an_operation_outcome_is_quoted_and_not_retried(
    make_connector: ConnectorFactory, fhir_sandbox: FhirSandbox
) -> None:
    connector = make_connector()
    with pytest.raises(RemoteRejected) as info:
        await connector.client.search("Appointment", [("_include", "Appointment:nothing")])
    await connector.aclose()
    assert "unsupported _include Appointment:nothing" in info.value.message
    assert connector.client.stats.retries == 0
