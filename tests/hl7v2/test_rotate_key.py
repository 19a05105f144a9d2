"""``frontdesk admin rotate-key`` re-encrypts stored HL7 messages (their raw column is an
EncryptedText): after ``--drop-old`` only the new key opens them."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import text
from tests.hl7v2.feeds import Siu
from typer.testing import CliRunner

from frontdesk.cli.main import app
from frontdesk.context import AppContext
from frontdesk.hl7.store import MessageStore, Search, StoredMessage
from frontdesk.security.secrets import key_file
from frontdesk.settings import Settings


async def _store_one(settings: Settings) -> tuple[str, str]:
    ctx = await AppContext.open(settings, migrate=False)
    try:
        store = MessageStore(ctx.db, ctx.secrets)
        body = str(Siu()).rstrip("\r")
        await store.put(
            StoredMessage(
                control_id="ROT1",
                sending_facility="NORTHSIDE",
                sending_application="EPICADT",
                message_type="SIU^S12",
                state="accepted",
                error=None,
                appointment_id="APT1001",
                appointment_day=None,
                location="NORTH-PC",
                received_at=datetime(2026, 3, 2, tzinfo=UTC),
                raw=ctx.secrets.encrypt(body),
            )
        )
        async with ctx.db.reader() as session:
            raw = (await session.execute(text("SELECT raw FROM hl7_messages"))).scalar_one()
        return body, raw
    finally:
        await ctx.close()


async def _read_back(settings: Settings) -> tuple[str, str]:
    ctx = await AppContext.open(settings, migrate=False)
    try:
        store = MessageStore(ctx.db, ctx.secrets)
        [row] = await store.search(Search())
        return store.raw_text(row), row.raw
    finally:
        await ctx.close()


def test_rotate_key_reencrypts_stored_messages(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "frontdesk.db"
    shutil.copyfile(sqlite_template, path)
    monkeypatch.delenv("FRONTDESK_SECRET_KEYS", raising=False)
    settings = Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{path}")
    body, before = asyncio.run(_store_one(settings))
    old_key = key_file(settings).read_text().strip().encode()

    result = CliRunner().invoke(
        app,
        ["admin", "rotate-key", "--drop-old"],
        env={
            "FRONTDESK_DATA_DIR": str(settings.data_dir),
            "FRONTDESK_DATABASE_URL": f"sqlite:///{path}",
        },
    )
    assert result.exit_code == 0, result.output
    keys = key_file(settings).read_text().split()
    assert len(keys) == 1
    assert keys[0].encode() != old_key

    plain, after = asyncio.run(_read_back(settings))
    assert plain == body
    assert after != before
    with pytest.raises(InvalidToken):
        Fernet(old_key).decrypt(after.encode())
