"""Unsubscribe links and one-click: signed, expiring, recorded once, scoped to the practice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from frontdesk.clock import ManualClock
from frontdesk.context import AppContext
from frontdesk.engagement.optout_models import ContactPepper, OptOut
from frontdesk.engagement.optouts import (
    contact_pepper,
    hash_contact,
    is_opted_out,
    normalise_contact,
    record_contact_opt_out,
)
from frontdesk.engagement.unsubscribe import (
    ExpiredUnsubscribeToken,
    InvalidUnsubscribeToken,
    make_unsubscribe_token,
    read_unsubscribe_token,
    unsubscribe_link,
)
from frontdesk.security.secrets import SecretBox

ONE_CLICK = {"content-type": "application/x-www-form-urlencoded"}


async def link_for(ctx: AppContext, business_id: int, contact: str, key: str = "req-1") -> str:
    async with ctx.db.transaction() as session:
        return await unsubscribe_link(
            session,
            secrets=ctx.secrets,
            clock=ctx.clock,
            public_url="http://frontdesk.test/",
            business_id=business_id,
            channel="email",
            contact=contact,
            ledger_key=key,
        )


async def opted_out(
    ctx: AppContext, business_id: int, contact: str, channel: str = "email"
) -> bool:
    async with ctx.db.reader() as session:
        return await is_opted_out(
            session, secrets=ctx.secrets, business_id=business_id, channel=channel, contact=contact
        )


async def opt_out_rows(ctx: AppContext) -> list[Any]:
    async with ctx.db.reader() as session:
        columns = [c for c in OptOut.__table__.columns]
        return list((await session.execute(select(*columns).order_by(OptOut.id))).all())


@pytest.fixture
def manual_clock(ctx: AppContext) -> ManualClock:
    clock = ManualClock()
    ctx.clock = clock
    return clock


def path_of(link: str) -> str:
    assert link.startswith("http://frontdesk.test/unsubscribe/")
    return link.removeprefix("http://frontdesk.test")


async def test_the_link_carries_no_contact_and_get_records_one_opt_out(
    client: httpx.AsyncClient, ctx: AppContext, practice: Any, patient: Any
) -> None:
    link = await link_for(ctx, practice.location_a.id, patient.email)
    assert patient.email.lower() not in link.lower()
    assert "zoe" not in link.lower()
    assert not await opted_out(ctx, practice.location_a.id, patient.email)

    r = await client.get(path_of(link))
    assert r.status_code == 200, r.text
    assert "You are unsubscribed" in r.text
    assert "Riverside Family Medicine" in r.text
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["referrer-policy"] == "no-referrer"

    again = await client.get(path_of(link))
    assert again.status_code == 200
    rows = await opt_out_rows(ctx)
    assert len(rows) == 1
    assert rows[0].business_id == practice.enterprise.id  # the whole practice
    assert rows[0].source == "unsubscribe_link"
    assert rows[0].request_key == "req-1"
    assert len(rows[0].contact_hash) == 64
    assert patient.email.lower() not in rows[0].contact_hash


async def test_one_click_post_records_once_and_is_idempotent(
    client: httpx.AsyncClient, ctx: AppContext, practice: Any, patient: Any
) -> None:
    link = await link_for(ctx, practice.smb.id, patient.email)
    for _ in range(2):
        r = await client.post(
            path_of(link), content="List-Unsubscribe=One-Click", headers=ONE_CLICK
        )
        assert r.status_code == 200, r.text
    rows = await opt_out_rows(ctx)
    assert [(r.business_id, r.source, r.channel) for r in rows] == [
        (practice.smb.id, "one_click", "email")
    ]
    # A GET after the one-click changes nothing.
    assert (await client.get(path_of(link))).status_code == 200
    assert len(await opt_out_rows(ctx)) == 1


async def test_an_opt_out_covers_every_location_of_the_enterprise_only(
    client: httpx.AsyncClient, ctx: AppContext, practice: Any, patient: Any
) -> None:
    link = await link_for(ctx, practice.location_a.id, patient.email)
    await client.post(path_of(link), content="List-Unsubscribe=One-Click", headers=ONE_CLICK)
    assert await opted_out(ctx, practice.location_a.id, patient.email)
    assert await opted_out(ctx, practice.location_b.id, patient.email)
    assert await opted_out(ctx, practice.enterprise.id, patient.email)
    assert not await opted_out(ctx, practice.smb.id, patient.email)
    assert not await opted_out(ctx, practice.location_a.id, patient.email, channel="sms")
    assert not await opted_out(ctx, practice.location_a.id, "someone.else@example.org")


@pytest.mark.parametrize(
    "spelling",
    ["zoe.patient@example.org", "  ZOE.PATIENT@EXAMPLE.ORG\t", "Zoe.Patient@Example.Org "],
)
async def test_lookup_is_case_and_whitespace_normalised(
    client: httpx.AsyncClient, ctx: AppContext, practice: Any, patient: Any, spelling: str
) -> None:
    link = await link_for(ctx, practice.location_a.id, patient.email)
    await client.get(path_of(link))
    assert await opted_out(ctx, practice.location_b.id, spelling)


async def test_staff_can_record_an_opt_out_by_contact(
    ctx: AppContext, practice: Any, patient: Any
) -> None:
    async with ctx.db.transaction() as session:
        _row, created = await record_contact_opt_out(
            session,
            secrets=ctx.secrets,
            clock=ctx.clock,
            business_id=practice.location_b.id,
            channel="email",
            contact=patient.email.upper(),
        )
        _row, again = await record_contact_opt_out(
            session,
            secrets=ctx.secrets,
            clock=ctx.clock,
            business_id=practice.location_a.id,
            channel="email",
            contact=patient.email,
        )
    assert (created, again) == (True, False)
    assert await opted_out(ctx, practice.location_a.id, patient.email)
    assert [r.source for r in await opt_out_rows(ctx)] == ["staff"]


async def test_nobody_is_opted_out_before_the_pepper_exists(ctx: AppContext, practice: Any) -> None:
    assert not await opted_out(ctx, practice.smb.id, "a@example.org")
    async with ctx.db.reader() as session:
        assert await session.get(ContactPepper, "contact_hash") is None


async def test_the_pepper_is_created_once_and_stored_encrypted(ctx: AppContext) -> None:
    async with ctx.db.transaction() as session:
        first = await contact_pepper(session, secrets=ctx.secrets, clock=ctx.clock)
    async with ctx.db.transaction() as session:
        second = await contact_pepper(session, secrets=ctx.secrets, clock=ctx.clock)
        row = await session.get(ContactPepper, "contact_hash")
        assert row is not None
        assert row.value.startswith("gAAAAA")
        count = await session.scalar(select(func.count()).select_from(ContactPepper))
    assert first == second
    assert first is not None
    assert len(first) == 32
    assert count == 1


async def test_expired_links_are_refused_and_record_nothing(
    client: httpx.AsyncClient,
    ctx: AppContext,
    practice: Any,
    patient: Any,
    manual_clock: ManualClock,
) -> None:
    link = await link_for(ctx, practice.location_a.id, patient.email)
    manual_clock.advance(timedelta(days=59, hours=23))
    claim = read_unsubscribe_token(ctx.secrets, clock=manual_clock, token=link.rsplit("/", 1)[1])
    assert claim.ledger_key == "req-1"
    manual_clock.advance(timedelta(hours=1))
    for response in (
        await client.get(path_of(link)),
        await client.post(path_of(link), content="List-Unsubscribe=One-Click", headers=ONE_CLICK),
    ):
        assert response.status_code == 400
        assert "expired" in response.text
    assert await opt_out_rows(ctx) == []


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), id="signature"),
        pytest.param(lambda t: "X" + t[1:] if t[0] != "X" else "Y" + t[1:], id="payload"),
        pytest.param(lambda t: t.replace(".", ""), id="no-separator"),
        pytest.param(lambda t: t + ".x", id="extra-part"),
        pytest.param(lambda t: "not-a-token", id="garbage"),
        pytest.param(lambda t: "é" + t, id="non-ascii"),
        pytest.param(lambda t: "A" * 3000, id="too-long"),
    ],
)
async def test_forged_or_altered_links_are_refused_and_record_nothing(
    client: httpx.AsyncClient, ctx: AppContext, practice: Any, patient: Any, mangle: Any
) -> None:
    link = await link_for(ctx, practice.location_a.id, patient.email)
    token = mangle(link.rsplit("/", 1)[1])
    r = await client.get(f"/unsubscribe/{token}")
    assert r.status_code == 400
    assert "not valid" in r.text
    r = await client.post(
        f"/unsubscribe/{token}", content="List-Unsubscribe=One-Click", headers=ONE_CLICK
    )
    assert r.status_code == 400
    assert await opt_out_rows(ctx) == []


async def test_a_token_signed_with_another_install_s_keys_is_forged(ctx: AppContext) -> None:
    stranger = SecretBox([Fernet.generate_key()])
    token = make_unsubscribe_token(
        stranger,
        clock=ctx.clock,
        scope_business_id=1,
        channel="email",
        contact_hash="ab" * 32,
        ledger_key=None,
    )
    with pytest.raises(InvalidUnsubscribeToken) as caught:
        read_unsubscribe_token(ctx.secrets, clock=ctx.clock, token=token)
    assert not isinstance(caught.value, ExpiredUnsubscribeToken)


def test_tokens_survive_a_key_rotation_while_the_old_key_is_in_the_ring() -> None:
    clock = ManualClock()
    old_key, new_key = Fernet.generate_key(), Fernet.generate_key()
    token = make_unsubscribe_token(
        SecretBox([old_key]),
        clock=clock,
        scope_business_id=7,
        channel="email",
        contact_hash="cd" * 32,
        ledger_key="k",
    )
    claim = read_unsubscribe_token(SecretBox([new_key, old_key]), clock=clock, token=token)
    assert (claim.scope_business_id, claim.contact_hash, claim.ledger_key) == (7, "cd" * 32, "k")
    with pytest.raises(InvalidUnsubscribeToken):
        read_unsubscribe_token(SecretBox([new_key]), clock=clock, token=token)


def test_contact_normalisation() -> None:
    assert normalise_contact("email", "  Zoe@Example.ORG ") == "zoe@example.org"
    assert normalise_contact("sms", "(703) 555-0100") == "17035550100"
    assert normalise_contact("sms", "+1 703 555 0100") == "17035550100"
    pepper = b"p" * 32
    assert hash_contact(pepper, channel="email", contact="A@B.org") == hash_contact(
        pepper, channel="email", contact=" a@b.ORG"
    )
    assert hash_contact(pepper, channel="email", contact="a@b.org") != hash_contact(
        b"q" * 32, channel="email", contact="a@b.org"
    )
