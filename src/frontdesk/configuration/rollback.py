"""Rolling a group back to one of its configuration versions.

The version's snapshot is applied like a configuration file
(:mod:`frontdesk.configuration.reconcile`): every difference goes through the integration
services, so it is validated, audited and itself recorded as a new version (origin
``rollback``). Secure values are restored from the version's encrypted copies, decrypted
only to be re-encrypted by the services.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.principal import Principal
from frontdesk.audit.service import record_event
from frontdesk.clock import Clock
from frontdesk.configuration.document import FileProblem, GroupDoc, SecretRef
from frontdesk.configuration.reconcile import Reconciler
from frontdesk.configuration.versions import changes_from, get_version, latest_version
from frontdesk.errors import InvalidInput
from frontdesk.integrations.groups import get_group
from frontdesk.plugins import Plugins
from frontdesk.security.secrets import SecretBox


@dataclass(frozen=True)
class RollbackResult:
    """What a rollback changed, and the version it made (None: nothing differed)."""

    changes: list[str]
    version: int | None


async def rollback_group(
    session: AsyncSession,
    *,
    principal: Principal,
    clock: Clock,
    secrets: SecretBox,
    plugins: Plugins,
    group_id: int,
    to: int,
) -> RollbackResult:
    """Bring group ``group_id`` back to its version ``to`` (in the caller's transaction)."""
    version = await get_version(session, group_id=group_id, number=to, principal=principal)
    if version.snapshot.get("removed"):
        raise InvalidInput(f"version {to} records the group's removal", field="to")
    group = await get_group(session, group_id=group_id, principal=principal, field="group")
    snapshot = {k: v for k, v in version.snapshot.items() if k != "removed"}
    document = GroupDoc.model_validate(snapshot)
    kept = {(s.scope, s.key): s.secret_value for s in version.secrets}

    def resolve(scope: str, key: str, _ref: SecretRef) -> str | None:
        ciphertext = kept.get((scope, key))
        return secrets.decrypt(ciphertext) if ciphertext is not None else None

    reconciler = Reconciler(
        session=session,
        principal=principal,
        clock=clock,
        secrets=secrets,
        plugins=plugins,
        resolve=resolve,
    )
    try:
        with changes_from(session, "rollback"):
            await reconciler.group(document, path=(), current=group)
    except FileProblem as exc:
        raise InvalidInput(f"version {to} cannot be restored: {exc.message}", field="to") from None
    newest = await latest_version(session, group_id=group_id)
    made = newest.number if newest is not None and reconciler.changes else None
    await record_event(
        session,
        clock=clock,
        actor=principal,
        action="config.rollback",
        target_type="integration_group",
        target_id=str(group_id),
        business_id=version.business_id,
        details={"to": to, "version": made, "changes": len(reconciler.changes)},
    )
    return RollbackResult(changes=reconciler.changes, version=made)
