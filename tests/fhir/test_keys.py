"""Keys of FHIR groups: a PEM key set through the API and a generated key pair (published as
a JWKS the EHR registers) both sign assertions the sandbox accepts, and both are
re-encrypted by ``frontdesk admin rotate-key`` (the key-ring rotation it runs)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from tests.fhir.conftest import BASE, demo_client

from frontdesk.access.principal import Principal
from frontdesk.composition import Process, Role, build_process
from frontdesk.connectors.base import CheckStatus
from frontdesk.connectors.fhir.connector import FhirConnector
from frontdesk.connectors.fhir.keypairs import generate_group_key
from frontdesk.connectors.fhir.keys import load_signing_key, private_key
from frontdesk.connectors.limits import ConcurrencyLimits
from frontdesk.context import AppContext
from frontdesk.integrations.groups import group_properties
from frontdesk.integrations.models import GroupProperty
from frontdesk.sandbox.fhir.app import FhirSandbox, create_fhir_app
from frontdesk.sandbox.fhir.config import Client, FhirSandboxConfig, demo_private_key
from frontdesk.security.rotation import reencrypt_all
from frontdesk.security.secrets import SecretBox, generate_key
from frontdesk.server.app import create_app

ENTERPRISE = 300000000000001


def _prop(key: str, value: str, *, secure: bool = False) -> dict[str, Any]:
    return {"propertyKey": key, "propertyValue": value, "isSecure": secure}


async def _group(api: httpx.AsyncClient, client_id: str) -> int:
    r = await api.post("/api/businesses", json={"businessNumber": ENTERPRISE, "name": "K"})
    assert r.status_code == 201, r.text
    body = {
        "parentBusinessNumber": ENTERPRISE,
        "integrationSourceId": 33,
        "integrationGroupTriggers": [{"triggerId": 57, "triggerTypeId": 1}],
        "integrationGroupProperties": [
            _prop("fhir.base.url", BASE),
            _prop("fhir.client.id", client_id),
            _prop("fhir.private.key", demo_private_key(1), secure=True),
        ],
    }
    r = await api.put("/integration/add/businessintegrationgroup", json=body)
    assert r.status_code == 200, r.text
    group: int = r.json()["groupId"]
    return group


async def _check(properties: dict[str, str], sandbox: FhirSandbox, process: Process) -> CheckStatus:
    connector = FhirConnector.from_properties(
        properties,
        process.settings,
        transport=httpx.ASGITransport(app=create_fhir_app(sandbox)),
        limits=ConcurrencyLimits(total=4, per_group=2),
    )
    try:
        return (await connector.check()).status
    finally:
        await connector.aclose()


def test_the_key_validator_refuses_what_cannot_sign_and_never_quotes_it() -> None:
    with pytest.raises(ValueError, match="PEM") as info:
        private_key("-----BEGIN PRIVATE KEY-----\nsecret-looking\n-----END PRIVATE KEY-----")
    assert "secret-looking" not in str(info.value)
    assert load_signing_key(demo_private_key(1)).algorithm == "ES384"


async def test_a_generated_key_pair_is_published_as_a_jwks_and_survives_rotate_key(
    ctx: AppContext, staff_headers: dict[str, str]
) -> None:
    process = build_process(ctx, Role.CLI)
    await process.start()
    app = create_app(process.settings, process=process)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test", headers=staff_headers
        ) as api:
            group = await _group(api, "generated-client")
            async with ctx.db.transaction() as session:
                kid = await generate_group_key(
                    session,
                    principal=Principal.system("test"),
                    clock=ctx.clock,
                    secrets=ctx.secrets,
                    plugins=process.plugins,
                    group_id=group,
                )
            r = await api.get(f"/fhir/jwks/{group}.json", headers={"Authorization": ""})
            assert r.status_code == 200
            jwks = r.json()
            assert (await api.get(f"/fhir/jwks/{group + 99}.json")).status_code == 404
        assert [k["kid"] for k in jwks["keys"]] == [kid]
        assert not {"d", "p", "q"} & set(jwks["keys"][0])  # public members only
        # the EHR registers the JWKS URL's keys for the client
        sandbox = FhirSandbox(FhirSandboxConfig(clients=()))
        sandbox.auth.register(Client(client_id="generated-client"), jwks)
        async with ctx.db.reader() as session:
            properties = await group_properties(session, group_id=group, secrets=ctx.secrets)
        assert properties["fhir.private.key"] != demo_private_key(1)
        assert await _check(properties, sandbox, process) is CheckStatus.OK

        # frontdesk admin rotate-key: a new key first in the ring, every secret re-encrypted
        before = await _ciphertext(ctx, group)
        new_key = generate_key()
        report = await reencrypt_all(ctx.db, SecretBox([new_key, *ctx.secrets.keys]))
        assert report.values >= 1
        after = await _ciphertext(ctx, group)
        assert after != before
        assert SecretBox([new_key]).decrypt(after) == properties["fhir.private.key"]
        async with ctx.db.reader() as session:
            rotated = await group_properties(session, group_id=group, secrets=SecretBox([new_key]))
        assert await _check(rotated, sandbox, process) is CheckStatus.OK
    finally:
        await process.stop()


async def test_a_pem_key_set_through_the_api_signs_for_the_sandbox(
    ctx: AppContext, staff_headers: dict[str, str]
) -> None:
    process = build_process(ctx, Role.CLI)
    await process.start()
    app = create_app(process.settings, process=process)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test", headers=staff_headers
        ) as api:
            r = await api.post(
                "/api/businesses", json={"businessNumber": ENTERPRISE + 1, "name": "B"}
            )
            r = await api.put(
                "/integration/add/businessintegrationgroup",
                json={
                    "parentBusinessNumber": ENTERPRISE + 1,
                    "integrationSourceId": 33,
                    "integrationGroupTriggers": [{"triggerId": 57, "triggerTypeId": 1}],
                    "integrationGroupProperties": [
                        _prop("fhir.base.url", BASE),
                        _prop("fhir.client.id", "x"),
                        _prop("fhir.private.key", "-----BEGIN PRIVATE KEY-----\nnope\n"),
                    ],
                },
            )
            assert r.status_code == 422
            assert "nope" not in r.text
            group = await _group(api, "frontdesk-demo")
        async with ctx.db.reader() as session:
            properties = await group_properties(session, group_id=group, secrets=ctx.secrets)
        sandbox = FhirSandbox(FhirSandboxConfig(clients=(demo_client(),)))
        assert await _check(properties, sandbox, process) is CheckStatus.OK
        before = await _ciphertext(ctx, group)
        new_key = generate_key()
        await reencrypt_all(ctx.db, SecretBox([new_key, *ctx.secrets.keys]))
        assert SecretBox([new_key]).decrypt(await _ciphertext(ctx, group)) == demo_private_key(1)
        assert await _ciphertext(ctx, group) != before
    finally:
        await process.stop()


async def _ciphertext(ctx: AppContext, group: int) -> str:
    async with ctx.db.reader() as session:
        value = (
            await session.execute(
                select(GroupProperty.secret_value).where(
                    GroupProperty.group_id == group, GroupProperty.key == "fhir.private.key"
                )
            )
        ).scalar_one()
    assert value is not None
    return str(value)


def test_a_key_pasted_into_a_one_line_field_still_loads() -> None:
    pem = demo_private_key(1)
    flattened = pem.replace("\n", " ")
    assert private_key(flattened) == pem
    assert load_signing_key(pem.replace("\n", "\r\n")).kid == load_signing_key(pem).kid
