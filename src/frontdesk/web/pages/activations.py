"""The Client Activations page: the report, and the form to raise or advance a request.

``GET /activations`` (``view_integrations``) lists every visible request with its history,
filtered by status; ``POST /activations`` raises one and ``POST /activations/{id}/status``
advances one (``configure_integrations``, CSRF). A refused change re-renders the page with
the reason (422); a done one redirects back with a notice.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from frontdesk.activations import lifecycle, service
from frontdesk.activations.service import ActivationDetails
from frontdesk.context import AppContext
from frontdesk.db.bounds import DbId
from frontdesk.errors import InvalidInput, RequestError
from frontdesk.server.dependencies import get_context
from frontdesk.staff.roles import Permission
from frontdesk.web.auth import CheckedForm, StaffContext, require
from frontdesk.web.params import query_text
from frontdesk.web.templating import render

router = APIRouter(tags=["dashboard"], include_in_schema=False)
Context = Annotated[AppContext, Depends(get_context)]
Viewer = Annotated[StaffContext, Depends(require(Permission.VIEW_INTEGRATIONS))]
Configurer = Annotated[StaffContext, Depends(require(Permission.CONFIGURE_INTEGRATIONS))]


async def _page(
    request: Request,
    ctx: AppContext,
    staff: StaffContext,
    *,
    error: str | None = None,
    form: FormData | None = None,
    status_code: int = 200,
) -> Response:
    status = query_text(request.query_params.get("status"), limit=16)
    if status is not None and status not in lifecycle.STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(lifecycle.STATUSES)}", field="status")
    rows = await service.list_requests(ctx, principal=staff.principal, status=status)
    return render(
        request,
        "activations/page.html",
        staff=staff,
        section="activations",
        rows=rows,
        status=status,
        statuses=lifecycle.STATUSES,
        words=lifecycle.WORDS,
        next_of={
            s: [n for n in lifecycle.STATUSES if n in allowed]
            for s, allowed in lifecycle.NEXT.items()
        },
        environments=lifecycle.ENVIRONMENTS,
        can_edit=staff.can(Permission.CONFIGURE_INTEGRATIONS),
        done=query_text(request.query_params.get("done"), limit=120),
        error=error,
        form=form,
        status_code=status_code,
    )


@router.get("/activations", response_class=HTMLResponse)
async def activations(request: Request, ctx: Context, staff: Viewer) -> Response:
    """The Client Activations report."""
    return await _page(request, ctx, staff)


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _number(form: FormData) -> int:
    text = _field(form, "business").strip()
    if not text.isdigit() or len(text) > 18:
        raise InvalidInput("enter the 15-digit business number", field="business")
    return int(text)


@router.post("/activations", response_class=HTMLResponse)
async def raise_activation(
    request: Request, ctx: Context, staff: Configurer, form: CheckedForm
) -> Response:
    """Raise a request from the form (details from the set-up call)."""
    try:
        view = await service.raise_request(
            ctx,
            principal=staff.principal,
            business_number=_number(form),
            source=_field(form, "source"),
            status=_field(form, "initial") or lifecycle.REQUESTED,
            details=ActivationDetails(
                practice_name=_field(form, "practice"),
                contact_name=_field(form, "contact"),
                contact_email=_field(form, "email"),
                contact_phone=_field(form, "phone"),
                client_id=_field(form, "client_id"),
                service_user=_field(form, "service_user"),
                environment=_field(form, "environment") or "production",
                notes=_field(form, "notes"),
            ),
        )
    except RequestError as error:
        return await _page(request, ctx, staff, error=error.message, form=form, status_code=422)
    done = f"Activation #{view.id} raised as {view.status}; support was mailed."
    return RedirectResponse("/activations?" + urlencode({"done": done}), status_code=303)


@router.post("/activations/{activation_id}/status", response_class=HTMLResponse)
async def advance_activation(
    request: Request, activation_id: DbId, ctx: Context, staff: Configurer, form: CheckedForm
) -> Response:
    """Move a request to the chosen status."""
    try:
        view = await service.set_status(
            ctx,
            principal=staff.principal,
            activation_id=activation_id,
            status=_field(form, "status"),
            note=_field(form, "note"),
        )
    except RequestError as error:
        return await _page(request, ctx, staff, error=error.message, status_code=error.status_code)
    done = f"Activation #{view.id} is now {view.status}; support was mailed."
    return RedirectResponse("/activations?" + urlencode({"done": done}), status_code=303)
