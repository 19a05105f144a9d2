"""Rejected credentials, classified: wrong PM password, rejected service credentials; the
incident and its one e-mail; no support address configured."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import SecretStr

from frontdesk.clock import ManualClock
from frontdesk.context import AppContext
from frontdesk.credentials.incidents import notify_incidents, reason_words, record_stop
from frontdesk.integrations.models import IntegrationGroup

from .conftest import DAY, Loopback, Mailbox, Practice, incidents, run_all_to_end


async def status_of(ctx: AppContext, group_id: int) -> tuple[str, str | None]:
    async with ctx.db.reader() as session:
        group = await session.get(IntegrationGroup, group_id)
        assert group is not None
        return group.status, group.status_reason


async def test_wrong_pm_password(
    ctx: AppContext, practice: Practice, clock: ManualClock, mailbox: tuple[Mailbox, int]
) -> None:
    r = await practice.client.patch(
        f"/integration/businessintegrationgroup/id/{practice.group_id}",
        json={
            "integrationGroupProperties": [
                {"propertyKey": "PM_Password", "propertyValue": "Typo-Pass-1", "isSecure": True}
            ]
        },
        headers=practice.headers,
    )
    assert r.status_code == 200, r.text
    (run,) = await run_all_to_end(ctx, await practice.run_now(DAY + timedelta(days=1)))
    assert run.status == "failed"
    status, reason = await status_of(ctx, practice.group_id)
    assert status == "unauthorized"
    assert (reason or "").startswith("wrong_pm_password")
    (incident,) = await incidents(ctx, practice.group_id)
    assert incident.reason == "wrong_pm_password"
    (mail,) = mailbox[0].parsed()
    assert str(mail["Subject"]).endswith("is unauthorized: wrong PM password")
    assert "Typo-Pass-1" not in mail.get_content()


async def test_rejected_service_credentials(
    ctx: AppContext, practice: Practice, clock: ManualClock, mailbox: tuple[Mailbox, int]
) -> None:
    unity = ctx.settings.unity.model_copy(update={"service_password": SecretStr("Nope-1")})
    ctx.settings = ctx.settings.model_copy(update={"unity": unity})
    (run,) = await run_all_to_end(ctx, await practice.run_now(DAY + timedelta(days=1)))
    assert run.status == "failed"
    status, reason = await status_of(ctx, practice.group_id)
    assert status == "unauthorized"
    assert (reason or "").startswith("wrong_service_credentials")
    (incident,) = await incidents(ctx, practice.group_id)
    assert incident.reason == "wrong_service_credentials"
    (mail,) = mailbox[0].parsed()
    assert "Unity service credentials rejected" in str(mail["Subject"])
    assert "Nope-1" not in mail.get_content()


async def test_a_second_stop_while_open_opens_nothing(
    ctx: AppContext, practice: Practice, clock: ManualClock, mailbox: tuple[Mailbox, int]
) -> None:
    for _ in range(2):
        async with ctx.db.transaction() as session:
            await record_stop(
                session,
                clock=clock,
                group_id=practice.group_id,
                run_id=None,
                reason="pm_password_expired",
                message="expired",
            )
        await notify_incidents(ctx)
        await notify_incidents(ctx)
    (incident,) = await incidents(ctx, practice.group_id)
    assert incident.missed_from == clock.now().date()
    assert len(mailbox[0].parsed()) == 1


async def test_no_support_address_is_recorded(
    ctx: AppContext,
    practice: Practice,
    unity: Loopback,
    clock: ManualClock,
    mailbox: tuple[Mailbox, int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    ctx.settings = ctx.settings.model_copy(update={"support_email": None})
    unity.sandbox.expire_password("frontdesk")
    (run,) = await run_all_to_end(ctx, await practice.run_now(DAY + timedelta(days=1)))
    assert run.status == "failed"
    (incident,) = await incidents(ctx, practice.group_id)
    assert incident.notification == "no_support_email"
    assert incident.notified_at == clock.now()
    assert mailbox[0].parsed() == []
    assert "credentials.notify.no_support_email" in caplog.text


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("pm_password_expired", "PM password expired"),
        ("wrong_pm_password", "wrong PM password"),
        ("wrong_service_credentials", "Unity service credentials rejected"),
        ("missing_license", "missing licence"),
        ("something_new", "something new"),
    ],
    ids=lambda v: str(v),
)
def test_reason_words(code: str, words: str) -> None:
    assert reason_words(code) == words
