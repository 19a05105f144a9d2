"""A licence without ``GetPatientDemographics``: the run stops the group (named action), the
dispatcher leaves it alone, and only a passing re-check lets it run again."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import pytest

from frontdesk.access.principal import Principal
from frontdesk.clock import ManualClock
from frontdesk.composition import builtin_plugins
from frontdesk.connectors.base import CheckResult, CheckStatus, Connector
from frontdesk.context import AppContext
from frontdesk.credentials.reauthorize import reauthorize
from frontdesk.integrations.models import IntegrationGroup
from frontdesk.sandbox.unity import SandboxConfig, default_config
from frontdesk.sandbox.unity.config import PM_ACTIONS
from frontdesk.settings import Settings
from frontdesk.sync.dispatcher import schedule_due

from .conftest import DAY, Mailbox, Practice, incidents, run_all_to_end

ACTION = "GetPatientDemographics"


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    config = default_config()
    credential = config.credentials[0].model_copy(
        update={"licensed_actions": tuple(a for a in PM_ACTIONS if a != ACTION)}
    )
    return config.model_copy(update={"credentials": (credential,)})


class Passing:
    """A connector whose licence now includes everything (the customer fixed it)."""

    async def check(self) -> CheckResult:
        return CheckResult(CheckStatus.OK, "connected")

    async def aclose(self) -> None:
        return None


def passing(_source: str, _properties: Mapping[str, str], _settings: Settings) -> Connector:
    return Passing()  # type: ignore[return-value]


async def group_status(ctx: AppContext, group_id: int) -> tuple[str, str | None]:
    async with ctx.db.reader() as session:
        group = await session.get(IntegrationGroup, group_id)
        assert group is not None
        return group.status, group.status_reason


async def test_missing_license_blocks_until_check_passes(
    ctx: AppContext, practice: Practice, clock: ManualClock, mailbox: tuple[Mailbox, int]
) -> None:
    (run,) = await run_all_to_end(ctx, await practice.run_now(DAY + timedelta(days=1)))
    assert run.status == "failed"
    assert run.error_code == "missing_license"
    assert ACTION in (run.error_message or "")
    assert await group_status(ctx, practice.group_id) == ("inactive", f"missing licence: {ACTION}")
    (incident,) = await incidents(ctx, practice.group_id)
    assert incident.reason == "missing_license"
    assert (incident.details or {})["missingAction"] == ACTION
    (mail,) = mailbox[0].parsed()
    assert str(mail["Subject"]).endswith("is blocked: missing licence")
    assert f"Missing licence for the action: {ACTION}" in mail.get_content()

    # Due schedules of a blocked group make no runs.
    clock.advance(timedelta(days=3))
    async with ctx.db.transaction() as session:
        assert await schedule_due(session, now=clock.now()) == []

    # A re-check with the same licence fails and changes nothing; it names the action.
    principal = Principal.system("test")
    plugins = builtin_plugins(ctx)
    still = await reauthorize(
        ctx, plugins, principal=principal, group_id=practice.group_id, properties=[]
    )
    assert still.check.status is CheckStatus.MISSING_PERMISSIONS
    assert ACTION in still.check.missing_actions
    assert not still.reactivated
    r = await practice.client.post(
        f"/integration/businessintegrationgroup/id/{practice.group_id}/reauthorize",
        json={},
        headers=practice.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["check"]["missingActions"] == [ACTION]
    assert (await group_status(ctx, practice.group_id))[0] == "inactive"

    # Once the check passes the group runs again, and the missed days are backfilled.
    done = await reauthorize(
        ctx,
        plugins,
        principal=principal,
        group_id=practice.group_id,
        properties=[],
        connectors=passing,
    )
    assert done.reactivated
    assert done.status == "active"
    assert [(r.window_first, r.window_last) for r in done.runs] == [(DAY, DAY + timedelta(days=3))]
    assert await group_status(ctx, practice.group_id) == ("active", None)
    assert (await incidents(ctx, practice.group_id))[0].resolved_at == clock.now()


async def test_a_person_set_inactive_group_is_not_reactivated(
    ctx: AppContext, practice: Practice, clock: ManualClock
) -> None:
    r = await practice.client.patch(
        f"/integration/businessintegrationgroup/id/{practice.group_id}",
        json={"status": "inactive"},
        headers=practice.headers,
    )
    assert r.status_code == 200, r.text
    done = await reauthorize(
        ctx,
        builtin_plugins(ctx),
        principal=Principal.system("test"),
        group_id=practice.group_id,
        properties=[],
        connectors=passing,
    )
    assert done.check.ok
    assert not done.reactivated
    assert done.status == "inactive"
