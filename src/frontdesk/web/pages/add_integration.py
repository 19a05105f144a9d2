"""Add integration: the support guide's flow without curl (``configure_integrations`` only).

``GET /integrations/new`` shows the practice and source steps; choosing both loads the rest
(``GET /integrations/new/setup``: triggers, group properties, connection, locations). "Test
connection" and "Discover" post the form as typed (secure values included, never echoed
back) and answer fragments; "Save" posts it to ``POST /integrations/new``, which writes the
group and its mappings in one transaction and redirects to the group, or answers 422 with
the error placed next to its field (nothing is written).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from frontdesk.businesses.service import (
    LOCATION,
    list_businesses,
    locations_of,
    visible_business,
)
from frontdesk.context import AppContext
from frontdesk.db.bounds import DbId
from frontdesk.errors import RequestError
from frontdesk.integrations import properties as props
from frontdesk.integrations.catalog import get_source, list_sources, list_triggers
from frontdesk.plugins import Plugins
from frontdesk.server.dependencies import get_context, get_plugins
from frontdesk.staff.roles import Permission
from frontdesk.web.auth import CheckedForm, StaffContext, require
from frontdesk.web.connection import check_connection, discover_values
from frontdesk.web.params import db_id
from frontdesk.web.templating import render
from frontdesk.web.wizard import (
    GENERAL,
    WizardError,
    error_slots,
    group_properties,
    group_property_keys,
    override_keys,
    parse,
    save,
    slot,
)

router = APIRouter(tags=["dashboard"], include_in_schema=False)
Context = Annotated[AppContext, Depends(get_context)]
Configurer = Annotated[StaffContext, Depends(require(Permission.CONFIGURE_INTEGRATIONS))]

FREQUENCY_UNITS = ("days", "hours")


@router.get("/integrations/new", response_class=HTMLResponse)
async def new_integration(
    request: Request, ctx: Context, staff: Configurer, business: DbId | None = None
) -> Response:
    async with ctx.db.reader() as session:
        visible = await list_businesses(session, principal=staff.principal)
        return render(
            request,
            "add_integration/page.html",
            staff=staff,
            section="integrations",
            businesses=[b for b in visible if b.kind != LOCATION],
            chosen=business,
            slot=slot,
        )


@router.get("/integrations/new/sources", response_class=HTMLResponse)
async def search_sources(
    request: Request, ctx: Context, staff: Configurer, q: str = "", source: str = ""
) -> Response:
    """Sources whose name, category or type contains ``q`` (all when blank)."""
    needle = q.strip().lower()
    async with ctx.db.reader() as session:
        sources = [
            s
            for s in await list_sources(session)
            if not needle
            or needle in f"{s.name} {s.source_category} {s.integration_type} {s.id}".lower()
        ]
        return render(
            request,
            "add_integration/_sources.html",
            staff=staff,
            sources=sources,
            query=q.strip(),
            chosen=source,
        )


@router.get("/integrations/new/setup", response_class=HTMLResponse)
async def setup(
    request: Request,
    ctx: Context,
    staff: Configurer,
    business: str = "",
    source: str = "",
) -> Response:
    """Triggers, group properties, connection and locations for the chosen practice/source."""
    business_id, source_id = db_id(business), db_id(source)
    if business_id is None or source_id is None:
        return render(request, "add_integration/_setup_wait.html", staff=staff)
    async with ctx.db.reader() as session:
        try:
            parent = await visible_business(
                session, principal=staff.principal, number=business_id, field="business"
            )
            chosen = await get_source(session, source_id=source_id)
        except RequestError as error:
            return render(
                request, "add_integration/_setup_wait.html", staff=staff, error=error.message
            )
        triggers = [t for t in await list_triggers(session, source_id=chosen.id) if t.active]
        locations = (
            list(await locations_of(session, business=parent)) if parent.kind != "smb" else [parent]
        )
        spec = get_plugins(request).spec(chosen.name)
        keys = group_property_keys(spec)
        overrides = override_keys(spec)
        return render(
            request,
            "add_integration/_setup.html",
            staff=staff,
            source=chosen,
            parent=parent,
            triggers=triggers,
            specs=[s for k in keys if (s := props.spec_for(k, spec)) is not None],
            required=set(props.required_group_keys(spec)),
            match_keys=[s.key for s in props.specs_of(spec) if s.match_key],
            match_key=spec.match_key if spec is not None else "",
            locations=locations,
            override_specs=[s for k in overrides if (s := props.spec_for(k, spec)) is not None],
            units=FREQUENCY_UNITS,
            discoverable=overrides,
            multi=parent.kind != "smb",
            slot=slot,
        )


@router.post("/integrations/new/check", response_class=HTMLResponse)
async def check(request: Request, ctx: Context, staff: Configurer, form: CheckedForm) -> Response:
    """ "Test connection" with the properties as typed."""
    source, values, problem = await _typed(ctx, get_plugins(request), form)
    if problem is not None or source is None:
        return render(request, "integrations/_check.html", staff=staff, check=None, error=problem)
    view = await check_connection(
        ctx.settings, get_plugins(request), source=source, properties=values
    )
    return render(request, "integrations/_check.html", staff=staff, check=view, error=None)


@router.post("/integrations/new/discover", response_class=HTMLResponse)
async def discover(
    request: Request, ctx: Context, staff: Configurer, form: CheckedForm
) -> Response:
    """Statuses, appointment types and locations seen in the last 30 days, as choices."""
    source, values, problem = await _typed(ctx, get_plugins(request), form)
    if problem is not None or source is None:
        return render(
            request, "add_integration/_discovery.html", staff=staff, view=None, error=problem
        )
    plugins = get_plugins(request)
    view = await discover_values(
        ctx.settings, plugins, source=source, properties=values, today=ctx.clock.now().date()
    )
    spec = plugins.spec(source)
    return render(
        request,
        "add_integration/_discovery.html",
        staff=staff,
        view=view,
        error=view.error,
        status_key=spec.status_key if spec is not None else None,
        type_key=spec.type_key if spec is not None else None,
    )


@router.post("/integrations/new", response_class=HTMLResponse)
async def create(request: Request, ctx: Context, staff: Configurer, form: CheckedForm) -> Response:
    """Save: the group and every mapping in one transaction, or nothing and an error."""
    slots = error_slots(form)
    try:
        async with ctx.db.reader() as session:
            source = await get_source(session, source_id=db_id(form.get("source")) or 0)
            source_name = source.name
        plugins = get_plugins(request)
        draft = parse(form, source=plugins.spec(source_name))
        group = await save(ctx, plugins, principal=staff.principal, draft=draft)
    except WizardError as error:
        return _errors(request, staff, slots, error.message, error.field)
    except RequestError as error:
        return _errors(request, staff, slots, error.message, "source")
    except ValueError:
        return _errors(request, staff, slots, "choose the integration source", "source")
    target = f"/integrations/groups/{group.id}?created=1"
    return Response(status_code=204, headers={"HX-Redirect": target})


def _errors(
    request: Request,
    staff: StaffContext,
    slots: Sequence[str],
    message: str,
    field: str,
) -> Response:
    return render(
        request,
        "add_integration/_errors.html",
        staff=staff,
        status_code=422,
        slots=[(slot(name), name == field) for name in slots if name != GENERAL],
        general_slot=slot(GENERAL),
        field=field,
        message=message,
    )


async def _typed(
    ctx: AppContext, plugins: Plugins, form: FormData
) -> tuple[str | None, dict[str, str], str | None]:
    """The chosen source and the group properties typed so far (or what is missing)."""
    source_id = db_id(form.get("source"))
    if source_id is None:
        return None, {}, "Choose the integration source first."
    async with ctx.db.reader() as session:
        try:
            source = (await get_source(session, source_id=source_id)).name
        except RequestError as error:
            return None, {}, error.message
    try:
        typed = group_properties(form, source=plugins.spec(source))
    except WizardError as error:
        return source, {}, f"{error.message} (step 4)"
    return source, {p.key: p.value for p in typed}, None
