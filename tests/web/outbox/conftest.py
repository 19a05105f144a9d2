"""The Outbox page's HTTP tests run on the ledger tests' fixtures: the sandbox on loopback, the
practice configured through the integration API, the SMTP sink (aiosmtpd) and the sender
wired to a local job queue (``tests/ledger/conftest.py``); the dashboard's (users, logins)
come from ``tests/web/conftest.py``."""

from __future__ import annotations

from tests.ledger.conftest import (  # noqa: F401  (fixtures)
    clock,
    practice,
    sandbox_config,
    settings,
    sink,
    unity,
    wired,
)
