"""The answering world of the Tickets page tests: a company, its API user, practices and
doctors made through the account services, and tickets submitted through the real Answering
Service API v2 (tokenCreate + ``as``) with the answering-service client over ASGI.

Test modules import :func:`desk` (a fixture) and the helpers from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy import select

from frontdesk.access.principal import Principal
from frontdesk.answering import accounts
from frontdesk.answering.client import AnsweringClient
from frontdesk.answering.desk.practice_links import set_practice_links
from frontdesk.answering.desk.visibility import ticket_access
from frontdesk.answering.models import AnsweringTicket
from frontdesk.clock import ManualClock
from frontdesk.context import AppContext

COMPANY = "Night Owl Answering"
API_USER, API_PASSWORD, API_KEY = "owl", "Owl#Secret1", "0123456789abcdef0123456789abcdef"
PRACTICES = {"1234": "Riverside Family Medicine", "5678": "Lakeside Pediatrics"}
UNASSIGNED = "0000"
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
ROW = re.compile(r'<tr id="ticket-([A-Za-z0-9]+)"')

# label → (prac, patient first, last, complaint, caller phone); all synthetic.
TICKETS = {
    "riverside": ("1234", "Harriet", "Quimby", "chest tightness since noon", "5550001111"),
    "riverside2": ("1234", "Amelia", "Earhart", "fever 39.5 and rash", "5550002222"),
    "lakeside": ("5678", "Bessie", "Coleman", "ear pain, crying all night", "5550003333"),
    "stray": ("4242", "Jacqueline", "Cochran", "refill of inhaler", "5550004444"),
}


@dataclass
class Desk:
    """Tickets by label (``stray`` was sent for an unknown practice: Unassigned)."""

    ctx: AppContext
    app: FastAPI
    ids: dict[str, str] = field(default_factory=dict)

    async def submit(self, label: str, **changes: str) -> str:
        prac, first, last, complaint, phone = TICKETS[label]
        fields = {
            "patient_lname": last,
            "patient_fname": first,
            "dob": "19700102",
            "complaint": complaint,
            "prac": prac,
            "client_code": "NO-7",
            "contact_phone": phone,
            "email": f"{first.lower()}@example.org",
            "caller_fname": first,
            "caller_lname": last,
            "Call_type": "1",
            **changes,
        }
        transport = httpx.ASGITransport(app=self.app)
        async with AnsweringClient(
            "http://frontdesk.test", API_USER, API_PASSWORD, API_KEY, transport=transport
        ) as client:
            created = await client.submit(fields)
        return created["ticket_id"]

    async def link(self, username: str, *codes: str) -> None:
        """Link a (nurse) user to practices, as ``frontdesk answering link-practices`` does."""
        async with self.ctx.db.transaction() as session:
            access = await ticket_access(session, Principal.system("test"))
            await set_practice_links(
                session, access=access, clock=self.ctx.clock, user=username, practices=codes
            )

    async def status(self, label: str) -> tuple[str, str | None]:
        async with self.ctx.db.reader() as session:
            ticket = (
                await session.execute(
                    select(AnsweringTicket).where(AnsweringTicket.ticket_id == self.ids[label])
                )
            ).scalar_one()
            return ticket.status, ticket.assignee_name


@pytest.fixture
async def desk(ctx: AppContext, app: FastAPI, clock: ManualClock) -> Desk:
    system = Principal.system("test")
    async with ctx.db.transaction() as session:
        for code, name in PRACTICES.items():
            await accounts.ensure_practice(session, clock=clock, code=code, name=name)
        await accounts.create_user(
            session,
            principal=system,
            clock=clock,
            secrets=ctx.secrets,
            username=API_USER,
            password=API_PASSWORD,
            key=API_KEY,
            company=COMPANY,
            practices=list(PRACTICES),
            hasher=CHEAP_HASHER,
        )
        await accounts.set_unassigned_practice(
            session, principal=system, clock=clock, company_name=COMPANY, practice_code=UNASSIGNED
        )
        for practice, code, name in (("1234", "D1", "Dr Rivers"), ("5678", "D3", "Dr Lake")):
            await accounts.add_doctor(
                session, principal=system, clock=clock, practice_code=practice, code=code, name=name
            )
    world = Desk(ctx, app)
    for label in TICKETS:
        world.ids[label] = await world.submit(label)
    return world
