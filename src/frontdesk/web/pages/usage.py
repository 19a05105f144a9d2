"""The usage page: what a business (or every business the viewer sees) used over a period.

``GET /usage?business=N&from=YYYY-MM-DD&to=YYYY-MM-DD`` — figures for the period (API calls,
source calls and errors, sync runs, check-ins eligible vs restricted, review requests sent
and failed, tickets), a time series of the activity, stacked daily bars of check-ins by
decision and of review requests by state (server-rendered SVG, :mod:`frontdesk.web.charts`),
and the breakdowns. The same report as ``GET /api/usage`` and ``frontdesk usage``
(:func:`frontdesk.usage.report.read_usage`), scoped like every page: a business-scoped user
sees its business and its enterprise's locations. The page also shows the review funnel of
the period (sent → delivered → clicked, :func:`frontdesk.engagement.funnel.review_funnel`,
with the outbox's visibility) and the alerts panel
(:func:`frontdesk.web.pages.alerts.visible_alerts`).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from frontdesk.access.principal import Principal
from frontdesk.businesses.models import Business
from frontdesk.context import AppContext
from frontdesk.engagement import outbox
from frontdesk.engagement.funnel import Funnel, review_funnel
from frontdesk.errors import InvalidInput
from frontdesk.server.dependencies import get_context
from frontdesk.staff.roles import Permission
from frontdesk.usage.report import UsageReport, read_usage
from frontdesk.web.auth import StaffContext, require
from frontdesk.web.charts import funnel_bars, stacked_bars, time_series
from frontdesk.web.pages.alerts import visible_alerts
from frontdesk.web.params import business_number, query_text
from frontdesk.web.templating import render

router = APIRouter(tags=["dashboard"], include_in_schema=False)
Context = Annotated[AppContext, Depends(get_context)]
Viewer = Annotated[StaffContext, Depends(require(Permission.VIEW_INTEGRATIONS))]
BUSINESS_CHOICES = 500
REQUEST_STATES = ("sent", "failed", "parked", "pending")


def _day(value: str | None, name: str) -> date | None:
    text = query_text(value, limit=10)
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name} is not a date (YYYY-MM-DD)", field=name) from None


async def _choices(ctx: AppContext, principal: Principal) -> list[tuple[int, str]]:
    """(business number, name) of the businesses the viewer may pick."""
    query = select(Business.number, Business.name).order_by(Business.name).limit(BUSINESS_CHOICES)
    if principal.business_scope is not None:
        scope = principal.business_scope
        query = query.where((Business.id == scope) | (Business.enterprise_id == scope))
    async with ctx.db.reader() as session:
        return [(int(number), name) for number, name in await session.execute(query)]


def _charts(report: UsageReport) -> dict[str, object]:
    days = report.period.days
    activity = {
        "integration-API calls": report.daily("integration_api"),
        "Answering-API calls": report.daily("answering_api"),
        "source calls": report.daily("source_call"),
        "sync runs": report.daily("sync_run"),
    }
    checkins = report.series.get("checkin", {})
    decisions = {"eligible": checkins.get("eligible", [0] * len(days))}
    for subject, values in sorted(checkins.items()):
        if subject != "eligible":
            decisions[subject.removeprefix("restricted:").replace("_", " ")] = values
    requests: dict[str, list[int]] = {state: [0] * len(days) for state in REQUEST_STATES}
    for subject, values in report.series.get("review_request", {}).items():
        state = subject.rsplit(":", 1)[-1]
        row = requests.setdefault(state, [0] * len(days))
        for i, value in enumerate(values):
            row[i] += value
    return {
        "activity": time_series("Activity", days, activity, width=1000),
        "checkins": stacked_bars("Check-ins by decision", days, decisions, width=480),
        "requests": stacked_bars("Review requests by state", days, requests, width=480),
    }


def _requests_by_state(report: UsageReport) -> dict[str, int]:
    found: dict[str, int] = {}
    for subject, count in report.subjects.get("review_request", {}).items():
        state = subject.rsplit(":", 1)[-1]
        found[state] = found.get(state, 0) + count
    return found


async def _funnel(ctx: AppContext, principal: Principal, report: UsageReport) -> Funnel:
    """Sent → delivered → clicked of the requests sent in the report's period, scoped as the
    outbox is (the chosen business and its locations, or all the viewer sees)."""
    async with ctx.db.reader() as session:
        where = await outbox.visibility(
            session, principal=principal, business_number=report.business
        )
        return await review_funnel(
            session, first=report.period.start, last=report.period.end, where=where
        )


def _stages(funnel: Funnel) -> list[tuple[str, int]]:
    """The funnel's bars: *delivered* only where a channel reports receipts (texts); email
    and webhooks report none, and a bar of 0 would read as nothing delivered."""
    receipts = any(stage.receipts for stage in funnel.channels.values())
    return [
        ("sent", funnel.sent),
        *([("delivered", funnel.delivered)] if receipts else []),
        ("clicked", funnel.clicked),
    ]


@router.get("/usage", response_class=HTMLResponse)
async def usage_page(request: Request, ctx: Context, staff: Viewer) -> Response:
    """The usage dashboard for the chosen business and period."""
    params = request.query_params
    business = business_number(params)
    report = await read_usage(
        ctx,
        principal=staff.principal,
        business=business,
        start=_day(params.get("from"), "from"),
        end=_day(params.get("to"), "to"),
    )
    funnel = await _funnel(ctx, staff.principal, report)
    checkins = report.subjects.get("checkin", {})
    source_errors = report.subjects.get("source_error", {})
    return render(
        request,
        "usage/page.html",
        staff=staff,
        section="usage",
        report=report,
        choices=await _choices(ctx, staff.principal),
        charts=_charts(report),
        funnel=funnel,
        funnel_chart=funnel_bars("Review funnel", _stages(funnel)),
        alerts=await visible_alerts(ctx, staff),
        eligible=checkins.get("eligible", 0),
        restricted=sum(v for k, v in checkins.items() if k != "eligible"),
        requests=_requests_by_state(report),
        source_calls=[
            (subject, count, source_errors.get(subject, 0))
            for subject, count in report.breakdown("source_call")
        ],
    )
