"""Concurrency limits: one process-wide pool of request slots, one small pool per integration.

The limits also carry the process's :class:`CallObserver`: every connector reports each
remote call to it (source, action, seconds, error code) — the usage meter and ``/metrics``
see Unity, FHIR and any future source the same way, and the core never names a vendor.

Create one :class:`ConcurrencyLimits` per process (``ConcurrencyLimits.from_settings``) and
pass it to every connector: the total limit is then shared by all of them. Each connector
takes :meth:`ConcurrencyLimits.group_slots` for its own per-integration limit.

How a connector uses them (the order matters): a remote call first takes a slot of its
integration and keeps it across its retries and backoff sleeps, so a struggling server never
sees more than ``per_group`` requests of one integration, retries included; the process-wide
slot is held only while a request is on the wire, so one integration backing off never
starves the others.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Protocol

from frontdesk.settings import Settings


class CallObserver(Protocol):
    """Told about every remote call a connector made (``error``: the error's code)."""

    def source_call(self, source: str, action: str, seconds: float, error: str | None) -> None:
        """One call of ``source``'s ``action`` took ``seconds`` (retries are separate calls)."""
        ...


class NoObserver:
    """Observes nothing (a connector built outside a process: tests, one-off checks)."""

    def source_call(self, source: str, action: str, seconds: float, error: str | None) -> None:
        return None


NO_OBSERVER = NoObserver()


@dataclass
class ConcurrencyLimits:
    """Request-slot limits: ``total`` for the whole process, ``per_group`` per integration."""

    total: int = 32
    per_group: int = 4
    observer: CallObserver = NO_OBSERVER
    """Where the connectors given these limits report their remote calls."""
    _total_slots: asyncio.Semaphore = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.total < 1 or self.per_group < 1:
            raise ValueError("concurrency limits must be at least 1")
        self._total_slots = asyncio.Semaphore(self.total)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, observer: CallObserver = NO_OBSERVER
    ) -> ConcurrencyLimits:
        """Limits from ``FRONTDESK_UNITY__CONCURRENCY_TOTAL`` and ``..._PER_GROUP``."""
        return cls(
            total=settings.unity.concurrency_total,
            per_group=settings.unity.concurrency_per_group,
            observer=observer,
        )

    @property
    def total_slots(self) -> asyncio.Semaphore:
        """The process-wide semaphore (shared by every connector given these limits)."""
        return self._total_slots

    def group_slots(self) -> asyncio.Semaphore:
        """A fresh semaphore of ``per_group`` slots for one integration."""
        return asyncio.Semaphore(self.per_group)
