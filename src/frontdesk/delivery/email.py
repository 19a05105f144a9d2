"""The email channel: review requests over SMTP with ``aiosmtplib``.

The only module that imports ``aiosmtplib``. Failures are classified here, once:

- a 4xx answer (greeting, MAIL, RCPT, DATA), a refused/lost connection, a timeout, a TLS
  handshake that breaks off → :class:`TransientDeliveryError` (retry with backoff);
- a 5xx answer to RCPT or DATA, i.e. about *this* message → :class:`PermanentDeliveryError`
  (the request is failed);
- a refused login, a refused sender, STARTTLS unavailable, an untrusted certificate →
  :class:`DeliveryConfigurationError` (our settings are wrong: every message would fail).

Error text carries the SMTP code and the ledger key; never the server's free text, which
often quotes the recipient address.

SMTP cannot tell afterwards whether a message was accepted, so a request found ``sending``
after a crash cannot be resolved here (``supports_idempotency_check = False``): the ledger
parks it for an operator. The ``Message-ID`` derived from the ledger key lets the operator
(or a receiving system) recognise a duplicate.
"""

from __future__ import annotations

import ssl

import aiosmtplib

from frontdesk.clock import Clock, SystemClock
from frontdesk.delivery.channel import (
    MESSAGE_REFUSED,
    RECIPIENT_REFUSED,
    DeliveryConfigurationError,
    OutgoingMessage,
    PermanentDeliveryError,
    SendResult,
    TransientDeliveryError,
)
from frontdesk.delivery.email_format import build_email
from frontdesk.errors import FatalError, FrontdeskError
from frontdesk.logs import get_logger
from frontdesk.security.redaction import scrub_text
from frontdesk.settings import SmtpSettings

log = get_logger(__name__)

DEFAULT_TIMEOUT_S = 30.0
IMPLICIT_TLS_PORT = 465


class EmailChannel:
    """Sends review requests through the configured SMTP relay (``FRONTDESK_SMTP__*``).

    Port 465 means implicit TLS; otherwise ``starttls`` true requires STARTTLS and false sends
    in the clear (a relay on loopback or in a private network). One connection per message:
    review requests are few per minute, and a fresh connection has no state to go stale.
    """

    name = "email"
    supports_idempotency_check = False

    def __init__(
        self,
        smtp: SmtpSettings,
        *,
        clock: Clock | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self._smtp = smtp
        self._clock = clock or SystemClock()
        self._timeout_s = timeout_s
        self._tls_context = tls_context

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Deliver one review request; raises a classified delivery error on failure."""
        built = build_email(message, sender_address=self._smtp.from_, when=self._clock.now())
        smtp = self._smtp
        implicit_tls = smtp.port == IMPLICIT_TLS_PORT
        try:
            _refused, response = await aiosmtplib.send(
                built.data,
                sender=built.envelope_from,
                recipients=[built.envelope_to],
                hostname=smtp.host,
                port=smtp.port,
                username=smtp.username,
                password=smtp.password.get_secret_value() if smtp.password else None,
                timeout=self._timeout_s,
                use_tls=implicit_tls,
                start_tls=False if implicit_tls else smtp.starttls,
                tls_context=self._tls_context,
            )
        except Exception as exc:
            error = classify_smtp_error(exc, ledger_key=message.ledger_key)
            log.warning(
                "delivery.email.failed",
                ledger_key=message.ledger_key,
                error_code=error.code,
                smtp_code=getattr(error, "smtp_code", None),
            )
            raise error from None
        log.info("delivery.email.sent", ledger_key=message.ledger_key, message_id=built.message_id)
        return SendResult(
            channel=self.name,
            ledger_key=message.ledger_key,
            message_id=built.message_id,
            detail=_status(response),
        )

    async def was_delivered(self, ledger_key: str) -> bool | None:
        """SMTP has no way to ask: always None (unknowable)."""
        return None


def classify_smtp_error(exc: BaseException, *, ledger_key: str) -> FrontdeskError:
    """Map an ``aiosmtplib``/socket failure onto the error tree (see the module docstring)."""
    where = f"request {ledger_key}"
    if isinstance(exc, FrontdeskError):
        return exc
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return DeliveryConfigurationError(
            f"the SMTP server refused our login ({exc.code})", field="smtp.username"
        )
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return DeliveryConfigurationError(
            "the SMTP server does not support what the settings require (STARTTLS or AUTH)",
            field="smtp.starttls",
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return DeliveryConfigurationError(
            "the SMTP server's TLS certificate is not trusted", field="smtp.host"
        )
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        code = min(codes) if codes else 550
        return _by_code(code, f"{where}: the SMTP server refused the recipient", RECIPIENT_REFUSED)
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):
        if 400 <= exc.code < 500:
            return TransientDeliveryError(
                f"{where}: the SMTP server deferred the sender ({exc.code})", smtp_code=exc.code
            )
        return DeliveryConfigurationError(
            f"the SMTP server refused the sending address ({exc.code})", field="smtp.from"
        )
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused):
        return _by_code(
            exc.code, f"{where}: the SMTP server refused the recipient", RECIPIENT_REFUSED
        )
    if isinstance(exc, aiosmtplib.SMTPDataError):
        return _by_code(exc.code, f"{where}: the SMTP server refused the message", MESSAGE_REFUSED)
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
        return TransientDeliveryError(f"{where}: the SMTP server timed out")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        # Greeting, HELO/EHLO or another command refused: about the session, not the message.
        if exc.code >= 500:
            return DeliveryConfigurationError(
                f"the SMTP server refused the session ({exc.code})", field="smtp.host"
            )
        return TransientDeliveryError(
            f"{where}: the SMTP server deferred the session ({exc.code})", smtp_code=exc.code
        )
    if isinstance(exc, aiosmtplib.SMTPException | OSError):
        return TransientDeliveryError(
            f"{where}: the SMTP server could not be reached ({type(exc).__name__})"
        )
    return FatalError(f"{where}: unexpected failure while sending ({type(exc).__name__})")


def _by_code(code: int, message: str, reason: str) -> FrontdeskError:
    if 400 <= code < 500:
        return TransientDeliveryError(f"{message} for now ({code})", smtp_code=code)
    return PermanentDeliveryError(f"{message} ({code})", reason=reason, smtp_code=code)


def _status(response: str) -> str:
    """The server's final answer (e.g. a queue id), scrubbed of anything like an address."""
    return scrub_text(" ".join(response.split()))[:200]
