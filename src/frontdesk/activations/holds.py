"""Where activations meet the running integrations: the hold, and the check that ends it.

A group is held when its business has an activation request for the group's source that is
not ``active``: its runs end before calling the vendor, with the reason
``activation_pending`` (no incident, no mail per run). Groups whose business has no
request run as before. A passing connection check ("Test connection", re-authorise,
``frontdesk integration diagnose``) of a held group whose request is ``requested`` or
``approved`` records it ``active`` (actor ``system:check``), which mails support.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.principal import Principal
from frontdesk.activations import lifecycle
from frontdesk.activations.models import ActivationRequest
from frontdesk.activations.service import apply_change, confirmed, view_of
from frontdesk.activations.views import ActivationView
from frontdesk.connectors.base import CheckResult
from frontdesk.context import AppContext
from frontdesk.errors import Conflict
from frontdesk.integrations.models import IntegrationGroup
from frontdesk.logs import get_logger

log = get_logger(__name__)

HELD = "activation_pending"
CHECK = Principal(kind="system", id=None, name="check", role="admin")


async def hold_of(
    session: AsyncSession, *, business_id: int, source_id: int
) -> ActivationRequest | None:
    """The request holding this business's groups of the source, if any (not ``active``)."""
    row = (
        await session.execute(
            select(ActivationRequest).where(
                ActivationRequest.business_id == business_id,
                ActivationRequest.source_id == source_id,
            )
        )
    ).scalar_one_or_none()
    return row if row is not None and lifecycle.holds(row.status) else None


def hold_message(row: ActivationRequest) -> str:
    """The run's error text: which request holds it and what to do."""
    return (
        f"held: client activation #{row.id} for {row.source.name} is {row.status}, "
        "not active; the group runs once the vendor activates the client "
        "(a passing Test connection marks it active)"
    )


async def activate_on_check(
    ctx: AppContext, *, group_id: int, result: CheckResult
) -> ActivationView | None:
    """After a check of a saved group: a passing check turns its business's ``requested``
    or ``approved`` request for the source ``active``; None when nothing changed."""
    if not result.ok:
        return None
    try:
        return await _activate(ctx, group_id)
    except Conflict:  # changed at the same moment by someone else: theirs stands
        return None


async def _activate(ctx: AppContext, group_id: int) -> ActivationView | None:
    async with ctx.db.transaction() as session:
        group = await session.get(IntegrationGroup, group_id)
        if group is None:
            return None
        row = await hold_of(session, business_id=group.business_id, source_id=group.source_id)
        if row is None or row.status not in lifecycle.CHECK_ACTIVATES:
            return None
        event_id = await apply_change(
            session,
            ctx,
            row,
            CHECK,
            lifecycle.ACTIVE,
            f"the connection check of integration group {group_id} passed",
        )
        view = await view_of(session, ctx, row.id)
    log.info("activations.activated_by_check", activation_id=view.id, group_id=group_id)
    return await confirmed(ctx, view, event_id)
