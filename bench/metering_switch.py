"""The metering on/off switch shared by ``answering_load.py`` and ``sync_throughput.py``.

``--metering on`` (the product's default counting, plus ``/metrics`` instrumented: a metrics
token set), ``--metering off`` (``FRONTDESK_USAGE__ENABLED=false``, no token: nothing counted
or timed), or ``--metering compare``: the benchmark runs ``--repeat`` times each way,
alternating off/on so load drifts on the shared machine hit both alike, prints every run, the
medians and on/off, and whether "on" stays within the tolerance (10 %) of "off".
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from collections.abc import Callable, Mapping
from typing import Any

METRICS_TOKEN = "bench-metrics-token-0123456789"
TOLERANCE = 0.10


def add_metering_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--metering",
        choices=("on", "off", "compare"),
        default="on",
        help="usage metering and /metrics on, off, or compare both (alternating runs)",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each way with --metering compare"
    )


def metering_env(on: bool) -> dict[str, str]:
    """The server environment of one way."""
    if on:
        return {"FRONTDESK_USAGE__ENABLED": "true", "FRONTDESK_METRICS__TOKEN": METRICS_TOKEN}
    return {"FRONTDESK_USAGE__ENABLED": "false"}


def compare(
    run_once: Callable[[bool], Mapping[str, Any]],
    *,
    repeat: int,
    higher_is_better: Mapping[str, bool],
) -> dict[str, Any]:
    """Run ``run_once(on)`` ``repeat`` times each way, alternating; print and judge."""
    runs: dict[str, list[Mapping[str, Any]]] = {"off": [], "on": []}
    for i in range(repeat):
        for way in ("off", "on"):
            result = run_once(way == "on")
            runs[way].append(result)
            shown = {k: result.get(k) for k in higher_is_better}
            load = os.getloadavg()[0]
            print(
                f"run {i + 1} metering {way:3}: {json.dumps(shown)} (load {load:.2f})", flush=True
            )
    verdict: dict[str, Any] = {"repeat": repeat, "tolerance": TOLERANCE, "metrics": {}}
    within = True
    for key, higher in higher_is_better.items():
        off = statistics.median(float(r[key]) for r in runs["off"])
        on = statistics.median(float(r[key]) for r in runs["on"])
        ratio = on / off if off else 0.0
        ok = ratio >= 1 - TOLERANCE if higher else ratio <= 1 + TOLERANCE
        within = within and ok
        verdict["metrics"][key] = {
            "off_median": round(off, 3),
            "on_median": round(on, 3),
            "on_over_off": round(ratio, 3),
            "within": ok,
            "off_runs": [r[key] for r in runs["off"]],
            "on_runs": [r[key] for r in runs["on"]],
        }
        print(
            f"{key}: median off {off:.3f}, on {on:.3f}, on/off {ratio:.3f} "
            f"({'within' if ok else 'NOT within'} {TOLERANCE:.0%})"
        )
    verdict["within"] = within
    verdict["load"] = round(os.getloadavg()[0], 2)
    return verdict
