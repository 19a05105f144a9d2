"""Appointment-status matching in Allscripts PM terms.

PM stores a one-letter status and shows its description (reference §3.3): ``A`` Acknowledge,
``B`` Bumped, ``C`` Confirmed, ``X`` Cancelled, ``N`` No Show, ``W`` Wait Listed,
``S`` Scheduled. An allow-list entry matches a status when both name the same status after
trimming and ignoring case, so ``"a"``, ``" Acknowledge "`` and ``"ACKNOWLEDGE"`` all match
the status ``Acknowledge`` (or ``A``). Blanks, hyphens and underscores inside a description
do not matter (``No Show`` = ``no-show`` = ``NoShow``), and ``Canceled`` is ``Cancelled``.
A status the table does not know matches only itself (trimmed, case-insensitive).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

PM_STATUSES: dict[str, str] = {
    "A": "Acknowledge",
    "B": "Bumped",
    "C": "Confirmed",
    "X": "Cancelled",
    "N": "No Show",
    "W": "Wait Listed",
    "S": "Scheduled",
}
"""PM status letter → description."""

_SEPARATORS = re.compile(r"[\s\-_]+")
_ALIASES = {"canceled": "X", "waitlist": "W", "acknowledged": "A"}
_BY_KEY = {_SEPARATORS.sub("", d).casefold(): code for code, d in PM_STATUSES.items()}


def canonical_status(status: str) -> str:
    """The comparison key of a status: its PM letter when known, else its folded text."""
    value = status.strip()
    if len(value) == 1 and value.upper() in PM_STATUSES:
        return value.upper()
    key = _SEPARATORS.sub("", value).casefold()
    return _BY_KEY.get(key) or _ALIASES.get(key) or key


class StatusMatcher:
    """An allow-list prepared once, then asked about many statuses."""

    def __init__(self, allowed: Iterable[str]) -> None:
        self._keys = frozenset(canonical_status(item) for item in allowed if item.strip())

    def __call__(self, status: str) -> bool:
        return canonical_status(status) in self._keys


def status_matches(allowed: Iterable[str], status: str) -> bool:
    """Whether ``status`` is in the allow-list ``allowed`` (see the module docstring)."""
    return StatusMatcher(allowed)(status)
