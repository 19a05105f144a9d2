"""Alert fixtures: the ledger tests' sandbox practice, SMTP sink and wired server parts,
with a support address on that sink and short alert thresholds."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from tests.ledger.conftest import (  # noqa: F401  (fixtures)
    ON,
    Loopback,
    Practice,
    Sink,
    Wired,
    clock,
    practice,
    requests,
    sandbox_config,
    sink,
    unity,
    wired,
)
from tests.sync.conftest import unity_settings

from frontdesk.settings import (
    AlertSettings,
    JobsSettings,
    ReviewSettings,
    Settings,
    SmtpSettings,
    SyncSettings,
)

SUPPORT = "support@frontdesk.test"
PUBLIC_URL = "https://frontdesk.example.org"


@pytest.fixture
def settings(settings: Settings, unity: Loopback, sink: tuple[Sink, int]) -> Settings:  # noqa: F811
    """As the ledger tests' (SMTP on the sink), one sync attempt, a support address on the
    sink, a public URL, and thresholds in minutes."""
    return settings.model_copy(
        update={
            "unity": unity_settings(unity.url),
            "sync": SyncSettings(
                lease_s=30.0, tick_s=0.05, retry_base_s=0.01, retry_max_s=0.05, max_attempts=1
            ),
            "smtp": SmtpSettings(host="127.0.0.1", port=sink[1], **{"from": "reviews@fd.test"}),
            "review": ReviewSettings(
                max_attempts=3, retry_base_s=60, retry_max_s=600, lease_s=30, sweep_s=0.05
            ),
            "jobs": JobsSettings(concurrency=4),
            "support_email": SUPPORT,
            "public_url": PUBLIC_URL,
            "alerts": AlertSettings(
                check_interval_s=0, parked_after_s=3600, quiet_after_s=300, heartbeat_s=30
            ),
        }
    )


def support_mails(handler: Sink) -> list[EmailMessage]:
    """The messages the sink accepted for the support address."""
    with handler.lock:
        raw = [m for m in handler.messages if SUPPORT in m[1]]
    parsed = [message_from_bytes(m[2], policy=policy.default) for m in raw]
    return [m for m in parsed if isinstance(m, EmailMessage)]
