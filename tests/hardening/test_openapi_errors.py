"""Finding 10 of the hardening issue: the OpenAPI document listed no 400/404/422 error
responses. Every JSON API operation now lists them with the one error schema it answers."""

from __future__ import annotations

from typing import Any

import httpx

from frontdesk.server.errors import ErrorOut

H = dict[str, str]
REF = {"$ref": "#/components/schemas/ErrorOut"}


async def test_every_api_operation_lists_its_error_responses(client: httpx.AsyncClient) -> None:
    schema: dict[str, Any] = (await client.get("/openapi.json")).json()
    checked = 0
    for path, operations in schema["paths"].items():
        if not path.startswith(("/api/", "/integration/")):
            continue
        for method, operation in operations.items():
            wanted = {"400", "401", "403", "404", "422"} | ({"409"} if method != "get" else set())
            responses = operation["responses"]
            assert wanted <= set(responses), (method, path, sorted(responses))
            for status in wanted:
                assert responses[status]["content"]["application/json"]["schema"] == REF
            checked += 1
    assert checked > 50
    error = schema["components"]["schemas"]["ErrorDetail"]
    assert set(error["required"]) == {"code", "message", "field"}


async def test_error_responses_match_the_documented_schema(
    client: httpx.AsyncClient, staff_headers: H
) -> None:
    for response in (
        await client.get("/api/businesses/1", headers=staff_headers),  # 404
        await client.get("/api/businesses/x", headers=staff_headers),  # 422
        await client.get("/api/businesses"),  # 401
        await client.post(
            "/api/businesses",
            content=b"{not json",
            headers={**staff_headers, "Content-Type": "application/json"},
        ),
    ):
        assert response.status_code in (401, 404, 422), response.text
        ErrorOut.model_validate(response.json())
