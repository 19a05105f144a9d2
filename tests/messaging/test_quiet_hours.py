"""Quiet hours: a text decided outside the location's window waits, visible as scheduled in
the outbox, and goes when the window opens in the location's zone (clock injected); the
recipient's own zone counts too; the window rules, table-driven."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from tests.messaging.conftest import DAY, Simulator, Texting, practice

from frontdesk.clock import ManualClock
from frontdesk.context import AppContext
from frontdesk.delivery.sms.quiet import Window, opening, parse_window
from frontdesk.settings import Settings

NEW_YORK = ZoneInfo("America/New_York")
LA = ZoneInfo("America/Los_Angeles")
# 2026-03-03 02:00 UTC is 21:00 the evening before in New York (EST): just closed.
EVENING = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
OPENS = datetime(2026, 3, 3, 13, 0, tzinfo=UTC)  # 08:00 EST


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(EVENING)


@pytest.fixture
async def ctx(settings: Settings, clock: ManualClock) -> AsyncIterator[AppContext]:
    context = await AppContext.open(settings, migrate=False, clock=clock)
    yield context
    await context.close()


@pytest.fixture
async def quiet(
    ctx: AppContext, twilio_sim: Simulator, staff_headers: dict[str, str]
) -> AsyncIterator[Texting]:
    async with practice(
        ctx, twilio_sim, staff_headers, channel="sms", quiet_hours="08:00-21:00"
    ) as t:
        yield t


async def test_a_text_waits_for_the_window_in_the_location_zone(
    quiet: Texting, clock: ManualClock
) -> None:
    t = quiet
    t.book.visit(1, DAY, "(703) 555-0101")
    requests = await t.run(DAY)
    assert list((await t.process.sender.send_requests(requests)).values()) == ["pending"]
    assert t.sim.state.messages == []
    (item,) = (await t.api.get("/api/outbox")).json()["items"]
    assert (item["state"], item["deliveryStatus"]) == ("pending", "scheduled")
    assert item["nextAttemptAt"].startswith("2026-03-03T13:00")
    clock.set(datetime(2026, 3, 3, 12, 59, tzinfo=UTC))
    assert await t.process.sender.send_requests(requests) == {}  # not due yet: not claimed
    clock.set(OPENS)
    assert list((await t.process.sender.send_requests(requests)).values()) == ["sent"]
    assert len(t.sim.state.messages) == 1
    await t.sim.settled()


async def test_the_recipients_zone_counts_too(quiet: Texting, clock: ManualClock) -> None:
    t = quiet
    t.book.visit(1, DAY, "+1 415 555 0101")  # San Francisco: three hours behind New York
    requests = await t.run(DAY)
    assert list((await t.process.sender.send_requests(requests)).values()) == ["pending"]
    (item,) = (await t.api.get("/api/outbox")).json()["items"]
    assert item["nextAttemptAt"].startswith("2026-03-03T16:00")  # 08:00 in Los Angeles


@pytest.mark.parametrize(
    ("value", "local", "is_open"),
    [
        ("08:00-21:00", (7, 59), False),
        ("08:00-21:00", (8, 0), True),
        ("08:00-21:00", (20, 59), True),
        ("08:00-21:00", (21, 0), False),
        ("22:00-06:00", (23, 0), True),
        ("22:00-06:00", (5, 59), True),
        ("22:00-06:00", (12, 0), False),
        ("garbage", (7, 0), False),  # unreadable: the default window
        ("00:00-24:00", (3, 0), True),
    ],
)
def test_windows(value: str, local: tuple[int, int], is_open: bool) -> None:
    window = parse_window(value, NEW_YORK)
    assert window is not None
    when = datetime(2026, 3, 3, *local, tzinfo=NEW_YORK)
    assert window.open_at(when) is is_open


def test_off_means_no_window() -> None:
    assert parse_window("off", NEW_YORK) is None


def test_both_windows_must_be_open() -> None:
    ny = Window(time(8), time(21), NEW_YORK)
    la = Window(time(8), time(21), LA)
    at = opening([ny, la], datetime(2026, 3, 3, 12, 0, tzinfo=UTC))  # 07:00 NY, 04:00 LA
    assert at == datetime(2026, 3, 3, 16, 0, tzinfo=UTC)
