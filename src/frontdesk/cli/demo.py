"""``frontdesk demo``: everything embedded on one machine, seeded with demo data.

Starts the Unity and FHIR sandboxes (their own loopback ports) and the demo mail capture (a
real SMTP server on loopback), points the settings at them, seeds (idempotently) the demo
businesses, an Allscripts integration over the Unity sandbox's practice, a FHIR R4
integration over the FHIR sandbox's (``demo/fhir.py``) and a staff API key, runs one first
sync of each so that decisions and captured review requests exist, seeds an answering-service
company with an API user and a few tickets (`demo/answering.py`), then serves until Ctrl-C.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Annotated

import httpx
import typer
from rich.table import Table

from frontdesk.answering.client import API_PATH
from frontdesk.cli.runtime import cli_settings, console, run
from frontdesk.cli.serve import serve_app
from frontdesk.composition import Process, Role, running
from frontdesk.context import AppContext
from frontdesk.demo.answering import DemoAnswering, seed_answering
from frontdesk.demo.fhir import seed_fhir_integration
from frontdesk.demo.hl7 import DemoFeed, seed_hl7
from frontdesk.demo.runtime import deliver_held_texts, start_services, write_env_file
from frontdesk.demo.seed import DEMO_SMB, DemoSeed, first_sync, seed_demo, seed_integration
from frontdesk.server.app import create_app


def demo_command(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8080,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="do not open a browser (scripted use)")
    ] = False,
) -> None:
    """Seed the embedded demo (idempotent) and serve it until Ctrl-C."""
    base = cli_settings().model_copy(update={"public_url": f"http://{host}:{port}"})
    services = start_services(base)
    settings = services.settings
    env_file = write_env_file(services)
    try:
        feeds: list[DemoFeed] = []

        async def prepare() -> tuple[DemoSeed, dict[str, int]]:
            ctx = await AppContext.open(settings)
            try:
                async with (
                    contextlib.AsyncExitStack() as stack,
                    running(ctx, Role.CLI) as process,
                ):
                    transport = _transport(process)
                    api = httpx.AsyncClient(transport=transport, base_url="http://demo")
                    await stack.enter_async_context(api)
                    seed = await seed_demo(ctx)
                    integration = await seed_integration(ctx, api=api, api_key=seed.api_key)
                    seed.businesses.extend(integration.businesses)
                    synced = await first_sync(process, group_id=integration.group_id)
                    if services.fhir_base_url is not None:  # the second practice, on FHIR
                        fhir = await seed_fhir_integration(
                            ctx, api=api, api_key=seed.api_key, base_url=services.fhir_base_url
                        )
                        seed.businesses.extend(fhir.businesses)
                        await first_sync(process, group_id=fhir.group_id)
                    seed.answering = await seed_answering(ctx, transport=transport)
                    feeds.append(
                        await seed_hl7(
                            ctx,
                            api=api,
                            api_key=seed.api_key,
                            smb_number=DEMO_SMB[0],
                            today=ctx.clock.now().date(),
                        )
                    )
                    return seed, synced
            finally:
                await ctx.close()

        seed, synced = run(prepare())

        def banner() -> None:
            # printed once the server listens, after every start-up log line, on its own;
            # the simulator may now deliver the first sync's texts (its callbacks reach us).
            # A thread of its own: the callbacks need this server's loop, which runs this.
            threading.Thread(
                target=deliver_held_texts, args=(services.twilio.url,), daemon=True
            ).start()
            console.print()
            _print_seed(seed, host=host, port=port, data_dir=str(settings.data_dir))
            _print_answering(seed.answering, host=host, port=port)
            if synced:
                console.print(
                    f"first sync:     {synced['fetched']} appointments, {synced['eligible']} "
                    f"eligible, {synced['sent']} review requests sent (emails to the capture, "
                    "texts to the Twilio simulator)"
                )
            for feed in feeds:
                console.print(
                    f"HL7 feed:       {feed.sent} SIU messages to the listener, ACKs "
                    f"{' '.join(feed.acks)}  (frontdesk hl7 messages)"
                )
            if settings.mllp.port is not None:
                console.print(f"MLLP listener:  {settings.mllp.host}:{settings.mllp.port}")
            console.print(f"Unity sandbox:  {services.sandbox.url}/UnityService.svc/json")
            console.print(f"CLI settings:   set -a; . {env_file}; set +a  (another shell)")
            if services.fhir_base_url is not None:
                console.print(f"FHIR sandbox:   {services.fhir_base_url}  (Harbor Health Partners)")
            console.print(f"mail capture:   smtp://127.0.0.1:{services.capture.port}")
            console.print(
                f"texts:          {services.twilio.url}/sandbox/messages  (Twilio simulator; "
                "Ashburn Office and Harbor Health's North Clinic, from its own number, ask "
                "by text)"
            )
            console.print(f"outbox:         http://{host}:{port}/api/outbox  (frontdesk outbox)")
            if not no_browser:
                console.print("(no browser is opened on a headless machine; open the URL yourself)")
            console.print("Ctrl-C stops the demo.")

        app = create_app(settings, demo=True)  # its own context and process, in its own loop
        serve_app(app, settings, host=host, port=port, on_ready=banner)
    finally:
        services.stop()


def _transport(process: Process) -> httpx.ASGITransport:
    """This process's own app, in-process (the demo configures through the public APIs)."""
    return httpx.ASGITransport(app=create_app(process.settings, process=process))


def _print_seed(seed: DemoSeed, *, host: str, port: int, data_dir: str) -> None:
    table = Table("business number", "name", "kind", title="seeded businesses")
    for number, name, kind in seed.businesses:
        table.add_row(str(number), name, kind)
    console.print(table)
    console.print(f"data directory: {data_dir}")
    console.print(f"dashboard:      http://{host}:{port}/")
    console.print(f"API:            http://{host}:{port}/api/businesses")
    console.print(f"OpenAPI:        http://{host}:{port}/openapi.json")
    console.print(f"health:         http://{host}:{port}/healthz")
    console.print(f"demo API key (staff, replaced on every start): {seed.api_key}")
    username, password = seed.login
    console.print(f"dashboard login (admin, new password every start): {username} / {password}")


def _print_answering(answering: DemoAnswering | None, *, host: str, port: int) -> None:
    """The answering-service company's API user, printed once like the dashboard login."""
    if answering is None:
        return
    console.print(
        f"tickets:        http://{host}:{port}/tickets  ({answering.submitted} new demo tickets)"
    )
    console.print(f"answering API:  http://{host}:{port}{API_PATH}")
    console.print(
        "answering login (new password and key every start): "
        f"{answering.username} / {answering.password}"
    )
    console.print(f"answering key:  {answering.key}  (for tokenCreate's password)")
