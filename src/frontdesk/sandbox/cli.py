"""``frontdesk sandbox ...``: run simulators of external systems on their own port.

The lead mounts :data:`app` as ``frontdesk sandbox``; until then
``python -m frontdesk.sandbox unity ...`` runs the same commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from rich.console import Console
from rich.table import Table

from frontdesk.sandbox.unity.config import (
    DEFAULT_APPNAME,
    DEFAULT_PM_PASSWORD,
    DEFAULT_PM_USER,
    DEFAULT_SERVICE_PASSWORD,
    DEFAULT_SERVICE_USER,
    ClientCredential,
    PmUser,
    SandboxConfig,
)
from frontdesk.sandbox.unity.knobs import Knobs, Latency

app = typer.Typer(help="Simulators of external systems, for the demo, tests and benchmarks.")


@app.callback()
def sandbox() -> None:
    """Simulators of external systems (Allscripts PM Unity, a FHIR R4 server)."""


def build_config(
    *,
    seed: int | None,
    service_user: str,
    service_password: str,
    app_user: str,
    app_password: str,
    appname: str,
    config_file: Path | None,
    knobs: Knobs,
    not_activated: bool = False,
) -> SandboxConfig:
    """The sandbox config from CLI options.

    A JSON ``--config`` file (a serialised :class:`SandboxConfig`) replaces the credential
    options; ``--seed`` and knob options that differ from their defaults override the file.
    ``not_activated`` starts every client with our application not yet activated.
    """
    config = _config(
        seed=seed,
        service_user=service_user,
        service_password=service_password,
        app_user=app_user,
        app_password=app_password,
        appname=appname,
        config_file=config_file,
        knobs=knobs,
    )
    if not not_activated:
        return config
    credentials = tuple(c.model_copy(update={"activated": False}) for c in config.credentials)
    return config.model_copy(update={"credentials": credentials})


def _config(
    *,
    seed: int | None,
    service_user: str,
    service_password: str,
    app_user: str,
    app_password: str,
    appname: str,
    config_file: Path | None,
    knobs: Knobs,
) -> SandboxConfig:
    if config_file is not None:
        loaded = SandboxConfig.model_validate_json(config_file.read_text())
        merged = loaded.knobs.model_dump() | knobs.model_dump(exclude_defaults=True)
        return SandboxConfig(
            seed=loaded.seed if seed is None else seed,
            credentials=loaded.credentials,
            knobs=Knobs.model_validate(merged),
        )
    default = SandboxConfig().default_credential
    credential = ClientCredential(
        service_user=service_user,
        service_password=service_password,
        appname=appname,
        users=(PmUser(username=app_user, password=app_password),),
        practice=default.practice,
    )
    return SandboxConfig(seed=1 if seed is None else seed, credentials=(credential,), knobs=knobs)


def describe(config: SandboxConfig, base_url: str) -> Table:
    """The start banner: endpoints and every credential's logins."""
    table = Table(title="Unity sandbox (Allscripts PM)", show_header=False)
    table.add_row("PM layout", f"{base_url}/UnityPM/UnityService.svc/json/")
    table.add_row("Ubiquity layout", f"{base_url}/UnityService.svc/json/")
    table.add_row("Admin", f"{base_url}/sandbox/admin/knobs")
    table.add_row("Seed", str(config.seed))
    for credential in config.credentials:
        table.add_row("Service user", credential.service_user)
        table.add_row("Service password", credential.service_password)
        table.add_row("Appname", credential.appname)
        if not credential.activated:
            table.add_row(
                "Activation",
                f"not activated: POST {base_url}/sandbox/admin/clients/activate",
            )
        for user in credential.users:
            table.add_row("PM user / password", f"{user.username} / {user.password}")
    return table


@app.command()
def unity(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8077,
    seed: Annotated[
        int | None, typer.Option(help="Seed of the synthetic practices [default: 1].")
    ] = None,
    service_user: Annotated[
        str, typer.Option(help="GetToken Username, Ubiquity prefix included.")
    ] = DEFAULT_SERVICE_USER,
    service_password: Annotated[str, typer.Option()] = DEFAULT_SERVICE_PASSWORD,
    app_user: Annotated[str, typer.Option(help="PM user (AppUserID).")] = DEFAULT_PM_USER,
    app_password: Annotated[str, typer.Option(help="PM password.")] = DEFAULT_PM_PASSWORD,
    appname: Annotated[str, typer.Option()] = DEFAULT_APPNAME,
    config_file: Annotated[
        Path | None,
        typer.Option("--config", help="JSON SandboxConfig (several credentials)."),
    ] = None,
    idle_minutes: Annotated[float, typer.Option(help="Token idle timeout.")] = 20.0,
    latency_ms: Annotated[float, typer.Option(help="Mean added latency.")] = 0.0,
    latency_spread_ms: Annotated[float, typer.Option()] = 0.0,
    latency_distribution: Annotated[
        str, typer.Option(help="fixed, uniform, normal or exponential.")
    ] = "fixed",
    error_rate: Annotated[float, typer.Option(help="Share of HTTP 5xx replies.")] = 0.0,
    timeout_rate: Annotated[float, typer.Option(help="Share of hanging requests.")] = 0.0,
    malformed_rate: Annotated[float, typer.Option(help="Share of damaged bodies.")] = 0.0,
    token_expiry_rate: Annotated[float, typer.Option()] = 0.0,
    rate_limit: Annotated[
        float | None, typer.Option(help="Requests/second per credential.")
    ] = None,
    not_activated: Annotated[
        bool,
        typer.Option(
            "--not-activated",
            help="Start with our application not activated for the client(s); "
            "POST /sandbox/admin/clients/activate activates it.",
        ),
    ] = False,
) -> None:
    """Run the Allscripts PM Unity simulator (both JSON layouts plus the admin API)."""
    from frontdesk.sandbox.unity.app import create_unity_app

    try:
        knobs = Knobs.model_validate(
            {
                "latency": Latency.model_validate(
                    {
                        "distribution": latency_distribution,
                        "ms": latency_ms,
                        "spread_ms": latency_spread_ms,
                    }
                ),
                "idle_timeout_seconds": idle_minutes * 60,
                "error_rate": error_rate,
                "timeout_rate": timeout_rate,
                "malformed_rate": malformed_rate,
                "token_expiry_rate": token_expiry_rate,
                "rate_limit_per_second": rate_limit,
            }
        )
        config = build_config(
            seed=seed,
            service_user=service_user,
            service_password=service_password,
            app_user=app_user,
            app_password=app_password,
            appname=appname,
            config_file=config_file,
            knobs=knobs,
            not_activated=not_activated,
        )
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    Console().print(describe(config, f"http://{host}:{port}"))
    _serve(create_unity_app(config), host=host, port=port)


