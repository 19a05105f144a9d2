"""The issue's end-to-end story over the loopback sandbox, with a controllable clock:
expire the PM password → the next run marks the group unauthorized and mails support once
→ re-authorise with a new password → the missed days are backfilled, nothing decided twice.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from frontdesk.access.principal import Principal
from frontdesk.audit.models import AuditEvent
from frontdesk.clock import ManualClock
from frontdesk.context import AppContext
from frontdesk.engagement.checkin_models import CheckIn
from frontdesk.engagement.ledger_models import ReviewRequest
from frontdesk.integrations.groups import set_group_status
from frontdesk.integrations.models import IntegrationGroup, IntegrationMapping
from frontdesk.settings import SyncSettings
from frontdesk.sync.dispatcher import schedule_due

from .conftest import (
    DAY,
    SUPPORT,
    Loopback,
    Mailbox,
    Practice,
    incidents,
    run_all_to_end,
    sandbox_admin,
)

NEW_PASSWORD = "N3w-Pm-Secret!77"  # test value: must never show up anywhere


async def days_decided(ctx: AppContext, group_id: int) -> Counter[date]:
    async with ctx.db.reader() as session:
        rows = await session.execute(
            select(CheckIn.appointment_day, func.count())
            .where(CheckIn.group_id == group_id)
            .group_by(CheckIn.appointment_day)
        )
        return Counter({day: n for day, n in rows})


async def review_requests(ctx: AppContext) -> list[tuple[str, str]]:
    """(appointment id, its eligible check-in's decision) for every review request."""
    async with ctx.db.reader() as session:
        rows = await session.execute(
            select(ReviewRequest.appointment_id, CheckIn.decision).join(
                CheckIn, CheckIn.id == ReviewRequest.checkin_id
            )
        )
        return [(appointment, decision) for appointment, decision in rows]


async def eligible_appointments(ctx: AppContext, group_id: int) -> list[str]:
    async with ctx.db.reader() as session:
        rows = await session.execute(
            select(CheckIn.appointment_id).where(
                CheckIn.group_id == group_id, CheckIn.decision == "eligible"
            )
        )
        return [appointment for (appointment,) in rows]


async def group_row(ctx: AppContext, group_id: int) -> IntegrationGroup:
    async with ctx.db.reader() as session:
        group = await session.get(IntegrationGroup, group_id)
        assert group is not None
        session.expunge(group)
        return group


async def test_expired_password_incident_reauthorize_and_backfill(
    ctx: AppContext,
    practice: Practice,
    unity: Loopback,
    clock: ManualClock,
    mailbox: tuple[Mailbox, int],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    box, _port = mailbox
    ctx.settings = ctx.settings.model_copy(
        update={"sync": ctx.settings.sync.model_copy(update={"backfill_request_max_age_days": 2})}
    )
    # Day 1 (the 4th): a normal run decides the 3rd.
    (ok,) = await run_all_to_end(ctx, await practice.run_now(DAY + timedelta(days=1)))
    assert ok.status == "succeeded"
    before = await days_decided(ctx, practice.group_id)
    assert set(before) == {DAY}

    # The PM password expires in the sandbox; the next day's run stops the group.
    await sandbox_admin(unity, "/users/frontdesk/expire-password")
    clock.advance(timedelta(days=1))
    (failed,) = await run_all_to_end(ctx, await practice.run_now(DAY + timedelta(days=2)))
    assert failed.status == "failed"
    assert failed.error_code == "unauthorized"
    group = await group_row(ctx, practice.group_id)
    assert group.status == "unauthorized"
    assert (group.status_reason or "").startswith("pm_password_expired")
    (incident,) = await incidents(ctx, practice.group_id)
    assert incident.reason == "pm_password_expired"
    assert incident.missed_from == DAY + timedelta(days=1)
    assert incident.notification == "sent"
    (mail,) = box.parsed()
    assert mail["To"] == SUPPORT
    assert mail["Subject"] == (
        f"[frontdesk] Integration group {practice.group_id} (Loudoun Valley) is unauthorized: "
        "PM password expired"
    )
    body = mail.get_content()
    assert "frontdesk integration reauthorize --group" in body

    # Someone sets the group active without fixing anything: the second failure, while the
    # incident is open, opens nothing and mails nobody.
    async with ctx.db.transaction() as session:
        await set_group_status(
            session,
            actor=Principal.system("test"),
            clock=clock,
            group_id=practice.group_id,
            status="active",
        )
    (again,) = await run_all_to_end(ctx, await practice.run_now(DAY + timedelta(days=2)))
    assert again.status == "failed"
    assert len(await incidents(ctx, practice.group_id)) == 1
    assert len(box.parsed()) == 1
    assert (await group_row(ctx, practice.group_id)).status == "unauthorized"

    # Two days later support renews the password in the EHR and re-authorises.
    clock.advance(timedelta(days=2))  # the 7th, 08:00 in New York
    async with ctx.db.transaction() as session:  # its schedules are due, but stopped
        due = await session.scalar(select(func.min(IntegrationMapping.next_run_at)))
        assert due is not None
        assert due <= clock.now()
        assert await schedule_due(session, now=clock.now()) == []
    await sandbox_admin(unity, "/users/frontdesk/renew-password", {"password": NEW_PASSWORD})
    url = f"/integration/businessintegrationgroup/id/{practice.group_id}/reauthorize"
    wrong = await practice.client.post(
        url,
        json={
            "integrationGroupProperties": [
                {"propertyKey": "PM_Password", "propertyValue": "Still-Wrong-1", "isSecure": True}
            ]
        },
        headers=practice.headers,
    )
    assert wrong.status_code == 200, wrong.text
    assert wrong.json()["check"]["status"] == "unauthorized"
    assert wrong.json()["check"]["reason"] == "wrong_pm_password"
    assert wrong.json()["reactivated"] is False
    assert wrong.json()["stored"] is False
    assert (await group_row(ctx, practice.group_id)).status == "unauthorized"

    r = await practice.client.post(
        url,
        json={
            "integrationGroupProperties": [
                {"propertyKey": "PM_Password", "propertyValue": NEW_PASSWORD, "isSecure": True}
            ],
            "backfill": True,
        },
        headers=practice.headers,
    )
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["check"]["ok"] is True
    assert done["reactivated"] is True
    assert done["stored"] is True
    assert done["status"] == "active"
    (run,) = done["runs"]
    assert run["kind"] == "backfill"
    assert run["window"] == {"first": "2025-03-04", "last": "2025-03-06"}
    (incident,) = await incidents(ctx, practice.group_id)
    assert incident.resolved_at == clock.now()
    assert incident.resolved_by == "api_key:staff"

    (backfilled,) = await run_all_to_end(ctx, done["runs"])
    assert backfilled.status == "succeeded", (backfilled.error_code, backfilled.error_message)
    after = await days_decided(ctx, practice.group_id)
    assert after[DAY] == before[DAY]  # the 3rd was not decided again
    assert {DAY + timedelta(days=n) for n in range(1, 4)} <= set(after)
    # Review requests only within the configured age (2 days before the 7th: from the 5th).
    async with ctx.db.reader() as session:
        rows = (
            await session.execute(
                select(CheckIn.appointment_day, CheckIn.decision, CheckIn.restriction_reason).where(
                    CheckIn.run_id == backfilled.id
                )
            )
        ).all()
    old = [row for row in rows if row[0] == DAY + timedelta(days=1)]
    assert old
    assert all(row[1] == "restricted" for row in old)
    assert any(row[2] == "too_old" for row in old)
    recent = [row for row in rows if row[0] >= DAY + timedelta(days=2)]
    assert not any(row[2] == "too_old" for row in recent)
    assert any(row[1] == "eligible" for row in recent)

    # A second backfill of the same days decides nothing new (unique check-in key).
    r = await practice.client.post(
        f"/integration/businessintegrationgroup/id/{practice.group_id}/backfill",
        json={"first": DAY.isoformat(), "last": (DAY + timedelta(days=3)).isoformat()},
        headers=practice.headers,
    )
    assert r.status_code == 202, r.text
    (repeat,) = await run_all_to_end(ctx, r.json())
    assert repeat.status == "succeeded"
    assert await days_decided(ctx, practice.group_id) == after
    assert len(box.parsed()) == 1
    # Exactly one review request per eligible appointment, none for a restricted one, and
    # none duplicated by the backfill or its repeat.
    requests = await review_requests(ctx)
    assert requests
    assert all(decision == "eligible" for _appointment, decision in requests)
    asked = [appointment for appointment, _decision in requests]
    assert len(asked) == len(set(asked))
    assert sorted(asked) == sorted(await eligible_appointments(ctx, practice.group_id))

    # No secret anywhere: audit details, e-mails, logs.
    async with ctx.db.reader() as session:
        audit = (await session.execute(select(AuditEvent.action, AuditEvent.details))).all()
    actions = {action for action, _details in audit}
    assert {"integration_group.reauthorize", "integration_group.incident.opened"} <= actions
    dumped = json.dumps([details for _action, details in audit], default=str)
    mails = b"".join(box.messages).decode()
    logs = "".join(capsys.readouterr()) + caplog.text
    for secret in (NEW_PASSWORD, "Still-Wrong-1", "PmSandbox#90"):
        assert secret not in dumped
        assert secret not in mails
        assert secret not in logs


def test_sync_settings_default_max_age() -> None:
    assert SyncSettings().backfill_request_max_age_days == 7
