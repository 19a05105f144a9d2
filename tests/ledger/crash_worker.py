"""A worker process for the crash test: the embedded runner of ``frontdesk serve`` (sync
dispatcher + job queue + review sender + sweeper) without the HTTP server, configured from
``FRONTDESK_*`` like any process. It runs until it is killed."""

from __future__ import annotations

import asyncio

from frontdesk.composition import Role, build_process
from frontdesk.context import AppContext
from frontdesk.logs import configure_logging
from frontdesk.settings import load_settings


async def main() -> None:
    settings = load_settings()
    configure_logging(settings)
    ctx = await AppContext.open(settings, migrate=False)
    process = build_process(ctx, Role.SERVER)
    assert process.runner is not None, "the embedded runner (FRONTDESK_JOBS__BACKEND=local)"
    await process.runner.start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
