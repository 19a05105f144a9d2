"""Fixtures of the ticket-desk tests: staff users acting over HTTP, tickets made through the API.

Dashboard users reach the API as a :class:`~frontdesk.access.principal.Principal` of kind
``user`` placed in ``request.state.principal`` (what the dashboard's session bridge does; the
API's auth dependency takes it from there). Until that bridge lands, a small ASGI middleware
of this test app does it from an ``X-Test-Staff`` header naming a user made here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from frontdesk.access.principal import Principal
from frontdesk.answering.desk import lifecycle
from frontdesk.answering.runtime import AnsweringRuntime
from frontdesk.clock import ManualClock
from frontdesk.composition import Process
from frontdesk.context import AppContext
from frontdesk.staff.models import StaffUser, StaffUserPractice

TEST_HEADER = b"x-test-staff"


class PrincipalFromHeader:
    """Sets ``request.state.principal`` from ``X-Test-Staff: <username>`` (tests only)."""

    def __init__(self, app: ASGIApp, principals: dict[str, Principal]) -> None:
        self.app = app
        self.principals = principals

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == TEST_HEADER:
                    principal = self.principals[value.decode()]
                    scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


class Desk:
    """Speaks the staff ticket API as several principals, and makes tickets via the vendor API.

    ``api`` is the answering-service client of ``tests/answering/conftest.py``.
    """

    def __init__(self, app: FastAPI, ctx: AppContext, api: Any, staff: httpx.AsyncClient) -> None:
        self.ctx = ctx
        self.process: Process = app.state.context
        """The app's process (an API node: its webhook pump is built, not started)."""
        self.runtime: AnsweringRuntime = self.process.answering
        """The answering runtime of the app's process (options, committer, caches)."""
        self.api = api
        self.staff = staff
        self.clock: ManualClock = api.clock
        self.principals: dict[str, Principal] = {}
        self._tokens: dict[str, str] = {}
        self._transport = httpx.ASGITransport(app=app)
        self._clients: list[httpx.AsyncClient] = []

    async def add_staff(self, username: str, role: str, practices: Sequence[str] = ()) -> int:
        async with self.ctx.db.transaction() as session:
            user = StaffUser(
                username=username,
                password_hash="not-used",
                role=role,
                active=True,
                business_id=None,
                failed_logins=0,
                created_at=self.clock.now(),
            )
            session.add(user)
            await session.flush()
            for code in practices:
                session.add(StaffUserPractice(user_id=user.id, practice_code=code))
            user_id = user.id
        self.principals[username] = Principal(kind="user", id=user_id, name=username, role=role)
        return user_id

    def as_user(self, username: str) -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            transport=self._transport,
            base_url="http://frontdesk.test",
            headers={"X-Test-Staff": username},
        )
        self._clients.append(client)
        return client

    async def close(self) -> None:
        for client in self._clients:
            await client.aclose()

    async def token(self, username: str = "agent1") -> str:
        if username not in self._tokens:
            self._tokens[username] = await self.api.token(username)
        return self._tokens[username]

    async def new_ticket(self, username: str = "agent1", **changes: str) -> str:
        answer = await self.api.submit(await self.token(username), self.api.ticket(**changes))
        if answer.codes == [408]:  # the test moved the clock past the token's life
            self._tokens.pop(username)
            answer = await self.api.submit(await self.token(username), self.api.ticket(**changes))
        assert answer.body["success"] is True, answer.body
        ticket_id: str = answer.result["ticket_id"]
        return ticket_id

    async def vendor_status(self, ticket_id: str, username: str = "agent1") -> Any:
        self._tokens.pop(username, None)
        return await self.api.status(await self.token(username), ticket_id)

    async def transition(
        self, ticket_id: str, status: str, *, client: httpx.AsyncClient | None = None, **extra: Any
    ) -> httpx.Response:
        return await (client or self.staff).post(
            f"/api/answering/tickets/{ticket_id}/transition", json={"status": status, **extra}
        )

    async def assign(
        self, ticket_id: str, assignee: str | int, *, client: httpx.AsyncClient | None = None
    ) -> httpx.Response:
        return await (client or self.staff).post(
            f"/api/answering/tickets/{ticket_id}/assign", json={"assignee": assignee}
        )

    async def bring_to(self, ticket_id: str, status: str, nurse: str = "nina") -> None:
        """Move a new ticket to ``status`` along allowed transitions."""
        path = {
            lifecycle.IN_PROGRESS: [],
            lifecycle.ASSIGNED: ["assign"],
            lifecycle.CALLBACK_PENDING: [lifecycle.CALLBACK_PENDING],
            lifecycle.ESCALATED: [lifecycle.ESCALATED],
            lifecycle.COMPLETED: ["assign", lifecycle.COMPLETED],
            lifecycle.CLOSED: ["assign", lifecycle.COMPLETED, lifecycle.CLOSED],
            lifecycle.CANCELLED: [lifecycle.CANCELLED],
        }[status]
        for step in path:
            response = (
                await self.assign(ticket_id, nurse)
                if step == "assign"
                else await self.transition(ticket_id, step)
            )
            assert response.status_code == 200, response.text
        detail = (await self.staff.get(f"/api/answering/tickets/{ticket_id}")).json()
        assert detail["status"] == status


@pytest.fixture
async def desk(
    app: FastAPI, ctx: AppContext, api: Any, staff: httpx.AsyncClient
) -> AsyncIterator[Desk]:
    """The answering world of the parent conftest plus staff users: nina (nurse of 1234),
    nora (nurse of 5678), vic (viewer), sue (support), ada (admin)."""
    helper = Desk(app, ctx, api, staff)
    app.add_middleware(PrincipalFromHeader, principals=helper.principals)
    await helper.add_staff("nina", "nurse", ["1234"])
    await helper.add_staff("nora", "nurse", ["5678"])
    await helper.add_staff("vic", "viewer")
    await helper.add_staff("sue", "support")
    await helper.add_staff("ada", "admin")
    yield helper
    await helper.close()
