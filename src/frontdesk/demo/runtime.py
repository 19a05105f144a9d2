"""What ``frontdesk demo`` runs beside the server: the Unity sandbox, the mail capture and
the Twilio simulator (texts of the location on SMS; its status callbacks and the replies it
is told to send go to the demo server's ``/webhooks/twilio/...``).

The sandbox (``default_config(seed=1)``: one credential, the six-location Loudoun Valley
practice) is served by its own ``uvicorn.Server`` in a thread with its own event loop, on a
loopback port of its own; the capture is aiosmtpd's threaded controller storing every
message in ``captured_mail``. Both stop with the process. Settings are pointed at them so
the sync engine reads the sandbox and review requests land in the capture.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Any

import uvicorn
from pydantic import SecretStr

from frontdesk.delivery.capture import MailCapture
from frontdesk.sandbox.twilio.app import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    create_twilio_app,
)
from frontdesk.sandbox.unity import (
    DEFAULT_APPNAME,
    DEFAULT_SERVICE_PASSWORD,
    DEFAULT_SERVICE_USER,
    create_unity_app,
    default_config,
)
from frontdesk.settings import Settings, SmtpSettings, TwilioSettings

SANDBOX_SERVICE_USER, SANDBOX_SERVICE_USERNAME = DEFAULT_SERVICE_USER.split("^8^", 1)
SANDBOX_SERVICE_USER += "^8^"
"""The group property ``User_Name`` and the app-wide ``service_username`` whose
concatenation is the sandbox's default ServiceUser."""
DEMO_FROM = "reviews@frontdesk.demo"
DEMO_SENDER = "+15005550006"


class SandboxThread:
    """A simulator (default: the Unity sandbox) on ``127.0.0.1`` in a thread of its own."""

    def __init__(self, *, port: int = 0, app: Any = None) -> None:
        config = uvicorn.Config(
            app if app is not None else create_unity_app(default_config(seed=1)),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
            ws="none",
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name="unity-sandbox", daemon=True)
        self.port = 0

    def _serve(self) -> None:
        asyncio.run(self.server.serve())

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the Unity sandbox did not start")
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

    def stop(self) -> None:
        self.capture.stop()
        self.twilio.stop()
        self.sandbox.stop()


def start_services(settings: Settings) -> DemoServices:
    """Start the sandbox and the mail capture; the settings the demo server runs with."""
    sandbox = SandboxThread()
    sandbox.start()
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
        )
    )
    texts.start()
    twilio = TwilioSettings(
        account_sid=DEFAULT_ACCOUNT_SID,
        auth_token=SecretStr(DEFAULT_AUTH_TOKEN),
        **{"from": DEMO_SENDER},
        api_url=texts.url,
    )
    return DemoServices(
        sandbox=sandbox,
        capture=capture,
        settings=settings.model_copy(update={"unity": unity, "smtp": smtp, "twilio": twilio}),
        twilio=texts,
    )
