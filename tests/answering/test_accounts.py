"""Accounts through the staff API and the CLI: companies, users, practices, doctors."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from frontdesk.cli.main import app as cli


async def test_staff_api_needs_a_staff_key(client: Any, api_key: Any) -> None:
    assert (await client.get("/api/answering/users")).status_code == 401
    from frontdesk.access.principal import Principal
    from frontdesk.businesses.service import add_business
    from frontdesk.context import AppContext

    ctx: AppContext = api_key.ctx
    async with ctx.db.transaction() as session:
        await add_business(
            session, principal=Principal.system(), clock=ctx.clock, number=149547800000001, name="B"
        )
    business_headers = await api_key(business=149547800000001)
    assert (await client.get("/api/answering/users", headers=business_headers)).status_code == 403


async def test_staff_creates_user_practices_and_doctors(staff: Any) -> None:
    created = await staff.post(
        "/api/answering/users",
        json={
            "username": "svc",
            "password": "pw-1",
            "key": "k" * 32,
            "company": "Night Owls",
            "practices": ["P1", "P2"],
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["practices"] == ["P1", "P2"]
    assert body["key"] == "********"
    assert "password" not in body
    assert "pw-1" not in created.text
    assert "k" * 32 not in created.text
    assert (await staff.post("/api/answering/users", json={**{
        "username": "svc", "password": "x", "key": "y", "company": "C", "practices": ["P1"]}})
    ).status_code == 409  # fmt: skip
    no_practice = await staff.post(
        "/api/answering/users",
        json={"username": "x", "password": "x", "key": "y", "company": "C", "practices": []},
    )
    assert no_practice.status_code == 422
    renamed = await staff.post(
        "/api/answering/practices", json={"code": "P1", "name": "Pediatrics"}
    )
    assert renamed.json()["name"] == "Pediatrics"
    doctor = await staff.post(
        "/api/answering/doctors",
        json={"practiceCode": "P1", "code": "DR1", "secureMessaging": False},
    )
    assert doctor.status_code == 201
    assert (await staff.post(
        "/api/answering/doctors", json={"practiceCode": "NOPE", "code": "DR1"})
    ).status_code == 404  # fmt: skip
    doctors = (await staff.get("/api/answering/doctors", params={"practiceCode": "P1"})).json()
    assert [(d["code"], d["secureMessaging"]) for d in doctors] == [("DR1", False)]
    companies = (await staff.get("/api/answering/companies")).json()
    assert [c["name"] for c in companies] == ["Night Owls"]
    patched = await staff.patch("/api/answering/users/svc", json={"practices": ["P2"]})
    assert patched.json()["practices"] == ["P2"]
    users = (await staff.get("/api/answering/users")).json()
    assert [(u["username"], u["company"], u["active"]) for u in users] == [
        ("svc", "Night Owls", True)
    ]


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("FRONTDESK_DATABASE_URL", raising=False)
    monkeypatch.delenv("FRONTDESK_SECRET_KEYS", raising=False)
    return CliRunner()


def test_cli_add_user_and_doctor(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, [
        "answering", "add-user", "--username", "svc", "--password", "pw", "--key", "k" * 32,
        "--company", "Night Owls", "--practice", "1234", "--practice", "5678",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "1234, 5678" in result.output
    result = runner.invoke(cli, ["answering", "add-doctor", "--practice", "1234", "--code", "D9",
                                 "--no-secure-messaging"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "without secure messaging" in result.output
    missing = runner.invoke(cli, ["answering", "add-doctor", "--practice", "0000", "--code", "D9"])
    assert missing.exit_code == 1
    assert "no practice of that code" in missing.output
    with sqlite3.connect(tmp_path / "data" / "frontdesk.db") as db:
        key, password_hash = db.execute(
            "SELECT encryption_key, password_hash FROM answering_users"
        ).fetchone()
    assert key.startswith("gAAAAA")  # encrypted at rest
    assert password_hash.startswith("$argon2id$")
    listing = runner.invoke(cli, ["answering", "lockouts"])
    assert listing.exit_code == 0
    assert "0 lockouts" in listing.output
    as_json = runner.invoke(cli, ["answering", "lockouts", "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert as_json.output.strip() == "[]"


def test_cli_reads_the_password_from_stdin(runner: CliRunner) -> None:
    result = runner.invoke(
        cli,
        ["answering", "add-user", "--username", "svc", "--key", "k" * 32, "--company", "C",
         "--practice", "1"],
        input="from-stdin\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
