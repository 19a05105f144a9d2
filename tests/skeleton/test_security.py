"""Secrets at rest, key rotation, password hashing and log redaction."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from frontdesk.context import AppContext
from frontdesk.db.types import EncryptedText
from frontdesk.errors import FatalError
from frontdesk.logs import configure_logging, get_logger
from frontdesk.security.passwords import hash_password, verify_password
from frontdesk.security.redaction import redact, scrub_text
from frontdesk.security.secrets import SecretBox, load_keys
from frontdesk.settings import Settings

SECRET = "F5trgFre5-very-secret"


def test_secret_box_round_trip_and_rotation() -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    token = SecretBox([old]).encrypt(SECRET)
    assert SECRET not in token
    ring = SecretBox([new, old])
    assert ring.decrypt(token) == SECRET
    rotated = ring.rotate(token)
    assert SecretBox([new]).decrypt(rotated) == SECRET
    with pytest.raises(FatalError) as info:
        SecretBox([old]).decrypt(rotated)
    assert SECRET not in str(info.value)


def test_key_file_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    keys = load_keys(settings)
    path = tmp_path / "secret.keys"
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_keys(settings) == keys


def test_encrypted_column_refuses_plain_text() -> None:
    with pytest.raises(ValueError, match="ciphertext only"):
        EncryptedText().process_bind_param(SECRET, sa.create_engine("sqlite://").dialect)


_vault = sa.Table(
    "test_vault",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("value", EncryptedText()),
)


def _file_bytes(path: Path) -> bytes:
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


async def test_a_stored_secret_is_not_readable_in_the_database_file(ctx: AppContext) -> None:
    if not ctx.db.is_sqlite:
        pytest.skip("reads the SQLite file itself; the PostgreSQL variant checks the column")
    async with ctx.db.write_engine.begin() as conn:
        await conn.run_sync(_vault.metadata.create_all)
    async with ctx.db.transaction() as session:
        await session.execute(_vault.insert().values(id=1, value=ctx.secrets.encrypt(SECRET)))
    await ctx.db.dispose()  # checkpoint the WAL into the main file
    raw = _file_bytes(Path(ctx.db.url.split("///", 1)[1]))
    assert SECRET.encode() not in raw
    async with ctx.db.reader() as session:
        stored = (await session.execute(sa.select(_vault.c.value))).scalar_one()
    assert ctx.secrets.decrypt(stored) == SECRET


async def test_stored_secret_column_holds_ciphertext(ctx: AppContext) -> None:
    async with ctx.db.write_engine.begin() as conn:
        await conn.run_sync(_vault.metadata.create_all)
    async with ctx.db.transaction() as session:
        await session.execute(_vault.insert().values(id=1, value=ctx.secrets.encrypt(SECRET)))
    async with ctx.db.reader() as session:
        raw = (await session.execute(sa.text("SELECT value FROM test_vault"))).scalar_one()
    assert SECRET not in raw


def test_argon2_passwords() -> None:
    hashed = hash_password("correct horse")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "correct horse")
    assert not verify_password(hashed, "wrong horse")
    assert not verify_password("not-a-hash", "correct horse")


@pytest.mark.parametrize(
    ("text", "leak"),
    [
        pytest.param("mail jane.doe@example.org now", "jane.doe@example.org", id="email"),
        pytest.param("call (703) 555-0142 back", "555-0142", id="phone-us"),
        pytest.param("cell +1 703 555 0142", "555 0142", id="phone-intl"),
        pytest.param(
            "key fd_abcdefghijklmnopqrstuvwxyz012345", "fd_abcdefghijklmnop", id="api-key"
        ),
    ],
)
def test_scrub_text(text: str, leak: str) -> None:
    assert leak not in scrub_text(text)


def test_scrub_text_keeps_ids_and_dates() -> None:
    text = "run 42 group 1314 business 149547879572938 window 2026-11-23"
    assert scrub_text(text) == text


def test_redact_nested_keys() -> None:
    data = {
        "propertyKey": "PM_Password",
        "PM_Password": SECRET,
        "patient": {"First_Name": "Jane", "DOB": "01/02/1980", "Cell_Phone": "7035550142", "id": 7},
    }
    out = redact(data)
    assert out["propertyKey"] == "PM_Password"
    assert SECRET not in json.dumps(out)
    assert "Jane" not in json.dumps(out)
    assert out["patient"]["id"] == 7


async def test_request_logs_carry_no_secret_and_no_patient_field(
    client: httpx.AsyncClient,
    staff_headers: dict[str, str],
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(settings)
    body = {
        "businessNumber": "oops",
        "name": "Jane Doe",
        "password": SECRET,
        "email": "jane.doe@example.org",
        "phone": "(703) 555-0142",
        "dob": "01/02/1980",
    }
    r = await client.post("/api/businesses", json=body, headers=staff_headers)
    assert r.status_code == 422
    assert SECRET not in r.text
    assert "jane.doe" not in r.text
    get_logger("test").warning(
        "login failed for jane.doe@example.org",
        password=SECRET,
        first_name="Jane",
        dob="01/02/1980",
    )
    logging.getLogger("httpx").warning("Authorization: %s", staff_headers["Authorization"])
    captured = capsys.readouterr()
    logs = captured.err + captured.out
    assert "http.request" in logs
    assert "http.invalid_input" in logs
    for leak in (
        SECRET,
        "jane.doe@example.org",
        "555-0142",
        "01/02/1980",
        "Jane",
        staff_headers["Authorization"].split()[1],
    ):
        assert leak not in logs, leak


async def test_access_log_names_the_route_template_not_the_concrete_path(
    client: httpx.AsyncClient,
    staff_headers: dict[str, str],
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(settings)
    await client.get(
        "/api/businesses/149547879572938?token=abcdef0123456789", headers=staff_headers
    )
    logs = capsys.readouterr().err
    assert '"route": "/api/businesses/{number}"' in logs
    assert "149547879572938" not in logs
    assert "abcdef0123456789" not in logs
