"""No secret and no patient field reaches a log line or an exception text; limits hold."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import pytest
import structlog

from frontdesk.connectors.allscripts.connector import UnityConnector
from frontdesk.connectors.base import Window
from frontdesk.connectors.limits import ConcurrencyLimits
from frontdesk.errors import FrontdeskError
from frontdesk.sandbox.unity import (
    DEFAULT_PM_PASSWORD,
    DEFAULT_PM_USER,
    DEFAULT_SERVICE_PASSWORD,
    Knobs,
    Latency,
    Sandbox,
    create_unity_app,
    multi_group_config,
)
from frontdesk.settings import Settings

MONDAY = date(2025, 3, 3)
Factory = Callable[..., UnityConnector]


def forbidden_values(sandbox: Sandbox, *extra: str) -> set[str]:
    """Secrets and every patient field of the day's patients (long enough to be unique)."""
    values = {DEFAULT_SERVICE_PASSWORD, DEFAULT_PM_PASSWORD, *extra}
    practice = sandbox.practice
    for appointment in practice.appointments_on(MONDAY):
        patient = practice.patient(appointment.patient_id)
        assert patient is not None
        values.update(
            {
                patient.first_name.strip(),
                patient.last_name.strip(),
                patient.birth_date.strftime("%m/%d/%Y"),
                patient.birth_date.isoformat(),
            }
        )
        for attribute in ("email", "cell_phone", "home_phone"):
            value = getattr(patient, attribute, "") or ""
            values.add(value.strip())
    # Staff and places are not patient data; skip patient values that also name them.
    public = [loc.name for loc in practice.enterprise.locations]
    public += [p.practitioner_name for p in practice.enterprise.practitioners]
    public += [p.provider_name for p in practice.enterprise.practitioners]
    return {v for v in values if len(v) >= 4 and not any(v in text for text in public)}


async def test_no_secret_or_patient_field_in_logs_or_errors(
    make_connector: Factory,
    make_properties: Callable[..., dict[str, str]],
    sandbox: Sandbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    texts: list[str] = []
    caplog.set_level(logging.DEBUG)
    with structlog.testing.capture_logs() as events:
        sandbox.update_knobs(
            error_rate=0.1, token_expiry_rate=0.05, malformed_rate=0.0, fault_seed=4
        )
        connector = make_connector()
        stream = connector.read(Window.day(MONDAY))
        appointments = [a async for a in stream]
        texts += [repr(a) for a in appointments]
        texts += [repr(a.patient) for a in appointments]
        sandbox.reset_knobs()
        # Failures of every class, with their messages and reprs.
        scenarios: list[tuple[dict[str, Any], Callable[[], None]]] = [
            ({"error_rate": 1.0}, lambda: None),
            ({"malformed_rate": 1.0, "malformed_kind": "mixed"}, lambda: None),
        ]
        for knobs, _ in scenarios:
            sandbox.update_knobs(**knobs)
            failing = make_connector()
            try:
                async for _item in failing.read(Window.day(MONDAY)):
                    pass
            except FrontdeskError as error:
                texts += [str(error), repr(error), repr(error.args)]
            sandbox.reset_knobs()
        wrong = make_connector(make_properties(PM_Password="Wrong#Secret-77"))
        result = await wrong.check()
        texts.append(repr(result))
        try:
            await wrong.client.login()
        except FrontdeskError as error:
            texts += [str(error), repr(error)]
        sandbox.expire_password(DEFAULT_PM_USER)
        expired = make_connector()
        texts.append(repr(await expired.check()))
        texts.append(repr(expired.client.config))
    texts += [repr(event) for event in events]
    texts += [record.getMessage() for record in caplog.records]
    assert events, "the connector logged nothing"
    blob = "\n".join(texts)
    forbidden = forbidden_values(sandbox, "Wrong#Secret-77")
    assert len(forbidden) > 100
    for value in forbidden:
        assert not re.search(rf"(?<!\w){re.escape(value)}(?!\w)", blob), "a value leaked"
    assert "Token" not in {k for e in events for k in e}


async def test_process_wide_limit_is_shared_across_groups(
    make_settings: Callable[..., Settings],
) -> None:
    """Three groups (per-group 3) sharing a total of 5: never more than 5 requests in flight,
    never more than 3 of one group; every group reads its day exactly."""
    config = multi_group_config(
        groups=3, locations=2, appointments_per_location=12, knobs=Knobs(latency=Latency(ms=3))
    )
    app = create_unity_app(config)
    state: Sandbox = app.state.sandbox
    in_flight: dict[str, int] = {}
    peaks: dict[str, int] = {}

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        body = b""
        message = await receive()
        body += message.get("body", b"")
        token = json.loads(body).get("Token", "")
        session = state.tokens.peek(token) if token else None
        group = session.service_user if session else "login"
        in_flight[group] = in_flight.get(group, 0) + 1
        in_flight["*"] = in_flight.get("*", 0) + 1
        for key in (group, "*"):
            peaks[key] = max(peaks.get(key, 0), in_flight[key])
        sent = False

        async def replay() -> Any:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        try:
            await app(scope, replay, send)
        finally:
            in_flight[group] -= 1
            in_flight["*"] -= 1

    limits = ConcurrencyLimits(total=5, per_group=3)
    connectors = [
        UnityConnector.from_properties(
            {
                "User_Name": credential.service_user.split("^1^")[0] + "^1^",
                "pms_user_name": credential.users[0].username,
                "PM_Password": credential.users[0].password,
            },
            make_settings(),
            transport=httpx.ASGITransport(app=counting),
            limits=limits,
        )
        for credential in config.credentials
    ]

    async def read(connector: UnityConnector) -> list[str]:
        return [a.source_appointment_id async for a in connector.read(Window.day(MONDAY))]

    try:
        results = await asyncio.gather(*(read(c) for c in connectors))
    finally:
        for connector in connectors:
            await connector.aclose()
    for credential, ids in zip(config.credentials, results, strict=True):
        expected = state.practice_for(credential.service_user).appointments_on(MONDAY)
        assert ids == [str(a.appointment_id) for a in expected]
    assert peaks["*"] == 5
    assert max(v for k, v in peaks.items() if k not in ("*", "login")) <= 3
