"""The FHIR sandbox as an ASGI app: a FHIR R4 server with SMART Backend Services auth.

Under ``/fhir``: ``metadata`` (CapabilityStatement), ``.well-known/smart-configuration``,
``auth/token`` (see :mod:`frontdesk.sandbox.fhir.auth`), searches and reads of Appointment,
Patient and Location (see :mod:`frontdesk.sandbox.fhir.search`). Under ``/sandbox/admin``:
``knobs`` (GET, PATCH), ``faults`` (POST one :class:`~frontdesk.sandbox.fhir.config.Fault`),
``clients`` (POST one :class:`~frontdesk.sandbox.fhir.config.Client`; a ``jwks_url`` is
fetched once, at registration), ``revoke-tokens`` (POST), ``resources`` (POST one resource),
``stats`` (GET: requests by kind).

Errors are OperationOutcome resources with the HTTP status FHIR servers use: 400 a bad
search, 401 no or a dead token (``WWW-Authenticate: Bearer``), 403 a scope missing, 404 an
unknown resource, 429 with ``Retry-After``, 5xx.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from frontdesk.sandbox.fhir.auth import AuthServer, Refused, allows
from frontdesk.sandbox.fhir.config import Client, Fault, FhirSandboxConfig, Knobs
from frontdesk.sandbox.fhir.search import BadSearch, bundle, search
from frontdesk.sandbox.fhir.store import Store

FHIR_JSON = "application/fhir+json"
RESOURCES = ("Appointment", "Patient", "Location")


class FhirSandbox:
    """The sandbox's state: store, authorisation server, knobs, queued faults, counters."""

    def __init__(self, config: FhirSandboxConfig | None = None) -> None:
        self.config = config = config or FhirSandboxConfig()
        self.store = Store(config.seed, config.shape, synthetic=config.synthetic)
        self.auth = AuthServer(config.clients)
        self.knobs: Knobs = config.knobs
        self.faults: list[Fault] = []
        self.requests: Counter[str] = Counter()

    def update_knobs(self, **changes: Any) -> Knobs:
        self.knobs = Knobs.model_validate(self.knobs.model_dump() | changes)
        return self.knobs

    def add_fault(self, fault: Fault) -> None:
        self.faults.append(fault)

    def fault_for(self, kinds: tuple[str, ...]) -> Fault | None:
        """The queued fault that fires on this request (one of ``kinds``), if any."""
        for fault in self.faults:
            if fault.target not in kinds:
                continue
            if fault.after > 0:
                fault.after -= 1
                return None
            fault.times -= 1
            if fault.times == 0:
                self.faults.remove(fault)
            return fault
        return None


def outcome(status: int, code: str, text: str, headers: dict[str, str] | None = None) -> Response:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": text}],
    }
    return Response(orjson.dumps(body), status, headers=headers, media_type=FHIR_JSON)


def _json(data: Any, status: int = 200, media: str = FHIR_JSON) -> Response:
    return Response(orjson.dumps(data), status, media_type=media)


def _base(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}/fhir"


def _fault_response(fault: Fault, sandbox: FhirSandbox, request: Request) -> Response:
    if fault.status == 401:
        sandbox.auth.revoke(request.headers.get("authorization"))
        return outcome(
            401,
            "login",
            "the access token expired",
            {"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    if fault.status == 429:
        headers = {}
        if fault.retry_after_s is not None:
            headers["Retry-After"] = f"{fault.retry_after_s:g}"
        return outcome(429, "throttled", "too many requests", headers)
    return outcome(fault.status, "transient", f"the sandbox fails with HTTP {fault.status}")


def capability_statement(base: str, knobs: Knobs) -> dict[str, Any]:
    includes = ["Appointment:patient", "Appointment:location"] if knobs.include else []
    params = {
        "Appointment": [
            ("date", "date"),
            ("status", "token"),
            ("location", "reference"),
            ("patient", "reference"),
            ("_id", "token"),
        ],
        "Patient": [("_id", "token")],
        "Location": [("_id", "token"), ("name", "string")],
    }
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-01-01",
        "kind": "instance",
        "software": {"name": "frontdesk FHIR sandbox", "version": "1.0"},
        "implementation": {"description": "frontdesk FHIR sandbox", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/"
                                    "restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                },
                "resource": [
                    {
                        "type": kind,
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchInclude": includes if kind == "Appointment" else [],
                        "searchParam": [{"name": n, "type": t} for n, t in params[kind]],
                    }
                    for kind in RESOURCES
                ],
            }
        ],
    }


