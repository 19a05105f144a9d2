"""Finding 9 of the hardening issue: no HSTS behind an https public URL; no nosniff, frame or
CSP headers on /docs, /openapi.json, JSON and static responses; /docs loaded Swagger UI from
a CDN (clinics' servers are often offline)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from frontdesk.context import AppContext
from frontdesk.server.app import create_app
from frontdesk.settings import Settings

H = dict[str, str]
PATHS = (
    "/docs",
    "/docs/init.js",
    "/docs/assets/swagger-ui-bundle.js",
    "/docs/assets/swagger-ui.css",
    "/openapi.json",
    "/healthz",
    "/api/businesses",  # 401 JSON without a key
    "/api/businesses/1",
    "/static/htmx.min.js",
    "/login",
    "/cc/modules/apiv2/index.php?resource=ticketStatus",
    "/no/such/page",
)


@pytest.fixture
async def https_client(settings: Settings, ctx: AppContext) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        settings.model_copy(update={"public_url": "https://fd.clinic.example"}), context=ctx
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://fd.clinic.example") as c:
        yield c


@pytest.mark.parametrize("path", PATHS)
async def test_every_response_carries_the_security_headers(
    client: httpx.AsyncClient, path: str
) -> None:
    r = await client.get(path)
    assert r.status_code < 500, r.text
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] in ("DENY", "SAMEORIGIN")
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "strict-transport-security" not in r.headers  # the public URL is plain http


@pytest.mark.parametrize("path", ["/openapi.json", "/docs", "/static/htmx.min.js", "/login"])
async def test_hsts_when_the_public_url_is_https(
    https_client: httpx.AsyncClient, path: str
) -> None:
    r = await https_client.get(path)
    assert r.headers["strict-transport-security"].startswith("max-age=")


async def test_docs_are_served_offline(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources
    assert all(s.startswith("/") and not s.startswith("//") for s in sources), sources
    assert "<script>" not in page.text  # no inline script: the CSP allows none
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for source in sources:
        asset = await client.get(source)
        assert asset.status_code == 200, source
    bundle = await client.get("/docs/assets/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in bundle.text
    init = await client.get("/docs/init.js")
    assert "/openapi.json" in init.text
    assert "validatorUrl: null" in init.text
    for other in ("/docs/assets/index.html", "/docs/assets/..%2F__init__.py", "/redoc"):
        assert (await client.get(other)).status_code == 404
