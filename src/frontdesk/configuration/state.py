"""Reading the configuration from the database as file models (export and versions).

Secure values are never read here: a secure property becomes ``{secret: NAME}``
(:func:`~frontdesk.configuration.document.secret_name`) and its ciphertext is returned on
the side (:class:`StoredSecret`), for versions to keep an encrypted copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.businesses.models import Business
from frontdesk.configuration.document import (
    BusinessDoc,
    ConfigDocument,
    Frequency,
    GroupDoc,
    MappingDoc,
    PropertyValue,
    SecretRef,
    TemplateDoc,
    secret_name,
)
from frontdesk.delivery.models import MessageTemplate
from frontdesk.integrations.models import IntegrationGroup, IntegrationMapping, PropertyColumns

GROUP_SCOPE = "group"


@dataclass(frozen=True)
class StoredSecret:
    """The ciphertext of one secure value; ``scope`` is ``group`` or a location's number."""

    scope: str
    key: str
    ciphertext: str


def _properties(
    rows: Sequence[PropertyColumns], *, prefix: tuple[str | int, ...], scope: str
) -> tuple[dict[str, PropertyValue], list[StoredSecret]]:
    values: dict[str, PropertyValue] = {}
    secrets: list[StoredSecret] = []
    for row in sorted(rows, key=lambda r: r.key):
        if row.is_secure:
            values[row.key] = SecretRef(secret=secret_name(*prefix, row.key))
            secrets.append(StoredSecret(scope, row.key, row.secret_value or ""))
        else:
            values[row.key] = row.value or ""
    return values, secrets


async def group_mappings(
    session: AsyncSession, group: IntegrationGroup
) -> list[IntegrationMapping]:
    """The group's mappings, by location number."""
    query = select(IntegrationMapping).where(IntegrationMapping.group_id == group.id)
    rows = (await session.execute(query)).scalars().all()
    return sorted(rows, key=lambda m: m.business.number)


async def read_group(
    session: AsyncSession, group: IntegrationGroup
) -> tuple[GroupDoc, list[StoredSecret]]:
    """The group as the file writes it, and the ciphertexts of its secure values."""
    number, source = group.business.number, group.source.name
    properties, secrets = _properties(group.properties, prefix=(number, source), scope=GROUP_SCOPE)
    mappings: list[MappingDoc] = []
    for mapping in await group_mappings(session, group):
        location = mapping.business.number
        values, hidden = _properties(
            mapping.properties, prefix=(number, source, location), scope=str(location)
        )
        secrets.extend(hidden)
        mappings.append(
            MappingDoc(
                business=location,
                active=mapping.active,
                frequency=Frequency(value=mapping.frequency_value, unit=mapping.frequency_unit),
                timezone=mapping.timezone,
                customer_fetch_delay=mapping.customer_fetch_delay_days,
                dry_run=mapping.dry_run,
                properties=values,
            )
        )
    document = GroupDoc(
        business=number,
        source=source,
        triggers=sorted(t.trigger.trigger_service for t in group.triggers),
        properties=properties,
        mappings=mappings,
    )
    return document, secrets


async def selected_businesses(
    session: AsyncSession, *, business_number: int | None
) -> list[Business]:
    """Every business, or one and (an enterprise) its locations, by number."""
    query = select(Business)
    if business_number is not None:
        top = (
            await session.execute(select(Business).where(Business.number == business_number))
        ).scalar_one_or_none()
        if top is None:
            return []
        query = query.where((Business.id == top.id) | (Business.enterprise_id == top.id))
    rows = (await session.execute(query)).scalars().all()
    return sorted(rows, key=lambda b: b.number)


async def read_document(session: AsyncSession, *, business_number: int | None) -> ConfigDocument:
    """The configuration of every business (or of one and its locations) as the file."""
    businesses = await selected_businesses(session, business_number=business_number)
    by_id = {b.id: b for b in businesses}
    enterprises = {
        b.id: b.number
        for b in (await session.execute(select(Business).where(Business.kind == "enterprise")))
        .scalars()
        .all()
    }
    templates: dict[int, dict[str, TemplateDoc]] = {}
    if by_id:
        rows = (
            await session.execute(
                select(MessageTemplate).where(MessageTemplate.business_id.in_(list(by_id)))
            )
        ).scalars()
        for row in rows:
            templates.setdefault(row.business_id, {})[row.channel] = TemplateDoc(
                subject=row.subject, text=row.text_body, html=row.html_body
            )
    business_docs = [
        BusinessDoc(
            number=b.number,
            name=b.name,
            timezone=b.timezone,
            enterprise=enterprises.get(b.enterprise_id) if b.enterprise_id else None,
            templates=dict(sorted(templates.get(b.id, {}).items())),
        )
        for b in businesses
    ]
    groups: list[GroupDoc] = []
    if by_id:
        query = (
            select(IntegrationGroup)
            .where(IntegrationGroup.business_id.in_(list(by_id)))
            .where(IntegrationGroup.removed_at.is_(None))  # removed: history only
        )
        for group in (await session.execute(query)).scalars().all():
            groups.append((await read_group(session, group))[0])
    groups.sort(key=lambda g: (g.business, g.source))
    return ConfigDocument(businesses=business_docs, groups=groups)
