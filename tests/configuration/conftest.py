"""Fixtures of the configuration-as-code tests: a practice configured through the integration
API, and ``frontdesk config`` run through Typer's runner against the test's database."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from frontdesk.cli.main import app
from frontdesk.settings import Settings

ENTERPRISE = 149547879572938
LOUDOUN = 149547899859217
FAIRFAX = 149547899859218
USER_NAME = "10220c34e:0010220^1^"
PASSWORD = "F5trgFre5-config"
TOKEN = "loc-token-7731"  # a secure location property of an unknown key
SECRET_VALUES = (USER_NAME, PASSWORD, TOKEN)
H = dict[str, str]


def prop(key: str, value: str, secure: bool = False) -> dict[str, Any]:
    return {"propertyKey": key, "propertyValue": value, "isSecure": secure}


@dataclass
class Cli:
    """``frontdesk`` against a database (the test's by default), in a thread of its own."""

    env: dict[str, str]
    outputs: list[str] = field(default_factory=list)

    async def __call__(self, *args: str, env: Mapping[str, str] | None = None) -> Result:
        merged = {**self.env, **(env or {})}
        result = await asyncio.to_thread(CliRunner().invoke, app, list(args), env=merged)
        self.outputs.append(result.output)
        return result


@pytest.fixture
def cli(settings: Settings, tmp_path: Path) -> Cli:
    assert settings.secret_keys is not None
    return Cli(
        {
            "FRONTDESK_DATA_DIR": str(tmp_path / "cli"),
            "FRONTDESK_DATABASE_URL": settings.database_url or "",
            "FRONTDESK_SECRET_KEYS": settings.secret_keys.get_secret_value(),
        }
    )


@dataclass
class Configured:
    group_id: int
    mappings: dict[int, int]


async def configure(client: httpx.AsyncClient, headers: H) -> Configured:
    """Riverside (enterprise) with Loudoun and Fairfax; an Allscripts group with secure
    credentials; both locations mapped (one with a secure location property); a template."""
    for body in (
        {"businessNumber": ENTERPRISE, "name": "Riverside"},
        {
            "businessNumber": LOUDOUN,
            "name": "Loudoun Office",
            "enterpriseNumber": ENTERPRISE,
            "timezone": "America/Chicago",
        },
        {"businessNumber": FAIRFAX, "name": "Fairfax Office", "enterpriseNumber": ENTERPRISE},
    ):
        r = await client.post("/api/businesses", json=body, headers=headers)
        assert r.status_code == 201, r.text
    r = await client.put(
        "/integration/add/businessintegrationgroup",
        json={
            "parentBusinessNumber": ENTERPRISE,
            "integrationSourceId": 32,
            "integrationGroupTriggers": [{"triggerId": 56, "triggerTypeId": 1}],
            "integrationGroupProperties": [
                prop("User_Name", USER_NAME, True),
                prop("PM_Password", PASSWORD, True),
                prop("pms_user_name", "pmuser"),
                prop("allscripts.appointment.status", "Acknowledge,Confirmed"),
                prop("review.url", "https://reviews.example.org/riverside"),
            ],
        },
        headers=headers,
    )
    assert r.status_code == 200, r.text
    found = Configured(group_id=r.json()["groupId"], mappings={})
    for number, name, extra, props in (
        (LOUDOUN, "Loudoun Office", {"customerFetchDelay": 3}, [prop("custom.token", TOKEN, True)]),
        (FAIRFAX, "Fairfax Office", {"dryRun": True}, []),
    ):
        r = await client.put(
            "/integration/add/businessintegrationmapping",
            json={
                "businessNumber": number,
                "integrationGroupId": found.group_id,
                "integrationProperties": [prop("allscripts.location.name", name), *props],
                **extra,
            },
            headers=headers,
        )
        assert r.status_code == 200, r.text
        found.mappings[number] = r.json()["mappingId"]
    r = await client.put(
        f"/api/businesses/{ENTERPRISE}/message-templates/email",
        json={
            "subject": "Review {{ location_name }}",
            "textBody": "Hi {{ first_name }}: {{ review_url }} / stop: {{ unsubscribe_url }}",
            "htmlBody": '<p>Hi {{ first_name }}</p><a href="{{ review_url }}">review</a>'
            '<a href="{{ unsubscribe_url }}">stop</a>',
        },
        headers=headers,
    )
    assert r.status_code == 200, r.text
    return found


def write_secrets(directory: Path) -> Path:
    """The secure values under the names ``config export`` gives them."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, value in {
        f"{ENTERPRISE}.ALLSCRIPTS.User_Name": USER_NAME,
        f"{ENTERPRISE}.ALLSCRIPTS.PM_Password": PASSWORD,
        f"{ENTERPRISE}.ALLSCRIPTS.{LOUDOUN}.custom.token": TOKEN,
    }.items():
        (directory / name).write_text(value + "\n")
    return directory
