"""HTTP: the integration API under ``/integration``.

The support guide's five calls keep their exact paths, methods and JSON shapes; the reads,
updates and deletes a real API needs sit beside them (``docs/integration-api.md``). Every
request is one transaction: nothing is half-written on any error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.dependencies import CurrentPrincipal
from frontdesk.context import AppContext
from frontdesk.db.bounds import DbId
from frontdesk.errors import Conflict
from frontdesk.integrations import catalog, groups, mappings
from frontdesk.integrations.groups import PropertyInput
from frontdesk.integrations.http_lenient_json import LenientJSONRoute
from frontdesk.integrations.mappings import MappingChanges
from frontdesk.integrations.schemas import (
    GroupCreateIn,
    GroupOut,
    GroupPatchIn,
    GroupTriggersIn,
    MappingCreateIn,
    MappingOut,
    MappingPatchIn,
    PropertyValueIn,
    SourceOut,
    TriggerOut,
    group_out,
    mapping_out,
    source_out,
    trigger_out,
)
from frontdesk.security.outbound import OutboundPolicy
from frontdesk.server.dependencies import PluginsDep, get_context, get_outbound

router = APIRouter(prefix="/integration", tags=["integration"], route_class=LenientJSONRoute)
Context = Annotated[AppContext, Depends(get_context)]
GROUP = "/businessintegrationgroup/id/{groupId}"
MAPPING = "/businessintegrationmapping/{mappingId}"


Outbound = Annotated[OutboundPolicy, Depends(get_outbound)]
"""The process's outbound rule (URL properties the server connects to)."""


@asynccontextmanager
async def _unit_of_work(ctx: AppContext) -> AsyncIterator[AsyncSession]:
    """One transaction; a unique-key race lost to a concurrent request answers 409."""
    try:
        async with ctx.db.transaction() as session:
            yield session
    except IntegrityError as exc:
        raise Conflict("the change conflicts with another one made meanwhile; retry") from exc


@router.get("/sources", response_model=list[SourceOut])
async def list_sources(
    ctx: Context, principal: CurrentPrincipal, plugins: PluginsDep
) -> list[SourceOut]:
    """The catalog of integration sources (with their lifecycle, live or beta)."""
    async with ctx.db.reader() as session:
        return [source_out(s) for s in await catalog.list_sources(session)]


@router.get("/trigger/integrationtriggers/sourceid/{sourceId}", response_model=list[TriggerOut])
async def list_source_triggers(
    sourceId: DbId, ctx: Context, principal: CurrentPrincipal, plugins: PluginsDep
) -> list[TriggerOut]:
    """Every trigger a source offers (guide: "Fetch information for all the triggers")."""
    async with ctx.db.reader() as session:
        return [trigger_out(t) for t in await catalog.list_triggers(session, source_id=sourceId)]


@router.put("/add/businessintegrationgroup", response_model=GroupOut)
async def create_group(
    body: GroupCreateIn,
    ctx: Context,
    principal: CurrentPrincipal,
    plugins: PluginsDep,
    outbound: Outbound,
) -> GroupOut:
    """Create the integration group of an SMB or an enterprise; the answer carries ``groupId``."""
    async with _unit_of_work(ctx) as session:
        group = await groups.create_group(
            session,
            principal=principal,
            clock=ctx.clock,
            secrets=ctx.secrets,
            plugins=plugins,
            parent_business_number=body.parentBusinessNumber,
            source_id=body.integrationSourceId,
            triggers=[t.to_ref() for t in body.integrationGroupTriggers],
            properties=[p.to_input() for p in body.integrationGroupProperties],
            outbound=outbound,
        )
        return group_out(group, plugins)


@router.get("/businessintegrationgroup/{businessNumber}", response_model=list[GroupOut])
async def business_groups(
    businessNumber: DbId, ctx: Context, principal: CurrentPrincipal, plugins: PluginsDep
) -> list[GroupOut]:
    """The groups of a business (for a location: the groups it is mapped into)."""
    async with ctx.db.reader() as session:
        found = await groups.groups_of_business(
            session, principal=principal, business_number=businessNumber
        )
        return [group_out(g, plugins) for g in found]


