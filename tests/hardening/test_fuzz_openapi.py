"""A bounded property-based fuzz of the OpenAPI document (schemathesis), in-process.

Every operation of ``/openapi.json`` gets schemathesis' coverage cases (boundary values of
each parameter and body field: the largest id, one past it, 0, wrong types...) and a few
generated requests that fit its schema and a few that do not (negative mode), sent with a
staff API key over an ASGI transport; every
answer must be no 5xx and must match the response schema the document declares for its
status. Schemathesis generates the cases and validates the answers; the requests go through
``httpx`` on this test's own event loop, so the app and its database live on one loop.

Bounded: :data:`EXAMPLES` per operation and mode, derandomised (the same cases each run, so
``make test`` is stable); ``FRONTDESK_FUZZ_EXAMPLES=200`` explores further by hand.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from frontdesk.access.principal import Principal
from frontdesk.access.service import create_api_key
from frontdesk.businesses.service import add_business
from frontdesk.context import AppContext
from frontdesk.server.app import create_app
from frontdesk.settings import Settings

EXAMPLES = int(os.environ.get("FRONTDESK_FUZZ_EXAMPLES", "3"))
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
BASE_URL = "http://frontdesk.test"
CHECKS = [not_a_server_error, response_schema_conformance]
FAILURES = (AssertionError, BaseExceptionGroup)
"""What a failed check raises (schemathesis groups several failures of one case)."""


class Harness:
    """The app on a loop of its own, a staff key, and a client to send cases with."""

    def __init__(self, settings: Settings) -> None:
        self.loop = asyncio.new_event_loop()
        self.ctx = self.run(AppContext.open(settings, migrate=False))
        self.app = create_app(settings, context=self.ctx)
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app, raise_app_exceptions=False),
            base_url=BASE_URL,
        )
        self.headers = {"Authorization": f"Bearer {self.run(self._seed())}"}

    def run(self, awaitable: Any) -> Any:
        return self.loop.run_until_complete(awaitable)

    async def _seed(self) -> str:
        """A staff key, an enterprise with a location and an SMB (ids the cases may hit)."""
        async with self.ctx.db.transaction() as session:
            system = Principal.system("fuzz")
            for number, name, enterprise in (
                (100000000000001, "Riverside", None),
                (100000000000002, "Loudoun", 100000000000001),
                (100000000000003, "Lakeside", None),
            ):
                await add_business(
                    session,
                    principal=system,
                    clock=self.ctx.clock,
                    number=number,
                    name=name,
                    enterprise_number=enterprise,
                )
            created = await create_api_key(
                session, principal=system, clock=self.ctx.clock, name="fuzz", business_number=None
            )
        return created.secret

    def send(self, case: Any) -> httpx.Response:
        kwargs = case.as_transport_kwargs(base_url=BASE_URL, headers=self.headers)
        kwargs.pop("cookies", None)
        data = kwargs.pop("data", None)
        if isinstance(data, str | bytes):
            kwargs["content"] = data
        elif data is not None:
            kwargs["data"] = data
        return self.run(self.client.request(**kwargs))

    def close(self) -> None:
        self.run(self.client.aclose())
        self.run(self.ctx.close())
        self.loop.close()


@pytest.fixture
def harness(tmp_path: Path, db_url: str) -> Iterator[Harness]:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        secret_keys=Fernet.generate_key().decode(),  # type: ignore[arg-type]
        log_format="json",
        log_level="WARNING",
        access_log=False,
    )
    built = Harness(settings)
    yield built
    built.close()


def test_openapi_fuzz_finds_no_5xx_and_no_schema_violation(harness: Harness) -> None:
    schema = schemathesis.openapi.from_dict(harness.app.openapi())
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        config = schema.config.generation_for(operation=operation)
        for case in schema.iter_coverage_cases(
            operation, generation_modes=MODES, generation_config=config
        ):
            response = harness.send(case)
            try:
                case.validate_response(response, checks=CHECKS)
            except FAILURES as error:
                failures.append(f"{operation.label} [coverage] {response.status_code}: {error!r}")
        for mode in MODES:
            try:
                fuzzer(harness, operation.as_strategy(generation_mode=mode), failures)()
            except FAILURES:
                continue  # recorded; go on with the other operations
            except Unsatisfiable:
                continue  # nothing to negate (an operation without parameters or body)
    assert operations >= 60
    assert not failures, "\n\n".join(failures)


def fuzzer(harness: Harness, strategy: Any, failures: list[str]) -> Any:
    """A hypothesis test sending ``strategy``'s cases; failures are recorded, then raised."""

    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def fuzz(case: Any) -> None:
        response = harness.send(case)
        try:
            case.validate_response(response, checks=CHECKS)
        except FAILURES as error:
            failures.append(f"{case.operation.label} {response.status_code}: {error!r}")
            raise

    return fuzz
