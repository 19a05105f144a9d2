"""The registry of known property keys: one table of :class:`PropertySpec`, one checker.

Each spec says the value's type (a validator that returns the stored text or raises
``ValueError`` with a message that never quotes the value), where the key may be set (group,
location or both: a location value of a group key is an override), whether it is secure
(for a known key the registry decides, whatever ``isSecure`` the caller sent: a password is
never stored in plain text by mistake, a location name never hidden from routing) and whether
every group of its source needs it. Unknown keys are kept as sent and reported as unknown;
``isSecure`` is honoured for them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from frontdesk.errors import InvalidInput
from frontdesk.integrations.models import PropertyColumns
from frontdesk.security.secrets import SecretBox

Level = Literal["group", "location"]
Scope = Literal["group", "location", "both"]

ALLSCRIPTS = "ALLSCRIPTS"
DATA_FETCH_LOGIC = "data.fetch.logic"
DEFAULT_MATCH_KEY = "allscripts.location.name"
CUSTOMER_FETCH_DELAY = "customer.fetch.delay"
# Without a configured delay the sync reads yesterday's appointments: the 06:00 run then sees
# visits that have happened, not today's still-open schedule.
DEFAULT_CUSTOMER_FETCH_DELAY_DAYS = 1
MAX_VALUE_LENGTH = 2000
MASK = "********"

_KEY_SHAPE = re.compile(r"^[A-Za-z0-9_.\-]{1,120}$")
# ``ubiquity_id:client_id^tenant_id^`` (e.g. ``10220c34e:0010220^1^``) or the older ``id:user``.
_SERVICE_USER = re.compile(r"^[A-Za-z0-9_.\-]+:[A-Za-z0-9_.\-]+(\^\d+\^)?$")


def text(value: str) -> str:
    """Any non-blank text."""
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def service_user(value: str) -> str:
    """The Unity ServiceUser, ``ubiquity_id:client_id^tenant_id^``."""
    if not _SERVICE_USER.match(value.strip()):
        raise ValueError("must look like ubiquity_id:client_id^tenant_id^")
    return value.strip()


def allow_list(value: str) -> str:
    """A comma-separated list of values; blanks between commas are refused."""
    items = [item.strip() for item in value.split(",")]
    if not all(items):
        raise ValueError("must be a comma-separated list without empty items")
    return ",".join(items)


def http_url(value: str) -> str:
    """An absolute http(s) URL."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an absolute http(s) URL")
    return value.strip()


def days(value: str) -> str:
    """A whole number of days, 0 to 365."""
    try:
        number = int(value.strip())
    except ValueError:
        raise ValueError("must be a whole number of days") from None
    if not 0 <= number <= 365:
        raise ValueError("must be between 0 and 365 days")
    return str(number)


def age(value: str) -> str:
    """A whole number of years, 0 to 120."""
    try:
        number = int(value.strip())
    except ValueError:
        raise ValueError("must be a whole number of years") from None
    if not 0 <= number <= 120:
        raise ValueError("must be between 0 and 120 years")
    return str(number)


def channel_name(value: str) -> str:
    """A review channel name: ``email``, ``sms`` or ``webhook``."""
    name = value.strip().lower()
    if name not in ("email", "sms", "webhook"):
        raise ValueError("must be email, sms or webhook")
    return name


def reply_to_address(value: str) -> str:
    """A plain email address."""
    from frontdesk.delivery.addresses import check_email_address

    checked = check_email_address(value)
    if checked.address is None:
        raise ValueError("must be a plain email address")
    return checked.address


def match_key_name(value: str) -> str:
    """The name of a location property that may be the primary match key."""
    spec = SPECS.get(value.strip())
    if spec is None or not spec.match_key:
        choices = ", ".join(sorted(k for k, s in SPECS.items() if s.match_key))
        raise ValueError(f"must name a location match key ({choices})")
    return spec.key


@dataclass(frozen=True)
class PropertySpec:
    """What a known property key may hold and where it may be set."""

    key: str
    kind: str
    validator: Callable[[str], str]
    scope: Scope
    secure: bool = False
    required: bool = False
    sources: frozenset[str] = frozenset()  # empty: every source
    match_key: bool = False  # may be named by data.fetch.logic
    mapping_field: str | None = None  # a location value is stored in this integer column
    description: str = ""
    outbound: Literal["url", "credentials"] | None = None
    """The server connects to this URL ("credentials": with the application's own
    credentials): only staff may set it, and the outbound rule checks it."""

    def applies_to(self, source: str) -> bool:
        return not self.sources or source in self.sources

    def allowed_at(self, level: Level) -> bool:
        return self.scope in ("both", level)


_ALLSCRIPTS = frozenset({ALLSCRIPTS})

