"""``frontdesk demo``'s answering-service company: made through the account services, its
tickets through the real v2 API; a restart adds nothing, and the printed API login — new on
every start — works while the previous one does not. Secrets never reach the logs."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from frontdesk.answering.client import AnsweringApiError, AnsweringClient
from frontdesk.answering.models import AnsweringCompany, AnsweringTicket, AnsweringUser
from frontdesk.context import AppContext
from frontdesk.demo.answering import COMPANY, TICKETS, seed_answering
from frontdesk.server.app import create_app
from frontdesk.settings import Settings


async def test_the_demo_company_is_seeded_once_and_its_printed_login_works(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings.model_copy(update={"data_dir": tmp_path / "demo"})
    logins: list[tuple[str, str]] = []
    for attempt in (1, 2):
        ctx = await AppContext.open(settings, migrate=False)
        try:
            transport = httpx.ASGITransport(app=create_app(settings, context=ctx))
            seeded = await seed_answering(ctx, transport=transport)
            assert seeded.company == COMPANY
            assert seeded.submitted == (len(TICKETS) if attempt == 1 else 0)
            async with ctx.db.reader() as session:
                tickets = (
                    await session.execute(
                        select(AnsweringTicket)
                        .join(AnsweringCompany, AnsweringCompany.id == AnsweringTicket.company_id)
                        .where(AnsweringCompany.name == COMPANY)
                    )
                ).scalars()
                made = [(t.status, t.unassigned, t.patient_lname) for t in tickets]
                users = await session.scalar(select(func.count()).select_from(AnsweringUser))
            assert users == 1
            assert len(made) == len(TICKETS)
            assert {status for status, _, _ in made} == {"IN PROGRESS"}
            assert sum(unassigned for _, unassigned, _ in made) == 1  # waits to be re-filed

            base = "http://demo.test"
            async with AnsweringClient(
                base, seeded.username, seeded.password, seeded.key, transport=transport
            ) as client:
                assert await client.token()
            for old_password, old_key in logins:  # the previous start's login is gone
                async with AnsweringClient(
                    base, seeded.username, old_password, old_key, transport=transport
                ) as stale:
                    with pytest.raises(AnsweringApiError):
                        await stale.token()
            logins.append((seeded.password, seeded.key))
        finally:
            await ctx.close()
    logged = "\n".join(
        line for line in capsys.readouterr().err.splitlines() if '"logger": "httpx"' not in line
    )
    assert "answering.ticket_created" in logged
    for password, key in logins:
        assert password not in logged
        assert key not in logged
    for fields in TICKETS:
        for name in ("patient_lname", "complaint", "contact_phone", "dob"):
            assert fields[name] not in logged, name
