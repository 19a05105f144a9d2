"""Credential fixtures: the sync tests' loopback sandbox and practice, a real SMTP sink
(aiosmtpd) as the support mailbox, and helpers to drive runs and the sandbox admin API."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from tests.sync.conftest import (  # noqa: F401  (fixtures)
    DAY,
    NOW,
    OTHER_TENANT,
    Loopback,
    Practice,
    clock,
    fast_connectors,
    practice,
    sandbox_config,
    unity,
    unity_settings,
)

from frontdesk.composition import Role, running
from frontdesk.context import AppContext
from frontdesk.credentials.models import CredentialIncident
from frontdesk.delivery.capture import LoopbackController
from frontdesk.settings import Settings, SmtpSettings, SyncSettings
from frontdesk.sync.foreground import run_to_end
from frontdesk.sync.models import SyncRun

SUPPORT = "support@frontdesk.test"


@dataclass
class Mailbox:
    """An aiosmtpd handler keeping every accepted message."""

    messages: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(envelope.content)
        return "250 2.0.0 queued"

    def parsed(self) -> list[EmailMessage]:
        with self.lock:
            found = [message_from_bytes(m, policy=policy.default) for m in self.messages]
        return [m for m in found if isinstance(m, EmailMessage)]


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    handler = Mailbox()
    controller = LoopbackController(handler)
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


@pytest.fixture
def settings(settings: Settings, unity: Loopback, mailbox: tuple[Mailbox, int]) -> Settings:  # noqa: F811
    """Unity on the loopback sandbox, SMTP on the mailbox, a support address."""
    return settings.model_copy(
        update={
            "unity": unity_settings(unity.url),
            "sync": SyncSettings(lease_s=30.0, tick_s=0.05, retry_base_s=0.01, retry_max_s=0.05),
            "smtp": SmtpSettings(host="127.0.0.1", port=mailbox[1], **{"from": "fd@fd.test"}),
            "support_email": SUPPORT,
        }
    )


async def sandbox_admin(unity: Loopback, path: str, body: dict[str, Any] | None = None) -> None:  # noqa: F811
    """POST to the sandbox's admin API over loopback."""
    async with httpx.AsyncClient(base_url=unity.url) as admin:
        r = await admin.post("/sandbox/admin" + path, json=body or {})
        assert r.status_code == 200, r.text


async def run_all_to_end(ctx: AppContext, runs: list[dict[str, Any]]) -> list[SyncRun]:
    # A CLI process: its engine decides with the review-request ledger's hook (no queue: rows
    # only), so tests can check that backfills never ask a patient twice.
    async with running(ctx, Role.CLI, connectors=fast_connectors()) as process:
        return [await run_to_end(ctx, process.engine, run["runId"], poll_s=0.01) for run in runs]


async def incidents(ctx: AppContext, group_id: int) -> list[CredentialIncident]:
    async with ctx.db.reader() as session:
        rows = await session.execute(
            select(CredentialIncident)
            .where(CredentialIncident.group_id == group_id)
            .order_by(CredentialIncident.id)
        )
        found = list(rows.scalars())
        session.expunge_all()
        return found