@router.post("/update/businessintegrationgroup", response_model=GroupOut)
async def update_group_triggers(
    body: GroupTriggersIn,
    ctx: Context,
    principal: CurrentPrincipal,
    plugins: PluginsDep,
    outbound: Outbound,
    replace_triggers: Annotated[
        bool,
        Query(alias="replaceTriggers", description="true: replace the triggers; false: add"),
    ] = False,
) -> GroupOut:
    """Replace (``replaceTriggers=true``) or extend (``false``) a group's triggers."""
    async with _unit_of_work(ctx) as session:
        group = await groups.update_triggers(
            session,
            principal=principal,
            clock=ctx.clock,
            secrets=ctx.secrets,
            plugins=plugins,
            group_id=body.groupId,
            triggers=[t.to_ref() for t in body.integrationGroupTriggers],
            replace=replace_triggers,
            properties=[p.to_input() for p in body.integrationGroupProperties],
            outbound=outbound,
        )
        return group_out(group, plugins)


@router.get(GROUP, response_model=GroupOut)
async def get_group(
    groupId: DbId, ctx: Context, principal: CurrentPrincipal, plugins: PluginsDep
) -> GroupOut:
    """One group with its triggers and properties (secure values masked)."""
    async with ctx.db.reader() as session:
        return group_out(
            await groups.get_group(session, group_id=groupId, principal=principal), plugins
        )


@router.patch(GROUP, response_model=GroupOut)
async def patch_group(
    groupId: DbId,
    body: GroupPatchIn,
    ctx: Context,
    principal: CurrentPrincipal,
    plugins: PluginsDep,
    outbound: Outbound,
) -> GroupOut:
    """Set the group's status (active/inactive) and/or some group properties by key."""
    async with _unit_of_work(ctx) as session:
        group = await groups.get_group(session, group_id=groupId, principal=principal)
        if body.status is not None:
            group = await groups.set_group_status(
                session, actor=principal, clock=ctx.clock, group_id=groupId, status=body.status
            )
        if body.integrationGroupProperties:
            group = await groups.set_group_properties(
                session,
                principal=principal,
                clock=ctx.clock,
                secrets=ctx.secrets,
                plugins=plugins,
                group_id=groupId,
                properties=[p.to_input() for p in body.integrationGroupProperties],
                outbound=outbound,
            )
        return group_out(group, plugins)


@router.delete(GROUP, status_code=status.HTTP_204_NO_CONTENT)
async def delete_group(
    groupId: DbId, ctx: Context, principal: CurrentPrincipal, plugins: PluginsDep
) -> Response:
    """Delete a group with its triggers, properties and mappings."""
    async with _unit_of_work(ctx) as session:
        await groups.delete_group(session, principal=principal, clock=ctx.clock, group_id=groupId)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(GROUP + "/properties/{propertyKey}", response_model=GroupOut)
async def put_group_property(
    groupId: DbId,
    propertyKey: str,
    body: PropertyValueIn,
    ctx: Context,
    principal: CurrentPrincipal,
    plugins: PluginsDep,
    outbound: Outbound,
) -> GroupOut:
    """Set one group property."""
    prop = PropertyInput(key=propertyKey, value=body.propertyValue, is_secure=body.isSecure)
    async with _unit_of_work(ctx) as session:
        group = await groups.set_group_properties(
            session,
            principal=principal,
            clock=ctx.clock,
            secrets=ctx.secrets,
            plugins=plugins,
            group_id=groupId,
            properties=[prop],
            field="",
            outbound=outbound,
        )
        return group_out(group, plugins)


@router.delete(GROUP + "/properties/{propertyKey}", response_model=GroupOut)
async def delete_group_property(
    groupId: DbId, propertyKey: str, ctx: Context, principal: CurrentPrincipal, plugins: PluginsDep
) -> GroupOut:
    """Remove one group property (required keys cannot be removed)."""
    async with _unit_of_work(ctx) as session:
        group = await groups.delete_group_property(
            session,
            principal=principal,
            clock=ctx.clock,
            plugins=plugins,
            group_id=groupId,
            key=propertyKey,
        )
        return group_out(group, plugins)


