"""Finding 7 of the hardening issue: a JSON body nested 1,000 levels deep (6 KB) answered
HTTP 500 with envelope 409 "Database query failure" (the parser's RecursionError). A body that
does not parse counts as empty (resolution 22), so it answers what an empty body answers."""

from __future__ import annotations

from typing import Any

import pytest

DEPTH = 1000


def nested(depth: int, *, opener: str = "[", closer: str = "]") -> bytes:
    return ('{"login_username":' + opener * depth + closer * depth + "}").encode()


@pytest.mark.parametrize(
    "body",
    [
        nested(DEPTH),
        nested(DEPTH * 10),
        ('{"a":' * DEPTH + "1" + "}" * DEPTH).encode(),
        b"[" * 50_000,
        b'{"login_username": 1' + b"0" * 5000 + b"}",  # an integer past Python's digit limit
    ],
    ids=["arrays-1000", "arrays-10000", "objects-1000", "unclosed", "huge-number"],
)
@pytest.mark.parametrize("resource", ["tokenCreate", "as", "adi", "ticketStatus"])
async def test_unparsable_json_counts_as_an_empty_body(
    api: Any, body: bytes, resource: str
) -> None:
    token = await api.token()
    query = {"token": token} if resource != "tokenCreate" else {}
    headers = {"Content-Type": "application/json"}
    empty = await api.call(resource, query=query, content=b"", headers=headers)
    answer = await api.call(resource, query=query, content=body, headers=headers)
    assert answer.status == 200, answer.body
    assert 409 not in answer.codes
    assert answer.codes == empty.codes
    assert answer.body["success"] is False


async def test_the_integration_api_refuses_deep_json_with_a_4xx(
    client: Any, staff_headers: dict[str, str]
) -> None:
    for url, method in (
        ("/integration/add/businessintegrationgroup", "PUT"),
        ("/api/businesses", "POST"),
    ):
        r = await client.request(
            method,
            url,
            content=b'{"businessNumber":' + b"[" * DEPTH + b"]" * DEPTH + b"}",
            headers={**staff_headers, "Content-Type": "application/json"},
        )
        assert 400 <= r.status_code < 500, r.text
        assert set(r.json()["error"]) == {"code", "message", "field"}
