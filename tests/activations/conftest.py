"""Activation fixtures: the credentials tests' loopback sandbox, practice and SMTP sink, with
the support group's address set (``FRONTDESK_ACTIVATIONS__NOTIFY``)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.credentials.conftest import (  # noqa: F401  (fixtures)
    DAY,
    NOW,
    SUPPORT,
    Loopback,
    Mailbox,
    Practice,
    clock,
    mailbox,
    practice,
    run_all_to_end,
    sandbox_admin,
    sandbox_config,
    unity,
)
from tests.credentials.conftest import incidents as credential_incidents  # noqa: F401
from tests.sync.conftest import ENTERPRISE, OTHER_TENANT, unity_settings  # noqa: F401

from frontdesk.settings import ActivationsSettings, Settings, SmtpSettings, SyncSettings

NOTIFY = "integrations-support@frontdesk.test"


@pytest.fixture
def settings(settings: Settings, unity: Loopback, mailbox: tuple[Mailbox, int]) -> Settings:  # noqa: F811
    """The credentials tests' settings (loopback Unity, the SMTP sink) with the support
    group's address."""
    return settings.model_copy(
        update={
            "unity": unity_settings(unity.url),
            "sync": SyncSettings(lease_s=30.0, tick_s=0.05, retry_base_s=0.01, retry_max_s=0.05),
            "smtp": SmtpSettings(host="127.0.0.1", port=mailbox[1], **{"from": "fd@fd.test"}),
            "support_email": SUPPORT,
            "activations": ActivationsSettings(notify=NOTIFY),
        }
    )


def request_body(**changes: Any) -> dict[str, Any]:
    """An activation request as support types it after the set-up call."""
    body: dict[str, Any] = {
        "businessNumber": ENTERPRISE,
        "source": "ALLSCRIPTS",
        "practiceName": "Loudoun Valley Medical Group",
        "contactName": "Dana Office-Manager",
        "contactEmail": "dana@loudoun.example",
        "clientId": "FDG0001",
        "serviceUser": "FDG0001PM:PMG0001^1^Front-4d2e-FrontDesk-test",
        "environment": "production",
        "notes": "set-up call 2025-03-03",
    }
    body.update(changes)
    return body
