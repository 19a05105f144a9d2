"""Bringing one integration group to a wanted state through the integration services.

``config apply`` and ``config rollback`` both end here: the wanted group (a
:class:`~frontdesk.configuration.document.GroupDoc`) is compared with the stored one and
each difference is made by the same service function the integration API calls
(``create_group``, ``update_triggers``, ``set_group_properties``, ``create_mapping``, ...),
so the same rules validate it (the source's property specs, mapping fields, registered
channels, match keys) and each change is audited and versioned. Nothing is written when
nothing differs: applying twice changes nothing.

Order: triggers, group properties (``data.fetch.logic`` last, once the mappings carry the new
match key), new and changed mappings, then removals.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.principal import Principal
from frontdesk.clock import Clock
from frontdesk.configuration.document import FileProblem, GroupDoc, MappingDoc, SecretRef
from frontdesk.configuration.state import GROUP_SCOPE, group_mappings
from frontdesk.errors import FrontdeskError
from frontdesk.integrations import groups
from frontdesk.integrations import properties as props
from frontdesk.integrations.catalog import TriggerRef
from frontdesk.integrations.models import (
    IntegrationGroup,
    IntegrationMapping,
    IntegrationSource,
    IntegrationTrigger,
    PropertyColumns,
)
from frontdesk.plugins import Plugins
from frontdesk.security.outbound import OutboundPolicy
from frontdesk.security.secrets import SecretBox

_ITEM = re.compile(r"(?:^|\.)(\d+)\.")
SecretResolver = Callable[[str, str, SecretRef], str | None]
"""``(scope, key, reference) → plain value``, or None to keep the stored value."""
Locate = Callable[..., int | None]
"""The file line of a path such as ``("groups", 0, "mappings", 1)`` (None: no file)."""


@dataclass
class Reconciler:
    """The services' arguments, what was changed (human lines) and where errors point."""

    session: AsyncSession
    principal: Principal
    clock: Clock
    secrets: SecretBox
    plugins: Plugins
    resolve: SecretResolver
    locate: Locate = lambda *path: None
    outbound: OutboundPolicy | None = None
    changes: list[str] = field(default_factory=list)

    async def at(
        self,
        path: tuple[str | int, ...],
        call: Callable[[], Awaitable[object]],
        keys: Sequence[str] = (),
    ) -> None:
        """Run one service call; its refusal becomes a :class:`FileProblem` at ``path`` (or
        at the property ``keys[i]`` when the service names item ``i`` of its property list)."""
        try:
            await call()
        except FrontdeskError as exc:
            item = _ITEM.search(exc.field or "")
            if item is not None and int(item.group(1)) < len(keys):
                path = (*path, "properties", keys[int(item.group(1))])
            raise FileProblem(exc.message, self.locate(*path)) from None

    async def group(
        self, doc: GroupDoc, *, path: tuple[str | int, ...], current: IntegrationGroup | None
    ) -> None:
        """Create ``doc``'s group, or bring ``current`` to it."""
        source = await self._source(doc.source, path)
        name = f"{doc.business}/{doc.source}"
        refs = await self._triggers(doc.triggers, source, path)
        wanted = self.wanted_values(doc.properties, GROUP_SCOPE, path, source, current=current)
        if current is None:
            self.changes.append(f"+ group {name}")
            inputs = [
                groups.PropertyInput(k, v, s) for k, (v, s) in wanted.items() if v is not None
            ]

            made: list[IntegrationGroup] = []

            async def create() -> None:
                made.append(
                    await groups.create_group(
                        self.session,
                        principal=self.principal,
                        clock=self.clock,
                        secrets=self.secrets,
                        plugins=self.plugins,
                        parent_business_number=doc.business,
                        source_id=source.id,
                        triggers=refs,
                        properties=inputs,
                        outbound=self.outbound,
                    )
                )

            await self.at(path, create, keys=[i.key for i in inputs])
            await self._mappings(doc.mappings, made[0], name, path)
            return
        group_id = current.id
        stored = sorted(t.trigger.trigger_service for t in current.triggers)
        if stored != sorted(doc.triggers):
            self.changes.append(
                f"~ group {name}: triggers {', '.join(stored)} -> {', '.join(sorted(doc.triggers))}"
            )
            await self.at(
                (*path, "triggers"),
                lambda: groups.update_triggers(
                    self.session,
                    principal=self.principal,
                    clock=self.clock,
                    secrets=self.secrets,
                    plugins=self.plugins,
                    group_id=group_id,
                    triggers=refs,
                    replace=True,
                ),
            )
        rows = {p.key: p for p in current.properties}
        changed = self.differences(rows, wanted, f"group {name}")
        late = [c for c in changed if c.key == props.DATA_FETCH_LOGIC]
        early = [c for c in changed if c.key != props.DATA_FETCH_LOGIC]
        for batch in (early, None, late):
            if batch is None:
                await self._mappings(doc.mappings, current, name, path)
                continue
            if batch:
                await self.at(
                    path,
                    lambda b=batch: groups.set_group_properties(  # type: ignore[misc]
                        self.session,
                        principal=self.principal,
                        clock=self.clock,
                        secrets=self.secrets,
                        plugins=self.plugins,
                        group_id=group_id,
                        properties=b,
                        outbound=self.outbound,
                    ),
                    keys=[c.key for c in batch],
                )
        for key in sorted(set(rows) - set(wanted)):
            self.changes.append(f"- group {name}: property {key}")
            await self.at(
                (*path, "properties"),
                lambda k=key: groups.delete_group_property(  # type: ignore[misc]
                    self.session,
                    principal=self.principal,
                    clock=self.clock,
                    plugins=self.plugins,
                    group_id=group_id,
                    key=k,
                ),
            )

    async def _source(self, name: str, path: tuple[str | int, ...]) -> IntegrationSource:
        query = select(IntegrationSource).where(IntegrationSource.name == name)
        source = (await self.session.execute(query)).scalar_one_or_none()
        if source is None:
            raise FileProblem(
                f"no integration source is called {name}", self.locate(*path, "source")
            )
        return source

    async def _triggers(
        self, names: list[str], source: IntegrationSource, path: tuple[str | int, ...]
    ) -> list[TriggerRef]:
        refs: list[TriggerRef] = []
        for index, name in enumerate(names):
            query = select(IntegrationTrigger).where(
                IntegrationTrigger.trigger_service == name,
                IntegrationTrigger.source_id == source.id,
            )
            trigger = (await self.session.execute(query)).scalar_one_or_none()
            if trigger is None:
                raise FileProblem(
                    f"{source.name} has no trigger {name}", self.locate(*path, "triggers", index)
                )
            refs.append(TriggerRef(trigger.id))
        return refs

    def wanted_values(
        self,
        values: dict[str, str | SecretRef],
        scope: str,
        path: tuple[str | int, ...],
        source: IntegrationSource,
        *,
        current: IntegrationGroup | IntegrationMapping | None,
    ) -> dict[str, tuple[str | None, bool]]:
        """``key → (plain value or None to keep the stored secret, secure)``."""
        spec = self.plugins.spec(source.name)
        stored = {p.key for p in current.properties} if current is not None else set()
        wanted: dict[str, tuple[str | None, bool]] = {}
        for key, value in values.items():
            where = self.locate(*path, "properties", key)
            known = props.spec_for(key, spec)
            secure = isinstance(value, SecretRef)
            if known is not None and known.secure and not secure:
                raise FileProblem(f"{key} is secure: give it as {{secret: NAME}}", where)
            if known is not None and not known.secure and secure:
                raise FileProblem(f"{key} is not secure: give its value", where)
            if known is not None and known.mapping_field is not None and scope != GROUP_SCOPE:
                raise FileProblem(f"{key} is customerFetchDelay on a mapping", where)
            if isinstance(value, SecretRef):
                plain = self.resolve(scope, key, value)
                if plain is None and key not in stored:
                    raise FileProblem(
                        f"{key}: secret {value.secret} is not in the secrets directory", where
                    )
                wanted[key] = (plain, True)
            else:
                wanted[key] = (value, False)
        return wanted

    def differences(
        self,
        rows: Mapping[str, PropertyColumns],
        wanted: dict[str, tuple[str | None, bool]],
        label: str,
    ) -> list[groups.PropertyInput]:
        changed: list[groups.PropertyInput] = []
        for key, (value, secure) in sorted(wanted.items()):
            row = rows.get(key)
            if value is None:
                continue  # a secret kept as stored
            if (
                row is not None
                and row.is_secure == secure
                and props.read_value(row, self.secrets) == value
            ):
                continue
            if secure:
                what = "secret changed" if row is not None else "secret set"
            elif row is None or row.is_secure:
                what = f"set to {value!r}"
            else:
                what = f"{row.value!r} -> {value!r}"
            self.changes.append(
                f"{'~' if row is not None else '+'} {label}: property {key}: {what}"
            )
            changed.append(groups.PropertyInput(key, value, secure))
        return changed

    async def _mappings(
        self,
        docs: list[MappingDoc],
        group: IntegrationGroup,
        name: str,
        path: tuple[str | int, ...],
    ) -> None:
        from frontdesk.configuration.mapping_changes import reconcile_mappings

        stored = {m.business.number: m for m in await group_mappings(self.session, group)}
        await reconcile_mappings(self, docs, group, stored, name, path)
