"""tokenCreate lockout under attack: concurrent bursts, lock-out by strangers, per-source ceiling
(issue 19, findings 2 and 3)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select

from frontdesk.access.principal import Principal
from frontdesk.answering import accounts
from frontdesk.answering.login import list_lockouts
from frontdesk.answering.models import AnsweringToken
from frontdesk.answering.password_token import encrypt_password_token


def body(api: Any, username: str, password: str) -> dict[str, str]:
    return {
        "login_username": username,
        "login_password": encrypt_password_token(password.encode(), api.KEY.encode()),
    }


async def tokens_stored(api: Any) -> int:
    async with api.ctx.db.reader() as session:
        return int((await session.scalar(select(func.count()).select_from(AnsweringToken))) or 0)


async def test_a_concurrent_burst_of_wrong_passwords_then_the_right_one_gets_no_token(
    api: Any,
) -> None:
    """Finding 2: 49 wrong passwords and then the right one, all at once: no token.

    The user has a production-cost argon2 hash: verifications queue (one at a time per two
    cores), so a lock checked only on arrival would let the last, right one through."""
    async with api.ctx.db.transaction() as session:
        await accounts.create_user(
            session,
            principal=Principal.system("test"),
            clock=api.ctx.clock,
            secrets=api.ctx.secrets,
            username="agent9",
            password=api.PASSWORD,
            key=api.KEY,
            company="Acme Answering",
            practices=["1234"],
        )
    wrong = [body(api, "agent9", f"guess-{n}") for n in range(49)]
    answers = await asyncio.gather(
        *(api.call("tokenCreate", json=b) for b in [*wrong, body(api, "agent9", api.PASSWORD)])
    )
    assert [a.codes for a in answers] == [[413]] * 50
    assert await tokens_stored(api) == 0


async def test_a_user_locked_from_one_address_still_logs_in_from_another(api: Any) -> None:
    """Finding 3: six wrong passwords from a stranger's address do not lock the agent out."""
    async with api.from_address("198.51.100.7") as attacker:
        for n in range(6):
            assert (await attacker.call("tokenCreate", json=body(api, "agent1", f"x{n}"))).codes
        refused = await attacker.call("tokenCreate", json=body(api, "agent1", api.PASSWORD))
        assert refused.codes == [413]  # that pair is locked
    async with api.from_address("192.0.2.10") as call_centre:
        answer = await call_centre.call("tokenCreate", json=body(api, "agent1", api.PASSWORD))
        assert answer.body["success"] is True


async def test_one_agents_typos_do_not_stop_the_call_centre(api: Any) -> None:
    """Agents share one address: one username's lock leaves the others working."""
    await api.add_user(username="agent2", company="Acme Answering", practices=["1234"])
    async with api.from_address("192.0.2.10") as call_centre:
        for n in range(6):
            await call_centre.call("tokenCreate", json=body(api, "agent1", f"typo{n}"))
        answer = await call_centre.call("tokenCreate", json=body(api, "agent2", api.PASSWORD))
        assert answer.body["success"] is True


async def test_the_per_source_ceiling_stops_spraying_from_one_address(api: Any) -> None:
    runtime = api.app.state.context.answering
    runtime.options = runtime.options.model_copy(update={"lockout_source_failures": 10})
    async with api.from_address("198.51.100.7") as sprayer:
        for n in range(10):  # one wrong password for each of ten usernames: no pair is locked
            await sprayer.call("tokenCreate", json=body(api, f"user{n}", "Secret#1"))
        refused = await sprayer.call("tokenCreate", json=body(api, "agent1", api.PASSWORD))
        assert refused.codes == [413]  # the whole address is locked
    async with api.from_address("192.0.2.10") as elsewhere:
        answer = await elsewhere.call("tokenCreate", json=body(api, "agent1", api.PASSWORD))
        assert answer.body["success"] is True
    listing = await _lockouts(api)
    assert ("*", "source", "198.51.100.7") in listing


async def test_an_account_lock_lets_only_clean_sources_try_once(api: Any) -> None:
    """Distributed guessing: 20 failures from four addresses lock the account against them;
    a new address gets one attempt (the right password passes, a wrong one marks it)."""
    for n in range(4):
        async with api.from_address(f"198.51.100.{n + 1}") as attacker:
            for m in range(5):
                await attacker.call("tokenCreate", json=body(api, "agent1", f"g{n}-{m}"))
    async with api.from_address("198.51.100.1") as failed_before:
        answer = await failed_before.call("tokenCreate", json=body(api, "agent1", api.PASSWORD))
        assert answer.codes == [413]
    async with api.from_address("203.0.113.9") as new_attacker:
        assert (await new_attacker.call("tokenCreate", json=body(api, "agent1", "g9"))).codes
        answer = await new_attacker.call("tokenCreate", json=body(api, "agent1", api.PASSWORD))
        assert answer.codes == [413]  # it has failed now: refused without verifying
    async with api.from_address("192.0.2.10") as the_agent:
        answer = await the_agent.call("tokenCreate", json=body(api, "agent1", api.PASSWORD))
        assert answer.body["success"] is True
    assert ("agent1", "account", None) in await _lockouts(api)


async def test_a_concurrent_burst_through_an_account_lock_gets_one_attempt(api: Any) -> None:
    for n in range(4):
        async with api.from_address(f"198.51.100.{n + 1}") as attacker:
            for m in range(5):
                await attacker.call("tokenCreate", json=body(api, "agent1", f"g{n}-{m}"))
    async with api.from_address("203.0.113.9") as new_attacker:
        burst = [body(api, "agent1", f"b{n}") for n in range(19)]
        answers = await asyncio.gather(
            *(
                new_attacker.call("tokenCreate", json=b)
                for b in [*burst, body(api, "agent1", api.PASSWORD)]
            )
        )
    assert [a.codes for a in answers] == [[413]] * 20
    assert await tokens_stored(api) == 0


async def _lockouts(api: Any) -> list[tuple[str, str | None, str | None]]:
    async with api.ctx.db.reader() as session:
        rows = await list_lockouts(session, now=api.clock.now())
        return [(lock.username, lock.kind, lock.source) for lock in rows]
