"""The demo's answering-service company: its API user, practices, doctors and a few tickets.

Accounts are made through the account services (what ``frontdesk answering add-user`` and
``add-doctor`` call); the tickets come through the real Answering Service API v2 — tokenCreate
with the PHP-compatible encrypted password, then ``as`` — by the answering-service client over
an in-process ASGI transport, so the Tickets page shows tickets made like real ones.

Idempotent: what exists is kept; a demo ticket is submitted only when no ticket of the company
carries its content hash (so a restart, or a ticket a user re-filed or completed, adds
nothing). Like the dashboard login, the API user gets a new password and key on every start:
only the password's hash is stored, so the old one could not be printed again. The secrets are
returned to be printed once, never logged.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Final

import httpx
from sqlalchemy import select

from frontdesk.access.principal import Principal
from frontdesk.answering import accounts
from frontdesk.answering.client import AnsweringClient
from frontdesk.answering.models import AnsweringDoctor, AnsweringTicket, AnsweringUser
from frontdesk.answering.tickets import request_hash
from frontdesk.context import AppContext

COMPANY: Final = "Night Owl Answering Service"
API_USER: Final = "nightowl"
PRACTICES: Final = {  # call-center practice code → name (the demo's practices)
    "4101": "Riverside Family Medicine",
    "4102": "Lakeside Pediatrics",
}
UNASSIGNED_PRACTICE: Final = "4100"
DOCTORS: Final = (
    ("4101", "RFM-PATEL", "Dr. Anika Patel"),
    ("4102", "LKP-OKAFOR", "Dr. Chidi Okafor"),
)


def _ticket(prac: str, dc: str, patient: str, complaint: str, caller: str) -> dict[str, str]:
    """A ticket's fields: ``patient`` is "first|last|YYYYMMDD|sex", ``caller`` is
    "first|last|relationship|phone"."""
    first, last, dob, sex = patient.split("|")
    caller_first, caller_last, relationship, phone = caller.split("|")
    return {
        "prac": prac,
        "dc": dc,
        "client_code": "NOAS-17",
        "patient_fname": first,
        "patient_lname": last,
        "dob": dob,
        "sex": sex,
        "complaint": complaint,
        "caller_fname": caller_first,
        "caller_lname": caller_last,
        "relationship": relationship,
        "contact_phone": phone,
        "Call_type": "1",
    }


# Synthetic patients and callers (555 numbers). The last names a practice code the company
# does not have, so it lands in the Unassigned practice, waiting to be re-filed.
TICKETS: Final = (
    _ticket(
        "4101",
        "RFM-PATEL",
        "Maya|Lindqvist|19840312|F",
        "Fever of 39.4 C since this afternoon, body aches; asks whether to go to urgent care",
        "Maya|Lindqvist|self|5715550142",
    ),
    _ticket(
        "4101",
        "",
        "Tomas|Ferreira|19570908|M",
        "Out of lisinopril until Monday, asks for an emergency refill",
        "Lucia|Ferreira|spouse|5715550178",
    ),
    _ticket(
        "4102",
        "LKP-OKAFOR",
        "Noah|Brennan|20210604|M",
        "Toddler with ear pain, crying since 10 pm, no fever",
        "Grace|Brennan|mother|7035550119",
    ),
    _ticket(
        "4199",
        "",
        "Elias|Moreau|19920127|M",
        "Rash on both forearms after a new detergent, itching, no trouble breathing",
        "Elias|Moreau|self|7035550163",
    ),
)


@dataclass(frozen=True)
class DemoAnswering:
    """What the demo prints: where the API is and the API user's login (new every start)."""

    company: str
    username: str
    password: str
    key: str
    submitted: int
    """Tickets submitted by this start (0 on a restart)."""


async def seed_answering(ctx: AppContext, *, transport: httpx.AsyncBaseTransport) -> DemoAnswering:
    """The company and its API user (a fresh password and key), practices, doctors, and the
    demo tickets that are missing, submitted through the v2 API."""
    system = Principal.system("demo")
    password, key = secrets.token_urlsafe(12), secrets.token_hex(16)  # a 32-byte key
    async with ctx.db.transaction() as session:
        for code, name in PRACTICES.items():
            await accounts.ensure_practice(session, clock=ctx.clock, code=code, name=name)
        exists = select(AnsweringUser.id).where(AnsweringUser.username == API_USER)
        if (await session.execute(exists)).first() is None:
            await accounts.create_user(
                session,
                principal=system,
                clock=ctx.clock,
                secrets=ctx.secrets,
                username=API_USER,
                password=password,
                key=key,
                company=COMPANY,
                practices=[*PRACTICES],
            )
            await accounts.set_unassigned_practice(
                session,
                principal=system,
                clock=ctx.clock,
                company_name=COMPANY,
                practice_code=UNASSIGNED_PRACTICE,
            )
        else:
            await accounts.update_user(
                session,
                principal=system,
                clock=ctx.clock,
                secrets=ctx.secrets,
                username=API_USER,
                password=password,
                key=key,
                active=True,
            )
        known = set((await session.execute(select(AnsweringDoctor.code))).scalars())
        for practice, code, name in DOCTORS:
            if code not in known:
                await accounts.add_doctor(
                    session,
                    principal=system,
                    clock=ctx.clock,
                    practice_code=practice,
                    code=code,
                    name=name,
                )
        company = await accounts.get_company(session, name=COMPANY)
        assert company is not None
        stored = select(AnsweringTicket.content_hash).where(
            AnsweringTicket.company_id == company.id
        )
        hashes = set((await session.execute(stored)).scalars())
    missing = [t for t in TICKETS if request_hash(t) not in hashes]
    if missing:
        await _submit(transport, missing, password=password, key=key)
    return DemoAnswering(COMPANY, API_USER, password, key, submitted=len(missing))


async def _submit(
    transport: httpx.AsyncBaseTransport,
    tickets: list[dict[str, str]],
    *,
    password: str,
    key: str,
) -> None:
    async with AnsweringClient("http://demo", API_USER, password, key, transport=transport) as api:
        for fields in tickets:
            # The key makes a retry after a lost answer return the same ticket.
            await api.submit(fields, idempotency_key="demo-" + request_hash(fields)[:32])
