"""Fixtures of the answering-service tests: accounts, a manual clock, an API client helper."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher

from frontdesk.access.principal import Principal
from frontdesk.answering import accounts
from frontdesk.answering.password_token import encrypt_password_token
from frontdesk.answering.runtime import AnsweringRuntime
from frontdesk.clock import ManualClock
from frontdesk.context import AppContext

API = "/cc/modules/apiv2/index.php"
KEY = "0123456789abcdef0123456789abcdef"
PASSWORD = "Secret#1"
OTHER_KEY = "fedcba9876543210fedcba9876543210"
# Cheap argon2 parameters: the stored hash carries them, so verification is cheap as well.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

VALID_TICKET: dict[str, str] = {
    "patient_lname": "Doe",
    "patient_fname": "Jane",
    "dob": "19891230",
    "complaint": "fever since yesterday",
    "prac": "1234",
    "client_code": "AS-77",
    "contact_phone": "5551234567",
    "contact_phone_2": "5557654321",
    "sex": "female",
    "email": "jane.doe@example.com",
    "address": "1 Main St",
    "city": "Tampa",
    "state": "FL",
    "zip": "33601",
    "caller_lname": "Doe",
    "caller_fname": "John",
    "relationship": "spouse",
    "comments": "call back after 6pm",
    "txt": "1|2|3|4",
    "Call_type": "1",
    "field_mr": "123|ABC123",
}


async def add_user(
    ctx: AppContext,
    *,
    username: str,
    company: str,
    practices: list[str],
    password: str = PASSWORD,
    key: str = KEY,
) -> None:
    async with ctx.db.transaction() as session:
        await accounts.create_user(
            session,
            principal=Principal.system("test"),
            clock=ctx.clock,
            secrets=ctx.secrets,
            username=username,
            password=password,
            key=key,
            company=company,
            practices=practices,
            hasher=CHEAP_HASHER,
        )


async def add_doctor(ctx: AppContext, *, practice: str, code: str, secure: bool = True) -> None:
    async with ctx.db.transaction() as session:
        await accounts.add_doctor(
            session,
            principal=Principal.system("test"),
            clock=ctx.clock,
            practice_code=practice,
            code=code,
            secure_messaging=secure,
        )


@pytest.fixture
def clock(ctx: AppContext) -> ManualClock:
    manual = ManualClock()
    ctx.clock = manual
    return manual


@pytest.fixture
async def world(ctx: AppContext, clock: ManualClock) -> AppContext:
    """Two companies; agent1 (Acme) may use 1234 and 5678, other (Other Co) only 1234; 9999
    exists but nobody may use it. Doctors: D1 (1234), D2 (1234, no secure messaging), D3 (5678).
    """
    await add_user(ctx, username="agent1", company="Acme Answering", practices=["1234", "5678"])
    await add_user(ctx, username="other", company="Other Co", practices=["1234"], key=OTHER_KEY)
    await add_user(ctx, username="lonely", company="Lonely Co", practices=["9999"])
    await add_doctor(ctx, practice="1234", code="D1")
    await add_doctor(ctx, practice="1234", code="D2", secure=False)
    await add_doctor(ctx, practice="5678", code="D3")
    return ctx


@dataclass
class Answer:
    status: int
    body: dict[str, Any]

    @property
    def codes(self) -> list[int]:
        return [e["code"] for e in self.body["errors"]]

    @property
    def result(self) -> Any:
        return self.body["result"]


class AnsweringClient:
    """Speaks the answering API over the ASGI client, as an answering service would.

    Test modules cannot import this conftest (``--import-mode=importlib``), so the constants
    and account helpers they need hang off this object.
    """

    API = API
    KEY = KEY
    OTHER_KEY = OTHER_KEY
    PASSWORD = PASSWORD
    CHEAP_HASHER = CHEAP_HASHER

    def __init__(
        self, client: httpx.AsyncClient, ctx: AppContext, clock: ManualClock, app: Any = None
    ) -> None:
        self.client = client
        self.ctx = ctx
        self.clock = clock
        self.app = app

    @asynccontextmanager
    async def from_address(self, address: str) -> AsyncIterator[AnsweringClient]:
        """The same API, called from another client address (the throttle's source)."""
        transport = httpx.ASGITransport(app=self.app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://frontdesk.test") as c:
            yield AnsweringClient(c, self.ctx, self.clock, self.app)

    @staticmethod
    def ticket(**changes: str) -> dict[str, str]:
        """A valid ticket body with ``changes`` applied."""
        return {**VALID_TICKET, **changes}

    async def add_user(
        self,
        *,
        username: str,
        company: str,
        practices: list[str],
        password: str = PASSWORD,
        key: str = KEY,
    ) -> None:
        await add_user(
            self.ctx,
            username=username,
            company=company,
            practices=practices,
            password=password,
            key=key,
        )

    async def call(
        self,
        resource: str,
        *,
        method: str = "POST",
        query: Mapping[str, str] | None = None,
        json: Mapping[str, Any] | None = None,
        form: Mapping[str, str] | None = None,
        files: Mapping[str, Any] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        path: str = API,
    ) -> Answer:
        params = {"resource": resource, **(query or {})}
        response = await self.client.request(
            method,
            path,
            params=params,
            json=json,
            data=form,
            files=files,
            content=content,
            headers=headers,
        )
        assert response.headers["content-type"].startswith("application/json")
        return Answer(response.status_code, response.json())

    async def token(
        self, username: str = "agent1", password: str = PASSWORD, key: str = KEY
    ) -> str:
        answer = await self.call(
            "tokenCreate",
            json={
                "login_username": username,
                "login_password": encrypt_password_token(password.encode(), key.encode()),
            },
        )
        assert answer.body["success"] is True, answer.body
        token: str = answer.result["token"]
        return token

    async def submit(
        self, token: str | None, fields: Mapping[str, str] | None = None, resource: str = "as"
    ) -> Answer:
        query = {"token": token} if token is not None else {}
        return await self.call(resource, query=query, json=dict(fields or VALID_TICKET))

    async def status(self, token: str, ticket_id: str) -> Answer:
        return await self.call(
            "ticketStatus", method="GET", query={"token": token, "ticket_id": ticket_id}
        )


@pytest.fixture
def api(
    client: httpx.AsyncClient, app: Any, world: AppContext, clock: ManualClock
) -> AnsweringClient:
    return AnsweringClient(client, world, clock, app)


@pytest.fixture
def runtime(app: Any) -> AnsweringRuntime:
    """The answering runtime of the app's process (its options, committer and caches)."""
    found: AnsweringRuntime = app.state.context.answering
    return found


@pytest.fixture
async def staff(app: Any, staff_headers: dict[str, str]) -> Any:
    """An HTTP client with a staff API key (for ``/api/answering/...``)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://frontdesk.test", headers=staff_headers
    ) as c:
        yield c
