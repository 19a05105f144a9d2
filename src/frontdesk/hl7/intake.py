"""What happens to one inbound message: read its MSH, judge it, store it, acknowledge it.

The order is the point (the oldest complaint about interface engines is an ACK sent before the
write): the ACK is built only after :meth:`MessageStore.put` returned, i.e. after the commit.
If the store fails, the answer is AR with ERR 207 (the sender keeps the message and retries),
never AA. Judging needs only the MSH for AA/AR; the body is read leniently, and a body that
cannot describe a visit is stored as ``errored`` and answered AE with ERR.

Log lines carry the control id, facility, type, state and ACK code: never message content.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import hl7

from frontdesk.clock import Clock
from frontdesk.connectors.hl7v2.mapping import Unsupported, Unusable, Visit, visit_of
from frontdesk.hl7.acks import (
    INTERNAL_ERROR,
    UNKNOWN_KEY,
    AckCode,
    AckError,
    ack_for,
    should_send,
)
from frontdesk.hl7.message import Header, Unreadable, decode, header_of, index_text, parse
from frontdesk.hl7.models import ACCEPTED, ERRORED, REJECTED
from frontdesk.hl7.store import MessageStore, StoredMessage
from frontdesk.logs import get_logger
from frontdesk.settings import MllpSettings

log = get_logger(__name__)

KnowsFacility = Callable[[str], Awaitable[bool]]


@dataclass(frozen=True)
class Verdict:
    """How a message is stored and answered."""

    code: AckCode
    state: str
    error: AckError | None = None
    visit: Visit | None = None


async def judge(message: hl7.Message, header: Header, knows: KnowsFacility) -> Verdict:
    """AR for an unknown facility or an unsupported type, AE for unusable content, else AA."""
    if not await knows(header.sending_facility):
        error = AckError(UNKNOWN_KEY, "unknown sending facility (MSH-4)", "MSH-4")
        return Verdict(AckCode.AR, REJECTED, error)
    try:
        visit = visit_of(message, header)
    except Unsupported as exc:
        return Verdict(AckCode.AR, REJECTED, AckError(exc.code, exc.text, "MSH-9"))
    except Unusable as exc:
        return Verdict(AckCode.AE, ERRORED, AckError(exc.code, exc.text, exc.field))
    except Exception as exc:  # lenient reading still failed: keep the message, say AE
        text = f"the content cannot be read ({type(exc).__name__})"
        return Verdict(AckCode.AE, ERRORED, AckError(INTERNAL_ERROR, text))
    return Verdict(AckCode.AA, ACCEPTED, visit=visit)


def error_text(verdict: Verdict) -> str | None:
    """The stored error: the field at fault and our text (no content)."""
    if verdict.error is None:
        return None
    where = f"{verdict.error.location}: " if verdict.error.location else ""
    return f"{where}{verdict.error.text}"[:300]


class Intake:
    """Receives frames: judge → store (durably) → ACK (see the module docstring)."""

    def __init__(
        self, store: MessageStore, *, knows: KnowsFacility, settings: MllpSettings, clock: Clock
    ) -> None:
        self.store = store
        self.knows = knows
        self.settings = settings
        self.clock = clock

    def _ack(
        self,
        message: hl7.Message | None,
        header: Header | None,
        code: AckCode,
        error: AckError | None,
    ) -> bytes | None:
        if not should_send(header, code):
            return None
        text = ack_for(
            message,
            header,
            code,
            error=error,
            application=self.settings.receiving_application,
            facility=self.settings.receiving_facility,
        )
        return text.encode("utf-8")

    def _not_stored(self, message: hl7.Message, header: Header, exc: Exception) -> bytes | None:
        """AR with ERR 207: nothing was stored, the sender keeps the message and resends."""
        log.error(
            "hl7.store_failed",
            control_id=header.control_id,
            facility=header.sending_facility,
            error_type=type(exc).__name__,
        )
        error = AckError(INTERNAL_ERROR, "the message could not be stored; send it again")
        return self._ack(message, header, AckCode.AR, error)

    async def receive(self, frame: bytes) -> bytes | None:
        """Store ``frame`` and return the ACK to send (None: MSH-15 asks for none)."""
        received_at = self.clock.now()
        text = decode(frame)
        try:
            message = parse(index_text(text))  # MSH + the index segments: see index_text
            header = header_of(message)
        except Unreadable as exc:
            log.warning("hl7.unreadable", size=len(frame), reason=exc.reason)
            return self._ack(None, None, AckCode.AR, AckError(100, exc.reason, "MSH"))
        try:
            verdict = await judge(message, header, self.knows)
        except Exception as exc:  # the facility lookup failed (database down): not stored
            return self._not_stored(message, header, exc)
        visit = verdict.visit
        item = StoredMessage(
            control_id=header.control_id,
            sending_facility=header.sending_facility,
            sending_application=header.sending_application,
            message_type=header.type_name,
            state=verdict.state,
            error=error_text(verdict),
            appointment_id=visit.appointment_id[:200] if visit else None,
            appointment_day=visit.start.date() if visit else None,
            location=visit.location[:200] if visit else None,
            received_at=received_at,
            raw=self.store.secrets.encrypt(text),
        )
        if self.settings.store_delay_s:
            await asyncio.sleep(self.settings.store_delay_s)
        try:
            await self.store.put(item)
        except Exception as exc:
            return self._not_stored(message, header, exc)
        log.info(
            "hl7.received",
            control_id=header.control_id,
            facility=header.sending_facility,
            type=header.type_name,
            state=verdict.state,
            ack=verdict.code.value,
            enhanced=header.enhanced,
        )
        return self._ack(message, header, verdict.code, verdict.error)
