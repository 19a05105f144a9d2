"""Decisions are written as a slow read goes on (``sync.batch_max_wait_s``), not only at its
end, and a fast read still goes in full batches (``sync.batch_size``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from frontdesk.clock import ManualClock
from frontdesk.context import AppContext
from frontdesk.sandbox.unity import Latency

from .conftest import DAY, Loopback, Practice, foreground
from .test_decisions import decisions, expected

ON = DAY + timedelta(days=1)


def sync_settings(ctx: AppContext, **changes: Any) -> None:
    ctx.settings = ctx.settings.model_copy(
        update={"sync": ctx.settings.sync.model_copy(update=changes)}
    )


async def run_recording_writes(ctx: AppContext, practice: Practice) -> list[int]:
    """One run of the day's 150 appointments; the appointments fetched at every write."""
    writes: list[int] = []
    (run,) = await practice.run_now(ON)
    outcome = await foreground(ctx).attempt(
        run["runId"], progress=lambda fetched, _decided: writes.append(fetched)
    )
    assert outcome is not None
    assert outcome.status == "succeeded"
    return writes


async def test_a_slow_read_writes_its_decisions_as_it_goes(
    ctx: AppContext, practice: Practice, unity: Loopback, clock: ManualClock
) -> None:
    sync_settings(ctx, batch_size=500, batch_max_wait_s=0.05)
    unity.sandbox.update_knobs(latency=Latency(ms=20))  # ~30 rounds of demographics: ~0.6 s
    writes = await run_recording_writes(ctx, practice)
    assert len(writes) >= 4, writes  # not one batch of 150 at the end
    assert writes == sorted(writes)
    assert writes[-1] == 150
    assert await decisions(ctx) == expected(unity.sandbox, [DAY])


async def test_a_fast_read_goes_in_full_batches(
    ctx: AppContext, practice: Practice, unity: Loopback, clock: ManualClock
) -> None:
    sync_settings(ctx, batch_size=60, batch_max_wait_s=60.0)
    writes = await run_recording_writes(ctx, practice)
    assert writes == [60, 120, 150]
    assert await decisions(ctx) == expected(unity.sandbox, [DAY])
