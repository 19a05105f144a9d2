"""Accept the no-break spaces that copy-pasted curl commands carry between JSON tokens.

The support guide's commands are copied from a help-center page, and some carry U+00A0
(no-break space) where a plain space belongs, e.g. ``"integrationGroupId" :\u00a01314`` in the
multi-location mapping command. Strict JSON refuses it; the integration API reads U+00A0
*between* tokens as a space. Inside strings nothing changes, and anything else that is not
JSON is still answered with ``malformed_json``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

_NBSP = "\u00a0"


def relax_json_whitespace(raw: bytes) -> bytes:
    """``raw`` with every U+00A0 outside JSON strings replaced by a space."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw
    if _NBSP not in text:
        return raw
    out: list[str] = []
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == _NBSP:
            char = " "
        out.append(char)
    return "".join(out).encode("utf-8")


class _LenientJSONRequest(Request):
    async def body(self) -> bytes:
        if not hasattr(self, "_relaxed"):
            self._relaxed = relax_json_whitespace(await super().body())
        return self._relaxed


class LenientJSONRoute(APIRoute):
    """A route whose JSON body may carry U+00A0 between tokens."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def relaxed(request: Request) -> Response:
            return await handler(_LenientJSONRequest(request.scope, request.receive))

        return relaxed
