"""Plain-text e-mail to the support address (``FRONTDESK_SUPPORT_EMAIL``).

Messages name groups, businesses, reasons and dates: never a secret, never patient data.
Sending never raises: the outcome (``sent``, ``no_support_email``, ``failed: <code>``) is
returned so the caller can record it. :class:`SupportNotifier` is the seam; the SMTP
implementation uses ``settings.smtp`` like the review e-mails do.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Protocol

import aiosmtplib

from frontdesk.clock import Clock
from frontdesk.logs import get_logger
from frontdesk.settings import Settings

log = get_logger(__name__)

SENT = "sent"
NO_SUPPORT_EMAIL = "no_support_email"
IMPLICIT_TLS_PORT = 465


class SupportNotifier(Protocol):
    """Tells the support desk something; returns the outcome, never raises."""

    async def notify(self, *, subject: str, body: str) -> str: ...


class SmtpSupportNotifier:
    """Sends to ``to`` (default ``settings.support_email``) through ``settings.smtp``."""

    def __init__(
        self, settings: Settings, *, clock: Clock, timeout_s: float = 30.0, to: str | None = None
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._timeout_s = timeout_s
        self._to = to

    async def notify(self, *, subject: str, body: str) -> str:
        to = self._to or self._settings.support_email
        if not to:
            log.warning("credentials.notify.no_support_email", subject=subject)
            return NO_SUPPORT_EMAIL
        smtp = self._settings.smtp
        message = EmailMessage()
        message["From"] = smtp.from_
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = format_datetime(self._clock.now())
        message["Message-ID"] = make_msgid(domain=smtp.from_.rpartition("@")[2] or None)
        message.set_content(body)
        implicit_tls = smtp.port == IMPLICIT_TLS_PORT
        try:
            await aiosmtplib.send(
                message,
                hostname=smtp.host,
                port=smtp.port,
                username=smtp.username,
                password=smtp.password.get_secret_value() if smtp.password else None,
                timeout=self._timeout_s,
                use_tls=implicit_tls,
                start_tls=False if implicit_tls else smtp.starttls,
            )
        except Exception as error:  # the outcome is recorded; the caller carries on
            code = type(error).__name__
            log.warning("credentials.notify.failed", subject=subject, error_type=code)
            return f"failed: {code}"[:60]
        log.info("credentials.notify.sent", subject=subject)
        return SENT


def support_notifier(settings: Settings, clock: Clock, *, to: str | None = None) -> SupportNotifier:
    """The notifier a process uses (SMTP; with no support address it only logs); ``to``
    sends to another support address (e.g. ``FRONTDESK_ACTIVATIONS__NOTIFY``)."""
    return SmtpSupportNotifier(settings, clock=clock, to=to)
