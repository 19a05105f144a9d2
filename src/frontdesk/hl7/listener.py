"""The MLLP listener: an asyncio TCP (optionally TLS) server speaking MLLP framing.

Framing and streams come from ``hl7.mllp`` (python-hl7): a block is ``0x0B`` message
``0x1C 0x0D``. A connection is kept alive for many messages; each is answered in order, after
it is stored (:mod:`frontdesk.hl7.intake`). A frame without the start byte or larger than
``max_message_bytes`` closes the connection (the sender reconnects and resends: nothing was
acknowledged). Every hour the listener deletes messages older than ``retention_days``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from datetime import timedelta

from hl7.mllp import InvalidBlockError, start_hl7_server
from hl7.mllp.streams import HL7StreamReader, HL7StreamWriter

from frontdesk.clock import Clock
from frontdesk.hl7.facilities import KnownFacilities
from frontdesk.hl7.intake import Intake
from frontdesk.hl7.store import MessageStore
from frontdesk.logs import get_logger
from frontdesk.settings import MllpSettings

log = get_logger(__name__)
PURGE_EVERY_S = 3600.0


def tls_context(settings: MllpSettings) -> ssl.SSLContext | None:
    """A server TLS context when a certificate and key are configured."""
    if settings.tls_cert is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(settings.tls_cert, settings.tls_key)
    return context


class MllpListener:
    """Accepts MLLP connections and feeds every frame to :class:`Intake`."""

    def __init__(
        self,
        store: MessageStore,
        *,
        settings: MllpSettings,
        clock: Clock,
        host: str | None = None,
        port: int | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.host = host or settings.host
        self.port = port if port is not None else (settings.port or 0)
        self.facilities = KnownFacilities(store.db, refresh_s=settings.facility_refresh_s)
        self.intake = Intake(store, knows=self.facilities.knows, settings=settings, clock=clock)
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._purger: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Bind and listen (``port`` 0: any free port; read :attr:`port` afterwards)."""
        self._server = await start_hl7_server(
            self._serve,
            self.host,
            self.port,
            limit=self.settings.max_message_bytes,
            ssl=tls_context(self.settings),
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._purger = asyncio.create_task(self._purge_loop(), name="hl7-purge")
        log.info("mllp.listening", host=self.host, port=self.port)

    async def stop(self) -> None:
        """Stop accepting, let in-flight messages finish storing, close connections."""
        if self._server is not None:
            self._server.close()
        if self._purger is not None:
            self._purger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._purger
        await self.store.drain()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def serve_forever(self) -> None:
        """Run until cancelled (``frontdesk mllp``)."""
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()

    async def _serve(self, reader: HL7StreamReader, writer: HL7StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        peer = writer.get_extra_info("peername")
        log.debug("mllp.connected", peer=str(peer))
        try:
            while True:
                try:
                    frame = await asyncio.wait_for(
                        reader.readblock(), timeout=self.settings.idle_timeout_s
                    )
                except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                    break
                except (InvalidBlockError, ValueError) as exc:
                    log.warning("mllp.bad_frame", peer=str(peer), error_type=type(exc).__name__)
                    break
                ack = await self.intake.receive(frame)
                if ack is not None:
                    writer.writeblock(ack)
                    await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _purge_loop(self) -> None:
        while True:
            try:
                cutoff = self.clock.now() - timedelta(days=self.settings.retention_days)
                deleted = await self.store.purge(before=cutoff)
                if deleted:
                    log.info("hl7.purged", messages=deleted)
            except Exception as exc:  # retried at the next hour
                log.warning("hl7.purge_failed", error_type=type(exc).__name__)
            await asyncio.sleep(PURGE_EVERY_S)
