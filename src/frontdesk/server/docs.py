"""``/docs``: Swagger UI served from this server, never from a CDN (clinics run offline).

The assets come from the ``swagger-ui-py`` package (Swagger UI 5, Apache-2.0: it renders
OpenAPI 3.1, which FastAPI writes; the older ``swagger-ui-bundle`` ships Swagger UI 3 and
answers "Unable to render this definition"); only the three files the page needs are
served, under ``/docs/assets/``. The package is located, not imported (its Python side is
for other frameworks). The page has no inline
script (its start-up is ``/docs/init.js``), so its CSP allows scripts from this origin only;
styles may be inline (Swagger UI sets style attributes). The validator badge, which would
call validator.swagger.io, is off. ReDoc (a CDN page in FastAPI) is not offered.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

from frontdesk.errors import NotFound

_SPEC = importlib.util.find_spec("swagger_ui")
if _SPEC is None or _SPEC.origin is None:  # pragma: no cover - a dependency of the package
    raise ImportError("swagger-ui-py is missing: reinstall frontdesk")
ASSETS = Path(_SPEC.origin).parent / "static"
SERVED = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "favicon-32x32.png": "image/png",
}
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)
_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>frontdesk API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"""
_INIT = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
});
"""

router = APIRouter(include_in_schema=False)


@router.get("/docs")
async def docs_page() -> HTMLResponse:
    """The Swagger UI page of ``/openapi.json``."""
    return HTMLResponse(_PAGE, headers={"Content-Security-Policy": DOCS_CSP})


@router.get("/docs/init.js")
async def docs_init() -> Response:
    return Response(_INIT, media_type="text/javascript")


@router.get("/docs/assets/{name}")
async def docs_asset(name: str) -> FileResponse:
    """One of the vendored Swagger UI files (nothing else of the package is served)."""
    media_type = SERVED.get(name)
    if media_type is None:
        raise NotFound("no such documentation asset", field="name")
    return FileResponse(ASSETS / name, media_type=media_type)
