"""The email channel: review requests over SMTP with ``aiosmtplib``.

The message's review link is the request's tracked link (``{FRONTDESK_PUBLIC_URL}/r/{token}``,
:mod:`frontdesk.delivery.tracking`) when the channel is given :class:`TrackedLinks` (the
composition root does): the templates' ``{{ review_url }}`` renders it, and the click is
recorded before the patient reaches the location's review page.

The only module that imports ``aiosmtplib``. Failures are classified here, once:

- a 4xx answer (greeting, MAIL, RCPT, DATA), a refused/lost connection, a timeout, a TLS
  handshake that breaks off → :class:`TransientDeliveryError` (retry with backoff);
- a 5xx answer to RCPT or DATA, i.e. about *this* message → :class:`PermanentDeliveryError`
  (the request is failed);
- a refused login, a refused sender, STARTTLS unavailable, an untrusted certificate →
  :class:`DeliveryConfigurationError` (our settings are wrong: every message would fail).

Error text carries the SMTP code and the ledger key; never the server's free text, which
often quotes the recipient address.

Connections are pooled and reused (:class:`EmailChannel`); a failure that drops a connection
is classified exactly as on a fresh one.

SMTP cannot tell afterwards whether a message was accepted, so a request found ``sending``
after a crash cannot be resolved here (``supports_idempotency_check = False``): the ledger
parks it for an operator. The ``Message-ID`` derived from the ledger key lets the operator
(or a receiving system) recognise a duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time

import aiosmtplib
from aiosmtplib import SMTPStatus

from frontdesk.clock import Clock, SystemClock
from frontdesk.delivery.addresses import usable_review_url
from frontdesk.delivery.channel import (
    MESSAGE_REFUSED,
    RECIPIENT_REFUSED,
    DeliveryConfigurationError,
    OutgoingMessage,
    PermanentDeliveryError,
    SendResult,
    TransientDeliveryError,
)
from frontdesk.delivery.email_format import BuiltEmail, build_email, message_id_from
from frontdesk.delivery.reach import Reach
from frontdesk.delivery.tracking.minting import TrackedLinks
from frontdesk.errors import FatalError, FrontdeskError
from frontdesk.logs import get_logger
from frontdesk.security.redaction import scrub_text
from frontdesk.settings import SmtpSettings

log = get_logger(__name__)

DEFAULT_TIMEOUT_S = 30.0
IMPLICIT_TLS_PORT = 465
IDLE_CLOSE_S = 30.0
"""An idle pooled connection is closed after this long (relays drop idle sessions anyway)."""
CHECK_AFTER_IDLE_S = 5.0
"""A pooled connection idle for longer is probed with ``NOOP`` before it carries a message."""

# Refusals about the message (after which aiosmtplib has sent RSET): the session stays usable.
_MESSAGE_REFUSALS = (
    aiosmtplib.SMTPRecipientsRefused,
    aiosmtplib.SMTPRecipientRefused,
    aiosmtplib.SMTPDataError,
)
_SERVICE_CLOSING = 421


class EmailChannel:
    """Sends review requests through the configured SMTP relay (``FRONTDESK_SMTP__*``).

    Port 465 means implicit TLS; otherwise ``starttls`` true requires STARTTLS and false sends
    in the clear (a relay on loopback or in a private network).

    Connections are pooled: at most ``smtp.pool_size`` are open, each carries one message at a
    time, opened on demand and reused. A connection goes back to the pool after an accepted
    message or a refusal of the message (4xx/5xx on RCPT or DATA: aiosmtplib has sent ``RSET``);
    it is dropped after anything else (lost connection, timeout, a refused session). Idle
    connections are closed after ``idle_close_s``; one idle for more than
    :data:`CHECK_AFTER_IDLE_S` is probed with ``NOOP`` first. :meth:`aclose` closes them all.
    """

    name = "email"
    reaches = Reach.EMAIL

    def __init__(
        self,
        smtp: SmtpSettings,
        *,
        clock: Clock | None = None,
        timeout_s: float | None = None,
        tls_context: ssl.SSLContext | None = None,
        idle_close_s: float = IDLE_CLOSE_S,
        links: TrackedLinks | None = None,
    ) -> None:
        self._smtp = smtp
        self._links = links
        self._clock = clock or SystemClock()
        self._timeout_s = smtp.timeout_s if timeout_s is None else timeout_s
        self._tls_context = tls_context
        self._idle_close_s = idle_close_s
        self._slots = asyncio.Semaphore(max(1, smtp.pool_size))
        # Idle connections with the monotonic time they were last used; the newest is last.
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []
        self._reaper: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.connections_opened = 0
        """Connections opened so far (tests, diagnostics)."""

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Deliver one review request; raises a classified delivery error on failure.

        With tracked links (the composition root gives them), the message's review link is
        the request's ``/r/{token}``, stored before the message leaves."""
        links = self._links
        review_link = await links.url_for(message.ledger_key) if links is not None else None
        built = build_email(  # checks the recipient and the review link: nothing stored yet
            message,
            sender_address=self._smtp.from_,
            when=self._clock.now(),
            review_link=review_link,
        )
        if links is not None:
            target = usable_review_url(message.review_url)
            assert target is not None  # build_email refused the message otherwise
            await links.record(message.ledger_key, target)
        self._bind_loop()
        try:
            async with self._slots:
                response = await self._deliver(built)
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

    def message_id(self, ledger_key: str) -> str | None:
        """The ``Message-ID`` the message of ``ledger_key`` carries (derived from the key)."""
        return message_id_from(ledger_key, sender_address=self._smtp.from_)

    async def reconcile(self, ledger_key: str, message_id: str | None) -> bool | None:
        """SMTP has no way to ask: always None (the operator looks the Message-ID up)."""
        return None

    async def aclose(self) -> None:
        """Close the pooled connections (``QUIT``, then the socket); the channel stays usable.
        Links queued for writing are written first."""
        if self._links is not None:
            await self._links.aclose()
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        idle, self._idle = self._idle, []
        for client, _ in idle:
            await _quit(client)

    # -- the pool -----------------------------------------------------------------------

    def _bind_loop(self) -> None:
        """Connections belong to one event loop: used from another, start a new pool."""
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        if self._loop is not None:
            if self._reaper is not None:
                self._reaper.cancel()
                self._reaper = None
            self._idle = []  # their loop is gone or elsewhere: nothing to say to their servers
            self._slots = asyncio.Semaphore(max(1, self._smtp.pool_size))
        self._loop = loop

    async def _deliver(self, built: BuiltEmail) -> str:
        """Send over a pooled connection (the caller holds a slot: the connection is ours)."""
        client = await self._acquire()
        try:
            response = await _transact(client, built)
        except _MESSAGE_REFUSALS as exc:
            if _code(exc) != _SERVICE_CLOSING and client.is_connected:
                self._release(client)
            else:
                client.close()
            raise
        except BaseException:
            client.close()
            raise
        self._release(client)
        return response

    async def _acquire(self) -> aiosmtplib.SMTP:
        now = time.monotonic()
        while self._idle:
            client, since = self._idle.pop()
            if not client.is_connected or now - since >= self._idle_close_s:
                client.close()
                continue
            if now - since >= CHECK_AFTER_IDLE_S and not await _answers(client):
                client.close()
                continue
            return client
        return await self._connect()

    async def _connect(self) -> aiosmtplib.SMTP:
        smtp = self._smtp
        implicit_tls = smtp.port == IMPLICIT_TLS_PORT
        client = aiosmtplib.SMTP(
            hostname=smtp.host,
            port=smtp.port,
            username=smtp.username,
            password=smtp.password.get_secret_value() if smtp.password else None,
            timeout=self._timeout_s,
            use_tls=implicit_tls,
            start_tls=False if implicit_tls else smtp.starttls,
            tls_context=self._tls_context,
        )
        try:
            await client.connect()
            await _greet(client)
        except BaseException:
            client.close()
            raise
        self.connections_opened += 1
        return client

    def _release(self, client: aiosmtplib.SMTP) -> None:
        self._idle.append((client, time.monotonic()))
        if self._reaper is None:
            loop = asyncio.get_running_loop()
            self._reaper = loop.call_later(self._idle_close_s, self._reap)

    def _reap(self) -> None:
        """Close connections idle for ``idle_close_s``; come back for the others."""
        self._reaper = None
        now = time.monotonic()
        keep: list[tuple[aiosmtplib.SMTP, float]] = []
        for client, since in self._idle:
            if now - since >= self._idle_close_s or not client.is_connected:
                client.close()
            else:
                keep.append((client, since))
        self._idle = keep
        if keep:
            delay = max(0.0, keep[0][1] + self._idle_close_s - now)
            self._reaper = asyncio.get_running_loop().call_later(delay, self._reap)


