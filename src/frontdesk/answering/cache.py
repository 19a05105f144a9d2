"""A short-lived in-process cache of what the hot path reads: token owners, practice access,
doctor codes.

Why: on SQLite every read is a hop to an aiosqlite thread and back (BEGIN, SELECT, ROLLBACK),
and under load those threads queue for the GIL behind the event loop; measured, the reads cost
more than the group-committed write. With this cache a warm ticket submission reads nothing.

What it costs: staff changes made in *another* process (the CLI, a second server) take effect
here within ``ttl_s`` (5 s) — deactivating a user, changing its practices or a doctor's flags.
Changes made through this process's staff API clear the cache at once. Token *expiry* is never
served stale: an entry whose token looks expired is re-read before the caller is refused, and
this process's own activity writes update the entry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

DEFAULT_TTL_S = 5.0
DEFAULT_MAX_ENTRIES = 20_000


@dataclass(slots=True)
class _Entry(Generic[V]):
    value: V
    fetched_at: datetime


class TtlCache(Generic[K, V]):
    """A dictionary whose entries are reloaded when older than ``ttl_s`` (by the given clock)."""

    def __init__(self, *, ttl_s: float = DEFAULT_TTL_S, max_entries: int = DEFAULT_MAX_ENTRIES):
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[K, _Entry[V]] = {}

    async def get(self, key: K, now: datetime, load: Callable[[], Awaitable[V | None]]) -> V | None:
        entry = self._entries.get(key)
        if entry is not None and 0 <= (now - entry.fetched_at).total_seconds() < self.ttl_s:
            return entry.value
        value = await load()
        if value is not None:  # misses are not cached: a new row must be seen at once
            self.put(key, value, now)
        return value

    def put(self, key: K, value: V, now: datetime) -> None:
        if len(self._entries) >= self.max_entries and key not in self._entries:
            self._entries.clear()  # crude but bounded: a cold cache only costs reads
        self._entries[key] = _Entry(value, now)

    def peek(self, key: K) -> V | None:
        entry = self._entries.get(key)
        return entry.value if entry is not None else None

    def discard(self, key: K) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()
