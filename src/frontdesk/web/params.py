"""Query-string values of the dashboard's list pages, cleaned the same way on every page."""

from __future__ import annotations

from collections.abc import Mapping

from frontdesk.db.bounds import fits_db_id
from frontdesk.errors import InvalidInput


def query_text(value: str | None, *, limit: int = 64) -> str | None:
    """A trimmed value cut to ``limit`` characters; ``None`` when empty or absent."""
    value = (value or "").strip()
    return value[:limit] or None


def db_id(value: object) -> int | None:
    """A row id or business number typed as digits (1 .. 2**63-1), else ``None``."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    number = int(text)
    return number if fits_db_id(number) else None


def id_param(params: Mapping[str, str], name: str, message: str) -> int | None:
    """The query parameter ``name`` as a row id; ``None`` when absent; 422 when not one."""
    value = query_text(params.get(name), limit=20)
    if value is None:
        return None
    number = db_id(value)
    if number is None:
        raise InvalidInput(message, field=name)
    return number


def business_number(params: Mapping[str, str]) -> int | None:
    """The ``business`` filter (a business number), or 422 when it is not one."""
    return id_param(params, "business", "business is not a business number")
