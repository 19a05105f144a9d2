"""``frontdesk serve``: the HTTP server."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from frontdesk.cli.runtime import cli_settings
from frontdesk.eventloop import resolve
from frontdesk.server.app import create_app


def serve_command(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8080,
    no_worker: Annotated[
        bool,
        typer.Option(
            "--no-worker",
            help="Do not run the embedded sync dispatcher and runner (an API node). With "
            "FRONTDESK_JOBS__BACKEND=procrastinate serve never runs them: workers do.",
        ),
    ] = False,
) -> None:
    """Serve the integration API, the answering-service API and the dashboard."""
    settings = cli_settings()
    if no_worker:
        settings = settings.model_copy(
            update={"sync": settings.sync.model_copy(update={"worker": False})}
        )
    app = create_app(settings)
    uvicorn.run(
        app,
        host=host,
        port=port,
        loop=resolve(settings.event_loop),
        log_config=None,
        access_log=False,
        server_header=False,
    )
