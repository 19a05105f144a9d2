"""Configuration versions of integration groups: recorded by the service layer, listed,
compared.

Every service function that changes a group, its triggers, properties or mappings calls
:func:`record_version` before returning, so a change made through the integration API, the
dashboard, ``config apply`` or ``config rollback`` is versioned alike. One transaction makes
at most one version per group (a request that sets triggers and properties is one change);
a call that changes nothing versioned (e.g. the group's status) makes none. The origin comes
from the actor: an API key → ``api``, a dashboard user → ``dashboard``, a system actor →
its name (``apply``, ``rollback``; any other → ``cli``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.principal import Principal
from frontdesk.clock import Clock
from frontdesk.configuration.models import ORIGINS, ConfigVersion, ConfigVersionSecret
from frontdesk.configuration.state import read_group
from frontdesk.errors import NotFound
from frontdesk.integrations.models import IntegrationGroup
from frontdesk.security.secrets import SecretBox

_PENDING = "frontdesk.config_versions"
_ORIGIN = "frontdesk.config_origin"


@contextmanager
def changes_from(session: AsyncSession, origin: str) -> Iterator[None]:
    """Record the versions made inside the block with ``origin`` (``apply``, ``rollback``)
    whoever the actor is: a dashboard user rolling back is ``user:...`` from ``rollback``."""
    session.info[_ORIGIN] = origin
    try:
        yield
    finally:
        session.info.pop(_ORIGIN, None)


def origin_of(actor: Principal, session: AsyncSession | None = None) -> str:
    """Where a change came from, as a version records it."""
    if session is not None and _ORIGIN in session.info:
        return str(session.info[_ORIGIN])
    if actor.kind == "api_key":
        return "api"
    if actor.kind == "user":
        return "dashboard"
    return actor.name if actor.name in ORIGINS else "cli"


async def record_version(
    session: AsyncSession,
    *,
    group: IntegrationGroup,
    actor: Principal,
    clock: Clock,
    removed: bool = False,
) -> ConfigVersion | None:
    """Snapshot ``group`` as a new version (or refresh this transaction's version of it).

    ``removed``: the group is about to be deleted; the version records that, and its
    history stays. Returns None when nothing versioned changed since the last version.
    """
    await session.flush()
    document, stored = await read_group(session, group)
    snapshot: dict[str, Any] = document.model_dump(by_alias=True, mode="json")
    if removed:
        snapshot["removed"] = True
    secrets = [
        ConfigVersionSecret(scope=s.scope, key=s.key, secret_value=s.ciphertext) for s in stored
    ]
    transaction = session.sync_session.get_transaction()
    pending: dict[int, tuple[object, ConfigVersion]] = session.info.setdefault(_PENDING, {})
    mine = pending.get(group.id)
    if mine is not None and mine[0] is transaction:
        version = mine[1]
        version.snapshot = snapshot
        _replace_secrets(version, secrets)
        version.actor, version.origin = actor.label, origin_of(actor, session)
        await session.flush()
        return version
    # Two transactions changing one group must not both take number N+1: the group's row
    # lock orders them on PostgreSQL (SQLite has one writer at a time anyway).
    await session.execute(
        select(IntegrationGroup.id).where(IntegrationGroup.id == group.id).with_for_update()
    )
    last = await latest_version(session, group_id=group.id)
    if last is not None and last.snapshot == snapshot and _same(last.secrets, secrets):
        return None
    version = ConfigVersion(
        group_id=group.id,
        business_id=group.business.id,
        number=(last.number + 1) if last is not None else 1,
        actor=actor.label,
        origin=origin_of(actor, session),
        snapshot=snapshot,
        created_at=clock.now(),
        secrets=secrets,
    )
    session.add(version)
    await session.flush()
    pending[group.id] = (transaction, version)
    return version


def _replace_secrets(version: ConfigVersion, secrets: list[ConfigVersionSecret]) -> None:
    # Updated in place: swapping the list would insert the new rows before deleting the old
    # ones and trip the (version, scope, key) unique constraint.
    wanted = {(s.scope, s.key): s.secret_value for s in secrets}
    for row in list(version.secrets):
        value = wanted.pop((row.scope, row.key), None)
        if value is None:
            version.secrets.remove(row)
        else:
            row.secret_value = value
    for (scope, key), value in wanted.items():
        version.secrets.append(ConfigVersionSecret(scope=scope, key=key, secret_value=value))


def _same(before: list[ConfigVersionSecret], after: list[ConfigVersionSecret]) -> bool:
    # Ciphertexts are compared: an untouched secret keeps its bytes; one set again (even to
    # the same value) is a change.
    return [(s.scope, s.key, s.secret_value) for s in before] == [
        (s.scope, s.key, s.secret_value) for s in after
    ]


async def latest_version(session: AsyncSession, *, group_id: int) -> ConfigVersion | None:
    """The newest version of a group, if any."""
    newest = select(func.max(ConfigVersion.number)).where(ConfigVersion.group_id == group_id)
    query = select(ConfigVersion).where(
        ConfigVersion.group_id == group_id, ConfigVersion.number == newest.scalar_subquery()
    )
    return (await session.execute(query)).scalar_one_or_none()


async def list_versions(
    session: AsyncSession, *, group_id: int, principal: Principal
) -> list[ConfigVersion]:
    """Every version of a group, oldest first (404 when there is none ``principal`` may see)."""
    query = select(ConfigVersion).where(ConfigVersion.group_id == group_id)
    versions = list((await session.execute(query.order_by(ConfigVersion.number))).scalars())
    if not versions or not await _visible(session, versions[-1], principal):
        raise NotFound(f"integration group {group_id} has no configuration versions", field="group")
    return versions


async def get_version(
    session: AsyncSession, *, group_id: int, number: int, principal: Principal
) -> ConfigVersion:
    """Version ``number`` of a group (404 when absent or not visible to ``principal``)."""
    query = select(ConfigVersion).where(
        ConfigVersion.group_id == group_id, ConfigVersion.number == number
    )
    version = (await session.execute(query)).scalar_one_or_none()
    if version is None or not await _visible(session, version, principal):
        raise NotFound(f"group {group_id} has no version {number}", field="to")
    return version


async def _visible(session: AsyncSession, version: ConfigVersion, principal: Principal) -> bool:
    from frontdesk.businesses.models import Business

    business = await session.get(Business, version.business_id)
    return business is not None and principal.can_see(business.id, business.enterprise_id)


@dataclass(frozen=True)
class Change:
    """One difference between two versions; secure values say only changed/unchanged."""

    path: str
    before: str | None
    after: str | None


def compare(
    before: ConfigVersion | None, after: ConfigVersion, *, secrets: SecretBox
) -> list[Change]:
    """What changed from ``before`` to ``after`` (secrets compared decrypted, shown never)."""
    old = _flatten(before.snapshot if before is not None else {})
    new = _flatten(after.snapshot)
    old_secrets = _secret_values(before, secrets) if before is not None else {}
    new_secrets = _secret_values(after, secrets)
    changes: list[Change] = []
    for path in sorted(set(old) | set(new)):
        a, b = old.get(path), new.get(path)
        if a == b and not path.endswith(".secret"):
            continue
        if path.endswith(".secret"):
            scope_key = path.rsplit(".secret", 1)[0]
            was, now = old_secrets.get(scope_key), new_secrets.get(scope_key)
            if a is not None and b is not None and was == now:
                continue
            changes.append(
                Change(
                    scope_key,
                    None if a is None else "(secret)",
                    None if b is None else "(secret, changed)",
                )
            )
            continue
        changes.append(Change(path, a, b))
    return changes


def _secret_values(version: ConfigVersion, secrets: SecretBox) -> dict[str, str]:
    """Decrypted secure values by the path the snapshot shows them at (compared, never shown)."""
    values: dict[str, str] = {}
    for item in version.secrets:
        prefix = "properties" if item.scope == "group" else f"mappings.{item.scope}.properties"
        values[f"{prefix}.{item.key}"] = secrets.decrypt(item.secret_value)
    return values


def _flatten(snapshot: dict[str, Any]) -> dict[str, str]:
    flat: dict[str, str] = {}
    for key in ("triggers",):
        if key in snapshot:
            flat[key] = ", ".join(snapshot[key])
    if snapshot.get("removed"):
        flat["removed"] = "yes"
    for key, value in (snapshot.get("properties") or {}).items():
        flat[f"properties.{key}" + (".secret" if isinstance(value, dict) else "")] = _text(value)
    for mapping in snapshot.get("mappings") or []:
        prefix = f"mappings.{mapping['business']}"
        for field in ("active", "frequency", "timezone", "customerFetchDelay", "dryRun"):
            if mapping.get(field) is not None:
                flat[f"{prefix}.{field}"] = _text(mapping[field])
        for key, value in (mapping.get("properties") or {}).items():
            flat[f"{prefix}.properties.{key}" + (".secret" if isinstance(value, dict) else "")] = (
                _text(value)
            )
    return flat


def _text(value: Any) -> str:
    if isinstance(value, dict) and "secret" in value:
        return "(secret)"
    if isinstance(value, dict) and {"value", "unit"} <= set(value):
        return f"{value['value']} {value['unit']}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)
