"""The Integrations pages: every visible business with its groups, and one group's detail.

``GET /integrations`` and ``GET /integrations/groups/{id}`` need ``view_integrations``
(viewers read them); "Test connection" and "Re-authorise" need ``configure_integrations``;
"Run now" needs ``run_sync``. A group of another tenant answers 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from frontdesk.activations.holds import activate_on_check
from frontdesk.context import AppContext
from frontdesk.db.bounds import DbId
from frontdesk.errors import RequestError
from frontdesk.integrations import properties as props
from frontdesk.integrations.groups import (
    PropertyInput,
    get_group,
    group_properties,
    set_group_properties,
    set_group_status,
)
from frontdesk.integrations.mappings import effective_customer_fetch_delay, list_mappings
from frontdesk.server.dependencies import get_context, get_plugins
from frontdesk.staff.roles import Permission
from frontdesk.web.auth import CheckedForm, StaffContext, require
from frontdesk.web.connection import check_connection
from frontdesk.web.overview import group_rows, overview
from frontdesk.web.runs import run_now
from frontdesk.web.templating import render

router = APIRouter(tags=["dashboard"], include_in_schema=False)
Context = Annotated[AppContext, Depends(get_context)]
Viewer = Annotated[StaffContext, Depends(require(Permission.VIEW_INTEGRATIONS))]
Configurer = Annotated[StaffContext, Depends(require(Permission.CONFIGURE_INTEGRATIONS))]
Runner = Annotated[StaffContext, Depends(require(Permission.RUN_SYNC))]

# What "Re-authorise" lets staff replace: the credentials of the source.


@router.get("/integrations", response_class=HTMLResponse)
async def integrations(request: Request, ctx: Context, staff: Viewer) -> Response:
    async with ctx.db.reader() as session:
        businesses = await overview(
            session,
            principal=staff.principal,
            now=ctx.clock.now(),
            limits=ctx.settings.credentials,
        )
        return render(
            request,
            "integrations/list.html",
            staff=staff,
            section="integrations",
            rows=businesses,
            group_count=sum(len(b.groups) for b in businesses),
        )


@router.get("/integrations/groups/{group_id}", response_class=HTMLResponse)
async def group_detail(
    request: Request, group_id: DbId, ctx: Context, staff: Viewer, created: bool = False
) -> Response:
    async with ctx.db.reader() as session:
        group = await get_group(session, group_id=group_id, principal=staff.principal)
        (row,) = await group_rows(
            session, groups=[group], now=ctx.clock.now(), limits=ctx.settings.credentials
        )
        mappings = await list_mappings(session, group_id=group.id, principal=staff.principal)
        spec = get_plugins(request).spec(group.source.name)
        return render(
            request,
            "integrations/group.html",
            staff=staff,
            section="integrations",
            row=row,
            group=group,
            mappings=mappings,
            delay_of=effective_customer_fetch_delay,
            shown_value=props.shown_value,
            credential_keys=list(spec.credential_keys if spec else ()),
            secure_keys={s.key for s in props.specs_of(spec) if s.secure},
            current={p.key: props.shown_value(p) for p in group.properties},
            created=created,
        )


@router.post("/integrations/groups/{group_id}/check", response_class=HTMLResponse)
async def check_saved_group(
    request: Request, group_id: DbId, ctx: Context, staff: Configurer, _form: CheckedForm
) -> Response:
    """Run the connector's ``check()`` with the saved properties (an htmx fragment)."""
    async with ctx.db.reader() as session:
        group = await get_group(session, group_id=group_id, principal=staff.principal)
        source = group.source.name
        values = await group_properties(session, group_id=group.id, secrets=ctx.secrets)
    view = await check_connection(
        ctx.settings, get_plugins(request), source=source, properties=values
    )
    if view.result is not None:  # a pass ends a pending client activation
        await activate_on_check(ctx, group_id=group_id, result=view.result)
    return render(request, "integrations/_check.html", staff=staff, check=view)


@router.post("/integrations/groups/{group_id}/reauthorize", response_class=HTMLResponse)
async def reauthorize(
    request: Request, group_id: DbId, ctx: Context, staff: Configurer, form: CheckedForm
) -> Response:
    """New credentials: tested first; saved (and the group re-activated) only when they work."""
    async with ctx.db.reader() as session:
        group = await get_group(session, group_id=group_id, principal=staff.principal)
        source = group.source.name
        status = group.status
        values = await group_properties(session, group_id=group.id, secrets=ctx.secrets)
    entered = {
        key: value
        for key in _credential_keys(request, source)
        if isinstance(value := form.get(f"g:{key}"), str) and value.strip()
    }
    if not entered:
        return render(
            request,
            "integrations/_reauth_result.html",
            staff=staff,
            check=None,
            error="Enter the new credentials first.",
        )
    view = await check_connection(
        ctx.settings, get_plugins(request), source=source, properties=values | entered
    )
    if view.status != "ok":
        return render(
            request, "integrations/_reauth_result.html", staff=staff, check=view, error=None
        )
    if view.result is not None:
        await activate_on_check(ctx, group_id=group_id, result=view.result)
    try:
        async with ctx.db.transaction() as session:
            await set_group_properties(
                session,
                principal=staff.principal,
                clock=ctx.clock,
                secrets=ctx.secrets,
                plugins=get_plugins(request),
                group_id=group_id,
                properties=[PropertyInput(key=k, value=v) for k, v in entered.items()],
            )
            if status != "active":
                await set_group_status(
                    session,
                    actor=staff.principal,
                    clock=ctx.clock,
                    group_id=group_id,
                    status="active",
                    reason=None,
                )
    except RequestError as error:
        return render(
            request,
            "integrations/_reauth_result.html",
            staff=staff,
            check=None,
            error=error.message,
            status_code=422,
        )
    return Response(status_code=204, headers={"HX-Redirect": f"/integrations/groups/{group_id}"})


@router.post("/integrations/groups/{group_id}/run", response_class=HTMLResponse)
async def run_group_now(
    request: Request, group_id: DbId, ctx: Context, staff: Runner, _form: CheckedForm
) -> Response:
    """Queue a manual sync run of the group (an htmx fragment naming the runs)."""
    try:
        ids = await run_now(ctx, request, principal=staff.principal, group_id=group_id)
    except RequestError as error:
        return render(
            request,
            "integrations/_run.html",
            staff=staff,
            ids=[],
            error=error.message,
            status_code=422,
        )
    return render(request, "integrations/_run.html", staff=staff, ids=ids, error=None)


def _credential_keys(request: Request, source: str) -> tuple[str, ...]:
    """The keys re-authorisation asks for: the source's spec names them."""
    spec = get_plugins(request).spec(source)
    return spec.credential_keys if spec is not None else ()
