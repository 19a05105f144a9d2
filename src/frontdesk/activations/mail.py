"""The confirmation mail on every activation change, to the support group.

Sent to ``FRONTDESK_ACTIVATIONS__NOTIFY`` (unset: ``FRONTDESK_SUPPORT_EMAIL``) through the
product's support mail (:mod:`frontdesk.credentials.notify`, ``settings.smtp``) after the
change commits; the outcome is recorded on the history entry. The mail names the business,
source, status, actor and the set-up details support entered, never the service user.
"""

from __future__ import annotations

from sqlalchemy import update

from frontdesk.activations.lifecycle import WORDS
from frontdesk.activations.models import ActivationEvent
from frontdesk.activations.views import ActivationView
from frontdesk.context import AppContext
from frontdesk.credentials.notify import SupportNotifier, support_notifier
from frontdesk.logs import get_logger

log = get_logger(__name__)


def compose(view: ActivationView) -> tuple[str, str]:
    """Subject and body for the newest change of ``view``."""
    change = view.history[-1]
    moved = (
        f"{change.from_status} → {change.to_status}"
        if change.from_status
        else f"raised as {change.to_status}"
    )
    subject = (
        f"[frontdesk] Client activation #{view.id} ({view.business_name}, {view.source}): {moved}"
    )
    lines = [
        f"Client activation #{view.id} of {view.business_name} "
        f"(business {view.business_number}) for {view.source}: {moved}.",
        f"Status: {WORDS.get(view.status, view.status)}.",
        f"Changed by {change.actor} on {change.at:%Y-%m-%d %H:%M} UTC.",
    ]
    if change.note:
        lines.append(f"Note: {change.note}")
    lines += [
        "",
        "Details from the set-up call:",
        f"  Practice: {view.practice_name}",
        f"  Contact: {view.contact_name}"
        + "".join(f", {v}" for v in (view.contact_email, view.contact_phone) if v),
        f"  Vendor client id: {view.client_id or '-'}",
        f"  Environment: {view.environment}",
    ]
    if view.notes:
        lines.append(f"  Notes: {view.notes}")
    lines += ["", f"Details and history: frontdesk activation show {view.id}"]
    return subject, "\n".join(lines) + "\n"


async def confirm(
    ctx: AppContext, view: ActivationView, event_id: int, notifier: SupportNotifier | None = None
) -> str:
    """Mail the newest change of ``view`` and record the outcome on event ``event_id``."""
    settings = ctx.settings
    notifier = notifier or support_notifier(
        settings, ctx.clock, to=settings.activations.notify or settings.support_email
    )
    subject, body = compose(view)
    outcome = await notifier.notify(subject=subject, body=body)
    async with ctx.db.transaction() as session:
        await session.execute(
            update(ActivationEvent)
            .where(ActivationEvent.id == event_id)
            .values(notification=outcome)
            .execution_options(synchronize_session=False)
        )
    log.info("activations.mail", activation_id=view.id, outcome=outcome)
    return outcome
