"""``frontdesk demo``: everything embedded on one machine, seeded with demo data."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn
from rich.table import Table

from frontdesk.cli.runtime import cli_settings, console, run
from frontdesk.demo.seed import DemoSeed, seed_demo
from frontdesk.server.app import create_app
from frontdesk.server.context import AppContext


def demo_command(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8080,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="do not open a browser (scripted use)")
    ] = False,
) -> None:
    """Seed the embedded demo (idempotent) and serve it until Ctrl-C."""
    settings = cli_settings().model_copy(update={"public_url": f"http://{host}:{port}"})

    async def prepare() -> tuple[AppContext, DemoSeed]:
        ctx = await AppContext.open(settings)
        return ctx, await seed_demo(ctx)

    ctx, seed = run(prepare())
    _print_seed(seed, host=host, port=port, data_dir=str(settings.data_dir))
    app = create_app(settings)  # the server opens its own context in its own event loop
    run(ctx.close())
    if not no_browser:
        console.print("(no browser is opened on a headless machine; open the URL yourself)")
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, server_header=False)


def _print_seed(seed: DemoSeed, *, host: str, port: int, data_dir: str) -> None:
    table = Table("business number", "name", "kind", title="seeded businesses")
    for number, name, kind in seed.businesses:
        table.add_row(str(number), name, kind)
    console.print(table)
    console.print(f"data directory: {data_dir}")
    console.print(f"API:            http://{host}:{port}/api/businesses")
    console.print(f"OpenAPI:        http://{host}:{port}/openapi.json")
    console.print(f"health:         http://{host}:{port}/healthz")
    console.print(f"demo API key (staff, replaced on every start): {seed.api_key}")
