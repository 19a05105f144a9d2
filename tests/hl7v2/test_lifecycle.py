"""The listener in a process: started by the composition root for ``serve``/``demo`` when
``FRONTDESK_MLLP__PORT`` is set, MLLP over TLS, retention, and the source's Test connection."""

from __future__ import annotations

import asyncio
import socket
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import trustme
from tests.hl7v2.conftest import Practice
from tests.hl7v2.feeds import CR, EB, Sender, Siu, frame, msa

from frontdesk.composition import Role, build_process, mllp_listener
from frontdesk.context import AppContext
from frontdesk.hl7.store import Search
from frontdesk.settings import MllpSettings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _with_mllp(ctx: AppContext, mllp: MllpSettings) -> AppContext:
    settings = ctx.settings.model_copy(update={"mllp": mllp})
    return AppContext(settings=settings, db=ctx.db, secrets=ctx.secrets, clock=ctx.clock)


async def test_the_server_role_starts_the_listener_when_a_port_is_set(
    practice: Practice,
) -> None:
    assert build_process(practice.ctx, Role.SERVER).mllp is None  # no port: no listener
    port = _free_port()
    ctx = _with_mllp(practice.ctx, MllpSettings(port=port))
    assert build_process(ctx, Role.CLI).mllp is None
    process = build_process(ctx, Role.SERVER)
    assert process.mllp is not None
    await process.start()
    try:
        sender = await Sender.connect(port)
        assert msa(await sender.send(str(Siu(control_id="SRV1"))))[:2] == ["AA", "SRV1"]
        await sender.close()
    finally:
        await process.stop()
    [row] = await practice.listener.store.search(Search(control_id="SRV1"))
    assert row.state == "accepted"


async def test_mllp_over_tls(practice: Practice, tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("localhost")
    cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "server.pem"))
    settings = MllpSettings(tls_cert=tmp_path / "server.pem", tls_key=tmp_path / "server.pem")
    listener = mllp_listener(_with_mllp(practice.ctx, settings), host="127.0.0.1", port=0)
    await listener.start()
    try:
        client_tls = ssl.create_default_context()
        ca.configure_trust(client_tls)
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", listener.port, ssl=client_tls, server_hostname="localhost"
        )
        writer.write(frame(str(Siu(control_id="TLS1"))))
        await writer.drain()
        block = await asyncio.wait_for(reader.readuntil(EB + CR), 10)
        assert msa(block[1:-2].decode())[:2] == ["AA", "TLS1"]
        writer.close()
        await writer.wait_closed()
    finally:
        await listener.stop()


async def test_retention_deletes_old_messages(practice: Practice) -> None:
    sender = await Sender.connect(practice.port)
    await sender.send(str(Siu(control_id="OLD1")))
    await sender.close()
    store = practice.listener.store
    assert await store.purge(before=datetime.now(UTC) - timedelta(days=1)) == 0
    assert await store.purge(before=datetime.now(UTC) + timedelta(seconds=1)) == 1
    assert await store.search(Search()) == []


async def test_test_connection_reports_what_the_facility_sent(practice: Practice) -> None:
    properties = {"hl7.sending.facility": "northside"}
    connector = practice.process.plugins.connector("HL7V2", properties, practice.ctx.settings)
    before = await connector.check()
    assert before.ok
    assert before.warnings == ("no message received yet",)
    sender = await Sender.connect(practice.port)
    await sender.send(str(Siu(control_id="CHK1")))
    await sender.close()
    after = await connector.check()
    assert after.ok
    assert after.message.startswith("messages accepted from this sending facility: 1,")
    await connector.aclose()
