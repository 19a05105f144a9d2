"""What ``frontdesk demo`` runs beside the server: the sandboxes (Unity, FHIR), the mail
capture and the Twilio simulator (texts of the location on SMS; its status callbacks and the
replies it is told to send go to the demo server's ``/webhooks/twilio/...``).

The Unity sandbox (``default_config(seed=1)``: one credential, the six-location Loudoun
Valley practice) and the FHIR sandbox (seed 1: three locations, the demo client and key)
are each served by their own ``uvicorn.Server`` in a thread with its own event loop, on a
loopback port of their own; the capture is aiosmtpd's threaded controller storing every
message in ``captured_mail``. Both stop with the process. Settings are pointed at them so
the sync engine reads the sandbox and review requests land in the capture.
"""

from __future__ import annotations

import asyncio
import shlex
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from pydantic import SecretStr

from frontdesk.delivery.capture import MailCapture
from frontdesk.sandbox.fhir.app import create_fhir_app
from frontdesk.sandbox.fhir.config import DEMO_CLIENT_ID, Client, FhirSandboxConfig
from frontdesk.sandbox.twilio.app import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    create_twilio_app,
)
from frontdesk.sandbox.twilio.state import TwilioKnobs
from frontdesk.sandbox.unity import (
    DEFAULT_APPNAME,
    DEFAULT_SERVICE_PASSWORD,
    DEFAULT_SERVICE_USER,
    create_unity_app,
    default_config,
)
from frontdesk.settings import OutboundSettings, Settings, SmtpSettings, TwilioSettings

SANDBOX_SERVICE_USER, SANDBOX_SERVICE_USERNAME = DEFAULT_SERVICE_USER.split("^8^", 1)
SANDBOX_SERVICE_USER += "^8^"
"""The group property ``User_Name`` and the app-wide ``service_username`` whose
concatenation is the sandbox's default ServiceUser."""
DEMO_FROM = "reviews@frontdesk.demo"
DEMO_SENDER = "+15005550006"


class SandboxThread:
    """A sandbox (default: Unity's) on ``127.0.0.1`` in a thread of its own."""

    def __init__(
        self, *, port: int = 0, app: Callable[..., Any] | None = None, name: str = "unity"
    ) -> None:
        config = uvicorn.Config(
            app or create_unity_app(default_config(seed=1)),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
            ws="none",
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name=f"{name}-sandbox", daemon=True)
        self.name = name
        self.port = 0

    def _serve(self) -> None:
        asyncio.run(self.server.serve())

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the {self.name} sandbox did not start")
            time.sleep(0.02)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class DemoServices:
    """The running sandbox and capture, and settings pointing at them."""

    sandbox: SandboxThread
    capture: MailCapture
    settings: Settings
    twilio: SandboxThread
    fhir: SandboxThread | None = None

    def stop(self) -> None:
        self.capture.stop()
        self.twilio.stop()
        self.sandbox.stop()
        if self.fhir is not None:
            self.fhir.stop()

    @property
    def fhir_base_url(self) -> str | None:
        return f"{self.fhir.url}/fhir" if self.fhir is not None else None


def fhir_sandbox_thread() -> SandboxThread:
    """The FHIR sandbox of the demo: seed 1, the demo client registered with its demo key."""
    from frontdesk.connectors.fhir.keys import load_signing_key, public_jwk
    from frontdesk.sandbox.fhir.config import demo_private_key

    jwks = {"keys": [public_jwk(load_signing_key(demo_private_key(1)))]}
    config = FhirSandboxConfig(seed=1, clients=(Client(client_id=DEMO_CLIENT_ID, jwks=jwks),))
    return SandboxThread(app=create_fhir_app(config), name="FHIR")