@app.command()
def fhir(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8078,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic practices.")] = 1,
    practices: Annotated[int, typer.Option(help="Synthetic practices.")] = 1,
    locations: Annotated[int, typer.Option(help="Locations per practice.")] = 3,
    per_day: Annotated[int, typer.Option(help="Appointments per location and day.")] = 12,
    latency_ms: Annotated[float, typer.Option(help="Added latency of every request.")] = 0.0,
    slow_page_ms: Annotated[float, typer.Option(help="Extra latency of paging requests.")] = 0.0,
    token_lifetime_s: Annotated[int, typer.Option(help="Access token lifetime.")] = 300,
    max_page_size: Annotated[int, typer.Option(help="Largest _count honoured.")] = 500,
    no_include: Annotated[bool, typer.Option(help="Refuse _include (batched reads).")] = False,
    client_id: Annotated[
        str, typer.Option(help="Client registered with the demo key (its public half).")
    ] = "frontdesk-demo",
    jwks: Annotated[
        Path | None, typer.Option(help="JWKS file of the client's public keys instead.")
    ] = None,
) -> None:
    """Run the FHIR R4 sandbox (SMART Backend Services token endpoint, Appointment, Patient
    and Location searches, admin API for knobs and faults)."""
    import json

    from frontdesk.connectors.fhir.keys import load_signing_key, public_jwk
    from frontdesk.sandbox.fhir.app import create_fhir_app
    from frontdesk.sandbox.fhir.config import (
        Client,
        FhirSandboxConfig,
        Knobs,
        PracticeShape,
        demo_private_key,
    )

    keys = (
        json.loads(jwks.read_text())
        if jwks is not None
        else {"keys": [public_jwk(load_signing_key(demo_private_key(seed)))]}
    )
    try:
        config = FhirSandboxConfig(
            seed=seed,
            clients=(Client(client_id=client_id, jwks=keys),),
            knobs=Knobs(
                latency_ms=latency_ms,
                slow_page_ms=slow_page_ms,
                token_lifetime_s=token_lifetime_s,
                max_page_size=max_page_size,
                include=not no_include,
            ),
            shape=PracticeShape(
                practices=practices,
                locations_per_practice=locations,
                appointments_per_location_day=per_day,
            ),
        )
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    base = f"http://{host}:{port}/fhir"
    table = Table(title="FHIR R4 sandbox (SMART Backend Services)", show_header=False)
    table.add_row("FHIR base URL", base)
    table.add_row("Token URL", f"{base}/auth/token")
    table.add_row("Client id", client_id)
    table.add_row("Key", "--jwks file" if jwks else f"demo key of seed {seed} (public!)")
    table.add_row("Admin", f"http://{host}:{port}/sandbox/admin/knobs")
    Console().print(table)
    _serve(create_fhir_app(config), host=host, port=port)


@app.command()
def twilio(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8079,
    account_sid: Annotated[str, typer.Option(help="Account sid (Basic auth user).")] = "",
    auth_token: Annotated[str, typer.Option(help="Auth token (Basic auth, signatures).")] = "",
    inbound_url: Annotated[
        str | None, typer.Option(help="Where replies are posted (…/webhooks/twilio/inbound).")
    ] = None,
    latency_ms: Annotated[float, typer.Option(help="Added latency per create.")] = 0.0,
) -> None:
    """Run the Twilio Programmable Messaging simulator (Messages resource, callbacks)."""
    from frontdesk.sandbox.twilio.app import (
        DEFAULT_ACCOUNT_SID,
        DEFAULT_AUTH_TOKEN,
        create_twilio_app,
    )
    from frontdesk.sandbox.twilio.state import TwilioKnobs

    sid, token = account_sid or DEFAULT_ACCOUNT_SID, auth_token or DEFAULT_AUTH_TOKEN
    table = Table(title="Twilio simulator (Programmable Messaging)", show_header=False)
    table.add_row("API base (FRONTDESK_TWILIO__API_URL)", f"http://{host}:{port}")
    table.add_row("Account sid", sid)
    table.add_row("Auth token", token)
    table.add_row("Captured messages", f"http://{host}:{port}/sandbox/messages")
    Console().print(table)
    _serve(
        create_twilio_app(
            accounts={sid: token},
            inbound_url=inbound_url,
            knobs=TwilioKnobs(latency_ms=latency_ms),
        ),
        host=host,
        port=port,
    )


def _serve(app: Any, *, host: str, port: int) -> None:
    """Run one simulator under uvicorn until stopped (no lifespan, no websockets, quiet)."""
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        server_header=False,
        lifespan="off",
        ws="none",
    )
