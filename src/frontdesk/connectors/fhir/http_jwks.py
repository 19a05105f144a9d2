"""HTTP: ``GET /fhir/jwks/{group_id}.json`` — the public key of a FHIR group, as a JWKS.

Unauthenticated on purpose: the EHR's authorisation server fetches it to verify our client
assertions. It answers only public key members (``kty``, ``crv``/``x``/``y`` or ``n``/``e``,
``kid``, ``alg``, ``use``) and 404 for anything that is not a FHIR group with a key.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from frontdesk.connectors.fhir.keypairs import group_jwks
from frontdesk.context import AppContext
from frontdesk.db.bounds import DbId
from frontdesk.errors import NotFound
from frontdesk.server.dependencies import get_context

router = APIRouter(tags=["fhir"])
Context = Annotated[AppContext, Depends(get_context)]


@router.get("/fhir/jwks/{group_id}.json")
async def jwks(group_id: DbId, ctx: Context) -> JSONResponse:
    try:
        async with ctx.db.reader() as session:
            body: dict[str, Any] = await group_jwks(session, group_id=group_id, secrets=ctx.secrets)
    except NotFound:
        return JSONResponse({"error": "not found"}, status_code=404)
    return JSONResponse(body, headers={"Cache-Control": "public, max-age=300"})
