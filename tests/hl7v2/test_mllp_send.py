"""An independent MLLP sender — the ``mllp_send`` command of the ``hl7`` package — talks to
the listener: every message of its file is answered, in order, on one connection."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.hl7v2.conftest import Practice
from tests.hl7v2.feeds import Adt, Siu, frame, msa

from frontdesk.hl7.store import Search

MLLP_SEND = Path(sys.executable).parent / "mllp_send"


async def test_mllp_send_gets_an_ack_per_message(practice: Practice, tmp_path: Path) -> None:
    feed = [
        Siu("S12", "EXT1", "APT1", status="Booked"),
        Siu("S14", "EXT2", "APT1", status="Complete"),
        Siu("S15", "EXT3", "APT2"),
        Siu("S26", "EXT4", "APT3"),
        Adt("A03", "EXT5", "V1"),
        Siu("S12", "EXT6", "APT4", facility="NOBODY"),
    ]
    path = tmp_path / "feed.hl7"
    path.write_bytes(b"".join(frame(str(m)) for m in feed))
    process = await asyncio.create_subprocess_exec(
        str(MLLP_SEND),
        "--port",
        str(practice.port),
        "--file",
        str(path),
        "127.0.0.1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, stderr.decode()
    acks = [a for a in stdout.decode().replace("\x1c", "").split("\x0b") if a.strip()]
    assert [msa(a)[:2] for a in acks] == [
        ["AA", "EXT1"],
        ["AA", "EXT2"],
        ["AA", "EXT3"],
        ["AA", "EXT4"],
        ["AA", "EXT5"],
        ["AR", "EXT6"],
    ]
    rows = await practice.listener.store.search(Search())
    assert sorted(r.control_id for r in rows) == [f"EXT{n}" for n in range(1, 7)]
