"""HTTP: ``/api/activations`` — the client activation requests of the caller's tenants.

``GET`` lists (filters ``status``, ``businessNumber``, ``source``), ``POST`` raises one,
``GET /{id}`` shows one with its history, ``POST /{id}/status`` changes its status.
Authenticated like the integration API (API key or staff session); a business key sees and
raises only its own business's requests (another's answers 404) and may only set ``draft``
or ``requested``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, ConfigDict, Field

from frontdesk.access.dependencies import CurrentPrincipal
from frontdesk.activations import lifecycle, service
from frontdesk.activations.service import ActivationDetails
from frontdesk.activations.views import ActivationView
from frontdesk.context import AppContext
from frontdesk.db.bounds import DbId
from frontdesk.server.dependencies import get_context

router = APIRouter(prefix="/api/activations", tags=["activations"])
Context = Annotated[AppContext, Depends(get_context)]


class ActivationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    businessNumber: DbId
    source: str = Field(min_length=1, max_length=60, description="source name or id")
    practiceName: str = Field(min_length=1, max_length=200)
    contactName: str = Field(min_length=1, max_length=200)
    contactEmail: str | None = Field(default=None, max_length=254)
    contactPhone: str | None = Field(default=None, max_length=40)
    clientId: str | None = Field(default=None, max_length=120, description="vendor client id")
    serviceUser: str | None = Field(
        default=None, max_length=200, description="stored encrypted, shown masked"
    )
    environment: str = Field(default="production", description="production or test")
    notes: str | None = Field(default=None, max_length=2000)
    status: str = Field(default=lifecycle.REQUESTED, description="draft or requested")


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str = Field(description=", ".join(lifecycle.STATUSES))
    note: str | None = Field(default=None, max_length=500)


class EventOut(BaseModel):
    at: datetime
    actor: str
    fromStatus: str | None
    toStatus: str
    note: str | None
    notification: str | None = Field(description="the confirmation mail's outcome")


class ActivationOut(BaseModel):
    id: int
    businessNumber: int
    businessName: str
    integrationSourceId: int
    source: str
    status: str
    practiceName: str
    contactName: str
    contactEmail: str | None
    contactPhone: str | None
    clientId: str | None
    serviceUser: str | None = Field(description="masked: the last four characters")
    environment: str
    notes: str | None
    createdAt: datetime
    createdBy: str
    changedAt: datetime
    changedBy: str
    history: list[EventOut]


def _out(view: ActivationView) -> ActivationOut:
    return ActivationOut.model_validate(view.as_json())


@router.get("", response_model=list[ActivationOut])
async def list_activations(
    ctx: Context,
    principal: CurrentPrincipal,
    status_: Annotated[str | None, Query(alias="status", max_length=16)] = None,
    businessNumber: Annotated[DbId | None, Query()] = None,
    source: Annotated[str | None, Query(max_length=60)] = None,
) -> list[ActivationOut]:
    """The activation report: every visible request, newest change first."""
    rows = await service.list_requests(
        ctx, principal=principal, status=status_, business_number=businessNumber, source=source
    )
    return [_out(r) for r in rows]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ActivationOut)
async def create_activation(
    body: ActivationIn, ctx: Context, principal: CurrentPrincipal
) -> ActivationOut:
    """Raise the request of a business and source with the set-up call's details."""
    view = await service.raise_request(
        ctx,
        principal=principal,
        business_number=body.businessNumber,
        source=body.source,
        status=body.status,
        details=ActivationDetails(
            practice_name=body.practiceName,
            contact_name=body.contactName,
            contact_email=body.contactEmail,
            contact_phone=body.contactPhone,
            client_id=body.clientId,
            service_user=body.serviceUser,
            environment=body.environment,
            notes=body.notes,
        ),
    )
    return _out(view)


@router.get("/{activationId}", response_model=ActivationOut)
async def show_activation(
    activationId: DbId, ctx: Context, principal: CurrentPrincipal
) -> ActivationOut:
    """One request with its history."""
    view = await service.show_request(ctx, principal=principal, activation_id=activationId)
    return _out(view)


@router.post("/{activationId}/status", response_model=ActivationOut)
async def change_status(
    activationId: DbId, body: StatusIn, ctx: Context, principal: CurrentPrincipal
) -> ActivationOut:
    """Move the request along its lifecycle (422 naming the allowed changes otherwise)."""
    view = await service.set_status(
        ctx, principal=principal, activation_id=activationId, status=body.status, note=body.note
    )
    return _out(view)
