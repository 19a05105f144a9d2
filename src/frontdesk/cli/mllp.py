"""``frontdesk mllp [--host H] [--port P]``: the HL7v2 MLLP listener on its own."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

import typer

from frontdesk.cli.runtime import console, opened_context, run
from frontdesk.composition import listener_heartbeat, mllp_listener
from frontdesk.logs import configure_logging
from frontdesk.settings import load_settings


def mllp_command(
    host: Annotated[str | None, typer.Option("--host", help="default FRONTDESK_MLLP__HOST")] = None,
    port: Annotated[
        int | None, typer.Option("--port", help="default FRONTDESK_MLLP__PORT, else 2575")
    ] = None,
) -> None:
    """Receive HL7v2 SIU/ADT messages over MLLP; each is ACKed after it is stored."""
    settings = load_settings()
    configure_logging(settings)

    async def body() -> None:
        async with opened_context(settings) as ctx:
            listener = mllp_listener(
                ctx, host=host, port=port if port is not None else (settings.mllp.port or 2575)
            )
            heartbeat = listener_heartbeat(ctx)
            await listener.start()
            await heartbeat.start()
            console.print(f"mllp listening on {listener.host}:{listener.port}", highlight=False)
            try:
                await asyncio.Event().wait()
            finally:
                await heartbeat.stop()
                await listener.stop()

    with contextlib.suppress(KeyboardInterrupt):
        run(body())
