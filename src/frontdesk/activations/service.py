"""Raising, listing and advancing client activation requests (services own the transaction).

Every change writes the audit log and a history entry in one transaction, then mails the
support group (:mod:`frontdesk.activations.mail`). Tenants see and raise only their own
business's requests; the vendor's answers (approved, active, declined, revoked) are recorded
by staff, or by frontdesk itself when the connection check passes
(:func:`frontdesk.activations.holds.activate_on_check`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.principal import Principal
from frontdesk.activations import lifecycle
from frontdesk.activations.mail import confirm
from frontdesk.activations.models import ActivationEvent, ActivationRequest
from frontdesk.activations.views import ActivationView, activation_view
from frontdesk.audit.service import record_event
from frontdesk.businesses.models import Business
from frontdesk.businesses.service import visible_business
from frontdesk.context import AppContext
from frontdesk.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from frontdesk.integrations.models import IntegrationSource

TENANT_STATUSES = frozenset({lifecycle.DRAFT, lifecycle.REQUESTED})
"""What a business-scoped caller may set; the vendor's answers are recorded by staff."""


@dataclass(frozen=True)
class ActivationDetails:
    """The details from the set-up call."""

    practice_name: str
    contact_name: str
    contact_email: str | None = None
    contact_phone: str | None = None
    client_id: str | None = None
    service_user: str | None = None
    environment: str = "production"
    notes: str | None = None

    def checked(self) -> ActivationDetails:
        """Trimmed values; a clear 422 naming the field otherwise."""
        practice = _text(self.practice_name, 200, "practiceName", required=True)
        contact = _text(self.contact_name, 200, "contactName", required=True)
        email = _text(self.contact_email, 254, "contactEmail")
        if email is not None and ("@" not in email or any(c.isspace() for c in email)):
            raise InvalidInput("contactEmail is not an e-mail address", field="contactEmail")
        if self.environment not in lifecycle.ENVIRONMENTS:
            raise InvalidInput(
                f"environment must be one of {', '.join(lifecycle.ENVIRONMENTS)}",
                field="environment",
            )
        return ActivationDetails(
            practice_name=practice or "",
            contact_name=contact or "",
            contact_email=email,
            contact_phone=_text(self.contact_phone, 40, "contactPhone"),
            client_id=_text(self.client_id, 120, "clientId"),
            service_user=_text(self.service_user, 200, "serviceUser"),
            environment=self.environment,
            notes=_text(self.notes, 2000, "notes"),
        )


def _text(value: str | None, limit: int, field: str, *, required: bool = False) -> str | None:
    value = (value or "").strip() or None
    if value is None and required:
        raise InvalidInput(f"{field} is required", field=field)
    if value is not None and len(value) > limit:
        raise InvalidInput(f"{field} is longer than {limit} characters", field=field)
    return value


async def find_source(session: AsyncSession, source: str) -> IntegrationSource:
    """A source by name (any case) or id."""
    query = select(IntegrationSource)
    if source.strip().isdigit():
        query = query.where(IntegrationSource.id == int(source))
    else:
        query = query.where(func.upper(IntegrationSource.name) == source.strip().upper())
    found = (await session.execute(query)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"integration source {source[:60]} not found", field="source")
    return found


async def raise_request(
    ctx: AppContext,
    *,
    principal: Principal,
    business_number: int,
    source: str,
    details: ActivationDetails,
    status: str = lifecycle.REQUESTED,
) -> ActivationView:
    """Create the request of a business and source (one each), in ``draft`` or
    ``requested``; audited, then mailed."""
    details = details.checked()
    if status not in lifecycle.INITIAL:
        raise InvalidInput("a new activation request starts as draft or requested", field="status")
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        business = await visible_business(session, principal=principal, number=business_number)
        found = await find_source(session, source)
        row = ActivationRequest(
            business_id=business.id,
            source_id=found.id,
            status=status,
            practice_name=details.practice_name,
            contact_name=details.contact_name,
            contact_email=details.contact_email,
            contact_phone=details.contact_phone,
            client_id=details.client_id,
            service_user_secret=(
                ctx.secrets.encrypt(details.service_user) if details.service_user else None
            ),
            environment=details.environment,
            notes=details.notes,
            created_at=now,
            created_by=principal.label,
            changed_at=now,
            changed_by=principal.label,
        )
        try:
            async with session.begin_nested():
                session.add(row)
                await session.flush()
        except IntegrityError:
            raise Conflict(
                f"business {business_number} already has an activation request for {found.name}",
                field="source",
            ) from None
        event = await _history(session, row, principal, None, status, None)
        await record_event(
            session,
            clock=ctx.clock,
            actor=principal,
            action="activation.request",
            target_type="activation",
            target_id=str(row.id),
            business_id=business.id,
            details={"source": found.name, "status": status, "environment": row.environment},
        )
        view = await view_of(session, ctx, row.id)
    return await confirmed(ctx, view, event.id)


