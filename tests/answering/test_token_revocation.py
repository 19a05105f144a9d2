"""Tokens end with a password change, a deactivation, and an absolute lifetime (issue 19,
finding 4), in this process at once and in another within the cache's TTL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from frontdesk.access.principal import Principal
from frontdesk.answering import accounts
from frontdesk.answering.cache import DEFAULT_TTL_S
from frontdesk.context import AppContext


@pytest.mark.parametrize(
    "change",
    [{"password": "A new secret#2"}, {"active": False}, {"key": "k" * 32}],
    ids=["password", "deactivation", "key"],
)
async def test_staff_changes_revoke_the_users_tokens(
    api: Any, staff: Any, change: dict[str, Any]
) -> None:
    token = await api.token()
    assert (await api.submit(token)).body["success"] is True  # warm: the token is cached
    response = await staff.patch("/api/answering/users/agent1", json=change)
    assert response.status_code == 200
    assert (await api.submit(token)).codes == [408]
    if change.get("active") is False:  # reactivation does not bring the old token back
        await staff.patch("/api/answering/users/agent1", json={"active": True})
        assert (await api.submit(token)).codes == [408]


async def test_another_processs_cache_lets_go_within_its_ttl(api: Any, settings: Any) -> None:
    """A change made elsewhere (another server, the CLI) reaches this process's token cache
    within ``DEFAULT_TTL_S``; this process never serves the revoked token after that."""
    token = await api.token()
    assert (await api.submit(token)).body["success"] is True
    other = await AppContext.open(settings, migrate=False)
    try:
        async with other.db.transaction() as session:
            await accounts.update_user(
                session,
                principal=Principal.system("test"),
                clock=api.clock,
                secrets=other.secrets,
                username="agent1",
                password="A new secret#2",
            )
    finally:
        await other.close()
    api.clock.advance(timedelta(seconds=DEFAULT_TTL_S))
    assert (await api.submit(token)).codes == [408]


async def test_an_active_token_still_ends_at_its_absolute_lifetime(api: Any) -> None:
    """Sliding expiry alone kept a stolen token alive forever."""
    runtime = api.app.state.context.answering
    runtime.options = runtime.options.model_copy(update={"token_max_lifetime_s": 12 * 3600})
    token = await api.token()
    for _ in range(23):  # a request every 30 minutes for 11.5 hours
        api.clock.advance(timedelta(minutes=30))
        assert (await api.call("ticketStatus", query={"token": token})).codes != [408]
    api.clock.advance(timedelta(minutes=30))  # 12 h after creation
    assert (await api.call("ticketStatus", query={"token": token})).codes == [408]
    assert await api.token()  # a new tokenCreate works as usual