def start_services(settings: Settings) -> DemoServices:
    """Start the sandbox and the mail capture; the settings the demo server runs with."""
    sandbox = SandboxThread()
    sandbox.start()
    fhir = fhir_sandbox_thread()
    fhir.start()
    capture = MailCapture(settings.sqlalchemy_url)
    capture.start()
    unity = settings.unity.model_copy(
        update={
            "url": f"{sandbox.url}/UnityService.svc/json",
            "appname": DEFAULT_APPNAME,
            "service_username": SANDBOX_SERVICE_USERNAME,
            "service_password": SecretStr(DEFAULT_SERVICE_PASSWORD),
        }
    )
    smtp = SmtpSettings(host="127.0.0.1", port=capture.port, **{"from": DEMO_FROM})
    public = settings.public_url.rstrip("/")
    texts = SandboxThread(
        app=create_twilio_app(
            accounts={DEFAULT_ACCOUNT_SID: DEFAULT_AUTH_TOKEN},
            inbound_url=f"{public}/webhooks/twilio/inbound",
            # the first sync texts before the server listens: the simulator holds the status
            # callbacks until deliver_held_texts() (else they would find no one and be lost)
            knobs=TwilioKnobs(lifecycle="manual"),
        ),
        name="Twilio",
    )
    texts.start()
    twilio = TwilioSettings(
        account_sid=DEFAULT_ACCOUNT_SID,
        auth_token=SecretStr(DEFAULT_AUTH_TOKEN),
        **{"from": DEMO_SENDER},
        api_url=texts.url,
    )
    # The simulators are on loopback: allow them explicitly (the outbound rule).
    listed = [
        settings.outbound.allowed_hosts,
        f"127.0.0.1:{sandbox.port}",
        f"127.0.0.1:{fhir.port}",
        f"127.0.0.1:{texts.port}",
    ]
    outbound = OutboundSettings(allowed_hosts=",".join(h for h in listed if h.strip()))
    return DemoServices(
        sandbox=sandbox,
        capture=capture,
        settings=settings.model_copy(
            update={"unity": unity, "smtp": smtp, "outbound": outbound, "twilio": twilio}
        ),
        twilio=texts,
        fhir=fhir,
    )


def deliver_held_texts(simulator_url: str) -> int:
    """Once the demo server listens: move the texts the first sync sent through the
    simulator's lifecycle (sent, delivered: signed status callbacks to the server), then let
    it run by itself again. The number of texts moved."""
    moved = 0
    with httpx.Client(base_url=simulator_url, timeout=30) as simulator:
        for message in simulator.get("/sandbox/messages").json():
            if message["status"] not in ("queued", "accepted"):
                continue
            for status in ("sent", "delivered"):
                simulator.post(
                    f"/sandbox/messages/{message['sid']}/status", json={"status": status}
                ).raise_for_status()
            moved += 1
        simulator.post("/sandbox/knobs", json={"lifecycle": "auto"}).raise_for_status()
    return moved


ENV_FILE = "demo.env"
"""In the data directory: the settings another shell's ``frontdesk`` needs to reach this
demo's sandbox and mail capture (``set -a; . .frontdesk/demo.env; set +a``)."""


def write_env_file(services: DemoServices) -> Path:
    """Write :data:`ENV_FILE` (mode 0600; the sandbox's documented default credentials only,
    no secret of this installation) and return its path."""
    settings = services.settings
    values = {
        "FRONTDESK_UNITY__URL": settings.unity.url,
        "FRONTDESK_UNITY__APPNAME": settings.unity.appname,
        "FRONTDESK_UNITY__SERVICE_USERNAME": settings.unity.service_username,
        "FRONTDESK_UNITY__SERVICE_PASSWORD": settings.unity.service_password.get_secret_value(),
        "FRONTDESK_SMTP__HOST": settings.smtp.host,
        "FRONTDESK_SMTP__PORT": str(settings.smtp.port),
        "FRONTDESK_SMTP__FROM": settings.smtp.from_,
        "FRONTDESK_OUTBOUND__ALLOWED_HOSTS": settings.outbound.allowed_hosts,
        "FRONTDESK_PUBLIC_URL": settings.public_url,
    }
    path = Path(settings.data_dir) / ENV_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(f"{key}={shlex.quote(value)}\n" for key, value in values.items())
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
