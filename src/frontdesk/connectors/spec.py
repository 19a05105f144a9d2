"""The source contract: what an integration source says about itself, and its registry.

A source plugs in with a :class:`Source`: its :class:`SourceSpec` (like an Airbyte
connector's ``spec()``) and a factory for the :class:`~frontdesk.connectors.base.Connector`
of one integration group. The core never names a vendor's keys: the integration API's
validation, routing, the rules, the Add-integration wizard and the credential checks read the
spec, and the catalog rows (source, triggers) are upserted from it at start-up
(:func:`frontdesk.integrations.catalog.upsert_specs`).

A spec declares:

- its catalog entry: source id, name, display name, category, lifecycle, triggers (id, name,
  display name, type);
- the property keys it accepts (:class:`PropertySpec`: type, validator, level, secure flag,
  required, help text); the keys every source shares (review link, channel, fetch delay,
  rule settings) are the core's own (:mod:`frontdesk.integrations.properties`);
- which keys hold credentials, which location property is the default match key, which keys
  are the status and type allow-lists, which key is the password that ages and how old it may
  get, and whether the app's own service credentials are sent along (and so expire).

Validators return the value to store or raise ``ValueError`` with a message that never
quotes the value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol
from urllib.parse import urlsplit

from frontdesk.clock import Clock
from frontdesk.connectors.base import Connector
from frontdesk.connectors.limits import ConcurrencyLimits
from frontdesk.errors import ConfigurationError
from frontdesk.settings import Settings

Level = Literal["group", "location"]
Scope = Literal["group", "location", "both"]
JOB_TRIGGER_TYPE = (1, "JOB")
"""The trigger type every polled or stored source runs as (id 1, ``JOB``)."""


def text(value: str) -> str:
    """Any non-blank text."""
    if not value.strip():
        raise ValueError("must not be blank")
    return value


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


_SHAPE = re.compile(r"^[A-Za-z0-9_.\-]{1,120}$")


@dataclass(frozen=True)
class PropertySpec:
    """What a known property key may hold and where it may be set."""

    key: str
    kind: str
    validator: Callable[[str], str]
    scope: Scope
    secure: bool = False
    required: bool = False
    match_key: bool = False  # may be named by data.fetch.logic
    mapping_field: str | None = None  # a location value is stored in this integer column
    outbound_url: bool = False  # the server connects to it: staff only, allow-listed
    default: str | None = None  # the value the rules use when the key is set nowhere
    description: str = ""

    def allowed_at(self, level: Level) -> bool:
        return self.scope in ("both", level)


@dataclass(frozen=True)
class TriggerSpec:
    """A trigger of the catalog, e.g. 56 ``allscriptsAppointmentTriggerService``."""

    trigger_id: int
    name: str
    display_name: str
    description: str = ""
    trigger_type_id: int = JOB_TRIGGER_TYPE[0]
    trigger_type_name: str = JOB_TRIGGER_TYPE[1]
    action_group_id: int = 1


@dataclass(frozen=True)
class CatalogEntry:
    """The integration source row: id, name, display name, category, lifecycle, triggers."""

    source_id: int
    name: str
    display_name: str
    triggers: tuple[TriggerSpec, ...]
    category: str = "Healthcare"
    lifecycle: Literal["live", "beta"] = "live"
    integration_type: str = "frontdesk"
    oauth_enabled: bool = False


@dataclass(frozen=True)
class SourceSpec:
    """Everything the core needs to know about a source (see the module docstring)."""

    catalog: CatalogEntry
    properties: tuple[PropertySpec, ...]
    match_key: str
    """The location property that is the primary match key unless data.fetch.logic says."""
    status_key: str | None = None
    """The allow-list of statuses meaning the visit happened (empty: every status)."""
    type_key: str | None = None
    """The allow-list of appointment types (empty: every type)."""
    credential_keys: tuple[str, ...] = ()
    """The keys re-authorisation asks for (the Integrations page and ``reauthorize``)."""
    password_key: str | None = None
    """A secret that expires by age (warned from ``credentials.pm_password_warn_from_day``)."""
    password_max_age_days: int | None = None
    uses_app_credentials: bool = False
    """The app's own service credentials go along (their expiry is this source's too)."""
    _by_key: dict[str, PropertySpec] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for spec in self.properties:
            if not _SHAPE.match(spec.key) or spec.key in self._by_key:
                raise ValueError(f"{self.name}: bad or repeated property key {spec.key!r}")
            self._by_key[spec.key] = spec
        if self.match_key not in self._by_key or not self._by_key[self.match_key].match_key:
            raise ValueError(f"{self.name}: the match key must be a declared location key")

    @property
    def name(self) -> str:
        return self.catalog.name

    def key_spec(self, key: str) -> PropertySpec | None:
        """The spec of one of this source's own keys."""
        return self._by_key.get(key)

    @property
    def allow_list_keys(self) -> tuple[str, ...]:
        """The status and type allow-list keys (the wizard offers them per location)."""
        return tuple(k for k in (self.status_key, self.type_key) if k is not None)


ConnectorFactory = Callable[[Mapping[str, str], Settings, ConcurrencyLimits, Clock], Connector]
"""``(group's effective properties, settings, the process's limits, its clock) → connector``."""


class Source(Protocol):
    """A registered integration source: its spec and its connector factory."""

    @property
    def spec(self) -> SourceSpec: ...

    def connector(
        self,
        properties: Mapping[str, str],
        settings: Settings,
        limits: ConcurrencyLimits,
        clock: Clock,
    ) -> Connector:
        """The connector of one group (``properties``: decrypted, effective)."""
        ...


@dataclass(frozen=True)
class PluggedSource:
    """A :class:`Source` from a spec and a factory function."""

    spec: SourceSpec
    factory: ConnectorFactory

    def connector(
        self,
        properties: Mapping[str, str],
        settings: Settings,
        limits: ConcurrencyLimits,
        clock: Clock,
    ) -> Connector:
        return self.factory(properties, settings, limits, clock)


class SourceRegistry:
    """The sources this process knows, by name (``integration_source.name``) and id."""

    def __init__(self, sources: Iterable[Source] = ()) -> None:
        self._by_name: dict[str, Source] = {}
        self._by_id: dict[int, Source] = {}
        for source in sources:
            self.add(source)

    def add(self, source: Source) -> None:
        entry = source.spec.catalog
        if entry.name.upper() in self._by_name or entry.source_id in self._by_id:
            raise ValueError(f"source {entry.name} ({entry.source_id}) registered twice")
        self._by_name[entry.name.upper()] = source
        self._by_id[entry.source_id] = source

    def __iter__(self) -> Iterator[Source]:
        return iter(sorted(self._by_id.values(), key=lambda s: s.spec.catalog.source_id))

    def find(self, name: str) -> Source | None:
        return self._by_name.get(name.upper())

    def get(self, name: str) -> Source:
        """The source called ``name``; a group of an unregistered source cannot run."""
        source = self.find(name)
        if source is None:
            raise ConfigurationError(
                f"no connector is registered for the integration source {name}", field="source"
            )
        return source

    def spec(self, name: str) -> SourceSpec | None:
        source = self.find(name)
        return source.spec if source is not None else None
