"""The usage report: what the dashboard page, ``GET /api/usage`` and ``frontdesk usage`` show.

A report covers a period (inclusive days) and a set of businesses: one business (with its
locations when it is an enterprise) or all the viewer may see. A business-scoped viewer sees
its business and its enterprise's locations; work no business is known for (answering-service
calls, staff keys) only staff see, in the "all businesses" view.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.principal import Principal
from frontdesk.businesses.models import Business
from frontdesk.context import AppContext
from frontdesk.errors import InvalidInput, NotFound
from frontdesk.usage.meter import (
    ANSWERING_API,
    CHECKIN,
    INTEGRATION_API,
    REVIEW_REQUEST,
    SOURCE_CALL,
    SOURCE_ERROR,
    SYNC_RUN,
    TICKET,
)
from frontdesk.usage.models import UsageCount

MAX_DAYS = 400
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Period:
    """Inclusive days."""

    start: date
    end: date

    @classmethod
    def of(cls, start: date | None, end: date | None, *, today: date) -> Period:
        """``start``..``end`` (defaults: the last 30 days up to today); refuses odd periods."""
        end = end or today
        try:
            start = start or end - timedelta(days=DEFAULT_DAYS - 1)
        except OverflowError:
            raise InvalidInput("the period starts before the year 1", field="to") from None
        if start > end:
            raise InvalidInput("the period's start is after its end", field="from")
        if (end - start).days + 1 > MAX_DAYS:
            raise InvalidInput(f"a period spans at most {MAX_DAYS} days", field="from")
        return cls(start, end)

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


@dataclass
class UsageReport:
    """Totals, per-subject breakdowns and per-day series of one period and scope."""

    period: Period
    business: int | None
    """The business number reported on (None: every business the viewer may see)."""
    totals: dict[str, int] = field(default_factory=dict)
    subjects: dict[str, dict[str, int]] = field(default_factory=dict)
    series: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    """kind → subject → one count per day of the period."""
    sync_ms: int = 0

    def breakdown(self, kind: str) -> list[tuple[str, int]]:
        """``kind``'s subjects, largest first."""
        return sorted(self.subjects.get(kind, {}).items(), key=lambda item: (-item[1], item[0]))

    def daily(self, kind: str) -> list[int]:
        """``kind``'s total per day."""
        per_subject = self.series.get(kind, {})
        return [
            sum(values[i] for values in per_subject.values()) for i in range(len(self.period.days))
        ]

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``GET /api/usage`` and ``frontdesk usage --json``."""
        return {
            "business": self.business,
            "from": self.period.start.isoformat(),
            "to": self.period.end.isoformat(),
            "days": [d.isoformat() for d in self.period.days],
            "totals": self.totals,
            "subjects": self.subjects,
            "series": self.series,
            "syncSeconds": round(self.sync_ms / 1000, 3),
        }


async def visible_scope(
    session: AsyncSession, principal: Principal, business_number: int | None
) -> list[int] | None:
    """The business ids a report covers; ``None``: every business and work of none (staff,
    no business chosen). A business the principal may not see does not exist for it (404).
    """
    if business_number is not None:
        row = await session.scalar(select(Business).where(Business.number == business_number))
        if row is None or not principal.can_see(row.id, row.enterprise_id):
            raise NotFound("no such business", field="business")
        children = await session.scalars(
            select(Business.id).where(Business.enterprise_id == row.id)
        )
        return [row.id, *children]
    if principal.business_scope is None:
        return None
    scope = principal.business_scope
    children = await session.scalars(select(Business.id).where(Business.enterprise_id == scope))
    return [scope, *children]


async def usage_report(
    session: AsyncSession, *, principal: Principal, business: int | None, period: Period
) -> UsageReport:
    """The usage of ``business`` (a business number; None: all visible) over ``period``."""
    ids = await visible_scope(session, principal, business)
    query = (
        select(
            UsageCount.day,
            UsageCount.kind,
            UsageCount.subject,
            func.sum(UsageCount.count),
            func.sum(UsageCount.total_ms),
        )
        .where(UsageCount.day >= period.start, UsageCount.day <= period.end)
        .group_by(UsageCount.day, UsageCount.kind, UsageCount.subject)
    )
    if ids is not None:
        query = query.where(UsageCount.business_id.in_(ids))
    report = UsageReport(period=period, business=business)
    index = {day: i for i, day in enumerate(period.days)}
    totals: dict[str, int] = defaultdict(int)
    for day, kind, subject, count, total_ms in await session.execute(query):
        count = int(count or 0)
        totals[kind] += count
        report.subjects.setdefault(kind, {}).setdefault(subject, 0)
        report.subjects[kind][subject] += count
        days = report.series.setdefault(kind, {}).setdefault(subject, [0] * len(index))
        days[index[day]] += count
        if kind == SYNC_RUN:
            report.sync_ms += int(total_ms or 0)
    for kind in (
        INTEGRATION_API,
        ANSWERING_API,
        SOURCE_CALL,
        SOURCE_ERROR,
        SYNC_RUN,
        CHECKIN,
        REVIEW_REQUEST,
        TICKET,
    ):
        report.totals[kind] = totals.get(kind, 0)
    return report


async def read_usage(
    ctx: AppContext,
    *,
    principal: Principal,
    business: int | None,
    start: date | None,
    end: date | None,
) -> UsageReport:
    """The usage report for ``principal`` (the service of the page, the API and the CLI)."""
    period = Period.of(start, end, today=ctx.clock.now().date())
    async with ctx.db.reader() as session:
        return await usage_report(session, principal=principal, business=business, period=period)
