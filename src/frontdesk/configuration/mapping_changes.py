"""The mappings half of :mod:`frontdesk.configuration.reconcile`: new, changed and removed
locations of a group, each through the mapping services (``create_mapping``,
``update_mapping``, ``delete_mapping_property``, ``delete_mapping``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from frontdesk.configuration.document import MappingDoc
from frontdesk.integrations import mappings
from frontdesk.integrations.groups import PropertyInput
from frontdesk.integrations.models import IntegrationGroup, IntegrationMapping

if TYPE_CHECKING:
    from frontdesk.configuration.reconcile import Reconciler


def _yes(value: bool) -> str:
    return "yes" if value else "no"


async def reconcile_mappings(
    rec: Reconciler,
    docs: list[MappingDoc],
    group: IntegrationGroup,
    stored: dict[int, IntegrationMapping],
    name: str,
    path: tuple[str | int, ...],
) -> None:
    """Bring the group's mappings to ``docs``: create, update, then remove."""
    group_id = group.id
    for index, doc in enumerate(docs):
        where = (*path, "mappings", index)
        label = f"mapping {name}/{doc.business}"
        current = stored.get(doc.business)
        wanted = rec.wanted_values(
            dict(doc.properties), str(doc.business), where, group.source, current=current
        )
        if current is None:
            rec.changes.append(f"+ {label}")
            inputs = [PropertyInput(k, v, s) for k, (v, s) in wanted.items() if v is not None]
            changes = mappings.MappingChanges(
                active=doc.active,
                frequency=(doc.frequency.value, doc.frequency.unit),
                timezone=doc.timezone,
                customer_fetch_delay=doc.customer_fetch_delay,
                dry_run=doc.dry_run,
                properties=inputs,
            )
            await rec.at(
                where,
                lambda c=changes, n=doc.business: mappings.create_mapping(  # type: ignore[misc]
                    rec.session,
                    principal=rec.principal,
                    clock=rec.clock,
                    secrets=rec.secrets,
                    plugins=rec.plugins,
                    group_id=group_id,
                    business_number=n,
                    changes=c,
                ),
                keys=[i.key for i in inputs],
            )
            continue
        await _update(rec, doc, current, wanted, label, where)
    for number in sorted(set(stored) - {d.business for d in docs}):
        rec.changes.append(f"- mapping {name}/{number}")
        mapping_id = stored[number].id
        await rec.at(
            (*path, "mappings"),
            lambda m=mapping_id: mappings.delete_mapping(  # type: ignore[misc]
                rec.session, principal=rec.principal, clock=rec.clock, mapping_id=m
            ),
        )


async def _update(
    rec: Reconciler,
    doc: MappingDoc,
    current: IntegrationMapping,
    wanted: dict[str, tuple[str | None, bool]],
    label: str,
    where: tuple[str | int, ...],
) -> None:
    before = len(rec.changes)
    fields: dict[str, object] = {}
    if current.active != doc.active:
        rec.changes.append(f"~ {label}: active {_yes(current.active)} -> {_yes(doc.active)}")
        fields["active"] = doc.active
    stored_frequency = (current.frequency_value, current.frequency_unit)
    wanted_frequency = (doc.frequency.value, doc.frequency.unit)
    if stored_frequency != wanted_frequency:
        rec.changes.append(
            f"~ {label}: frequency {' '.join(map(str, stored_frequency))} -> "
            f"{' '.join(map(str, wanted_frequency))}"
        )
        fields["frequency"] = wanted_frequency
    if current.timezone != doc.timezone:
        rec.changes.append(f"~ {label}: timezone {current.timezone} -> {doc.timezone}")
        fields["timezone"] = doc.timezone
    if current.dry_run != doc.dry_run:
        rec.changes.append(f"~ {label}: dryRun {_yes(current.dry_run)} -> {_yes(doc.dry_run)}")
        fields["dry_run"] = doc.dry_run
    if current.customer_fetch_delay_days != doc.customer_fetch_delay:
        rec.changes.append(
            f"~ {label}: customerFetchDelay {current.customer_fetch_delay_days} -> "
            f"{doc.customer_fetch_delay}"
        )
        if doc.customer_fetch_delay is None:
            fields["clear_customer_fetch_delay"] = True
        else:
            fields["customer_fetch_delay"] = doc.customer_fetch_delay
    rows = {p.key: p for p in current.properties}
    changed = rec.differences(rows, wanted, label)
    mapping_id = current.id
    if len(rec.changes) > before:
        changes = mappings.MappingChanges(properties=changed, **fields)  # type: ignore[arg-type]
        await rec.at(
            where,
            lambda: mappings.update_mapping(
                rec.session,
                principal=rec.principal,
                clock=rec.clock,
                secrets=rec.secrets,
                plugins=rec.plugins,
                mapping_id=mapping_id,
                changes=changes,
            ),
            keys=[c.key for c in changed],
        )
    for key in sorted(set(rows) - set(wanted)):
        rec.changes.append(f"- {label}: property {key}")
        await rec.at(
            (*where, "properties"),
            lambda k=key: mappings.delete_mapping_property(  # type: ignore[misc]
                rec.session,
                principal=rec.principal,
                clock=rec.clock,
                plugins=rec.plugins,
                mapping_id=mapping_id,
                key=k,
            ),
        )
