"""FHIR searches over the sandbox's store: parameters, date prefixes, paging, ``_include``.

Appointment: ``date`` (prefixes ``eq ne gt lt ge le``; a date means that whole day in the
practice's zone, a dateTime that instant), ``status``, ``location``, ``patient``, ``_id``.
Patient and Location: ``_id`` (comma-separated), Location ``name`` (starts with). Every
search: ``_count`` (capped by ``max_page_size``), ``_include`` (``Appointment:patient``,
``Appointment:location``; refused when the knob turns ``_include`` off), and the server's own
paging parameter ``_offset``, which only the ``next`` links it writes carry. Unknown
parameters are ignored, as servers do by default without ``Prefer: handling=strict``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from frontdesk.sandbox.fhir.store import Store

PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le")
INCLUDES = {"Appointment:patient": "Patient", "Appointment:location": "Location"}


class BadSearch(ValueError):
    """A search the server refuses (HTTP 400 with an OperationOutcome)."""


@dataclass(frozen=True)
class Result:
    matches: list[dict[str, Any]]
    includes: list[dict[str, Any]]
    total: int
    next_offset: int | None


def _range(value: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The [lower, upper) instants a date or dateTime value stands for."""
    try:
        if "T" in value:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=zone)
            return moment, moment + timedelta(seconds=1)
        if len(value) == 4:
            first = date(int(value), 1, 1)
            return _day(first, zone), _day(date(first.year + 1, 1, 1), zone)
        if len(value) == 7:
            first = date(int(value[:4]), int(value[5:7]), 1)
            following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
            return _day(first, zone), _day(following, zone)
        day = date.fromisoformat(value)
    except ValueError:
        raise BadSearch(f"date value {value!r} is not a FHIR date or dateTime") from None
    return _day(day, zone), _day(day + timedelta(days=1), zone)


def _day(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone)


Bound = tuple[str, datetime, datetime]


def date_bound(expression: str, zone: ZoneInfo) -> Bound:
    """``ge2026-03-02`` → (prefix, lower, upper)."""
    prefix, value = ("eq", expression)
    if expression[:2] in PREFIXES:
        prefix, value = expression[:2], expression[2:]
    lower, upper = _range(value, zone)
    return prefix, lower, upper


def date_matches(start: datetime, bound: Bound) -> bool:
    prefix, lower, upper = bound
    if prefix == "eq":
        return lower <= start < upper
    if prefix == "ne":
        return not lower <= start < upper
    if prefix == "gt":
        return start >= upper
    if prefix == "ge":
        return start >= lower
    if prefix == "lt":
        return start < lower
    return start < upper  # le


def _days_of(expressions: Sequence[str], zone: ZoneInfo) -> tuple[date, date] | None:
    """The days a set of date expressions can touch (for generating the schedule)."""
    lows = [
        _range(e[2:] if e[:2] in PREFIXES else e, zone)[0]
        for e in expressions
        if e[:2] in ("ge", "gt", "eq") or e[:2] not in PREFIXES
    ]
    highs = [
        _range(e[2:] if e[:2] in PREFIXES else e, zone)[1]
        for e in expressions
        if e[:2] in ("le", "lt", "eq") or e[:2] not in PREFIXES
    ]
    if not lows or not highs:
        return None
    return min(lows).date(), max(highs).date()


