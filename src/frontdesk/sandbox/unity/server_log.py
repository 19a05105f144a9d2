"""The sandbox's own server log, served back by the ``LastLogs`` Magic action.

Unity's real LastLogs columns were never seen (reference §3.5), so these columns are
synthetic: ``LogID``, ``LogDateTime``, ``Source``, ``Action``, ``UserID``, ``Appname``,
``IsError``, ``Message``, ``ElapsedMS``. Each credential keeps its own bounded log of its
calls and of every error the sandbox produced for it, injected faults included. Entries never
hold parameters, patient ids or reply data, only action names, user names and error texts.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
from itertools import count

ENTRIES_PER_CREDENTIAL = 1000


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One server-log line (times are the practice's local wall clock)."""

    log_id: int
    logged_at: datetime
    action: str
    username: str
    appname: str
    is_error: bool
    message: str
    elapsed_ms: int


class ServerLog:
    """Per-credential ring buffers of log entries, newest last."""

    def __init__(self, entries_per_credential: int = ENTRIES_PER_CREDENTIAL) -> None:
        self._entries: dict[str, deque[LogEntry]] = {}
        self._size = entries_per_credential
        self._ids = count(1)

    def record(
        self,
        service_user: str,
        *,
        logged_at: datetime,
        action: str,
        username: str = "",
        appname: str = "",
        error: str | None = None,
        elapsed_ms: int = 0,
    ) -> LogEntry:
        """Append an entry to the credential's log (``error`` set marks it an error)."""
        entry = LogEntry(
            log_id=next(self._ids),
            logged_at=logged_at,
            action=action,
            username=username,
            appname=appname,
            is_error=error is not None,
            message=error if error is not None else "Success",
            elapsed_ms=elapsed_ms,
        )
        self._entries.setdefault(service_user, deque(maxlen=self._size)).append(entry)
        return entry

    def latest(
        self,
        service_user: str,
        *,
        limit: int,
        errors_only: bool = False,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[LogEntry]:
        """Up to ``limit`` entries of the credential, newest first, filtered."""
        picked: list[LogEntry] = []
        for entry in reversed(self._entries.get(service_user, ())):
            if len(picked) >= limit:
                break
            if errors_only and not entry.is_error:
                continue
            if since is not None and entry.logged_at < since:
                continue
            if until is not None and entry.logged_at > until:
                continue
            picked.append(entry)
        return picked