REGISTRY: tuple[PropertySpec, ...] = (
    PropertySpec(
        "User_Name",
        "service-user",
        service_user,
        "group",
        secure=True,
        required=True,
        sources=_ALLSCRIPTS,
        description="Unity ServiceUser ubiquity_id:client_id^tenant_id^",
    ),
    PropertySpec(
        "PM_Password",
        "text",
        text,
        "group",
        secure=True,
        required=True,
        sources=_ALLSCRIPTS,
        description="password of the PM/EHR user (expires every 90 days)",
    ),
    PropertySpec(
        "pms_user_name",
        "text",
        text,
        "group",
        required=True,
        sources=_ALLSCRIPTS,
        description="the PM/EHR user name (Unity AppUserID)",
    ),
    PropertySpec(
        "allscripts.appointment.status",
        "allow-list",
        allow_list,
        "both",
        sources=_ALLSCRIPTS,
        description="appointment statuses that may get a review request",
    ),
    PropertySpec(
        "allscripts.appointment.type",
        "allow-list",
        allow_list,
        "both",
        sources=_ALLSCRIPTS,
        description="appointment types that may get a review request",
    ),
    PropertySpec(
        "allscripts.unity.url",
        "url",
        http_url,
        "group",
        sources=_ALLSCRIPTS,
        description="this client's Unity base URL (default: the app-wide setting)",
        outbound="credentials",
    ),
    PropertySpec(
        "allscripts.location.name",
        "text",
        text,
        "location",
        sources=_ALLSCRIPTS,
        match_key=True,
        description="the location's name in Allscripts",
    ),
    PropertySpec(
        DATA_FETCH_LOGIC,
        "property-key",
        match_key_name,
        "group",
        description="the location property that is the primary match key",
    ),
    PropertySpec(
        "review.url",
        "url",
        http_url,
        "both",
        description="the review link (group default, location override)",
    ),
    PropertySpec(
        "review.channel",
        "channel",
        channel_name,
        "both",
        description="how review requests are sent: email (default); sms, webhook later",
    ),
    PropertySpec(
        "review.reply_to",
        "email",
        reply_to_address,
        "both",
        description="Reply-To address of review request emails (default: none)",
    ),
    PropertySpec(
        CUSTOMER_FETCH_DELAY,
        "days",
        days,
        "both",
        mapping_field="customer_fetch_delay_days",
        description="days to wait before asking for a review (location: customerFetchDelay)",
    ),
    PropertySpec(
        "engagement.min.age",
        "years",
        age,
        "both",
        description="patients under this age get no review request (default: settings, 18)",
    ),
    PropertySpec(
        "engagement.frequency.cap.days",
        "days",
        days,
        "both",
        description="one request per patient per this many days (default: settings, 30)",
    ),
    PropertySpec(
        "engagement.sensitive.types",
        "allow-list",
        allow_list,
        "both",
        description="appointment types that never get a review request (deny list)",
    ),
)

SPECS: dict[str, PropertySpec] = {spec.key: spec for spec in REGISTRY}


@dataclass(frozen=True)
class CheckedProperty:
    """A property that passed the registry: the value to store and how."""

    key: str
    value: str
    secure: bool
    spec: PropertySpec | None

    @property
    def known(self) -> bool:
        return self.spec is not None


def spec_for(key: str, source: str) -> PropertySpec | None:
    """The spec of ``key`` for groups of ``source``, or None when the key is unknown there."""
    spec = SPECS.get(key)
    return spec if spec is not None and spec.applies_to(source) else None


def check_property(
    *, key: str, value: str, is_secure: bool, level: Level, source: str, field: str
) -> CheckedProperty:
    """Validate one property for ``level``; ``field`` prefixes the error's field name."""
    if not _KEY_SHAPE.match(key):
        raise InvalidInput(
            "a property key has 1-120 letters, digits, '_', '.' or '-'",
            field=_join(field, "propertyKey"),
        )
    if len(value) > MAX_VALUE_LENGTH:
        raise InvalidInput(
            f"{key}: a value has at most {MAX_VALUE_LENGTH} characters",
            field=_join(field, "propertyValue"),
        )
    spec = spec_for(key, source)
    if spec is None:
        return CheckedProperty(key=key, value=value, secure=is_secure, spec=None)
    if not spec.allowed_at(level):
        where = "on the group" if spec.scope == "group" else "on a location mapping"
        raise InvalidInput(f"{key} can only be set {where}", field=_join(field, "propertyKey"))
    try:
        stored = spec.validator(value)
    except ValueError as exc:
        raise InvalidInput(f"{key} {exc}", field=_join(field, "propertyValue")) from None
    return CheckedProperty(key=key, value=stored, secure=spec.secure, spec=spec)


def check_properties(
    items: Sequence[tuple[str, str, bool]], *, level: Level, source: str, field: str
) -> list[CheckedProperty]:
    """Validate a request's property list (``(key, value, isSecure)``); keys must be unique."""
    checked: list[CheckedProperty] = []
    seen: set[str] = set()
    for index, (key, value, is_secure) in enumerate(items):
        where = _join(field, str(index)) if field else ""
        if key in seen:
            raise InvalidInput(f"{key} is given twice", field=_join(where, "propertyKey"))
        seen.add(key)
        checked.append(
            check_property(
                key=key, value=value, is_secure=is_secure, level=level, source=source, field=where
            )
        )
    return checked


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def required_group_keys(source: str) -> list[str]:
    """Keys every group of ``source`` must have."""
    return [s.key for s in REGISTRY if s.required and s.applies_to(source)]


def unknown_keys(keys: Iterable[str], source: str) -> list[str]:
    """The keys the registry does not know for ``source``, sorted."""
    return sorted(k for k in keys if spec_for(k, source) is None)


def write_value(
    row: PropertyColumns, checked: CheckedProperty, *, secrets: SecretBox, now: datetime
) -> None:
    """Store a checked value on a group or mapping property row (encrypted when secure)."""
    row.key = checked.key
    row.is_secure = checked.secure
    if checked.secure:
        row.value = None
        row.secret_value = secrets.encrypt(checked.value)
    else:
        row.value = checked.value
        row.secret_value = None
    row.updated_at = now


def read_value(row: PropertyColumns, secrets: SecretBox) -> str:
    """The plain value of a stored property, decrypted: for internal use only."""
    if row.is_secure:
        return secrets.decrypt(row.secret_value or "")
    return row.value or ""


def shown_value(row: PropertyColumns) -> str:
    """The value as the API shows it: secure values are always masked."""
    return MASK if row.is_secure else (row.value or "")
