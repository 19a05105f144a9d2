"""Routing rows to mappings, and each mapping's rule settings.

A group's schedule is read once per window; each row goes to the mapping whose match-key
property (``data.fetch.logic``, default: the source's match key) equals the row's
``LocationName`` — compared trimmed, with inner blanks collapsed, case-insensitively. A
mapping without the property (an SMB's single location) takes every row no other mapping
takes. Rows of an active mapping that this run does not cover are skipped (they belong to
that mapping's own run); rows no active mapping takes are "location not allowed".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from frontdesk.connectors.spec import SourceSpec
from frontdesk.delivery.addresses import usable_review_url
from frontdesk.engagement.rules import MappingRules, PreparedRules, StatusMatch
from frontdesk.integrations.models import IntegrationMapping
from frontdesk.integrations.properties import CHANNEL, DEFAULT_CHANNEL
from frontdesk.settings import SyncSettings

REVIEW_URL = "review.url"
MIN_AGE = "engagement.min.age"
CAP_DAYS = "engagement.frequency.cap.days"
SENSITIVE = "engagement.sensitive.types"


def normalise_location(name: str) -> str:
    """The comparison form of a location name: trimmed, blanks collapsed, case-folded."""
    return " ".join(name.split()).casefold()


def split_list(value: str | None) -> tuple[str, ...]:
    """A comma-separated property as a tuple (empty or missing: empty)."""
    return tuple(item.strip() for item in (value or "").split(",") if item.strip())


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None and value.strip() else default
    except ValueError:
        return default


def mapping_rules(
    mapping: IntegrationMapping,
    *,
    properties: Mapping[str, str],
    match_key: str,
    source: SourceSpec,
    settings: SyncSettings,
) -> MappingRules:
    """The rule settings of a mapping from its effective properties and the defaults."""
    sensitive = properties.get(SENSITIVE)
    return MappingRules(
        mapping_id=mapping.id,
        business_id=mapping.business_id,
        location_name=properties.get(match_key, ""),
        timezone=mapping.timezone,
        dry_run=mapping.dry_run,
        allowed_statuses=_allow_list(properties, source.status_key, source),
        allowed_types=_allow_list(properties, source.type_key, source),
        min_age=_int(properties.get(MIN_AGE), settings.min_age),
        frequency_cap_days=_int(properties.get(CAP_DAYS), settings.frequency_cap_days),
        sensitive_types=split_list(sensitive)
        if sensitive is not None
        else tuple(settings.sensitive_types),
        review_link=usable_review_url(properties.get(REVIEW_URL)) is not None,
        channel=(properties.get(CHANNEL) or DEFAULT_CHANNEL).strip().lower(),
    )


def _allow_list(
    properties: Mapping[str, str], key: str | None, source: SourceSpec
) -> tuple[str, ...]:
    """The source's allow-list (its spec names the key and may give a default; none: every
    value is allowed)."""
    if key is None:
        return ()
    spec = source.key_spec(key)
    return split_list(properties.get(key, spec.default if spec is not None else None))


SKIP = object()
"""Route result: the row belongs to an active mapping this run does not cover."""


@dataclass
class Router:
    """Location name → the prepared rules of the mapping in scope (or None / :data:`SKIP`)."""

    by_name: dict[str, PreparedRules | object]
    catch_all: PreparedRules | object | None
    _memo: dict[str, PreparedRules | object | None] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        *,
        active: Iterable[tuple[int, str]],
        in_scope: Iterable[MappingRules],
        status_matches: StatusMatch,
    ) -> Router:
        """``active``: (mapping id, match value or "") of every active mapping of the group."""
        prepared = {r.mapping_id: PreparedRules(r, status_matches) for r in in_scope}
        by_name: dict[str, PreparedRules | object] = {}
        catch_all: PreparedRules | object | None = None
        for mapping_id, value in active:
            target = prepared.get(mapping_id, SKIP)
            if value.strip():
                by_name[normalise_location(value)] = target
            else:
                catch_all = target
        return cls(by_name=by_name, catch_all=catch_all)

    def route(self, location_name: str) -> PreparedRules | object | None:
        if location_name in self._memo:
            return self._memo[location_name]
        found = self.by_name.get(normalise_location(location_name))
        target = found if found is not None else self.catch_all
        self._memo[location_name] = target
        return target
