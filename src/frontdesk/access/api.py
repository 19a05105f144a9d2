"""HTTP: ``/api/api-keys`` (create shows the key once; list never shows it)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, ConfigDict, Field

from frontdesk.access.dependencies import CurrentPrincipal
from frontdesk.access.models import ApiKey
from frontdesk.access.service import create_api_key, list_api_keys, revoke_api_key
from frontdesk.context import AppContext
from frontdesk.db.bounds import DbId
from frontdesk.server.dependencies import get_context

router = APIRouter(prefix="/api/api-keys", tags=["access"])
Context = Annotated[AppContext, Depends(get_context)]


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    businessNumber: DbId | None = None


class ApiKeyOut(BaseModel):
    id: int
    name: str
    prefix: str
    businessScoped: bool
    createdAt: datetime
    revokedAt: datetime | None


class NewApiKeyOut(ApiKeyOut):
    key: str = Field(description="shown once; store it now")


def _out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        businessScoped=key.business_id is not None,
        createdAt=key.created_at,
        revokedAt=key.revoked_at,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=NewApiKeyOut)
async def create_key(body: ApiKeyIn, ctx: Context, principal: CurrentPrincipal) -> NewApiKeyOut:
    async with ctx.db.transaction() as session:
        created = await create_api_key(
            session,
            principal=principal,
            clock=ctx.clock,
            name=body.name,
            business_number=body.businessNumber,
        )
        return NewApiKeyOut(**_out(created.key).model_dump(), key=created.secret)


@router.get("", response_model=list[ApiKeyOut])
async def list_keys(ctx: Context, principal: CurrentPrincipal) -> list[ApiKeyOut]:
    async with ctx.db.reader() as session:
        return [_out(k) for k in await list_api_keys(session, principal=principal)]


@router.delete("/{key_id}", response_model=ApiKeyOut)
async def revoke_key(key_id: DbId, ctx: Context, principal: CurrentPrincipal) -> ApiKeyOut:
    async with ctx.db.transaction() as session:
        return _out(
            await revoke_api_key(session, principal=principal, clock=ctx.clock, key_id=key_id)
        )
