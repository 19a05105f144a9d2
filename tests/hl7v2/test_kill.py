"""kill -9 of ``frontdesk mllp`` while messages are between receipt and storage never leaves
an AA for a message that is not in the store (the ACK is sent only after the commit)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
from pathlib import Path

import httpx
import pytest
from tests.conftest import TEST_SECRET_KEY, KeyFactory
from tests.hl7v2.conftest import configure
from tests.hl7v2.feeds import CR, EB, Siu, frame, msa

from frontdesk.composition import Role, build_process
from frontdesk.context import AppContext
from frontdesk.hl7.store import MessageStore, Search
from frontdesk.server.app import create_app
from frontdesk.settings import Settings

SRC = Path(__file__).resolve().parents[2] / "src"
CONNECTIONS = 8


async def _prepared_database(template: Path, tmp_path: Path) -> Settings:
    path = tmp_path / "frontdesk.db"
    shutil.copyfile(template, path)
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{path}",
        secret_keys=TEST_SECRET_KEY,  # type: ignore[arg-type]
    )
    ctx = await AppContext.open(settings, migrate=False)
    process = build_process(ctx, Role.CLI)
    await process.start()
    headers = await KeyFactory(ctx)()
    app = create_app(settings, process=process)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers
    ) as api:
        await configure(api)
    await process.stop()
    await ctx.close()
    return settings


async def _start_listener(
    settings: Settings, tmp_path: Path
) -> tuple[asyncio.subprocess.Process, int]:
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "FRONTDESK_DATA_DIR": str(settings.data_dir),
        "FRONTDESK_DATABASE_URL": settings.database_url or "",
        "FRONTDESK_SECRET_KEYS": TEST_SECRET_KEY,
        "FRONTDESK_LOG_FORMAT": "json",
        "FRONTDESK_MLLP__STORE_DELAY_S": "0.15",  # the window between receipt and storage
    }
    listener = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from frontdesk.cli.main import main; main()",
        "mllp",
        "--port",
        "0",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert listener.stdout is not None
    while True:
        line = (await asyncio.wait_for(listener.stdout.readline(), timeout=30)).decode()
        assert line, "the listener exited before listening"
        if line.startswith("mllp listening on"):
            return listener, int(line.rsplit(":", 1)[1])


@pytest.mark.slow
async def test_kill_9_between_receipt_and_store_never_leaves_an_unstored_aa(
    sqlite_template: Path, tmp_path: Path
) -> None:
    settings = await _prepared_database(sqlite_template, tmp_path)
    listener, port = await _start_listener(settings, tmp_path)
    acked: set[str] = set()
    in_flight: set[str] = set()
    enough = asyncio.Event()

    async def connection(n: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for i in range(1000):
                control_id = f"K{n}-{i}"
                in_flight.add(control_id)
                writer.write(frame(str(Siu(control_id=control_id, appointment_id=control_id))))
                await writer.drain()
                block = await reader.readuntil(EB + CR)
                code, echoed = msa(block[1:-2].decode())[:2]
                assert echoed == control_id
                in_flight.discard(control_id)
                if code == "AA":
                    acked.add(control_id)
                if len(acked) >= 40:
                    enough.set()
        except (asyncio.IncompleteReadError, ConnectionError):
            return  # killed
        finally:
            writer.close()

    senders = [asyncio.create_task(connection(n)) for n in range(CONNECTIONS)]
    await asyncio.wait_for(enough.wait(), timeout=60)
    await asyncio.sleep(0.07)  # mid-way through the next messages' receipt → store window
    listener.send_signal(signal.SIGKILL)
    await listener.wait()
    await asyncio.wait_for(asyncio.gather(*senders), timeout=30)

    ctx = await AppContext.open(settings, migrate=False)
    try:
        store = MessageStore(ctx.db, ctx.secrets)
        stored = {r.control_id for r in await store.search(Search(limit=100_000))}
    finally:
        await ctx.close()
    assert acked, "nothing was acknowledged before the kill"
    assert acked <= stored, f"AA without a stored message: {sorted(acked - stored)}"
    # the kill did land between receipt and storage for some messages: sent, never answered,
    # and not stored (the sender still has them and will send them again)
    assert in_flight - stored, "the kill did not hit a message in flight"