async def _greet(client: aiosmtplib.SMTP) -> None:
    """EHLO (HELO if refused) on a new session, unless ``connect`` did (STARTTLS, AUTH):
    :func:`_transact` needs the server's extensions."""
    if not client.is_ehlo_or_helo_needed:
        return
    try:
        await client.ehlo()
    except aiosmtplib.SMTPHeloError:
        if not client.is_connected:
            raise
        await client.helo()


async def _transact(client: aiosmtplib.SMTP, built: BuiltEmail) -> str:
    """One mail transaction (MAIL, RCPT, DATA) for one recipient; the answer to DATA.

    ``SMTP.sendmail`` without what this message does not need: it parses both addresses
    four times with ``email.utils`` and, when the server takes ``SIZE``, normalises the
    message's line endings once more to measure it (about a fifth of the channel's CPU).
    The addresses passed :func:`~frontdesk.delivery.addresses.check_email_address` (plain
    ASCII ``local@domain``: nothing to quote, nothing that could end a command line) and
    :func:`build_email` writes CRLF lines, so its length is the ``SIZE``. Refusals raise
    the exceptions ``sendmail`` raises (classified by :func:`classify_smtp_error`), after
    the envelope is reset with ``RSET`` as ``sendmail`` does, so the session stays usable.
    The session was greeted when it was opened (:func:`_greet`).
    """
    mail = [b"FROM:<" + built.envelope_from.encode("ascii") + b">"]
    if client.supports_extension("size"):
        mail.append(b"SIZE=%d" % len(built.data))
    try:
        response = await client.execute_command(b"MAIL", *mail)
        if response.code != SMTPStatus.completed:
            raise aiosmtplib.SMTPSenderRefused(response.code, response.message, built.envelope_from)
        response = await client.execute_command(
            b"RCPT", b"TO:<" + built.envelope_to.encode("ascii") + b">"
        )
        if response.code not in (SMTPStatus.completed, SMTPStatus.will_forward):
            raise aiosmtplib.SMTPRecipientRefused(
                response.code, response.message, built.envelope_to
            )
        response = await client.data(built.data)
    except aiosmtplib.SMTPResponseException:
        with contextlib.suppress(ConnectionError, aiosmtplib.SMTPResponseException):
            await client.rset()
        raise
    return response.message


async def _answers(client: aiosmtplib.SMTP) -> bool:
    """Whether an idle connection still answers (``NOOP``)."""
    try:
        await client.noop()
    except Exception:
        return False
    return True


async def _quit(client: aiosmtplib.SMTP) -> None:
    try:
        if client.is_connected:
            with contextlib.suppress(Exception):  # closing anyway: the answer does not matter
                await client.quit()
    finally:
        client.close()


def _code(exc: BaseException) -> int:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return min((r.code for r in exc.recipients), default=550)
    return int(getattr(exc, "code", 0))


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
