"""Reading an inbound HL7v2 message: decoding, parsing with ``hl7`` (python-hl7), the MSH.

Only the MSH is needed to decide whether a message is accepted (control id, sending facility,
type, acknowledgement modes); the rest is read leniently by the HL7 source's mapping
(:mod:`frontdesk.connectors.hl7v2.mapping`). Real feeds bend the standard: segments ended by
``\\n`` or ``\\r\\n`` instead of ``\\r``, trailing blanks, Latin-1 bytes; all are accepted here.

Nothing in this module puts message content in an exception text: the library's own parse
errors may quote a segment, so they are replaced by :class:`Unreadable` with a fixed reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import hl7


class Unreadable(ValueError):
    """The bytes are not an HL7v2 message with a usable MSH (the reason quotes no content)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Header:
    """What the MSH says: enough to store, de-duplicate, route and acknowledge a message."""

    control_id: str
    sending_application: str
    sending_facility: str
    message_type: str
    trigger_event: str
    version: str
    processing_id: str
    accept_ack_type: str
    application_ack_type: str

    @property
    def type_name(self) -> str:
        """``SIU^S12``: MSH-9.1 and MSH-9.2."""
        return f"{self.message_type}^{self.trigger_event}"

    @property
    def enhanced(self) -> bool:
        """Enhanced acknowledgement mode: MSH-15 (accept ack type) is valued."""
        return bool(self.accept_ack_type)


def decode(frame: bytes) -> str:
    """The message text: UTF-8, else Latin-1; segment ends normalised to ``\\r``."""
    try:
        text = frame.decode("utf-8")
    except UnicodeDecodeError:
        text = frame.decode("latin-1")
    text = text.replace("\r\n", "\r").replace("\n", "\r")
    segments = [s.rstrip() for s in text.strip("\r\x0b\x1c \t").split("\r")]
    return "\r".join(s for s in segments if s)


def parse(text: str) -> hl7.Message:
    """Parse ``text`` (from :func:`decode`) or raise :class:`Unreadable`."""
    if not text.startswith("MSH") or len(text) < 8:
        raise Unreadable("the message does not start with an MSH segment")
    try:
        return hl7.parse(text)
    except Exception as exc:  # the library's messages may quote content: replace them
        raise Unreadable(f"the message cannot be parsed ({type(exc).__name__})") from None


INDEX_FIELDS: dict[str, dict[str, frozenset[int]]] = {
    "SIU": {
        "SCH": frozenset({1, 2, 8, 11, 25}),
        "TQ1": frozenset({7}),
        "AIS": frozenset({3, 4}),
        "AIL": frozenset({3, 6}),
        "PV1": frozenset({3, 44}),
    },
    "ADT": {
        "EVN": frozenset({2, 6}),
        "PID": frozenset({18}),
        "PV1": frozenset({2, 3, 4, 19, 44, 45}),
    },
}
"""The fields the listener reads before it answers (appointment id, start, type, location)."""


def index_text(text: str) -> str:
    """``text`` reduced to its MSH and the index fields of the first of each index segment.

    The listener parses only these before it answers. python-hl7 builds a container for every
    component of every segment: measured on this machine, ~1.3 ms for a 1.3 kB SIU with
    PID/NK1/NTE/AIP (plus ~0.9 ms of field look-ups), ~0.26 ms for MSH + whole SCH/AIS/AIL/PV1,
    less again with only the index fields kept; at 2 ms a message the listener could not
    reach 500 messages/s (bench/mllp_ingest.py measured 243/s). The whole message is parsed
    by the library when the HL7 source reads the store (patient, practitioner).
    """
    segments = text.split("\r")
    msh = segments[0]
    separator = msh[3:4] or "|"
    fields = msh[4:].split(separator)
    kind = fields[7][:3].upper() if len(fields) > 7 else ""
    wanted = dict(INDEX_FIELDS.get(kind, {}))
    kept = [msh]
    for segment in segments[1:]:
        keep = wanted.pop(segment[:3], None)
        if keep is not None:
            parts = segment.split(separator)
            kept.append(
                separator.join(p if i == 0 or i in keep else "" for i, p in enumerate(parts))
            )
    return "\r".join(kept)


def value(message: hl7.Message, path: str) -> str:
    """The value at ``path`` (e.g. ``"SCH.F2.R1.C1"``), unescaped; ``""`` when absent."""
    try:
        found = message[path]
    except (KeyError, IndexError, ValueError, TypeError):
        return ""
    text = str(found).strip()
    if "\\" in text:
        try:
            text = str(message.unescape(text))
        except Exception:  # a malformed escape: keep the text as received
            return text
    return text


def header_of(message: hl7.Message) -> Header:
    """The MSH fields; a missing MSH-10 or MSH-9 is :class:`Unreadable`."""
    header = Header(
        control_id=value(message, "MSH.F10"),
        sending_application=value(message, "MSH.F3.R1.C1"),
        sending_facility=value(message, "MSH.F4.R1.C1"),
        message_type=value(message, "MSH.F9.R1.C1").upper(),
        trigger_event=value(message, "MSH.F9.R1.C2").upper(),
        version=value(message, "MSH.F12.R1.C1"),
        processing_id=value(message, "MSH.F11.R1.C1"),
        accept_ack_type=value(message, "MSH.F15").upper(),
        application_ack_type=value(message, "MSH.F16").upper(),
    )
    if not header.control_id:
        raise Unreadable("MSH-10 (message control id) is empty")
    if len(header.control_id) > 199 or len(header.sending_facility) > 199:
        raise Unreadable("MSH-10 or MSH-4 is longer than 199 characters")
    if not header.message_type:
        raise Unreadable("MSH-9 (message type) is empty")
    return header
