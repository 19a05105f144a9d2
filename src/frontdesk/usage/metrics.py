"""The /metrics instruments (prometheus-client) and the gauges read at scrape time.

Two kinds of figures, chosen so that several worker processes report correctly:

- **Events measured in a process** (HTTP requests by route template, remote calls of the
  connectors, sync runs and their durations) are prometheus-client counters and histograms
  in the process's own :class:`Instruments` registry. With several server processes on one
  host, start them with ``PROMETHEUS_MULTIPROC_DIR`` set to an empty directory shared by them
  (prometheus-client's multiprocess mode): each process writes its values to files there and
  ``/metrics`` sums them all (:func:`exposition`).
- **States** (review-request ledger states, sync runs by status, job-queue depth) are read
  from the database at scrape time (:func:`database_gauges`): correct whatever the number of
  processes and hosts, and never stale.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_RUN_BUCKETS = (0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)


@dataclass
class Instruments:
    """The counters and histograms one process records into (see the module docstring)."""

    registry: CollectorRegistry = field(
        default_factory=lambda: CollectorRegistry(auto_describe=True)
    )

    def __post_init__(self) -> None:
        r = self.registry
        self.http_requests = Counter(
            "frontdesk_http_requests",
            "HTTP requests answered, by method, route template and status code",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_duration = Histogram(
            "frontdesk_http_request_duration_seconds",
            "HTTP request latency by method and route template",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.source_duration = Histogram(
            "frontdesk_source_call_duration_seconds",
            "Latency of the connectors' remote calls (e.g. Unity) by source and action",
            ["source", "action"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.source_errors = Counter(
            "frontdesk_source_call_errors",
            "Remote calls of the connectors that failed, by source, action and error code",
            ["source", "action", "code"],
            registry=r,
        )
        self.sync_duration = Histogram(
            "frontdesk_sync_run_duration_seconds",
            "Sync run attempts that ended, by final status, and how long they took",
            ["status"],
            buckets=_RUN_BUCKETS,
            registry=r,
        )

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.http_requests.labels(method, route, str(status)).inc()
        self.http_duration.labels(method, route).observe(seconds)

    def source_call(self, source: str, action: str, seconds: float, error: str | None) -> None:
        self.source_duration.labels(source, action).observe(seconds)
        if error is not None:
            self.source_errors.labels(source, action, error).inc()

    def sync_run(self, status: str, seconds: float) -> None:
        self.sync_duration.labels(status).observe(seconds)


@dataclass(frozen=True)
class DatabaseGauges:
    """States read from the database at scrape time."""

    review_requests: Mapping[str, int]
    sync_runs: Mapping[str, int]
    jobs_queued: Mapping[str, int]


class _Gauges(Collector):
    def __init__(self, gauges: DatabaseGauges) -> None:
        self.gauges = gauges

    def collect(self) -> Iterator[Metric]:
        yield _family(
            "frontdesk_review_requests",
            "Review requests in the ledger by state",
            "state",
            self.gauges.review_requests,
        )
        yield _family("frontdesk_sync_runs", "Sync runs by status", "status", self.gauges.sync_runs)
        yield _family(
            "frontdesk_job_queue_depth",
            "Work waiting to run: queued sync runs, due review requests, procrastinate jobs",
            "queue",
            self.gauges.jobs_queued,
        )


def _family(name: str, doc: str, label: str, values: Mapping[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], float(value))
    return family


def multiprocess_dir() -> str | None:
    """The multiprocess directory of this process (None: single-process mode)."""
    return os.environ.get(MULTIPROC_ENV) or None


def exposition(instruments: Instruments | None, gauges: DatabaseGauges) -> bytes:
    """The Prometheus text of this process (or of every process sharing the multiprocess
    directory) followed by the database gauges."""
    parts: list[bytes] = []
    if multiprocess_dir() is not None:
        shared = CollectorRegistry()
        MultiProcessCollector(shared)  # type: ignore[no-untyped-call]
        parts.append(generate_latest(shared))
    elif instruments is not None:
        parts.append(generate_latest(instruments.registry))
    states = CollectorRegistry()
    states.register(_Gauges(gauges))
    parts.append(generate_latest(states))
    return b"".join(parts)


def zero_filled(values: Iterable[tuple[str, int]], known: Iterable[str]) -> dict[str, int]:
    """``values`` with every ``known`` label present (0 where absent): stable series."""
    found = dict.fromkeys(known, 0)
    for key, count in values:
        found[key] = found.get(key, 0) + int(count)
    return found
