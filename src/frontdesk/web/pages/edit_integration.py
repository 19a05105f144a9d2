"""Edit a saved integration (``configure_integrations`` only): properties, triggers, locations.

``GET /integrations/groups/{id}/edit`` shows one form per part; each form posts to its own
route, which changes the group through the integration services in one transaction
(:mod:`frontdesk.web.editing`) and redirects back with what was saved, or answers 422 with
the page again: the refused form as typed and the error next to its field, nothing written.
Removing a location or the group asks for confirmation first (a page of its own).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from frontdesk.context import AppContext
from frontdesk.db.bounds import DbId
from frontdesk.errors import RequestError
from frontdesk.integrations import properties as props
from frontdesk.integrations.groups import get_group
from frontdesk.integrations.mappings import delete_mapping, get_mapping, list_mappings
from frontdesk.integrations.removal import remove_group
from frontdesk.server.dependencies import get_context, get_plugins
from frontdesk.staff.roles import Permission
from frontdesk.web.auth import CheckedForm, StaffContext, require
from frontdesk.web.edit_view import FormState, edit_context
from frontdesk.web.editing import (
    NEW,
    add_location,
    mapping_prefix,
    save_group_properties,
    save_location,
    save_triggers,
)
from frontdesk.web.templating import render
from frontdesk.web.wizard import GENERAL, WizardError

router = APIRouter(tags=["dashboard"], include_in_schema=False)
Context = Annotated[AppContext, Depends(get_context)]
Configurer = Annotated[StaffContext, Depends(require(Permission.CONFIGURE_INTEGRATIONS))]

SAVED = {
    "properties": "Group properties saved.",
    "triggers": "Triggers saved.",
    "location": "Location saved.",
    "added": "Location added.",
    "removed": "Location removed; its check-ins and review requests are kept.",
    "nothing": "Nothing changed.",
}


@router.get("/integrations/groups/{group_id}/edit", response_class=HTMLResponse)
async def edit_page(
    request: Request, group_id: DbId, ctx: Context, staff: Configurer, saved: str = ""
) -> Response:
    return await _page(request, ctx, staff, group_id, state=FormState(), notice=SAVED.get(saved))


@router.post("/integrations/groups/{group_id}/properties", response_class=HTMLResponse)
async def post_properties(
    request: Request, group_id: DbId, ctx: Context, staff: Configurer, form: CheckedForm
) -> Response:
    async def save() -> str:
        keys = await save_group_properties(
            ctx, get_plugins(request), principal=staff.principal, group_id=group_id, form=form
        )
        return "properties" if keys else "nothing"

    return await _submit(request, ctx, staff, group_id, form, "properties", save)


@router.post("/integrations/groups/{group_id}/triggers", response_class=HTMLResponse)
async def post_triggers(
    request: Request, group_id: DbId, ctx: Context, staff: Configurer, form: CheckedForm
) -> Response:
    async def save() -> str:
        await save_triggers(
            ctx, get_plugins(request), principal=staff.principal, group_id=group_id, form=form
        )
        return "triggers"

    return await _submit(request, ctx, staff, group_id, form, "triggers", save)


@router.post("/integrations/groups/{group_id}/mappings", response_class=HTMLResponse)
async def post_new_location(
    request: Request, group_id: DbId, ctx: Context, staff: Configurer, form: CheckedForm
) -> Response:
    async def save() -> str:
        await add_location(
            ctx, get_plugins(request), principal=staff.principal, group_id=group_id, form=form
        )
        return "added"

    return await _submit(request, ctx, staff, group_id, form, NEW, save)


@router.post("/integrations/mappings/{mapping_id}", response_class=HTMLResponse)
async def post_location(
    request: Request, mapping_id: DbId, ctx: Context, staff: Configurer, form: CheckedForm
) -> Response:
    group_id = await _group_of(ctx, staff, mapping_id)

    async def save() -> str:
        await save_location(
            ctx, get_plugins(request), principal=staff.principal, mapping_id=mapping_id, form=form
        )
        return "location"

    return await _submit(request, ctx, staff, group_id, form, mapping_prefix(mapping_id), save)


@router.get("/integrations/mappings/{mapping_id}/remove", response_class=HTMLResponse)
async def confirm_remove_location(
    request: Request, mapping_id: DbId, ctx: Context, staff: Configurer
) -> Response:
    async with ctx.db.reader() as session:
        mapping = await get_mapping(session, mapping_id=mapping_id, principal=staff.principal)
        return render(
            request,
            "integrations/remove.html",
            staff=staff,
            section="integrations",
            group=mapping.group,
            mapping=mapping,
            action=f"/integrations/mappings/{mapping.id}/remove",
        )


@router.post("/integrations/mappings/{mapping_id}/remove", response_class=HTMLResponse)
async def remove_location(
    request: Request, mapping_id: DbId, ctx: Context, staff: Configurer, form: CheckedForm
) -> Response:
    group_id = await _group_of(ctx, staff, mapping_id)
    if form.get("confirm") != "remove":
        return RedirectResponse(f"/integrations/mappings/{mapping_id}/remove", status_code=303)
    async with ctx.db.transaction() as session:
        await delete_mapping(
            session, principal=staff.principal, clock=ctx.clock, mapping_id=mapping_id
        )
    return RedirectResponse(f"/integrations/groups/{group_id}/edit?saved=removed", 303)


@router.get("/integrations/groups/{group_id}/remove", response_class=HTMLResponse)
async def confirm_remove_group(
    request: Request, group_id: DbId, ctx: Context, staff: Configurer
) -> Response:
    async with ctx.db.reader() as session:
        group = await get_group(session, group_id=group_id, principal=staff.principal)
        mappings = await list_mappings(session, group_id=group.id, principal=staff.principal)
        return render(
            request,
            "integrations/remove.html",
            staff=staff,
            section="integrations",
            group=group,
            mapping=None,
            mappings=mappings,
            action=f"/integrations/groups/{group.id}/remove",
        )


@router.post("/integrations/groups/{group_id}/remove", response_class=HTMLResponse)
async def remove_whole_group(
    request: Request, group_id: DbId, ctx: Context, staff: Configurer, form: CheckedForm
) -> Response:
    if form.get("confirm") != "remove":
        return RedirectResponse(f"/integrations/groups/{group_id}/remove", status_code=303)
    async with ctx.db.transaction() as session:
        await remove_group(session, principal=staff.principal, clock=ctx.clock, group_id=group_id)
    return RedirectResponse(f"/integrations?removed={group_id}", status_code=303)


async def _group_of(ctx: AppContext, staff: StaffContext, mapping_id: int) -> int:
    """The group of a visible mapping (404 for another tenant's)."""
    async with ctx.db.reader() as session:
        mapping = await get_mapping(session, mapping_id=mapping_id, principal=staff.principal)
        return mapping.group_id


async def _submit(
    request: Request,
    ctx: AppContext,
    staff: StaffContext,
    group_id: int,
    form: FormData,
    form_id: str,
    save: Callable[[], Awaitable[str]],
) -> Response:
    """Run one form's save; redirect with its notice, or show the page again with the error."""
    try:
        outcome = await save()
    except (WizardError, RequestError) as error:
        field = error.field if isinstance(error, WizardError) else GENERAL
        state = FormState.refused(
            form_id,
            form,
            field_name=field or GENERAL,
            message=error.message,
            secure=await _secure_fields(ctx, request, group_id),
        )
        return await _page(request, ctx, staff, group_id, state=state, status_code=422)
    anchor = {"properties": "#properties", "triggers": "#triggers", NEW: "#add-location"}
    where = anchor.get(form_id, f"#location-{form_id.split(':')[1]}" if ":" in form_id else "")
    return RedirectResponse(f"/integrations/groups/{group_id}/edit?saved={outcome}{where}", 303)


async def _secure_fields(ctx: AppContext, request: Request, group_id: int) -> set[str]:
    """Form fields whose typed value is never sent back: the secure keys'."""
    async with ctx.db.reader() as session:
        group = await get_group(session, group_id=group_id)
        spec = get_plugins(request).spec(group.source.name)
    return {f"g:{s.key}" for s in props.specs_of(spec) if s.secure}


async def _page(
    request: Request,
    ctx: AppContext,
    staff: StaffContext,
    group_id: int,
    *,
    state: FormState,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    async with ctx.db.reader() as session:
        group = await get_group(session, group_id=group_id, principal=staff.principal)
        mappings = await list_mappings(session, group_id=group.id, principal=staff.principal)
        context = await edit_context(
            session, group=group, mappings=mappings, plugins=get_plugins(request)
        )
        return render(
            request,
            "integrations/edit.html",
            staff=staff,
            section="integrations",
            state=state,
            notice=notice,
            status_code=status_code,
            **context,
        )