async def set_status(
    ctx: AppContext,
    *,
    principal: Principal,
    activation_id: int,
    status: str,
    note: str | None = None,
) -> ActivationView:
    """Move a request to ``status`` if the lifecycle allows it; audited, then mailed."""
    lifecycle.check_status(status)
    note = _text(note, 500, "note")
    if not principal.is_staff and status not in TENANT_STATUSES:
        raise PermissionDenied(f"only support staff record an activation as {status}")
    async with ctx.db.transaction() as session:
        row = await _visible(session, principal, activation_id)
        event_id = await apply_change(session, ctx, row, principal, status, note)
        view = await view_of(session, ctx, row.id)
    return await confirmed(ctx, view, event_id)


async def apply_change(
    session: AsyncSession,
    ctx: AppContext,
    row: ActivationRequest,
    actor: Principal,
    status: str,
    note: str | None,
) -> int:
    """Record one status change in the caller's transaction (history and audit), guarded
    against a concurrent change (the update names the status it started from)."""
    current = row.status
    lifecycle.check_transition(current, status)
    now = ctx.clock.now()
    moved = await session.execute(
        update(ActivationRequest)
        .where(ActivationRequest.id == row.id, ActivationRequest.status == current)
        .values(status=status, changed_at=now, changed_by=actor.label)
        .returning(ActivationRequest.id)
        .execution_options(synchronize_session=False)
    )
    if moved.first() is None:
        raise Conflict(f"activation request {row.id} changed meanwhile; reload it", field="status")
    await session.refresh(row)
    event = await _history(session, row, actor, current, status, note)
    await record_event(
        session,
        clock=ctx.clock,
        actor=actor,
        action="activation.status",
        target_type="activation",
        target_id=str(row.id),
        business_id=row.business_id,
        details={"source": row.source.name, "from": current, "to": status, "note": note},
    )
    return event.id


async def _history(
    session: AsyncSession,
    row: ActivationRequest,
    actor: Principal,
    before: str | None,
    after: str,
    note: str | None,
) -> ActivationEvent:
    event = ActivationEvent(
        activation_id=row.id,
        at=row.changed_at,
        actor=actor.label,
        from_status=before,
        to_status=after,
        note=note,
    )
    session.add(event)
    await session.flush()
    return event


async def view_of(session: AsyncSession, ctx: AppContext, activation_id: int) -> ActivationView:
    """The request as stored now, with its whole history."""
    row = await session.get(ActivationRequest, activation_id, populate_existing=True)
    assert row is not None
    await session.refresh(row, ["events"])
    return activation_view(row, ctx.secrets)


async def confirmed(ctx: AppContext, view: ActivationView, event_id: int) -> ActivationView:
    """Mail the change (after its commit); ``view`` with the mail's outcome."""
    outcome = await confirm(ctx, view, event_id)
    last = replace(view.history[-1], notification=outcome)
    return replace(view, history=(*view.history[:-1], last))


async def _visible(
    session: AsyncSession, principal: Principal, activation_id: int
) -> ActivationRequest:
    row = await session.get(ActivationRequest, activation_id)
    if row is None or not principal.can_see(row.business.id, row.business.enterprise_id):
        raise NotFound(f"activation request {activation_id} not found", field="activationId")
    return row


async def show_request(
    ctx: AppContext, *, principal: Principal, activation_id: int
) -> ActivationView:
    """One request with its history (404 for another tenant's)."""
    async with ctx.db.reader() as session:
        row = await _visible(session, principal, activation_id)
        return activation_view(row, ctx.secrets)


async def list_requests(
    ctx: AppContext,
    *,
    principal: Principal,
    status: str | None = None,
    business_number: int | None = None,
    source: str | None = None,
) -> list[ActivationView]:
    """The report: every visible request, newest change first, optionally filtered."""
    query = select(ActivationRequest).join(Business, Business.id == ActivationRequest.business_id)
    if status is not None:
        query = query.where(ActivationRequest.status == lifecycle.check_status(status))
    if not principal.is_staff:
        scope = principal.business_scope
        query = query.where((Business.id == scope) | (Business.enterprise_id == scope))
    async with ctx.db.reader() as session:
        if business_number is not None:
            business = await visible_business(session, principal=principal, number=business_number)
            query = query.where(ActivationRequest.business_id == business.id)
        if source is not None:
            query = query.where(
                ActivationRequest.source_id == (await find_source(session, source)).id
            )
        query = query.order_by(ActivationRequest.changed_at.desc(), ActivationRequest.id.desc())
        rows = (await session.execute(query)).unique().scalars().all()
        return [activation_view(row, ctx.secrets) for row in rows]