def create_fhir_app(sandbox: FhirSandbox | FhirSandboxConfig | None = None) -> Starlette:
    """The ASGI app of ``sandbox`` (a fresh one from a config, or the defaults)."""
    if not isinstance(sandbox, FhirSandbox):
        sandbox = FhirSandbox(sandbox)
    state = sandbox

    async def delay(request: Request) -> None:
        seconds = state.knobs.latency_ms / 1000
        if "_offset" in request.query_params:
            seconds += state.knobs.slow_page_ms / 1000
        if seconds > 0:
            await asyncio.sleep(seconds)

    async def metadata(request: Request) -> Response:
        state.requests["metadata"] += 1
        await delay(request)
        return _json(capability_statement(_base(request), state.knobs))

    async def smart_configuration(request: Request) -> Response:
        state.requests["smart-configuration"] += 1
        await delay(request)
        base = _base(request)
        return _json(
            {
                "token_endpoint": f"{base}/auth/token",
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
                "grant_types_supported": ["client_credentials"],
                "scopes_supported": [
                    "system/*.read",
                    "system/Appointment.read",
                    "system/Patient.read",
                    "system/Location.read",
                ],
                "capabilities": ["client-confidential-asymmetric"],
            },
            media="application/json",
        )

    async def token(request: Request) -> Response:
        state.requests["token"] += 1
        await delay(request)
        fault = state.fault_for(("token",))
        if fault is not None:
            return _fault_response(fault, state, request)
        form = {k: str(v) for k, v in (await request.form()).items()}
        try:
            answer = state.auth.issue(
                form, f"{_base(request)}/auth/token", state.knobs.token_lifetime_s
            )
        except Refused as refused:
            return _json(
                {"error": refused.error, "error_description": refused.description},
                refused.status,
                media="application/json",
            )
        return Response(
            orjson.dumps(answer),
            200,
            media_type="application/json",
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    def authorise(request: Request, resource: str) -> Response | None:
        grant = state.auth.grant(request.headers.get("authorization"))
        if grant is None:
            return outcome(
                401,
                "login",
                "no valid access token",
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if not allows(grant, resource):
            return outcome(403, "forbidden", f"the token's scopes do not allow {resource}")
        return None

    async def search_type(request: Request) -> Response:
        resource = request.path_params["resource"]
        paging = "_offset" in request.query_params
        state.requests["next" if paging else resource] += 1
        await delay(request)
        if resource not in RESOURCES:
            return outcome(404, "not-supported", f"the sandbox has no {resource} endpoint")
        kinds = ("api", resource, "next") if paging else ("api", resource)
        fault = state.fault_for(kinds)
        if fault is not None:
            return _fault_response(fault, state, request)
        refused = authorise(request, resource)
        if refused is not None:
            return refused
        params = list(request.query_params.multi_items())
        try:
            result = search(
                state.store,
                resource,
                params,
                max_page_size=state.knobs.max_page_size,
                default_page_size=state.knobs.default_page_size,
                include_allowed=state.knobs.include,
            )
        except BadSearch as error:
            return outcome(400, "invalid", str(error))
        return _json(bundle(_base(request), resource, params, result))

    async def read(request: Request) -> Response:
        resource, rid = request.path_params["resource"], request.path_params["id"]
        state.requests[f"{resource} read"] += 1
        await delay(request)
        refused = authorise(request, resource)
        if refused is not None:
            return refused
        table = {
            "Patient": state.store.patients,
            "Location": state.store.locations,
            "Appointment": state.store.appointments,
        }.get(resource, {})
        if rid not in table:
            return outcome(404, "not-found", f"{resource}/{rid} is not known")
        return _json(table[rid])

    async def knobs(request: Request) -> Response:
        if request.method == "PATCH":
            state.update_knobs(**orjson.loads(await request.body()))
        return _json(state.knobs.model_dump(), media="application/json")

    async def faults(request: Request) -> Response:
        state.add_fault(Fault.model_validate_json(await request.body()))
        return _json({"queued": len(state.faults)}, media="application/json")

    async def clients(request: Request) -> Response:
        client = Client.model_validate_json(await request.body())
        jwks = None
        if client.jwks_url:
            async with httpx.AsyncClient(timeout=10) as http:
                jwks = (await http.get(client.jwks_url)).raise_for_status().json()
        state.auth.register(client, jwks)
        return _json({"registered": client.client_id}, media="application/json")

    async def revoke(request: Request) -> Response:
        state.auth.revoke_all()
        return _json({"revoked": True}, media="application/json")

    async def resources(request: Request) -> Response:
        state.store.add(orjson.loads(await request.body()))
        return _json({"added": True}, media="application/json")

    async def stats(request: Request) -> Response:
        return _json(dict(state.requests), media="application/json")

    app = Starlette(
        routes=[
            Route("/fhir/metadata", metadata),
            Route("/fhir/.well-known/smart-configuration", smart_configuration),
            Route("/fhir/auth/token", token, methods=["POST"]),
            Route("/fhir/{resource}", search_type),
            Route("/fhir/{resource}/{id}", read),
            Route("/sandbox/admin/knobs", knobs, methods=["GET", "PATCH"]),
            Route("/sandbox/admin/faults", faults, methods=["POST"]),
            Route("/sandbox/admin/clients", clients, methods=["POST"]),
            Route("/sandbox/admin/revoke-tokens", revoke, methods=["POST"]),
            Route("/sandbox/admin/resources", resources, methods=["POST"]),
            Route("/sandbox/admin/stats", stats),
        ]
    )
    app.state.sandbox = sandbox
    return app
