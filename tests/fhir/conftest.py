"""Fixtures for the FHIR tests: the FHIR sandbox in-process (ASGI) with the demo client
registered, group properties for it, and connectors built on it with instant backoff."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import httpx
import pytest
import uvicorn

from frontdesk.connectors.fhir.connector import FhirConnector
from frontdesk.connectors.fhir.keys import load_signing_key, public_jwk
from frontdesk.connectors.limits import ConcurrencyLimits
from frontdesk.retry import RetryPolicy
from frontdesk.sandbox.fhir.app import FhirSandbox, create_fhir_app
from frontdesk.sandbox.fhir.config import (
    DEMO_CLIENT_ID,
    Client,
    FhirSandboxConfig,
    demo_private_key,
)
from frontdesk.settings import FhirSettings, OutboundSettings, Settings

BASE = "http://fhir.test/fhir"
FAST_RETRY = RetryPolicy(max_attempts=4, base_s=0.01, max_s=0.05, jitter=0.0)


def demo_client(seed: int = 1, client_id: str = DEMO_CLIENT_ID) -> Client:
    """The sandbox registration of the demo key (its public half as a JWKS)."""
    jwk = public_jwk(load_signing_key(demo_private_key(seed)))
    return Client(client_id=client_id, jwks={"keys": [jwk]})


def group_properties(**extra: str) -> dict[str, str]:
    return {
        "fhir.base.url": BASE,
        "fhir.client.id": DEMO_CLIENT_ID,
        "fhir.private.key": demo_private_key(1),
        **extra,
    }


@pytest.fixture
def fhir_sandbox() -> FhirSandbox:
    return FhirSandbox(FhirSandboxConfig(seed=1, clients=(demo_client(),)))


@pytest.fixture
def fhir_transport(fhir_sandbox: FhirSandbox) -> httpx.AsyncBaseTransport:
    return httpx.ASGITransport(app=create_fhir_app(fhir_sandbox))


ConnectorFactory = Callable[..., FhirConnector]


async def _no_sleep(_: float) -> None:
    return None


@pytest.fixture
def make_connector(fhir_transport: httpx.AsyncBaseTransport) -> ConnectorFactory:
    def build(
        properties: Mapping[str, str] | None = None,
        settings: Settings | None = None,
        sleep: Callable[[float], Awaitable[None]] = _no_sleep,
        **kwargs: Any,
    ) -> FhirConnector:
        return FhirConnector.from_properties(
            properties or group_properties(),
            settings or Settings(fhir=FhirSettings(page_size=20)),
            transport=fhir_transport,
            limits=ConcurrencyLimits(total=8, per_group=4),
            retry=FAST_RETRY,
            sleep=sleep,
            **kwargs,
        )

    return build


@pytest.fixture
async def loopback(fhir_sandbox: FhirSandbox) -> AsyncIterator[str]:
    """The sandbox on a loopback port (uvicorn); yields its FHIR base URL."""
    config = uvicorn.Config(
        create_fhir_app(fhir_sandbox),
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="off",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn offers no started event)
        await asyncio.sleep(0.01)
    port: int = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/fhir"
    finally:
        server.should_exit = True
        await task


LOOPBACK_AND_TEST_HOSTS = "127.0.0.1,fhir.test,ehr.example"
"""The FHIR sandbox's hosts, allowed explicitly (the outbound rule refuses loopback and names
that do not resolve unless the operator lists them)."""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"outbound": OutboundSettings(allowed_hosts=LOOPBACK_AND_TEST_HOSTS)}
    )
