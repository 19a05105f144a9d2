"""Fault injection: the dice that apply the knobs to a request, and the broken replies.

Per request, in order: the rate limit (answered at once), the latency (``asyncio.sleep``),
a timeout (hang ``timeout_seconds``, then HTTP 504), an HTTP 5xx page, forced token
expiry (MagicJson only), and finally a malformed body in place of the real one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from frontdesk.sandbox.unity.clock import Clock
from frontdesk.sandbox.unity.knobs import Knobs, Latency

BrokenBody = Literal["truncated", "html", "empty", "xml"]
_BROKEN_KINDS: tuple[BrokenBody, ...] = ("truncated", "html", "empty", "xml")
_REASONS = {
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """What the dice decided for one request."""

    delay_seconds: float = 0.0
    hang: bool = False
    error_status: int | None = None
    token_expired: bool = False
    broken_body: BrokenBody | None = None


NO_FAULTS = FaultPlan()


class FaultDice:
    """Seeded dice turning knob rates into per-request decisions."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def reseed(self, seed: int) -> None:
        """Restart the fault sequence (done when knobs with a ``fault_seed`` are applied)."""
        self._rng = random.Random(seed)

    def plan(self, knobs: Knobs) -> FaultPlan:
        """Roll every knob once for a request the knobs apply to."""
        rng = self._rng
        malformed: BrokenBody | None = None
        if knobs.malformed_rate and rng.random() < knobs.malformed_rate:
            kind = knobs.malformed_kind
            malformed = rng.choice(_BROKEN_KINDS) if kind == "mixed" else kind
        return FaultPlan(
            delay_seconds=self._latency(knobs.latency),
            hang=bool(knobs.timeout_rate) and rng.random() < knobs.timeout_rate,
            error_status=rng.choice(knobs.error_statuses)
            if knobs.error_rate and rng.random() < knobs.error_rate
            else None,
            token_expired=bool(knobs.token_expiry_rate) and rng.random() < knobs.token_expiry_rate,
            broken_body=malformed,
        )

    def _latency(self, latency: Latency) -> float:
        if latency.ms == 0 and latency.spread_ms == 0:
            return 0.0
        rng = self._rng
        if latency.distribution == "uniform":
            ms = rng.uniform(latency.ms - latency.spread_ms, latency.ms + latency.spread_ms)
        elif latency.distribution == "normal":
            ms = rng.gauss(latency.ms, latency.spread_ms)
        elif latency.distribution == "exponential":
            ms = rng.expovariate(1 / latency.ms) if latency.ms > 0 else 0.0
        else:
            ms = latency.ms
        return min(max(ms, 0.0), latency.max_ms) / 1000


class RateLimiter:
    """Token buckets per credential, refilled on the sandbox clock."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, datetime]] = {}

    def reset(self) -> None:
        """Refill every bucket (done when the rate-limit knobs change)."""
        self._buckets.clear()

    def retry_after(self, key: str, *, rate: float, burst: int | None) -> float | None:
        """Take one request from ``key``'s bucket: ``None`` if allowed, else seconds to wait."""
        capacity = float(burst if burst is not None else max(1.0, rate))
        now = self._clock.now()
        tokens, updated = self._buckets.get(key, (capacity, now))
        tokens = min(capacity, tokens + (now - updated).total_seconds() * rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return None
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / rate


def error_page(status: int) -> bytes:
    """An IIS-style HTML error page for an HTTP error status."""
    reason = _REASONS.get(status, "Server Error")
    return (
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\r\n'
        f"<html><head><title>{status} - {reason}</title></head>\r\n"
        f'<body><div id="header"><h1>Server Error</h1></div>\r\n'
        f"<h2>{status} - {reason}.</h2></body></html>\r\n"
    ).encode()


def break_body(body: bytes, kind: BrokenBody) -> tuple[bytes, str]:
    """The damaged version of a reply body, with the content type to send it under."""
    if kind == "truncated":
        return body[: max(1, len(body) // 2)], "application/json; charset=utf-8"
    if kind == "html":
        return (
            b"<html><head><title>Runtime Error</title></head><body><h1>Server Error in '/' "
            b"Application.</h1><h2><i>Runtime Error</i></h2></body></html>",
            "text/html; charset=utf-8",
        )
    if kind == "xml":
        return (
            b'<?xml version="1.0" encoding="utf-8"?><string xmlns="http://www.allscripts.com/'
            b'Unity">Object reference not set to an instance of an object.</string>',
            "application/json; charset=utf-8",
        )
    return b"", "application/json; charset=utf-8"