def search(
    store: Store,
    resource: str,
    params: Sequence[tuple[str, str]],
    *,
    max_page_size: int,
    default_page_size: int,
    include_allowed: bool,
) -> Result:
    values: dict[str, list[str]] = {}
    for key, value in params:
        values.setdefault(key, []).append(value)
    try:
        count = min(int(values.get("_count", [str(default_page_size)])[-1]), max_page_size)
        offset = int(values.get("_offset", ["0"])[-1])
    except ValueError:
        raise BadSearch("_count and _offset must be integers") from None
    count, offset = max(count, 0), max(offset, 0)
    includes = values.get("_include", [])
    if includes and not include_allowed:
        raise BadSearch("_include is not supported by this server")
    unknown = [i for i in includes if i not in INCLUDES or not i.startswith(resource + ":")]
    if unknown:
        raise BadSearch(f"unsupported _include {unknown[0]}")
    ids = {i for v in values.get("_id", []) for i in v.split(",") if i}
    if resource == "Appointment":
        candidates = _appointments(store, values, ids)
    elif resource == "Patient":
        candidates = (
            [store.patients[i] for i in sorted(ids) if i in store.patients]
            if ids
            else [store.patients[k] for k in sorted(store.patients)]
        )
    elif resource == "Location":
        names = [n.casefold() for n in values.get("name", [])]
        candidates = [
            r
            for k, r in sorted(store.locations.items())
            if (not ids or k in ids)
            and all(str(r.get("name", "")).casefold().startswith(n) for n in names)
        ]
    else:
        raise BadSearch(f"the sandbox cannot search {resource}")
    page = candidates[offset : offset + count]
    included = _included(store, page, includes)
    more = offset + count < len(candidates) and count > 0
    return Result(page, included, len(candidates), offset + count if more else None)


def _appointments(
    store: Store, values: dict[str, list[str]], ids: set[str]
) -> list[dict[str, Any]]:
    dates = values.get("date", [])
    span = _days_of(dates, store.zone) if dates else None
    if span is not None:
        store.ensure_days(span[0], span[1])
    wanted = ("date", "status", "location", "patient", "_id")
    key = (*((k, tuple(v)) for k, v in sorted(values.items()) if k in wanted), *sorted(ids))
    if key in store.memo:
        return store.memo[key]
    store.memo[key] = found = _find(store, values, ids, dates)
    return found


def _find(
    store: Store, values: dict[str, list[str]], ids: set[str], dates: list[str]
) -> list[dict[str, Any]]:
    bounds = [date_bound(d, store.zone) for d in dates]
    statuses = {s for v in values.get("status", []) for s in v.split(",")}
    locations = {v.rsplit("/", 1)[-1] for v in values.get("location", [])}
    patients = {v.rsplit("/", 1)[-1] for v in values.get("patient", [])}
    found: list[tuple[datetime, str, dict[str, Any]]] = []
    for rid, resource in store.appointments.items():
        start = store.start_of(rid)
        if ids and rid not in ids:
            continue
        if bounds and (start is None or not all(date_matches(start, b) for b in bounds)):
            continue
        if statuses and resource.get("status") not in statuses:
            continue
        refs = [p.get("actor", {}).get("reference", "") for p in resource.get("participant", [])]
        if locations and not any(r in (f"Location/{x}" for x in locations) for r in refs):
            continue
        if patients and not any(r in (f"Patient/{x}" for x in patients) for r in refs):
            continue
        found.append((start or datetime.min, rid, resource))
    found.sort(key=lambda item: (item[0].timestamp() if item[0] != datetime.min else 0, item[1]))
    return [resource for _, _, resource in found]


def _included(
    store: Store, page: list[dict[str, Any]], includes: list[str]
) -> list[dict[str, Any]]:
    kinds = {INCLUDES[i] for i in includes}
    out: dict[str, dict[str, Any]] = {}
    for resource in page:
        for participant in resource.get("participant", []):
            reference = str(participant.get("actor", {}).get("reference", ""))
            kind, _, rid = reference.partition("/")
            if kind not in kinds or reference in out:
                continue
            table = store.patients if kind == "Patient" else store.locations
            if rid in table:
                out[reference] = table[rid]
    return list(out.values())


def bundle(
    base: str, resource: str, params: Sequence[tuple[str, str]], result: Result
) -> dict[str, Any]:
    """The searchset Bundle of ``result`` with its self and next links."""
    kept = [(k, v) for k, v in params if k != "_offset"]
    links = [{"relation": "self", "url": f"{base}/{resource}?{urlencode(list(params))}"}]
    if result.next_offset is not None:
        query = urlencode([*kept, ("_offset", str(result.next_offset))])
        links.append({"relation": "next", "url": f"{base}/{resource}?{query}"})
    entries = [
        {
            "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
            "resource": r,
            "search": {"mode": "match"},
        }
        for r in result.matches
    ] + [
        {
            "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
            "resource": r,
            "search": {"mode": "include"},
        }
        for r in result.includes
    ]
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": result.total,
        "link": links,
        "entry": entries,
    }
