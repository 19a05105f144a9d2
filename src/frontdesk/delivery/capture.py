"""The demo mail capture: a real SMTP server on loopback that stores what it receives.

``frontdesk demo`` points ``FRONTDESK_SMTP__HOST``/``__PORT`` at it, so the email channel runs
exactly as in production and every message ends up in the ``captured_mail`` table, whole.

Threading: aiosmtpd's :class:`~aiosmtpd.controller.Controller` runs the server on an event
loop of its own, in a thread. The capture gives that loop a :class:`Database` of its own,
opened on the same URL and used only there: nothing crosses threads but the received bytes,
and no caller's loop needs to be running (the demo starts the capture before uvicorn starts
its loop). The server answers ``250`` only after the row is committed, so once a client's
``send`` returns, the message is in the table; a failed write answers ``451`` (try later).

aiosmtpd logs envelope addresses and message lines at INFO/DEBUG on ``mail.log``; the capture
raises that logger to WARNING.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.clock import Clock, SystemClock
from frontdesk.db.engine import Database
from frontdesk.delivery.models import CapturedMail
from frontdesk.logs import get_logger

log = get_logger(__name__)
LOOPBACK = "127.0.0.1"
AIOSMTPD_LOGGER = "mail.log"


class LoopbackController(Controller):
    """An aiosmtpd controller that may bind port 0 and then reports the port it got."""

    def __init__(self, handler: Any, *, hostname: str = LOOPBACK, port: int = 0) -> None:
        super().__init__(handler, hostname=hostname, port=port, ready_timeout=10.0)
        logging.getLogger(AIOSMTPD_LOGGER).setLevel(logging.WARNING)

    def _trigger_server(self) -> None:
        # Called once the server is bound: learn the ephemeral port before connecting to it.
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class _StoreHandler:
    """aiosmtpd handler: one row per message, written on the server's own loop."""

    def __init__(self, database_url: str, clock: Clock) -> None:
        self._url = database_url
        self._clock = clock
        self._db: Database | None = None

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        raw: bytes = envelope.original_content or envelope.content
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        row = CapturedMail(
            received_at=self._clock.now(),
            mail_from=str(envelope.mail_from or "")[:320],
            rcpt_tos=[str(r) for r in envelope.rcpt_tos],
            message_id=_header(parsed, "Message-ID", 255),
            subject=_header(parsed, "Subject", None),
            raw=raw.decode("utf-8", errors="replace"),
        )
        try:
            if self._db is None:
                self._db = Database(self._url, pool_size=1)
            async with self._db.transaction() as session:
                session.add(row)
        except Exception as exc:  # the client will retry; nothing about the message is logged
            log.error("delivery.capture.store_failed", error_type=type(exc).__name__)
            return "451 4.3.0 capture storage failed, try again later"
        log.info("delivery.capture.stored", message_id=row.message_id)
        return "250 2.0.0 OK captured"

    async def close(self) -> None:
        if self._db is not None:
            await self._db.dispose()
            self._db = None


class MailCapture:
    """Start/stop the capture server in-process; ``port`` is known after :meth:`start`."""

    def __init__(
        self,
        database_url: str,
        *,
        hostname: str = LOOPBACK,
        port: int = 0,
        clock: Clock | None = None,
    ) -> None:
        self._handler = _StoreHandler(database_url, clock or SystemClock())
        self._controller = LoopbackController(self._handler, hostname=hostname, port=port)
        self.hostname = hostname
        self._running = False

    @property
    def port(self) -> int:
        port: int = self._controller.port
        return port

    def start(self) -> None:
        """Bind and serve in a background thread (blocks until the server answers)."""
        self._controller.start()
        self._running = True
        log.info("delivery.capture.started", host=self.hostname, port=self.port)

    def stop(self) -> None:
        """Close the capture's database connections, then the server and its thread."""
        if not self._running:
            return
        future = asyncio.run_coroutine_threadsafe(self._handler.close(), self._controller.loop)
        future.result(timeout=10)
        self._controller.stop()
        self._running = False

    async def astart(self) -> None:
        await asyncio.to_thread(self.start)

    async def astop(self) -> None:
        await asyncio.to_thread(self.stop)


async def list_captured(
    session: AsyncSession, *, limit: int = 50, before_id: int | None = None
) -> Sequence[CapturedMail]:
    """Captured messages, newest first (page with ``before_id``)."""
    query = select(CapturedMail).order_by(CapturedMail.id.desc()).limit(max(1, min(limit, 500)))
    if before_id is not None:
        query = query.where(CapturedMail.id < before_id)
    return (await session.execute(query)).scalars().all()


async def get_captured_by_message_id(
    session: AsyncSession, *, message_id: str
) -> CapturedMail | None:
    """The newest captured message with this ``Message-ID`` (angle brackets optional)."""
    wanted = message_id.strip()
    if not wanted.startswith("<"):
        wanted = f"<{wanted}>"
    query = (
        select(CapturedMail)
        .where(CapturedMail.message_id == wanted)
        .order_by(CapturedMail.id.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


def parse_captured(mail: CapturedMail) -> EmailMessage:
    """The stored message parsed back (to show its text or HTML part)."""
    parsed = message_from_bytes(mail.raw.encode("utf-8"), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _header(message: EmailMessage, name: str, limit: int | None) -> str | None:
    value = message.get(name)
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text[:limit] if limit else text
