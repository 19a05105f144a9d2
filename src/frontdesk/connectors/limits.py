"""Concurrency limits: one process-wide pool of request slots, one small pool per integration.

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

from frontdesk.settings import Settings


@dataclass
class ConcurrencyLimits:
    """Request-slot limits: ``total`` for the whole process, ``per_group`` per integration."""

    total: int = 32
    per_group: int = 4
    _total_slots: asyncio.Semaphore = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.total < 1 or self.per_group < 1:
            raise ValueError("concurrency limits must be at least 1")
        self._total_slots = asyncio.Semaphore(self.total)

    @classmethod
    def from_settings(cls, settings: Settings) -> ConcurrencyLimits:
        """Limits from ``FRONTDESK_UNITY__CONCURRENCY_TOTAL`` and ``..._PER_GROUP``."""
        return cls(
            total=settings.unity.concurrency_total, per_group=settings.unity.concurrency_per_group
        )

    @property
    def total_slots(self) -> asyncio.Semaphore:
        """The process-wide semaphore (shared by every connector given these limits)."""
        return self._total_slots

    def group_slots(self) -> asyncio.Semaphore:
        """A fresh semaphore of ``per_group`` slots for one integration."""
        return asyncio.Semaphore(self.per_group)
