"""What an alert means and what to do, in words: the Alerts page, the panel, the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from frontdesk.alerts.conditions import COMPONENT_QUIET, KIND_WORDS, REQUESTS_PARKED, RUN_FAILED
from frontdesk.alerts.heartbeat import COMPONENT_WORDS, LISTENER
from frontdesk.alerts.models import Alert
from frontdesk.alerts.service import explain_path

RESTART = {LISTENER: "frontdesk mllp (or serve with FRONTDESK_MLLP__PORT)"}
LINK_TEXT = {
    RUN_FAILED: "open the group",
    REQUESTS_PARKED: "parked requests in the Outbox",
    COMPONENT_QUIET: "this alert",
}


@dataclass(frozen=True)
class AlertView:
    """One alert as people read it."""

    id: int
    kind: str
    title: str
    summary: str
    explanation: str
    link: str
    link_text: str
    open: bool
    opened_at: datetime
    resolved_at: datetime | None
    notification: str | None
    details: dict[str, Any]


def _explanation(alert: Alert) -> str:
    details = alert.details or {}
    if alert.kind == RUN_FAILED:
        return (
            "The group's newest sync run failed after its retries, so its days were not read. "
            "The group page shows the run's error; fix the cause and run it again. The alert "
            "clears when a run of the group succeeds."
        )
    if alert.kind == REQUESTS_PARKED:
        return (
            "Review requests stopped retrying and wait for an operator (attempts spent, an "
            "outcome unknown after a crash, or a configuration problem). Fix the cause, then "
            "requeue them from the Outbox. The alert clears when no request has been parked "
            "longer than FRONTDESK_ALERTS__PARKED_AFTER_S."
        )
    component = str(details.get("component", ""))
    words = COMPONENT_WORDS.get(component, component)
    restart = RESTART.get(component, "frontdesk serve, or frontdesk worker on procrastinate")
    return (
        f"No instance of the {words} has sent a heartbeat for FRONTDESK_ALERTS__QUIET_AFTER_S, "
        "and the last one did not stop cleanly: it was killed, hung, or lost the database. "
        f"Restart it ({restart}); the alert clears on its first heartbeat."
    )


def describe(alert: Alert) -> AlertView:
    """The readable form of ``alert``."""
    return AlertView(
        id=alert.id,
        kind=alert.kind,
        title=KIND_WORDS.get(alert.kind, alert.kind),
        summary=alert.summary,
        explanation=_explanation(alert),
        link=explain_path(alert),
        link_text=LINK_TEXT.get(alert.kind, "details"),
        open=alert.resolved_at is None,
        opened_at=alert.opened_at,
        resolved_at=alert.resolved_at,
        notification=alert.notification,
        details=dict(alert.details or {}),
    )
