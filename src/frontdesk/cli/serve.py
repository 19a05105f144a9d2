"""``frontdesk serve``: the HTTP server."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Annotated

import typer
import uvicorn
from fastapi import FastAPI

from frontdesk.cli.runtime import cli_settings
from frontdesk.eventloop import resolve
from frontdesk.server.app import create_app
from frontdesk.settings import Settings


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
    serve_app(create_app(settings), settings, host=host, port=port)


def serve_app(
    app: FastAPI,
    settings: Settings,
    *,
    host: str,
    port: int,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Run ``app`` under uvicorn until stopped (``serve`` and ``demo``): on the configured
    event loop, with our logging (no uvicorn log config, no access log of its own).
    ``on_ready`` runs once the server listens, after its start-up logs (the demo's banner)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop=resolve(settings.event_loop),
        log_config=None,
        access_log=False,
        server_header=False,
    )
    _Server(config, on_ready).run()


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None] | None) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self._on_ready is not None:
            self._on_ready()
