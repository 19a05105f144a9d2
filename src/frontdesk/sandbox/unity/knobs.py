"""Knobs: the fault and timing settings of the Unity sandbox, changeable while it runs.

Set them at start (``SandboxConfig.knobs``, CLI flags), in-process
(``sandbox.update_knobs(error_rate=0.1)``) or over HTTP (``PATCH /sandbox/admin/knobs``).
Every rate is a probability per request in ``[0, 1]``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

UNITY_ENDPOINTS = ("GetToken", "MagicJson", "RetireToken")
"""Endpoint names the fault knobs can target (``Knobs.endpoints``)."""

MalformedKind = Literal["truncated", "html", "empty", "xml", "mixed"]


class Latency(BaseModel):
    """Added response latency, slept with ``asyncio.sleep`` before the request is handled.

    ``fixed`` waits ``ms``; ``uniform`` draws from ``ms ± spread_ms``; ``normal`` from a normal
    distribution with mean ``ms`` and deviation ``spread_ms``; ``exponential`` from an
    exponential distribution with mean ``ms``. Draws are clipped to ``[0, max_ms]``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    distribution: Literal["fixed", "uniform", "normal", "exponential"] = "fixed"
    ms: float = Field(default=0.0, ge=0)
    spread_ms: float = Field(default=0.0, ge=0)
    max_ms: float = Field(default=60_000.0, ge=0)


class Knobs(BaseModel):
    """All fault and timing knobs. The defaults describe a healthy, fast server."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    latency: Latency = Latency()
    error_rate: float = Field(default=0.0, ge=0, le=1)
    """Share of requests answered with an HTTP 5xx page (status drawn from ``error_statuses``)."""
    error_statuses: tuple[int, ...] = (500,)
    timeout_rate: float = Field(default=0.0, ge=0, le=1)
    """Share of requests that hang for ``timeout_seconds`` and then answer HTTP 504."""
    timeout_seconds: float = Field(default=120.0, ge=0)
    malformed_rate: float = Field(default=0.0, ge=0, le=1)
    """Share of requests whose body is damaged as ``malformed_kind`` says."""
    malformed_kind: MalformedKind = "truncated"
    token_expiry_rate: float = Field(default=0.0, ge=0, le=1)
    """Share of MagicJson calls on which the token is found expired (and dropped)."""
    idle_timeout_seconds: float = Field(default=20 * 60.0, gt=0)
    """Token idle lifetime; every MagicJson call on a live token restarts it."""
    rate_limit_per_second: float | None = Field(default=None, gt=0)
    """Requests per second allowed per credential (token bucket); ``None`` = unlimited."""
    rate_limit_burst: int | None = Field(default=None, ge=1)
    """Bucket size; defaults to ``max(1, rate_limit_per_second)``."""
    endpoints: tuple[str, ...] = UNITY_ENDPOINTS
    """Endpoints the faults (latency, 5xx, timeouts, malformed, rate limit) apply to."""
    actions: tuple[str, ...] = ()
    """Magic actions the faults apply to on MagicJson; empty = every action."""
    fault_seed: int | None = None
    """Seed of the fault dice; ``None`` = the sandbox seed."""

    @field_validator("error_statuses")
    @classmethod
    def _server_errors_only(cls, statuses: tuple[int, ...]) -> tuple[int, ...]:
        if not statuses or any(not 500 <= status <= 599 for status in statuses):
            raise ValueError("error_statuses must be a non-empty list of 5xx codes")
        return statuses

    @field_validator("endpoints")
    @classmethod
    def _known_endpoints(cls, endpoints: tuple[str, ...]) -> tuple[str, ...]:
        unknown = set(endpoints) - set(UNITY_ENDPOINTS)
        if unknown:
            raise ValueError(f"unknown endpoints {sorted(unknown)}; known: {UNITY_ENDPOINTS}")
        return endpoints

    def applies_to(self, endpoint: str, action: str | None) -> bool:
        """Whether the fault knobs target this endpoint (and Magic action, on MagicJson)."""
        if endpoint not in self.endpoints:
            return False
        if endpoint != "MagicJson" or not self.actions or action is None:
            return True
        return action.lower() in {name.lower() for name in self.actions}
