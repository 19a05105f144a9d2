"""``frontdesk demo``'s pieces: the sandbox and the mail capture started beside the server,
the integration seeded through the API, one first sync whose review requests land in the
capture; a second start changes nothing."""

from __future__ import annotations

import shlex
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from frontdesk.composition import Role, running
from frontdesk.context import AppContext
from frontdesk.delivery.models import CapturedMail
from frontdesk.demo.runtime import start_services
from frontdesk.demo.seed import first_sync, seed_demo, seed_integration
from frontdesk.engagement.ledger_models import SENT, ReviewRequest
from frontdesk.server.app import create_app
from frontdesk.settings import Settings
from frontdesk.staff.service import authenticate


async def _logs_in(settings: Settings, *, user: str, password: str) -> bool:
    """The printed demo login opens the dashboard (a fresh password on every start)."""
    ctx = await AppContext.open(settings, migrate=False)
    try:
        result = await authenticate(ctx.db, clock=ctx.clock, username=user, password=password)
    finally:
        await ctx.close()
    return result.ok


async def test_demo_seeds_syncs_and_captures_idempotently(
    settings: Settings, tmp_path: Path
) -> None:
    services = start_services(settings.model_copy(update={"data_dir": tmp_path / "demo"}))
    passwords: list[str] = []
    try:
        for attempt in (1, 2):
            ctx = await AppContext.open(services.settings, migrate=False)
            try:
                # as ``frontdesk demo`` prepares: a CLI process, configured through its own app
                async with running(ctx, Role.CLI) as process:
                    app = create_app(process.settings, process=process)
                    async with httpx.AsyncClient(
                        transport=httpx.ASGITransport(app=app), base_url="http://demo"
                    ) as api:
                        seed = await seed_demo(ctx)
                        integration = await seed_integration(ctx, api=api, api_key=seed.api_key)
                        assert integration.created == (attempt == 1)
                        assert len(integration.businesses) == 7
                        synced = await first_sync(process, group_id=integration.group_id)
                async with ctx.db.reader() as session:
                    sent = (
                        await session.execute(
                            select(func.count())
                            .select_from(ReviewRequest)
                            .where(ReviewRequest.state == SENT)
                        )
                    ).scalar_one()
                    emailed = (
                        await session.execute(
                            select(func.count())
                            .select_from(ReviewRequest)
                            .where(ReviewRequest.state == SENT, ReviewRequest.channel == "email")
                        )
                    ).scalar_one()
                    captured = (
                        await session.execute(select(func.count()).select_from(CapturedMail))
                    ).scalar_one()
            finally:
                await ctx.close()
            username, password = seed.login
            assert await _logs_in(services.settings, user=username, password=password)
            if passwords:  # the first start's password no longer works
                assert not await _logs_in(services.settings, user=username, password=passwords[0])
            passwords.append(password)
            if attempt == 1:
                assert synced["fetched"] > 0
                assert synced["sent"] == synced["eligible"] == sent > 0
            else:
                assert synced == {}  # the group ran already: nothing again
            assert captured == emailed <= sent  # the mail capture has the emails (texts: SMS)
    finally:
        services.stop()


async def test_the_env_file_points_another_shell_at_the_demos_sandbox_and_capture(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from frontdesk.demo.runtime import write_env_file

    services = start_services(settings.model_copy(update={"data_dir": tmp_path / "demo"}))
    try:
        path = write_env_file(services)
        assert path == tmp_path / "demo" / "demo.env"
        assert path.stat().st_mode & 0o777 == 0o600
        for line in path.read_text().splitlines():
            key, value = line.split("=", 1)
            monkeypatch.setenv(key, shlex.split(value)[0] if value else "")
        loaded = Settings()
        assert loaded.unity.url == services.settings.unity.url
        assert loaded.unity.service_password == services.settings.unity.service_password
        assert loaded.smtp.port == services.capture.port
        assert loaded.outbound.allowed_hosts == services.settings.outbound.allowed_hosts
    finally:
        services.stop()