@router.get(GROUP + "/mappings", response_model=list[MappingOut])
async def group_mappings(
    groupId: DbId, ctx: Context, principal: CurrentPrincipal, plugins: PluginsDep
) -> list[MappingOut]:
    """The locations mapped to a group."""
    async with ctx.db.reader() as session:
        found = await mappings.list_mappings(session, group_id=groupId, principal=principal)
        return [mapping_out(m, plugins) for m in found]


@router.put("/add/businessintegrationmapping", response_model=MappingOut)
async def create_mapping(
    body: MappingCreateIn, ctx: Context, principal: CurrentPrincipal, plugins: PluginsDep
) -> MappingOut:
    """Map a location to a group (single-location form, or with ``integrationProperties``)."""
    changes = body.to_changes()
    async with _unit_of_work(ctx) as session:
        mapping = await mappings.create_mapping(
            session,
            principal=principal,
            clock=ctx.clock,
            secrets=ctx.secrets,
            plugins=plugins,
            group_id=body.integrationGroupId,
            business_number=body.businessNumber,
            changes=changes,
        )
        return mapping_out(mapping, plugins)


@router.get(MAPPING, response_model=MappingOut)
async def get_mapping(
    mappingId: DbId, ctx: Context, principal: CurrentPrincipal, plugins: PluginsDep
) -> MappingOut:
    """One mapping: schedule, location properties, effective properties."""
    async with ctx.db.reader() as session:
        found = await mappings.get_mapping(session, mapping_id=mappingId, principal=principal)
        return mapping_out(found, plugins)


@router.patch(MAPPING, response_model=MappingOut)
async def patch_mapping(
    mappingId: DbId,
    body: MappingPatchIn,
    ctx: Context,
    principal: CurrentPrincipal,
    plugins: PluginsDep,
) -> MappingOut:
    """Change status, frequency, next run time, delay, time zone, dry run or properties."""
    changes = body.to_changes()
    async with _unit_of_work(ctx) as session:
        mapping = await mappings.update_mapping(
            session,
            principal=principal,
            clock=ctx.clock,
            secrets=ctx.secrets,
            plugins=plugins,
            mapping_id=mappingId,
            changes=changes,
        )
        return mapping_out(mapping, plugins)


@router.delete(MAPPING, status_code=status.HTTP_204_NO_CONTENT)
async def delete_mapping(
    mappingId: DbId, ctx: Context, principal: CurrentPrincipal, plugins: PluginsDep
) -> Response:
    """Detach a location from its group."""
    async with _unit_of_work(ctx) as session:
        await mappings.delete_mapping(
            session, principal=principal, clock=ctx.clock, mapping_id=mappingId
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(MAPPING + "/properties/{propertyKey}", response_model=MappingOut)
async def put_mapping_property(
    mappingId: DbId,
    propertyKey: str,
    body: PropertyValueIn,
    ctx: Context,
    principal: CurrentPrincipal,
    plugins: PluginsDep,
) -> MappingOut:
    """Set one location property or override."""
    prop = PropertyInput(key=propertyKey, value=body.propertyValue, is_secure=body.isSecure)
    async with _unit_of_work(ctx) as session:
        mapping = await mappings.update_mapping(
            session,
            principal=principal,
            clock=ctx.clock,
            secrets=ctx.secrets,
            plugins=plugins,
            mapping_id=mappingId,
            changes=MappingChanges(properties=[prop], properties_field=""),
        )
        return mapping_out(mapping, plugins)


@router.delete(MAPPING + "/properties/{propertyKey}", response_model=MappingOut)
async def delete_mapping_property(
    mappingId: DbId,
    propertyKey: str,
    ctx: Context,
    principal: CurrentPrincipal,
    plugins: PluginsDep,
) -> MappingOut:
    """Remove one location property (the group's match key cannot be removed)."""
    async with _unit_of_work(ctx) as session:
        mapping = await mappings.delete_mapping_property(
            session,
            principal=principal,
            clock=ctx.clock,
            plugins=plugins,
            mapping_id=mappingId,
            key=propertyKey,
        )
        return mapping_out(mapping, plugins)
