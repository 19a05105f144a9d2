"""The listener over TCP: ACK codes (AA, AE with ERR, AR), de-duplication by MSH-10, kept
messages, enhanced mode, many messages per connection, no patient data in logs."""

from __future__ import annotations

import asyncio
import logging

import pytest
import structlog
from sqlalchemy import select, text
from tests.hl7v2.conftest import Practice
from tests.hl7v2.feeds import PATIENT_VALUES, Adt, Sender, Siu, err, msa

from frontdesk.hl7.facilities import KnownFacilities
from frontdesk.hl7.models import Hl7Message
from frontdesk.hl7.reprocess import reprocess
from frontdesk.hl7.store import Search


async def stored(practice: Practice) -> list[Hl7Message]:
    async with practice.ctx.db.reader() as session:
        rows = list((await session.execute(select(Hl7Message).order_by(Hl7Message.id))).scalars())
        session.expunge_all()
    return rows


async def test_siu_is_stored_encrypted_then_acked_aa(practice: Practice) -> None:
    sender = await Sender.connect(practice.port)
    ack = await sender.send(str(Siu()))
    await sender.close()
    assert msa(ack)[:2] == ["AA", "MSG0001"]
    assert ack.startswith("MSH|^~\\&|FRONTDESK|FRONTDESK|EPICADT|")
    assert "|ACK^S12^ACK|" in ack
    [row] = await stored(practice)
    assert (row.control_id, row.sending_facility, row.message_type, row.state) == (
        "MSG0001",
        "NORTHSIDE",
        "SIU^S12",
        "accepted",
    )
    assert (row.appointment_id, str(row.appointment_day), row.location) == (
        "APT1001",
        "2026-03-02",
        "NORTH-PC",
    )
    async with practice.ctx.db.reader() as session:
        raw = (await session.execute(text("SELECT raw FROM hl7_messages"))).scalar_one()
    assert raw.startswith("gAAAAA")
    assert "Quackenbush" not in raw
    assert "Quackenbush" in practice.listener.store.raw_text(row)


async def test_a_resent_control_id_is_stored_once_and_acked_aa_again(practice: Practice) -> None:
    sender = await Sender.connect(practice.port)
    first = await sender.send(str(Siu()))
    again = await sender.send(str(Siu()))
    await sender.close()
    other = await Sender.connect(practice.port)  # a reconnect after a lost ACK: the same
    third = await other.send(str(Siu(status="Complete")))
    await other.close()
    assert [msa(a)[0] for a in (first, again, third)] == ["AA", "AA", "AA"]
    assert len(await stored(practice)) == 1


@pytest.mark.parametrize(
    ("message", "code", "error_code", "state"),
    [
        pytest.param(Siu(sch_id=False), "AE", "101", "errored", id="no-appointment-id"),
        pytest.param(Siu(start="tomorrow"), "AE", "102", "errored", id="bad-start"),
        pytest.param(Siu(event="S99"), "AR", "201", "rejected", id="unsupported-event"),
        pytest.param(Siu(facility="ELSEWHERE"), "AR", "204", "rejected", id="unknown-facility"),
    ],
)
async def test_failures_are_stored_and_answered_with_err(
    practice: Practice, message: Siu, code: str, error_code: str, state: str
) -> None:
    sender = await Sender.connect(practice.port)
    ack = await sender.send(str(message))
    await sender.close()
    assert msa(ack)[:2] == [code, "MSG0001"]
    error = err(ack)
    assert error is not None
    assert f"|{error_code}^" in error
    [row] = await stored(practice)
    assert row.state == state
    assert row.error


async def test_unsupported_type_and_unreadable_frames_are_refused(practice: Practice) -> None:
    sender = await Sender.connect(practice.port)
    oru = str(Siu()).replace("SIU^S12^SIU_S12", "ORU^R01^ORU_R01")
    ack = await sender.send(oru)
    assert msa(ack)[0] == "AR"
    assert "|200^" in (err(ack) or "")
    ack = await sender.send("this is not HL7")
    assert msa(ack)[0] == "AR"
    ack = await sender.send(str(Siu()).replace("|MSG0001|", "||"))  # no MSH-10
    assert msa(ack)[0] == "AR"
    ack = await sender.send(str(Siu(control_id="MSG0002")))  # the connection still works
    assert msa(ack)[:2] == ["AA", "MSG0002"]
    await sender.close()
    assert [r.state for r in await stored(practice)] == ["rejected", "accepted"]


