"""The dashboard's SVG charts: round axis tops, bars stacked to the day's total, escaping."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from frontdesk.web.charts import BOTTOM, HEIGHT, TOP, nice_top, stacked_bars, time_series

DAYS = [date(2026, 1, 1) + timedelta(days=i) for i in range(4)]


@pytest.mark.parametrize(
    ("peak", "top"), [(0, 1), (1, 1), (3, 5), (7, 10), (10, 10), (11, 20), (260, 500)]
)
def test_the_axis_top_is_round(peak: int, top: int) -> None:
    assert nice_top(peak) == top


def test_bars_stack_to_the_days_total() -> None:
    svg = str(stacked_bars("Check-ins", DAYS, {"eligible": [1, 0, 3, 4], "minor": [1, 0, 2, 6]}))
    heights = [
        float(h)
        for h in re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)"', svg)
    ]
    assert len(heights) == 6  # empty segments are not drawn
    per_unit = (HEIGHT - TOP - BOTTOM) / 10  # the tallest day (10) sets the top
    assert sum(heights[-2:]) == pytest.approx(10 * per_unit, abs=0.2)
    assert "eligible, 2026-01-04: 4" in svg
    assert 'aria-label="Check-ins per day, stacked: eligible 8, minor 9"' in svg


def test_names_are_escaped() -> None:
    svg = str(time_series("Calls", DAYS, {"<b>key</b>": [1, 2, 3, 4]}))
    assert "<b>" not in svg
    assert "&lt;b&gt;key&lt;/b&gt;" in svg
    assert svg.count("<circle") == 4
