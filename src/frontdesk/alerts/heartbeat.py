"""Heartbeats: how a listener or a job runner says it is alive.

Each running instance (``host:pid:nonce``) of a component keeps one ``component_heartbeats``
row and touches it every ``alerts.heartbeat_s``. A clean stop deletes the row, so a
component stopped on purpose raises nothing; a killed or hung one leaves a row that stops
moving, and :mod:`frontdesk.alerts.conditions` calls the component quiet once no instance
has beaten for ``alerts.quiet_after_s``. An instance that starts removes the rows of its
component that are already quiet (dead instances it replaces), so a restart clears the alert.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError

from frontdesk.alerts.models import ComponentHeartbeat
from frontdesk.context import AppContext
from frontdesk.logs import get_logger

log = get_logger(__name__)

LISTENER = "mllp_listener"
WORKER = "job_runner"
COMPONENT_WORDS = {LISTENER: "MLLP listener", WORKER: "job runner"}


def instance_name() -> str:
    """This process's instance name: host, pid and a nonce (two parts of one process differ)."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(3)}"


class Heartbeat:
    """Keeps this instance's heartbeat row fresh between :meth:`start` and :meth:`stop`."""

    def __init__(self, ctx: AppContext, component: str, *, instance: str | None = None) -> None:
        self.ctx = ctx
        self.component = component
        self.instance = instance or instance_name()
        self._task: asyncio.Task[None] | None = None

    async def beat(self) -> None:
        """Record that this instance is alive now."""
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            touched = await session.execute(
                update(ComponentHeartbeat)
                .where(
                    ComponentHeartbeat.component == self.component,
                    ComponentHeartbeat.instance == self.instance,
                )
                .values(beat_at=now)
            )
            if isinstance(touched, CursorResult) and touched.rowcount > 0:
                return
            try:
                async with session.begin_nested():
                    session.add(
                        ComponentHeartbeat(
                            component=self.component,
                            instance=self.instance,
                            started_at=now,
                            beat_at=now,
                        )
                    )
            except IntegrityError:  # written a moment ago by this instance's previous beat
                pass

    async def start(self) -> None:
        """Remove the quiet rows this instance replaces, beat, then keep beating."""
        quiet_before = self.ctx.clock.now() - timedelta(
            seconds=self.ctx.settings.alerts.quiet_after_s
        )
        async with self.ctx.db.transaction() as session:
            await session.execute(
                delete(ComponentHeartbeat).where(
                    ComponentHeartbeat.component == self.component,
                    ComponentHeartbeat.beat_at < quiet_before,
                )
            )
        await self.beat()
        self._task = asyncio.create_task(self._loop(), name=f"heartbeat-{self.component}")

    async def stop(self) -> None:
        """Stop beating and delete this instance's row (a clean stop raises no alert)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        async with self.ctx.db.transaction() as session:
            await session.execute(
                delete(ComponentHeartbeat).where(
                    ComponentHeartbeat.component == self.component,
                    ComponentHeartbeat.instance == self.instance,
                )
            )

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.ctx.settings.alerts.heartbeat_s)
            try:
                await self.beat()
            except Exception as error:  # the database may be back on the next beat
                log.warning(
                    "alerts.heartbeat.failed",
                    component=self.component,
                    error_type=type(error).__name__,
                )
