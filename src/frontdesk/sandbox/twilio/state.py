"""The Twilio simulator's memory: accounts, messages, opt-outs per sender, fault knobs."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from pydantic import BaseModel, Field


class TwilioKnobs(BaseModel):
    """Faults and behaviour, changed at run time through ``POST /sandbox/knobs``."""

    invalid_numbers: list[str] = Field(default_factory=list)
    """Numbers refused with 21211 (besides those that are not E.164)."""
    unsubscribed_numbers: list[str] = Field(default_factory=list)
    """Numbers refused with 21610 from every sender (besides those that texted STOP)."""
    undeliverable_numbers: list[str] = Field(default_factory=list)
    """Numbers accepted, then ``undelivered`` with 30003."""
    fail_next: list[int] = Field(default_factory=list)
    """HTTP statuses the next creates answer, one each (429, 500, 503)."""
    latency_ms: float = 0.0
    lifecycle: str = "auto"
    """``auto``: queued → sent → delivered callbacks right away; ``manual``: the test drives."""


@dataclass
class Message:
    sid: str
    account_sid: str
    to: str
    from_: str | None
    messaging_service_sid: str | None
    body: str
    status: str
    status_callback: str | None
    date_created: datetime
    error_code: int | None = None
    date_sent: datetime | None = None

    def resource(self) -> dict[str, Any]:
        """The message as Twilio's REST API renders it."""
        base = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{self.sid}"
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": self.body,
            "date_created": format_datetime(self.date_created),
            "date_sent": format_datetime(self.date_sent) if self.date_sent else None,
            "date_updated": format_datetime(self.date_sent or self.date_created),
            "direction": "outbound-api",
            "error_code": self.error_code,
            "error_message": None,
            "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {"media": f"{base}/Media.json"},
            "to": self.to,
            "uri": f"{base}.json",
        }


@dataclass
class TwilioState:
    """Everything the simulator knows; one per app."""

    accounts: dict[str, str]
    """Account sid → auth token."""
    inbound_url: str | None = None
    knobs: TwilioKnobs = field(default_factory=TwilioKnobs)
    messages: list[Message] = field(default_factory=list)
    stopped: set[tuple[str, str]] = field(default_factory=set)
    """(sender, number) pairs whose number texted STOP to the sender."""
    callbacks: list[dict[str, str]] = field(default_factory=list)
    """Every callback posted (url, status code) for the demo and tests."""

    def new_sid(self, prefix: str = "SM") -> str:
        return prefix + secrets.token_hex(16)

    def now(self) -> datetime:
        return datetime.now(UTC).replace(microsecond=0)

    def find(self, sid: str) -> Message | None:
        return next((m for m in self.messages if m.sid == sid), None)
