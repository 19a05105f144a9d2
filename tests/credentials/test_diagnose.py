"""``diagnose``: the check, the remote's LastLogs errors (newest first, at most the limit)
and the last finished run with its counts."""

from __future__ import annotations

from datetime import timedelta

from frontdesk.access.principal import Principal
from frontdesk.clock import ManualClock
from frontdesk.composition import builtin_plugins
from frontdesk.context import AppContext
from frontdesk.credentials.diagnose import diagnose

from .conftest import DAY, Loopback, Practice, fast_connectors, run_all_to_end


async def test_diagnose_reads_lastlogs_and_the_last_run(
    ctx: AppContext, practice: Practice, unity: Loopback, clock: ManualClock
) -> None:
    ctx.settings = ctx.settings.model_copy(
        update={"sync": ctx.settings.sync.model_copy(update={"max_attempts": 50})}
    )
    unity.sandbox.update_knobs(error_rate=0.3, error_statuses=[500, 503], fault_seed=5)
    (run,) = await run_all_to_end(ctx, await practice.run_now(DAY + timedelta(days=1)))
    assert run.status == "succeeded"
    unity.sandbox.update_knobs(error_rate=0.0)

    found = await diagnose(
        ctx,
        builtin_plugins(ctx),
        principal=Principal.system("test"),
        group_id=practice.group_id,
        connectors=fast_connectors(),
        log_limit=3,
    )
    assert found.check.ok
    assert found.logs_error is None
    assert 1 <= len(found.logs) <= 3
    assert all("injected by the sandbox" in entry.message for entry in found.logs)
    ids = [int(entry.log_id) for entry in found.logs]
    assert ids == sorted(ids, reverse=True)  # newest first
    assert found.last_run is not None
    assert found.last_run.id == run.id
    assert (found.last_run.counts or {})["fetched"] == 150


async def test_diagnose_when_the_login_is_refused(
    ctx: AppContext, practice: Practice, unity: Loopback, clock: ManualClock
) -> None:
    unity.sandbox.expire_password("frontdesk")
    found = await diagnose(
        ctx,
        builtin_plugins(ctx),
        principal=Principal.system("test"),
        group_id=practice.group_id,
        connectors=fast_connectors(),
    )
    assert not found.check.ok
    assert found.check.reason == "pm_password_expired"
    assert found.last_run is None
    assert found.logs_error is not None or found.logs == []
