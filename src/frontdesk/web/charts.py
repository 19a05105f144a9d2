"""Server-rendered SVG charts for the dashboard: a time series and stacked daily bars.

No chart library and no script: each chart is one inline ``<svg>`` drawn here from plain
numbers, with a ``<title>``, an ``aria-label`` summarising it, a legend and, per bar or point,
a ``<title>`` tooltip — so it renders with the page (no CDN, works without JavaScript and
under the strict content-security policy) and reads with a screen reader.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

PALETTE = (
    "#0f6e6e",
    "#d97706",
    "#2563eb",
    "#b3261e",
    "#7c3aed",
    "#1c7c4a",
    "#db2777",
    "#64748b",
    "#0891b2",
    "#a16207",
)
WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 28


@dataclass(frozen=True)
class Frame:
    """The plot area and its scales."""

    days: int
    top: int
    width: int = WIDTH

    @property
    def inner_w(self) -> float:
        return self.width - LEFT - RIGHT

    @property
    def inner_h(self) -> float:
        return HEIGHT - TOP - BOTTOM

    def x(self, i: float) -> float:
        step = self.inner_w / max(self.days, 1)
        return LEFT + step * (i + 0.5)

    def y(self, value: float) -> float:
        return TOP + self.inner_h * (1 - value / self.top)

    @property
    def step(self) -> float:
        return self.inner_w / max(self.days, 1)


def nice_top(value: int) -> int:
    """A round upper bound ≥ ``value`` (1, 2, 5 × 10ⁿ) so the axis reads easily."""
    if value <= 0:
        return 1
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= value:
            return factor * magnitude
    return 10 * magnitude


def _axes(frame: Frame, days: Sequence[date]) -> list[str]:
    parts = []
    for fraction in (0, 0.5, 1):
        value = frame.top * fraction
        y = frame.y(value)
        parts.append(
            f'<line x1="{LEFT}" x2="{frame.width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{value:g}</text>'
        )
    every = max(1, math.ceil(len(days) / (frame.inner_w / 64)))  # a label per ~64 units
    last = len(days) - 1
    for i, day in enumerate(days):
        if (i % every == 0 and last - i >= every) or i == last:
            parts.append(
                f'<text x="{frame.x(i):.1f}" y="{HEIGHT - 8}" text-anchor="middle" '
                f'class="tick">{day.strftime("%d %b")}</text>'
            )
    return parts


def _svg(title: str, summary: str, body: list[str], width: int) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {width} {HEIGHT}" role="img" '
        f'aria-label="{escape(summary)}" preserveAspectRatio="xMidYMid meet">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _legend(names: Sequence[str]) -> str:
    # The swatch is SVG (a fill attribute), not an inline style: the CSP forbids those.
    items = "".join(
        f'<li><svg class="swatch" viewBox="0 0 10 10" aria-hidden="true">'
        f'<rect width="10" height="10" rx="2" fill="{PALETTE[i % len(PALETTE)]}"/></svg>'
        f"{escape(name)}</li>"
        for i, name in enumerate(names)
    )
    return f'<ul class="chart-legend">{items}</ul>'


def time_series(
    title: str, days: Sequence[date], series: Mapping[str, Sequence[int]], *, width: int = WIDTH
) -> Markup:
    """One line per series over ``days`` (points carry their value as a tooltip); ``width``
    in drawing units (a wider chart keeps its text smaller on a wide card)."""
    names = list(series)
    peak = max((max(v, default=0) for v in series.values()), default=0)
    frame = Frame(len(days), nice_top(peak), width)
    body = _axes(frame, days)
    for n, name in enumerate(names):
        color = PALETTE[n % len(PALETTE)]
        values = series[name]
        points = " ".join(f"{frame.x(i):.1f},{frame.y(v):.1f}" for i, v in enumerate(values))
        body.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"/>')
        for i, value in enumerate(values):
            body.append(
                f'<circle cx="{frame.x(i):.1f}" cy="{frame.y(value):.1f}" r="2.5" fill="{color}">'
                f"<title>{escape(name)}, {days[i].isoformat()}: {value}</title></circle>"
            )
    totals = ", ".join(f"{name} {sum(series[name])}" for name in names)
    svg = _svg(title, f"{title} per day: {totals}", body, frame.width)
    return Markup(f'<figure class="chart-box">{svg}{_legend(names)}</figure>')  # noqa: S704


def stacked_bars(
    title: str, days: Sequence[date], stacks: Mapping[str, Sequence[int]], *, width: int = WIDTH
) -> Markup:
    """One bar per day, stacked by ``stacks`` (each segment carries its count as a tooltip)."""
    names = [name for name in stacks if sum(stacks[name])] or list(stacks)[:1]
    per_day = [sum(stacks[name][i] for name in names) for i in range(len(days))]
    frame = Frame(len(days), nice_top(max(per_day, default=0)), width)
    body = _axes(frame, days)
    bar = max(frame.step * 0.7, 1.0)
    for i, day in enumerate(days):
        base = 0
        for n, name in enumerate(names):
            value = stacks[name][i]
            if not value:
                continue
            y_top, y_bottom = frame.y(base + value), frame.y(base)
            body.append(
                f'<rect x="{frame.x(i) - bar / 2:.1f}" y="{y_top:.1f}" width="{bar:.1f}" '
                f'height="{y_bottom - y_top:.1f}" fill="{PALETTE[n % len(PALETTE)]}">'
                f"<title>{escape(name)}, {day.isoformat()}: {value}</title></rect>"
            )
            base += value
    totals = ", ".join(f"{name} {sum(stacks[name])}" for name in names)
    svg = _svg(title, f"{title} per day, stacked: {totals}", body, frame.width)
    return Markup(f'<figure class="chart-box">{svg}{_legend(names)}</figure>')  # noqa: S704


def funnel_bars(title: str, stages: Sequence[tuple[str, int]], *, width: int = 480) -> Markup:
    """One horizontal bar per stage (sent → delivered → clicked), each with its count and its
    share of the first stage, so the drop between stages reads at a glance."""
    first = stages[0][1] if stages else 0
    row, gap, label_w = 40, 14, 96
    height = TOP + len(stages) * (row + gap)
    inner = width - label_w - RIGHT - 70
    body = []
    for i, (name, value) in enumerate(stages):
        y = TOP + i * (row + gap)
        share = value / first if first else 0.0
        length = max(inner * share, 1.0 if value else 0.0)
        color = PALETTE[i % len(PALETTE)]
        body.append(
            f'<text x="{label_w - 8}" y="{y + row / 2 + 4:.1f}" text-anchor="end" '
            f'class="tick">{escape(name)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{length:.1f}" height="{row}" rx="3" '
            f'fill="{color}"><title>{escape(name)}: {value}</title></rect>'
            f'<text x="{label_w + length + 6:.1f}" y="{y + row / 2 + 4:.1f}" class="tick">'
            f"{value}{f' ({share:.0%})' if i and first else ''}</text>"
        )
    summary = ", ".join(f"{name} {value}" for name, value in stages)
    svg = (
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}: {escape(summary)}" preserveAspectRatio="xMidYMid meet">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )
    return Markup(f'<figure class="chart-box">{svg}</figure>')  # noqa: S704
