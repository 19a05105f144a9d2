"""The frequency cap holds across the locations of the enterprise (a small patient pool in
the sandbox makes patients visit several locations within days)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from frontdesk.context import AppContext
from frontdesk.sandbox.unity import (
    DEFAULT_SERVICE_PASSWORD,
    ClientCredential,
    PracticeShape,
    SandboxConfig,
)
from frontdesk.sync.engine import SyncEngine

from .conftest import DAY, LOCATIONS, SERVICE_USER, SERVICE_USERNAME, Loopback, Practice
from .test_decisions import all_checkins, decisions, expected, run_day


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(
        seed=1,
        credentials=(
            ClientCredential(
                service_user=SERVICE_USER + SERVICE_USERNAME,
                service_password=DEFAULT_SERVICE_PASSWORD,
                practice=PracticeShape(
                    enterprise_name="Loudoun Valley Medical Group",
                    location_names=tuple(LOCATIONS),
                    patients_per_location=12,
                ),
            ),
        ),
    )


async def test_cap_across_locations(
    ctx: AppContext, practice: Practice, engine: SyncEngine, unity: Loopback
) -> None:
    # three days: the well-baby visits (a tenth of the rows, a third at the pediatric office)
    # take slots the pool's adults had, so two days no longer show a cross-location cap
    days = [DAY + timedelta(days=n) for n in range(3)]
    for day in days:
        await run_day(practice, engine, day + timedelta(days=1))
    assert await decisions(ctx) == expected(unity.sandbox, days)
    rows = await all_checkins(ctx)
    eligible: dict[str, set[int]] = {}
    for row in rows:
        if row.decision == "eligible":
            eligible.setdefault(row.patient_id, set()).add(row.business_id)
    capped = [r for r in rows if r.restriction_reason == "frequency_cap"]
    assert any(eligible.get(r.patient_id, set()) - {r.business_id} for r in capped)
    assert all(len(places) == 1 for places in eligible.values())  # one request per patient