async def test_unknown_facility_is_kept_and_reprocessed_once_configured(
    practice: Practice,
) -> None:
    sender = await Sender.connect(practice.port)
    ack = await sender.send(str(Siu(facility="WESTSIDE")))
    await sender.close()
    assert msa(ack)[0] == "AR"
    assert "unknown sending facility" in ack
    r = await practice.api.put(
        f"/integration/businessintegrationgroup/id/{practice.group_id}"
        "/properties/hl7.sending.facility",
        json={"propertyValue": "NORTHSIDE,WESTSIDE", "isSecure": False},
    )
    assert r.status_code == 200, r.text
    report = await reprocess(
        practice.listener.store,
        knows=KnownFacilities(practice.ctx.db, refresh_s=0).knows,
        clock=practice.ctx.clock,
    )
    assert (report.seen, report.accepted) == (1, 1)
    [row] = await practice.listener.store.search(Search(state="accepted"))
    assert row.sending_facility == "WESTSIDE"
    assert row.appointment_id == "APT1001"


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("AL", "CA"), ("SU", "CA"), ("ER", None), ("NE", None)],
)
async def test_enhanced_mode_answers_a_commit_ack_as_msh15_asks(
    practice: Practice, mode: str, expected: str | None
) -> None:
    sender = await Sender.connect(practice.port)
    sender.writer.write(b"\x0b" + str(Siu(accept_ack=mode)).encode() + b"\x1c\r")
    await sender.writer.drain()
    if expected is None:
        with pytest.raises(TimeoutError):
            await sender.read_ack(wait_s=0.5)
    else:
        assert msa(await sender.read_ack())[:2] == [expected, "MSG0001"]
    await sender.close()
    assert len(await stored(practice)) == 1  # stored either way
    unknown = await Sender.connect(practice.port)
    ack = await unknown.send(str(Siu(accept_ack="AL", facility="ELSEWHERE", control_id="X1")))
    await unknown.close()
    assert msa(ack)[0] == "CR"
    assert err(ack) is not None


async def test_many_messages_on_many_kept_alive_connections(practice: Practice) -> None:
    async def one_connection(n: int) -> list[str]:
        sender = await Sender.connect(practice.port)
        acks = []
        for i in range(20):
            message = Siu(control_id=f"C{n}-{i}", appointment_id=f"A{n}-{i}")
            acks.append(msa(await sender.send(str(message)))[1])
        await sender.close()
        return acks

    results = await asyncio.gather(*(one_connection(n) for n in range(5)))
    assert results == [[f"C{n}-{i}" for i in range(20)] for n in range(5)]
    assert len(await stored(practice)) == 100


async def test_adt_a03_and_line_feed_segments_are_accepted(practice: Practice) -> None:
    sender = await Sender.connect(practice.port)
    ack = await sender.send(str(Adt()).replace("\r", "\r\n"))
    await sender.close()
    assert msa(ack)[:2] == ["AA", "ADT0001"]
    [row] = await stored(practice)
    assert (row.message_type, row.appointment_id, row.location) == ("ADT^A03", "V5001", "NORTH-PC")


async def test_no_pid_or_nk1_content_in_any_log_line(
    practice: Practice, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with structlog.testing.capture_logs() as events:
        sender = await Sender.connect(practice.port)
        for message in (
            Siu(),
            Siu(control_id="M2", sch_id=False),
            Siu(control_id="M3", facility="ELSEWHERE"),
            Siu(control_id="M4", start="garbage"),
        ):
            await sender.send(str(message))
        await sender.send(str(Adt()))
        await sender.send("PID|1||MRN88812||Quackenbush^Zebulon")  # no MSH
        await sender.close()
        await reprocess(
            practice.listener.store,
            knows=KnownFacilities(practice.ctx.db, refresh_s=0).knows,
            clock=practice.ctx.clock,
        )
    lines = [repr(e) for e in events] + [r.getMessage() for r in caplog.records]
    assert any("hl7.received" in line for line in lines)
    blob = "\n".join(lines)
    for value in PATIENT_VALUES:
        assert value not in blob
    for row in await stored(practice):
        for value in PATIENT_VALUES:
            assert value not in (row.error or "")


async def test_a_store_failure_answers_ar_never_aa(practice: Practice) -> None:
    store = practice.listener.store

    async def broken(message: object) -> None:
        raise OSError("disk full")

    store.put = broken  # type: ignore[method-assign,assignment]
    sender = await Sender.connect(practice.port)
    ack = await sender.send(str(Siu(control_id="FAIL1")))
    await sender.close()
    assert msa(ack)[:2] == ["AR", "FAIL1"]
    error = err(ack)
    assert error is not None
    assert "|207^" in error
    assert await stored(practice) == []
