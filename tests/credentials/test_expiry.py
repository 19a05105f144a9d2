"""Expiry warnings: the pure function at the right day, the daily audit and the one e-mail
(controllable clock), the health API (tenant-scoped) and the health CLI table."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from tests.conftest import KeyFactory

from frontdesk.audit.models import AuditEvent
from frontdesk.clock import ManualClock
from frontdesk.context import AppContext
from frontdesk.credentials.expiry import (
    PM_PASSWORD_AGE,
    SERVICE_CREDENTIALS_EXPIRY,
    expiry_warnings,
)
from frontdesk.credentials.health import check_warnings
from frontdesk.settings import CredentialSettings

from .conftest import NOW, OTHER_TENANT, Mailbox, Practice

SET_AT = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
SETTINGS = CredentialSettings()


@pytest.mark.parametrize(
    ("day", "warned", "days_left"),
    [(0, False, None), (79, False, None), (80, True, 10), (89, True, 1), (95, True, -5)],
    ids=lambda v: str(v),
)
def test_pm_password_age(day: int, warned: bool, days_left: int | None) -> None:
    now = SET_AT + timedelta(days=day, hours=1)
    found = expiry_warnings(
        now=now, password_set_at=SET_AT, service_expire_on=None, settings=SETTINGS
    )
    assert [w.kind for w in found] == ([PM_PASSWORD_AGE] if warned else [])
    if warned:
        assert found[0].days_left == days_left
        assert f"{day} days old" in found[0].message


@pytest.mark.parametrize(
    ("days_before", "warned"),
    [(30, False), (15, False), (14, True), (0, True), (-1, True)],
    ids=lambda v: str(v),
)
def test_service_credentials_expiry(days_before: int, warned: bool) -> None:
    now = datetime(2025, 3, 1, 23, 0, tzinfo=UTC)
    expire_on = now.date() + timedelta(days=days_before)
    found = expiry_warnings(
        now=now, password_set_at=None, service_expire_on=expire_on, settings=SETTINGS
    )
    assert [w.kind for w in found] == ([SERVICE_CREDENTIALS_EXPIRY] if warned else [])
    if warned:
        assert found[0].days_left == days_before
        assert expire_on.isoformat() in found[0].message


def test_warn_from_day_is_configurable() -> None:
    settings = CredentialSettings(pm_password_warn_from_day=60)
    now = SET_AT + timedelta(days=60)
    assert expiry_warnings(
        now=now, password_set_at=SET_AT, service_expire_on=None, settings=settings
    )


async def warning_events(ctx: AppContext) -> list[tuple[str, dict[str, object]]]:
    async with ctx.db.reader() as session:
        rows = await session.execute(
            select(AuditEvent.target_id, AuditEvent.details)
            .where(AuditEvent.action == "integration_group.credentials.warning")
            .order_by(AuditEvent.id)
        )
        return [(target, details) for target, details in rows]


async def test_warnings_audited_daily_and_mailed_once(
    ctx: AppContext, practice: Practice, clock: ManualClock, mailbox: tuple[Mailbox, int]
) -> None:
    box = mailbox[0]
    # The PM password was set when the group was created (NOW); the service credentials
    # expire 100 days later.
    unity = ctx.settings.unity.model_copy(
        update={"service_credentials_expire_on": NOW.date() + timedelta(days=100)}
    )
    ctx.settings = ctx.settings.model_copy(update={"unity": unity})
    clock.set(NOW + timedelta(days=79))
    report = await check_warnings(ctx)
    assert report.audited == []
    assert box.parsed() == []

    clock.set(NOW + timedelta(days=80))
    report = await check_warnings(ctx)
    assert report.audited == [(practice.group_id, PM_PASSWORD_AGE)]
    (mail,) = box.parsed()
    assert "PM password is 80 days old" in str(mail["Subject"])
    assert str(mail["Subject"]).startswith(f"[frontdesk] Integration group {practice.group_id}")
    await check_warnings(ctx)  # same day: nothing new
    assert len(await warning_events(ctx)) == 1
    assert len(box.parsed()) == 1

    clock.set(NOW + timedelta(days=85))  # service credentials: 15 days left → no warning
    await check_warnings(ctx)
    assert [d["kind"] for _t, d in await warning_events(ctx)] == [PM_PASSWORD_AGE] * 2
    assert len(box.parsed()) == 1  # audited again (a new day), mailed once

    clock.set(NOW + timedelta(days=86))  # 14 days left
    report = await check_warnings(ctx)
    assert (practice.group_id, SERVICE_CREDENTIALS_EXPIRY) in report.audited
    assert len(box.parsed()) == 2
    assert "Unity service credentials expire on" in str(box.parsed()[1]["Subject"])

    r = await practice.client.get("/api/integrations/health", headers=practice.headers)
    assert r.status_code == 200, r.text
    (row,) = r.json()
    assert row["groupId"] == practice.group_id
    assert row["passwordAgeDays"] == 86
    assert row["status"] == "active"
    assert {w["kind"] for w in row["warnings"]} == {PM_PASSWORD_AGE, SERVICE_CREDENTIALS_EXPIRY}
    assert row["nextRunAt"] is not None


async def test_health_is_tenant_scoped(
    ctx: AppContext, practice: Practice, clock: ManualClock, api_key: KeyFactory
) -> None:
    r = await practice.client.post(
        "/api/businesses",
        json={"businessNumber": OTHER_TENANT, "name": "Elsewhere"},
        headers=practice.headers,
    )
    assert r.status_code == 201, r.text
    other = await api_key(name="other", business=OTHER_TENANT)
    own = await api_key(name="own", business=149547879572938)
    r = await practice.client.get("/api/integrations/health", headers=other)
    assert r.status_code == 200
    assert r.json() == []
    r = await practice.client.get("/api/integrations/health", headers=own)
    assert [g["groupId"] for g in r.json()] == [practice.group_id]


def test_service_expiry_uses_calendar_days() -> None:
    now = datetime(2025, 3, 1, 0, 30, tzinfo=UTC)
    (w,) = expiry_warnings(
        now=now,
        password_set_at=None,
        service_expire_on=date(2025, 3, 15),
        settings=SETTINGS,
    )
    assert w.days_left == 14
