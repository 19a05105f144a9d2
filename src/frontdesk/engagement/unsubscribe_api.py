"""HTTP: ``GET`` and ``POST /unsubscribe/{token}`` — the token is the authentication.

``GET`` is the link in the message body; ``POST`` with ``List-Unsubscribe=One-Click`` is the
RFC 8058 one-click request a mail provider sends on the patient's behalf. Both record the
opt-out (idempotently) and answer a small HTML page; a forged, altered or expired token
answers ``400`` with a page saying so, and nothing is recorded. Pages are never cached and
send no referrer (the token is in the URL).
"""

from __future__ import annotations

from functools import cache
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from frontdesk.businesses.models import Business
from frontdesk.context import AppContext
from frontdesk.engagement.optouts import record_opt_out
from frontdesk.engagement.unsubscribe import (
    ExpiredUnsubscribeToken,
    InvalidUnsubscribeToken,
    UnsubscribeClaim,
    read_unsubscribe_token,
)
from frontdesk.logs import get_logger
from frontdesk.server.dependencies import get_context

router = APIRouter(tags=["unsubscribe"], include_in_schema=True)
Context = Annotated[AppContext, Depends(get_context)]
log = get_logger(__name__)

MAX_BODY = 1024
ONE_CLICK_FIELD = "List-Unsubscribe"
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
}
_CHANNEL_LABELS = {"email": "email", "sms": "text message"}


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
async def unsubscribe_by_link(token: str, ctx: Context) -> HTMLResponse:
    """The unsubscribe link of a message: records the opt-out and confirms it."""
    return await _unsubscribe(ctx, token=token, source="unsubscribe_link")


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
async def unsubscribe_one_click(token: str, request: Request, ctx: Context) -> HTMLResponse:
    """RFC 8058 one-click (body ``List-Unsubscribe=One-Click``), or the page's own form."""
    body = (await request.body())[:MAX_BODY].decode("ascii", errors="replace")
    one_click = parse_qs(body).get(ONE_CLICK_FIELD) == ["One-Click"]
    return await _unsubscribe(
        ctx, token=token, source="one_click" if one_click else "unsubscribe_link"
    )


async def _unsubscribe(ctx: AppContext, *, token: str, source: str) -> HTMLResponse:
    try:
        claim = read_unsubscribe_token(ctx.secrets, clock=ctx.clock, token=token)
    except ExpiredUnsubscribeToken:
        log.info("unsubscribe.refused", reason="expired")
        return _page(400, title="Link expired", expired=True)
    except InvalidUnsubscribeToken:
        log.info("unsubscribe.refused", reason="invalid")
        return _page(400, title="Link not valid")
    async with ctx.db.transaction() as session:
        practice = await session.get(Business, claim.scope_business_id)
        if practice is None:
            log.info("unsubscribe.refused", reason="unknown_business")
            return _page(400, title="Link not valid")
        _row, created = await record_opt_out(
            session,
            clock=ctx.clock,
            scope_business_id=claim.scope_business_id,
            channel=claim.channel,
            contact_hash=claim.contact_hash,
            source=source,
            request_key=claim.ledger_key,
        )
        name = practice.name
    log.info(
        "unsubscribe.recorded",
        business_id=claim.scope_business_id,
        channel=claim.channel,
        source=source,
        created=created,
    )
    return _confirmed(claim, practice=name)


def _confirmed(claim: UnsubscribeClaim, *, practice: str) -> HTMLResponse:
    label = _CHANNEL_LABELS.get(claim.channel, claim.channel)
    return _page(200, title="You are unsubscribed", ok=True, channel_label=label, practice=practice)


def _page(status: int, *, title: str, **values: object) -> HTMLResponse:
    html = _pages().get_template("unsubscribe.html").render(title=title, **values)
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


@cache
def _pages() -> Environment:
    return Environment(
        loader=PackageLoader("frontdesk.engagement", "templates"),
        autoescape=select_autoescape(default=True),
    )
