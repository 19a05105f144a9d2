"""A bounded property-based fuzz of the Answering Service API v2 through its wire format.

Hypothesis draws requests as answering services could send them — any ``resource=`` (and
case), GET or POST, a JSON body (nested, huge numbers, non-objects), a form, a multipart
body or raw bytes under any Content-Type, known field names with hostile values, a valid
token or a made-up one — and every answer must be an envelope, never a 5xx or envelope 409
("Database query failure", the unexpected-error answer). Derandomised: the same cases every
run; ``FRONTDESK_FUZZ_EXAMPLES`` raises the count by hand.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("FRONTDESK_FUZZ_EXAMPLES", "4")) * 40
FIELDS = (
    "login_username",
    "login_password",
    "token",
    "ticket_id",
    "idempotency_key",
    "patient_lname",
    "patient_fname",
    "dob",
    "complaint",
    "prac",
    "client_code",
    "contact_phone",
    "sex",
    "email",
    "txt",
    "Call_type",
    "field_mr",
    "doctor",
)
RESOURCES = st.sampled_from(
    ["tokenCreate", "as", "adi", "ticketStatus", "TOKENCREATE", "As", "", "index", "../as"]
) | st.text(max_size=20)
HOSTILE_TEXT = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "19891230",
            "99999999",
            "1234",
            "1|2|3",
            "123|ABC",
            "<img src=x>",
            "' OR 1=1 --",
            "\x00",
            "9" * 40,
            "-1",
            "1e309",
            "NaN",
            " ",
        ]
    ),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    HOSTILE_TEXT,
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
PARAMS = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=10), HOSTILE_TEXT, max_size=8)


@st.composite
def requests(draw: st.DrawFn, token: str) -> dict[str, Any]:
    """One request: method, query and a body in one of the wire encodings."""
    query: dict[str, str] = {"resource": draw(RESOURCES)}
    if draw(st.booleans()):
        query["token"] = draw(st.just(token) | HOSTILE_TEXT)
    if draw(st.booleans()):
        query["ticket_id"] = draw(HOSTILE_TEXT)
    method = draw(st.sampled_from(["POST", "POST", "GET", "PUT"]))
    request: dict[str, Any] = {"method": method, "params": query}
    encoding = draw(st.sampled_from(["json", "json-object", "form", "multipart", "raw"]))
    if encoding == "json":
        request["content"] = json.dumps(draw(JSON_VALUES)).encode()
        request["headers"] = {"Content-Type": "application/json"}
    elif encoding == "json-object":
        body = {**draw(PARAMS), **draw(st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES))}
        request["content"] = json.dumps(body).encode()
        request["headers"] = {
            "Content-Type": draw(st.sampled_from(["application/json", "text/plain", ""]))
        }
    elif encoding == "form":
        request["data"] = draw(PARAMS)
    elif encoding == "multipart":
        request["files"] = {k: (None, v) for k, v in draw(PARAMS).items()} or {"x": (None, "")}
    else:
        request["content"] = draw(st.binary(max_size=200))
        request["headers"] = {
            "Content-Type": draw(
                st.sampled_from(
                    [
                        "application/json",
                        "multipart/form-data",
                        "multipart/form-data; boundary=x",
                        "application/x-www-form-urlencoded",
                        "text/plain",
                    ]
                )
            )
        }
    return request


@pytest.fixture
async def token(api: Any) -> str:
    result: str = await api.token()
    return result


async def test_answering_wire_fuzz_never_fails_with_5xx(api: Any, token: str) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(request=requests(token))
    def cases(request: dict[str, Any]) -> None:
        drawn.append(request)

    drawn: list[dict[str, Any]] = []
    cases()
    assert len(drawn) >= EXAMPLES // 2
    for request in drawn:
        response = await api.client.request(url=api.API, **request)
        assert response.status_code < 500, (request, response.text)
        body = response.json()
        assert set(body) >= {"success", "errors", "result"}, body
        assert 409 not in [e["code"] for e in body["errors"]], (request, body)
