"""The property keys every source shares, and the one checker for core and source keys.

The keys of one source (credentials, allow-lists, the location match key) are declared by
its spec (:class:`~frontdesk.connectors.spec.SourceSpec`); the keys here are the core's own:
the review link, channel and reply-to, the fetch delay, the rule settings and
``data.fetch.logic``; a channel plugin declares its own (the ``sms`` channel's sender per
business), passed in from the process's channel registry. Each spec says the value's type
(a validator that returns the stored text or raises ``ValueError`` with a message that
never quotes the value), where the key may be set (group, location or both: a location
value of a group key is an override), whether it is secure (for a known key the spec
decides, whatever ``isSecure`` the caller sent: a password is never stored in plain text by
mistake, a location name never hidden from routing) and whether every group of its source
needs it. Unknown keys are kept as sent and reported as unknown; ``isSecure`` is honoured
for them. ``review.channel`` must name a channel (or channel choice) registered in this
process, ``data.fetch.logic`` a match key of the group's source.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from frontdesk.connectors.spec import (
    Level,
    PropertySpec,
    SourceSpec,
    allow_list,
    http_url,
)
from frontdesk.errors import InvalidInput
from frontdesk.integrations.models import PropertyColumns
from frontdesk.plugins import Plugins
from frontdesk.security.secrets import SecretBox

DATA_FETCH_LOGIC = "data.fetch.logic"
CHANNEL = "review.channel"
DEFAULT_CHANNEL = "email"
CUSTOMER_FETCH_DELAY = "customer.fetch.delay"
# Without a configured delay the sync reads yesterday's appointments: the 06:00 run then sees
# visits that have happened, not today's still-open schedule.
DEFAULT_CUSTOMER_FETCH_DELAY_DAYS = 1
MAX_VALUE_LENGTH = 2000
MASK = "********"

_KEY_SHAPE = re.compile(r"^[A-Za-z0-9_.\-]{1,120}$")


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
    """A review channel name (whether it is registered is checked against the process's)."""
    name = value.strip().lower()
    if not _KEY_SHAPE.match(name):
        raise ValueError("must be a channel name")
    return name


def reply_to_address(value: str) -> str:
    """A plain email address."""
    from frontdesk.delivery.addresses import check_email_address

    checked = check_email_address(value)
    if checked.address is None:
        raise ValueError("must be a plain email address")
    return checked.address


def _review_sites(value: str) -> str:
    """Name=URL entries (:func:`frontdesk.delivery.tracking.landing.review_sites`)."""
    from frontdesk.delivery.tracking.landing import review_sites

    return review_sites(value)


def property_key(value: str) -> str:
    """The name of a location property (whether it is a match key is checked per source)."""
    if not _KEY_SHAPE.match(value.strip()):
        raise ValueError("must name a location property")
    return value.strip()


CORE: tuple[PropertySpec, ...] = (
    PropertySpec(
        DATA_FETCH_LOGIC,
        "property-key",
        property_key,
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
        "review.sites",
        "review-sites",
        _review_sites,
        "both",
        description="public review sites (Name=URL, one per line or ';'): the link's page",
    ),
    PropertySpec(
        CHANNEL,
        "channel",
        channel_name,
        "both",
        description="how review requests are sent: a registered channel (default: email)",
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

CORE_SPECS: dict[str, PropertySpec] = {spec.key: spec for spec in CORE}


def specs_of(
    source: SourceSpec | None, channels: Iterable[PropertySpec] = ()
) -> list[PropertySpec]:
    """Every key a group of ``source`` knows: its own, the core's, then those the registered
    channels own (``channels``: :meth:`ChannelRegistry.property_specs`)."""
    return [*(source.properties if source else ()), *CORE, *channels]


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


def spec_for(
    key: str, source: SourceSpec | None, channels: Iterable[PropertySpec] = ()
) -> PropertySpec | None:
    """The spec of ``key`` for groups of ``source`` (and the channels' keys), or None when
    the key is unknown there."""
    own = source.key_spec(key) if source is not None else None
    return own or CORE_SPECS.get(key) or next((s for s in channels if s.key == key), None)


def check_property(
    *,
    key: str,
    value: str,
    is_secure: bool,
    level: Level,
    source: SourceSpec | None,
    plugins: Plugins,
    field: str,
) -> CheckedProperty:
    """Validate one property for ``level``; ``field`` prefixes the error's field name."""
    if not _KEY_SHAPE.match(key):
        raise InvalidInput(
            "a property key has 1-120 letters, digits, '_', '.' or '-'",
            field=_join(field, "propertyKey"),
        )
    spec = spec_for(key, source, plugins.channels.property_specs())
    limit = spec.max_length if spec is not None and spec.max_length else MAX_VALUE_LENGTH
    if len(value) > limit:
        raise InvalidInput(
            f"{key}: a value has at most {limit} characters",
            field=_join(field, "propertyValue"),
        )
    if spec is None:
        return CheckedProperty(key=key, value=value, secure=is_secure, spec=None)
    if not spec.allowed_at(level):
        where = "on the group" if spec.scope == "group" else "on a location mapping"
        raise InvalidInput(f"{key} can only be set {where}", field=_join(field, "propertyKey"))
    try:
        stored = spec.validator(value)
        _check_plugged(spec, stored, source=source, plugins=plugins)
    except ValueError as exc:
        raise InvalidInput(f"{key} {exc}", field=_join(field, "propertyValue")) from None
    return CheckedProperty(key=key, value=stored, secure=spec.secure, spec=spec)


def _check_plugged(
    spec: PropertySpec, value: str, *, source: SourceSpec | None, plugins: Plugins
) -> None:
    """The checks that depend on what is registered: channels, the source's match keys."""
    if spec.key == CHANNEL and value not in plugins.channels.names():
        choices = ", ".join(plugins.channels.names())
        raise ValueError(f"must name a registered channel ({choices})")
    if spec.key == DATA_FETCH_LOGIC:
        keys = sorted(s.key for s in specs_of(source) if s.match_key)
        if value not in keys:
            raise ValueError(f"must name a location match key ({', '.join(keys)})")


def check_properties(
    items: Sequence[tuple[str, str, bool]],
    *,
    level: Level,
    source: SourceSpec | None,
    plugins: Plugins,
    field: str,
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
                key=key,
                value=value,
                is_secure=is_secure,
                level=level,
                source=source,
                plugins=plugins,
                field=where,
            )
        )
    return checked


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def required_group_keys(source: SourceSpec | None) -> list[str]:
    """Keys every group of ``source`` must have."""
    return [s.key for s in specs_of(source) if s.required]


def unknown_keys(
    keys: Iterable[str], source: SourceSpec | None, channels: Iterable[PropertySpec] = ()
) -> list[str]:
    """The keys the registry does not know for ``source`` (and ``channels``), sorted."""
    known = tuple(channels)
    return sorted(k for k in keys if spec_for(k, source, known) is None)


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
