"""The FHIR sandbox speaks FHIR R4 and SMART Backend Services: what it serves validates
against the ``fhir.resources`` R4B models, an independent client (``fhirpy``) reads it over
loopback, and its token endpoint refuses the assertions an EHR refuses."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import jwt
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhirpy import AsyncFHIRClient
from tests.fhir.conftest import demo_client

from frontdesk.connectors.fhir.keys import load_signing_key
from frontdesk.sandbox.fhir.app import create_fhir_app
from frontdesk.sandbox.fhir.config import DEMO_CLIENT_ID, FhirSandboxConfig, demo_private_key
from frontdesk.sandbox.fhir.search import date_bound, date_matches

BASE = "http://fhir.test/fhir"
TOKEN_URL = f"{BASE}/auth/token"
ZONE = ZoneInfo("America/New_York")


def assertion(**overrides: Any) -> str:
    signing = load_signing_key(demo_private_key(1))
    now = int(time.time())
    claims = {
        "iss": DEMO_CLIENT_ID,
        "sub": DEMO_CLIENT_ID,
        "aud": TOKEN_URL,
        "exp": now + 240,
        "jti": uuid.uuid4().hex,
    } | overrides
    algorithm = str(claims.pop("alg", signing.algorithm))
    key = claims.pop("key", signing.key)
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": signing.kid})


def form(token: str, scope: str = "system/Appointment.read") -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "scope": scope,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": token,
    }


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    app = create_fhir_app(FhirSandboxConfig(seed=3, clients=(demo_client(),)))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://fhir.test"
    ) as client:
        yield client


async def _token(api: httpx.AsyncClient, scope: str = "system/*.read") -> str:
    r = await api.post("/fhir/auth/token", data=form(assertion(), scope))
    assert r.status_code == 200, r.text
    value: str = r.json()["access_token"]
    return value


async def test_what_the_sandbox_serves_validates_as_r4(api: httpx.AsyncClient) -> None:
    CapabilityStatement.model_validate((await api.get("/fhir/metadata")).json())
    smart = (await api.get("/fhir/.well-known/smart-configuration")).json()
    assert smart["token_endpoint"] == TOKEN_URL
    assert "private_key_jwt" in smart["token_endpoint_auth_methods_supported"]
    headers = {"Authorization": f"Bearer {await _token(api)}"}
    r = await api.get(
        "/fhir/Appointment",
        params=[
            ("date", "ge2026-03-02"),
            ("date", "lt2026-03-03"),
            ("_count", "10"),
            ("_include", "Appointment:patient"),
            ("_include", "Appointment:location"),
        ],
        headers=headers,
    )
    assert r.headers["content-type"].startswith("application/fhir+json")
    page = Bundle.model_validate(r.json())
    assert page.type == "searchset"
    assert page.total == 36
    modes = {e.search.mode for e in page.entry or [] if e.search is not None}
    assert modes == {"match", "include"}
    kinds = {e.resource.get_resource_type() for e in page.entry or [] if e.resource}
    assert kinds == {"Appointment", "Patient", "Location"}
    assert [link.relation for link in page.link or []] == ["self", "next"]
    for path in ("/fhir/Location", "/fhir/Patient?_id=pat-1,pat-2"):
        Bundle.model_validate((await api.get(path, headers=headers)).json())
    missing = await api.get("/fhir/Appointment", params={"date": "ge2026-13-99"}, headers=headers)
    assert missing.status_code == 400
    OperationOutcome.model_validate(missing.json())


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        pytest.param({"aud": "http://elsewhere/token"}, "invalid_client", id="wrong-aud"),
        pytest.param({"exp": int(time.time()) + 3600}, "invalid_client", id="exp-too-far"),
        pytest.param({"exp": int(time.time()) - 120}, "invalid_client", id="expired"),
        pytest.param({"iss": "stranger", "sub": "stranger"}, "invalid_client", id="unknown"),
        pytest.param({"alg": "HS256", "key": "x" * 32}, "invalid_client", id="hmac"),
    ],
)
async def test_the_token_endpoint_refuses_bad_assertions(
    api: httpx.AsyncClient, overrides: dict[str, Any], error: str
) -> None:
    r = await api.post("/fhir/auth/token", data=form(assertion(**overrides)))
    assert r.status_code == 401
    assert r.json()["error"] == error


async def test_a_replayed_assertion_and_a_foreign_scope_are_refused(
    api: httpx.AsyncClient,
) -> None:
    once = assertion()
    assert (await api.post("/fhir/auth/token", data=form(once))).status_code == 200
    again = await api.post("/fhir/auth/token", data=form(once))
    assert again.json()["error"] == "invalid_client"
    r = await api.post("/fhir/auth/token", data=form(assertion(), "system/Observation.read"))
    assert r.json()["error"] == "invalid_scope"
    token = await _token(api, "system/Location.read")
    r = await api.get("/fhir/Patient", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403


@pytest.mark.parametrize(
    ("expression", "start", "matches"),
    [
        ("ge2026-03-02", datetime(2026, 3, 2, 0, 0, tzinfo=ZONE), True),
        ("ge2026-03-02", datetime(2026, 3, 1, 23, 59, tzinfo=ZONE), False),
        ("lt2026-03-03", datetime(2026, 3, 2, 23, 59, tzinfo=ZONE), True),
        ("lt2026-03-03", datetime(2026, 3, 3, 0, 0, tzinfo=ZONE), False),
        ("gt2026-03-02", datetime(2026, 3, 2, 23, 0, tzinfo=ZONE), False),
        ("le2026-03-02", datetime(2026, 3, 2, 23, 0, tzinfo=ZONE), True),
        ("2026-03", datetime(2026, 3, 31, 12, 0, tzinfo=ZONE), True),
        ("ne2026-03-02", datetime(2026, 3, 2, 12, 0, tzinfo=ZONE), False),
        ("ge2026-03-02T09:00:00-05:00", datetime(2026, 3, 2, 9, 0, tzinfo=ZONE), True),
    ],
)
def test_date_prefixes(expression: str, start: datetime, matches: bool) -> None:
    assert date_matches(start, date_bound(expression, ZONE)) is matches


async def test_an_independent_fhir_client_reads_the_sandbox(loopback: str) -> None:
    base = loopback
    async with httpx.AsyncClient() as http:
        r = await http.post(
            f"{base}/auth/token",
            data=form(assertion(aud=f"{base}/auth/token"), "system/*.read"),
        )
    token = r.json()["access_token"]
    client = AsyncFHIRClient(base, authorization=f"Bearer {token}")
    appointments = await (
        client.resources("Appointment")
        .search(date=["ge2026-03-02", "lt2026-03-04"])
        .limit(7)
        .fetch_all()
    )
    assert len(appointments) == 72  # fetch_all followed the next links
    assert {a["status"] for a in appointments} <= {
        "fulfilled",
        "noshow",
        "cancelled",
        "arrived",
        "checked-in",
        "booked",
        "entered-in-error",
    }
    patient = await client.reference("Patient", "pat-1").to_resource()
    assert patient["id"] == "pat-1"
    assert date.fromisoformat(patient["birthDate"]).year >= 1940
