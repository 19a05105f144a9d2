"""The one typed settings object.

Everything is read from environment variables prefixed ``FRONTDESK_`` (``__`` nests, e.g.
``FRONTDESK_UNITY__URL``) and, for secrets, from files in a secrets directory
(``FRONTDESK_SECRETS_DIR``, default ``/run/secrets`` when it exists; one file per setting, named
like the environment variable in lower case, e.g. ``frontdesk_unity__service_password``).
Settings are built once, in the application factory or the CLI, and passed down.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class UnitySettings(BaseModel):
    """Our registered Unity application (app-wide, not per client)."""

    url: str = "http://127.0.0.1:8091/UnityService.svc/json"
    appname: str = "frontdesk"
    service_username: str = "frontdesk-svc"
    service_password: SecretStr = SecretStr("")
    service_credentials_expire_on: date | None = None
    timeout_s: float = 30.0
    concurrency_per_group: int = 4
    concurrency_total: int = 32


class SmtpSettings(BaseModel):
    """Outgoing mail."""

    host: str = "127.0.0.1"
    port: int = 25
    username: str | None = None
    password: SecretStr | None = None
    starttls: bool = False
    from_: str = Field(default="reviews@frontdesk.localhost", alias="from")
    pool_size: int = Field(default=8, ge=1)
    """Connections the email channel keeps open and reuses (at most this many sends at once)."""
    timeout_s: float = Field(default=30.0, gt=0)
    """Connect and per-command timeout."""

    model_config = {"populate_by_name": True}


class TwilioSettings(BaseModel):
    """Text messages through Twilio Programmable Messaging (``FRONTDESK_TWILIO__...``).

    The ``sms`` channel is registered only when ``account_sid`` is set. ``api_url`` is a base
    without the API version (tests and the demo point it at ``frontdesk sandbox twilio``).
    """

    account_sid: str | None = None
    auth_token: SecretStr = SecretStr("")
    from_: str | None = Field(default=None, alias="from")
    """The default sender number (E.164), unless a messaging service is used."""
    messaging_service_sid: str | None = None
    api_url: str = "https://api.twilio.com"
    timeout_s: float = Field(default=15.0, gt=0)
    max_connections: int = Field(default=16, ge=1)
    default_region: str = "US"
    """How a number without a country code is read (ISO 3166 region of ``phonenumbers``)."""
    help_text: str = (
        "Review requests from your healthcare provider. Reply STOP to opt out, START to opt "
        "back in. Msg&data rates may apply."
    )
    """The answer to HELP / INFO."""

    model_config = {"populate_by_name": True}

    @property
    def configured(self) -> bool:
        return bool(self.account_sid)


class JobsSettings(BaseModel):
    """Which job runner executes task bodies (``FRONTDESK_JOBS__...``)."""

    backend: Literal["local", "procrastinate"] = "local"
    concurrency: int = 8
    """Jobs one process runs at once (``frontdesk worker --concurrency`` overrides)."""
    heartbeat_s: float = Field(default=10.0, gt=0)
    """procrastinate: how often a worker tells the database it is alive."""
    stalled_after_s: float = Field(default=30.0, gt=0)
    """procrastinate: a worker silent this long is dead; the sweeper requeues its jobs."""
    keep_finished_hours: int = Field(default=72, ge=1)
    """procrastinate: finished jobs older than this are pruned (daily)."""
    shutdown_graceful_timeout_s: float | None = Field(default=None, gt=0)
    """``frontdesk worker``: how long running jobs may take to finish after SIGTERM."""


class SyncSettings(BaseModel):
    """The sync engine: dispatcher, runs, rule defaults (``FRONTDESK_SYNC__...``)."""

    worker: bool = True
    """``frontdesk serve`` runs the dispatcher and the embedded runner (``--no-worker``: off)."""
    tick_s: float = 30.0
    lease_s: float = 120.0
    max_attempts: int = 5
    retry_base_s: float = 5.0
    retry_max_s: float = 300.0
    batch_size: int = Field(default=500, ge=1)
    batch_max_wait_s: float = Field(default=3.0, ge=0)
    """A batch of decisions is written once it holds ``batch_size`` appointments or once an
    appointment arrives this long after the batch's first: review requests go out while a
    slow read is still going on, not only at its end."""
    log_decisions: bool = True
    """One ``checkin.decided`` JSON log line per decision (ids and codes, no patient data)."""
    min_age: int = 18
    frequency_cap_days: int = 30
    sensitive_types: list[str] = ["BEHAVHLT"]
    backfill_request_max_age_days: int = 7
    """Backfill runs restrict appointments older than this many days (``too_old``)."""


class ReviewSettings(BaseModel):
    """The review-request ledger (``FRONTDESK_REVIEW__...``): retries, lease, sweeper."""

    max_attempts: int = 5
    """Sends tried (transient failures) before a request is parked for an operator."""
    retry_base_s: float = 60.0
    retry_max_s: float = 3600.0
    lease_s: float = 300.0
    """A request ``sending`` for longer than this is resolved by the sweeper (after a crash)."""
    sweep_s: float = 30.0
    sweep_batch: int = 1000
    sweep_grace_s: float = 10.0
    """Pending rows untouched for this long are re-deferred (fresh ones already have a job)."""
    claim_batch: int = Field(default=32, ge=1)
    """Requests claimed (and recorded) per transaction by one send job."""
    send_concurrency: int = Field(default=32, ge=1)
    """Messages in flight at once in this process (``send_concurrency // claim_batch`` slices;
    they share the channel's connections, ``smtp.pool_size`` for email)."""


class CredentialSettings(BaseModel):
    """Credential health (``FRONTDESK_CREDENTIALS__...``): expiry warnings, their check."""

    pm_password_max_age_days: int = 90
    pm_password_warn_from_day: int = 80
    service_credentials_warn_days: int = 14
    check_interval_s: float = 3600.0
    """How often ``frontdesk serve`` looks for expiry warnings (0: never)."""


class WebhookDeliverySettings(BaseModel):
    """Signed webhook deliveries of one kind (:mod:`frontdesk.webhooks`): review-request
    events under ``FRONTDESK_WEBHOOKS__...``, which also sets the pump's ``poll_s`` and
    ``batch``; ticket pushes under ``FRONTDESK_ANSWERING__WEBHOOKS__...``."""

    max_attempts: int = Field(default=8, ge=1)
    """POSTs before a delivery is parked (with the defaults: 30 to 60 min after the first)."""
    backoff_base_s: float = Field(default=30.0, gt=0)
    backoff_max_s: float = Field(default=1800.0, gt=0)
    timeout_s: float = Field(default=10.0, gt=0)
    lease_s: float = Field(default=120.0, gt=0)
    """How long a claimed delivery stays ``sending`` before another runner may take it over."""
    poll_s: float = Field(default=5.0, gt=0)
    batch: int = Field(default=50, ge=1)


class TicketWebhookSettings(WebhookDeliverySettings):
    """Ticket status pushes to answering services (``FRONTDESK_ANSWERING__WEBHOOKS__...``)."""


class HttpSettings(BaseModel):
    """Outbound HTTP (``FRONTDESK_HTTP__...``): EHR calls, provider calls, webhooks.

    Proxies come from the standard ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``NO_PROXY`` variables
    (see :mod:`frontdesk.outbound.proxies`), not from here.
    """

    ca_bundle: Path | None = None
    """A PEM file of CA certificates trusted *instead of* the default store (certifi)."""


class FhirSettings(BaseModel):
    """FHIR R4 sources (``FRONTDESK_FHIR__...``); the per-group values are properties."""

    timeout_s: float = Field(default=30.0, gt=0)
    page_size: int = Field(default=100, ge=1, le=1000)
    """``_count`` of an appointment search page."""
    patient_batch: int = Field(default=50, ge=1, le=500)
    """Patient ids per ``Patient?_id=a,b,c`` when the server has no ``_include``."""
    scopes: str = "system/Appointment.read system/Patient.read system/Location.read"
    """Default ``scope`` of the token request (the group property ``fhir.scopes`` overrides)."""
    token_refresh_margin_s: float = Field(default=60.0, ge=0)
    """A cached access token is replaced this long before its ``expires_in`` runs out."""


class AnsweringSettings(BaseModel):
    """How the Answering Service API v2 resolves the vendor's ambiguities (spec §6;
    docs/answering.md), with the spec's recommendations as defaults
    (``FRONTDESK_ANSWERING__...``)."""

    http_status_codes: bool = False
    """Ambiguity 4: HTTP 200 with the code in the body unless this is on."""
    allow_empty_client_code: bool = False
    """Ambiguity 9: ``client_code`` is required non-blank by default."""
    strict_dob: bool = True
    """Ambiguity 24: also refuse birth years before 1900 and dates after today (410)."""
    notes_timezone: str = "UTC"
    """Ambiguity 21: the time zone of the ``notes`` timestamp."""
    case_insensitive_usernames: bool = False
    """§4.3 step 2: usernames match exactly unless this is on."""
    max_body_bytes: int = Field(default=1_048_576, ge=1)
    """Bodies above this are refused with a clear message."""
    token_ttl_s: int = Field(default=7200, ge=1)
    """§4.4: a token expires this long after its last recorded activity."""
    activity_granularity_s: int = Field(default=60, ge=1)
    """A token's last activity is written at most once per this many seconds."""
    lockout_failures: int = Field(default=5, ge=1)
    """More than this many failed tokenCreate calls for one username within the window lock it."""
    lockout_window_s: int = Field(default=900, ge=1)
    lockout_duration_s: int = Field(default=900, ge=1)
    token_max_lifetime_s: int = Field(default=43_200, ge=60)
    """Absolute token lifetime, beside the 2-hour idle expiry (``..._TOKEN_MAX_LIFETIME_S``)."""
    lockout_source_failures: int = Field(default=100, ge=1)
    """tokenCreate failures from one source address (any username) that lock it for 15 min."""
    lockout_account_failures: int = Field(default=20, ge=1)
    """Failures for one username (all sources) that lock it against sources that failed."""
    webhooks: TicketWebhookSettings = TicketWebhookSettings()


class OutboundSettings(BaseModel):
    """Where frontdesk may connect on a tenant's behalf (``FRONTDESK_OUTBOUND__...``).

    See :mod:`frontdesk.security.outbound` for the rule.
    """

    allowed_hosts: str = ""
    """Comma-separated ``host`` or ``host:port`` (``*.example.org``: its subdomains). Only
    listed hosts (and the origins of URLs configured here, e.g. ``unity.url``) may receive
    the application's credentials or resolve to loopback, link-local or private addresses."""

    @field_validator("allowed_hosts")
    @classmethod
    def _parse(cls, value: str) -> str:
        from frontdesk.security.hosts import parse_allowed_hosts

        parse_allowed_hosts(value)  # refuse a malformed entry at start-up
        return value


class RetentionSettings(BaseModel):
    """How long patient data is kept (``FRONTDESK_RETENTION__...``)."""

    patient_data_days: int = Field(default=400, ge=1)
    """Check-ins older than this (by appointment day) lose their patient fields, daily."""


class UsageSettings(BaseModel):
    """Usage metering (``FRONTDESK_USAGE__...``; docs/usage.md)."""

    enabled: bool = True
    """Count work per business and day; off: nothing is counted or written."""
    flush_s: float = Field(default=60.0, gt=0)
    """How often a process adds its in-memory counts to the usage table (and on stop)."""
    keep_days: int = Field(default=400, ge=1)
    """Usage rows older than this many days are deleted (daily, by the flushing loop)."""


class MetricsSettings(BaseModel):
    """``/metrics`` for Prometheus (``FRONTDESK_METRICS__...``; docs/usage.md)."""

    token: SecretStr | None = None
    """Unset: ``/metrics`` answers 404 and nothing is instrumented for it. Set: a scraper
    sends ``Authorization: Bearer <token>``; at least 16 characters."""

    @field_validator("token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().strip()) < 16:
            raise ValueError("the metrics token must be at least 16 characters")
        return value


class MllpSettings(BaseModel):
    """The HL7v2 listener (``FRONTDESK_MLLP__...``); ``port`` set starts it in serve and demo."""

    host: str = "127.0.0.1"
    port: int | None = None
    tls_cert: Path | None = None
    """PEM certificate chain: the listener speaks MLLP over TLS when set (with ``tls_key``)."""
    tls_key: Path | None = None
    max_message_bytes: int = Field(default=1_048_576, ge=1024)
    idle_timeout_s: float = Field(default=600.0, gt=0)
    """A kept-alive connection silent this long is closed."""
    retention_days: int = Field(default=90, ge=1)
    """Stored messages older than this are deleted (hourly, by the listener)."""
    facility_refresh_s: float = Field(default=5.0, gt=0)
    """How long the set of configured sending facilities is cached."""
    receiving_application: str = "FRONTDESK"
    receiving_facility: str = "FRONTDESK"
    store_delay_s: float = Field(default=0.0, ge=0)
    """Fault knob for tests: wait this long between receiving a message and storing it."""


class ActivationsSettings(BaseModel):
    """Client activations (``FRONTDESK_ACTIVATIONS__...``)."""

    notify: str | None = None
    """The support group's address: a confirmation mail on every activation change
    (``FRONTDESK_ACTIVATIONS__NOTIFY``; unset: ``FRONTDESK_SUPPORT_EMAIL``)."""

    @field_validator("notify")
    @classmethod
    def _one_address(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        local, at, domain = value.rpartition("@")
        if not at or not local or "." not in domain or any(c in value for c in " ,;<>\r\n"):
            raise ValueError("notify must be one e-mail address, e.g. support@example.org")
        return value


class AlertSettings(BaseModel):
    """``FRONTDESK_ALERTS__*``: when support is mailed about failed runs, parked review
    requests and quiet components (see docs/alerts.md)."""

    check_interval_s: float = Field(default=60.0, ge=0)
    """How often serve evaluates the conditions (0: never)."""
    parked_after_s: float = Field(default=3600.0, gt=0)
    """A review request parked longer than this raises ``requests_parked``."""
    quiet_after_s: float = Field(default=300.0, gt=0)
    """A listener or worker silent longer than this raises ``component_quiet``."""
    heartbeat_s: float = Field(default=30.0, gt=0)
    """How often listeners and workers say they are alive (below ``quiet_after_s``)."""
    recent_days: int = Field(default=14, ge=1)
    """Resolved alerts shown on the Alerts page for this many days."""

    @model_validator(mode="after")
    def _beats_before_quiet(self) -> AlertSettings:
        # A threshold at or below the beat interval would call every healthy component quiet.
        if self.heartbeat_s * 2 > self.quiet_after_s:
            raise ValueError(
                "alerts.quiet_after_s must be at least twice alerts.heartbeat_s "
                f"({self.quiet_after_s} < 2 x {self.heartbeat_s})"
            )
        return self


class Settings(BaseSettings):
    """All configuration of one frontdesk process."""

    model_config = SettingsConfigDict(
        env_prefix="FRONTDESK_",
        env_nested_delimiter="__",
        extra="ignore",
        case_sensitive=False,
    )

    data_dir: Path = Path(".frontdesk")
    database_url: str | None = None
    secret_keys: SecretStr | None = Field(
        default=None,
        description="Comma-separated Fernet keys, newest first. Default: a key file in data_dir.",
    )
    support_email: str | None = None
    log_level: str = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"
    """``FRONTDESK_LOG_FORMAT``: ``auto`` (structlog's console renderer when stderr is a
    terminal, JSON lines otherwise), or always ``json`` / ``console``."""
    event_loop: Literal["auto", "asyncio", "uvloop"] = "auto"
    """The event loop of serve, worker and demo (see :mod:`frontdesk.eventloop`)."""
    access_log: bool = True
    auto_migrate: bool = True
    public_url: str = "http://127.0.0.1:8080"
    """The address users reach this server at; ``https://`` turns on HSTS."""
    unity: UnitySettings = UnitySettings()
    smtp: SmtpSettings = SmtpSettings()
    jobs: JobsSettings = JobsSettings()
    answering: AnsweringSettings = AnsweringSettings()
    sync: SyncSettings = SyncSettings()
    review: ReviewSettings = ReviewSettings()
    credentials: CredentialSettings = CredentialSettings()
    alerts: AlertSettings = AlertSettings()
    http: HttpSettings = HttpSettings()
    outbound: OutboundSettings = OutboundSettings()
    retention: RetentionSettings = RetentionSettings()
    fhir: FhirSettings = FhirSettings()
    mllp: MllpSettings = MllpSettings()
    twilio: TwilioSettings = TwilioSettings()
    webhooks: WebhookDeliverySettings = WebhookDeliverySettings()
    """Review-request webhook events and the one delivery pump (``FRONTDESK_WEBHOOKS__...``)."""
    activations: ActivationsSettings = ActivationsSettings()
    usage: UsageSettings = UsageSettings()
    metrics: MetricsSettings = MetricsSettings()

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def sqlalchemy_url(self) -> str:
        """The async SQLAlchemy URL: the embedded SQLite file unless a database URL is set."""
        return async_database_url(
            self.database_url or f"sqlite:///{self.data_dir / 'frontdesk.db'}"
        )


def async_database_url(url: str) -> str:
    """Normalise a user-facing database URL to the async driver we use."""
    for plain, driver in (
        ("postgresql://", "postgresql+psycopg://"),
        ("postgres://", "postgresql+psycopg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment, the secrets directory and explicit overrides."""
    secrets_dir = os.environ.get("FRONTDESK_SECRETS_DIR")
    if secrets_dir is None and Path("/run/secrets").is_dir():
        secrets_dir = "/run/secrets"
    if secrets_dir:
        return Settings(_secrets_dir=secrets_dir, **overrides)
    return Settings(**overrides)
