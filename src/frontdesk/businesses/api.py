"""HTTP: ``/api/businesses``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.dependencies import CurrentPrincipal
from frontdesk.businesses import service
from frontdesk.businesses.models import Business
from frontdesk.context import AppContext
from frontdesk.db.bounds import DbId
from frontdesk.server.dependencies import get_context

router = APIRouter(prefix="/api/businesses", tags=["businesses"])
Context = Annotated[AppContext, Depends(get_context)]


class BusinessIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    businessNumber: DbId = Field(description="15 digits")
    name: str = Field(min_length=1, max_length=200)
    enterpriseNumber: DbId | None = Field(
        default=None, description="make the new business a location of this enterprise"
    )
    timezone: str | None = Field(default=None, description="IANA zone; default the enterprise's")


class BusinessOut(BaseModel):
    businessNumber: int
    name: str
    kind: str
    enterpriseNumber: int | None
    timezone: str
    createdAt: datetime


async def _out(session: AsyncSession, business: Business) -> BusinessOut:
    return BusinessOut(
        businessNumber=business.number,
        name=business.name,
        kind=business.kind,
        enterpriseNumber=await service.enterprise_number(session, business=business),
        timezone=business.timezone,
        createdAt=business.created_at,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=BusinessOut)
async def create_business(
    body: BusinessIn, ctx: Context, principal: CurrentPrincipal
) -> BusinessOut:
    async with ctx.db.transaction() as session:
        business = await service.add_business(
            session,
            principal=principal,
            clock=ctx.clock,
            number=body.businessNumber,
            name=body.name,
            enterprise_number=body.enterpriseNumber,
            timezone=body.timezone,
        )
        return await _out(session, business)


@router.get("", response_model=list[BusinessOut])
async def list_businesses(ctx: Context, principal: CurrentPrincipal) -> list[BusinessOut]:
    async with ctx.db.reader() as session:
        rows = await service.list_businesses(session, principal=principal)
        return [await _out(session, b) for b in rows]


@router.get("/{number}", response_model=BusinessOut)
async def get_business(number: DbId, ctx: Context, principal: CurrentPrincipal) -> BusinessOut:
    async with ctx.db.reader() as session:
        business = await service.visible_business(session, principal=principal, number=number)
        return await _out(session, business)
