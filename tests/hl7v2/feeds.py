"""Real-world-shaped HL7v2 messages (Epic/athena/eCW-like SIU and ADT) for the HL7 tests.

Every patient value here is distinctive so the log tests can look for it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

FACILITY = "NORTHSIDE"
SB, EB, CR = b"\x0b", b"\x1c", b"\r"
PATIENT_VALUES = (
    "Zebulon",
    "Quackenbush",
    "19710304",
    "5550147",
    "zebulon.q@example.org",
    "MRN88812",
    "Hortensia",  # NK1
    "5550199",  # NK1 phone
    "42 Wisteria Lane",
)


@dataclass
class Siu:
    """One SIU message; ``str()`` is its wire text (segments ended by CR)."""

    event: str = "S12"
    control_id: str = "MSG0001"
    appointment_id: str = "APT1001"
    start: str = "20260302093000-0500"
    status: str = "Booked"
    appointment_type: str = "FOLLOWUP"
    location: str = "NORTH-PC"
    facility: str = FACILITY
    accept_ack: str = ""
    version: str = "2.5.1"
    sch_id: bool = True
    mrn: str = "MRN88812"
    email: str = "zebulon.q@example.org"

    def __str__(self) -> str:
        msh = (
            f"MSH|^~\\&|EPICADT|{self.facility}^1.2.840.114350^ISO|FRONTDESK|FRONTDESK|"
            f"20260302080000-0500||SIU^{self.event}^SIU_S12|{self.control_id}|P|{self.version}"
        )
        if self.accept_ack:
            msh += f"|||{self.accept_ack}|NE"
        sch_ids = f"{self.appointment_id}^EPIC|{self.appointment_id}^EPIC" if self.sch_id else "|"
        segments = [
            msh,
            f"SCH|{sch_ids}|||||ROUTINE^Routine visit|{self.appointment_type}^Follow-up visit"
            f"|20|MIN|^^20^{self.start}^20260302095000-0500|||||1234^Welby^Marcus^^^DR"
            f"|^WPN^PH^^1^703^5550100||||||||{self.status}",
            "NTE|1||Patient prefers morning appointments",
            f"PID|1||{self.mrn}^^^EPIC^MR~999-88-7777^^^SSA^SS||Quackenbush^Zebulon^Q||19710304|M"
            "|||42 Wisteria Lane^^Springfield^VA^22150^USA||^PRN^CP^^1^703^5550147"
            f"~^NET^Internet^{self.email}|^WPN^PH^^1^703^5550111|EN|M||ACCT555",
            "NK1|1|Quackenbush^Hortensia|SPO^Spouse|42 Wisteria Lane^^Springfield^VA|"
            "^PRN^PH^^1^703^5550199",
            "PV1|1|O|NORTH-PC^^^NORTHSIDE||||1234^Welby^Marcus",
            "RGS|1|A",
            f"AIS|1|A|{self.appointment_type}^Follow-up visit|{self.start}|0|MIN|20|MIN",
            f"AIL|1|A|{self.location}^^^NORTHSIDE^^^^North Primary Care|^Clinic|{self.start}",
            "AIP|1|A|1234^Welby^Marcus^^^DR|ATT^Attending",
        ]
        return "\r".join(segments) + "\r"


@dataclass
class Adt:
    """One ADT message (A03 discharge by default)."""

    event: str = "A03"
    control_id: str = "ADT0001"
    visit: str = "V5001"
    admitted: str = "20260302101500"
    discharged: str = "20260302110000"
    location: str = "NORTH-PC"
    facility: str = FACILITY
    email: str = ""

    def __str__(self) -> str:
        email = f"~^NET^Internet^{self.email}" if self.email else ""
        segments = [
            f"MSH|^~\\&|CERNER|{self.facility}|FRONTDESK|FRONTDESK|20260302110500||"
            f"ADT^{self.event}^ADT_A03|{self.control_id}|P|2.3",
            f"EVN|{self.event}|20260302110500",
            "PID|1||MRN88812^^^HOSP^MR||Quackenbush^Zebulon||19710304|M|||"
            f"42 Wisteria Lane^^Springfield^VA^22150||(703)555-0147^PRN^CP{email}",
            "NK1|1|Quackenbush^Hortensia|SPO||(703)555-0199",
            f"PV1|1|O|{self.location}^^^{self.facility}|R|||||||||||||||{self.visit}"
            f"|||||||||||||||||||||||||{self.admitted}|{self.discharged}",
        ]
        return "\r".join(segments) + "\r"


def frame(message: str | bytes) -> bytes:
    data = message.encode() if isinstance(message, str) else message
    return SB + data + EB + CR


class Sender:
    """An MLLP client on one kept-alive connection: send a message, read its ACK."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int, host: str = "127.0.0.1") -> Sender:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def send(self, message: str | bytes) -> str:
        self.writer.write(frame(message))
        await self.writer.drain()
        return await self.read_ack()

    async def read_ack(self, wait_s: float = 10.0) -> str:
        block = await asyncio.wait_for(self.reader.readuntil(EB + CR), wait_s)
        assert block.startswith(SB)
        return block[1:-2].decode()

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


def msa(ack: str) -> list[str]:
    """The MSA fields of an ACK (MSA-1 code, MSA-2 control id, ...)."""
    line = next(s for s in ack.split("\r") if s.startswith("MSA|"))
    return line.split("|")[1:]


def err(ack: str) -> str | None:
    return next((s for s in ack.split("\r") if s.startswith("ERR|")), None)
