"""``config apply`` and ``config diff``: making the database match a configuration file.

The file is authoritative for what it lists: its businesses are created or updated (never
removed), their templates set or removed, and every group of a listed business is created,
brought to the file's state (:mod:`frontdesk.configuration.reconcile`) or, when the file
does not list it, removed (softly: its history stays; listing it again restores it).
Businesses the file does not list are left alone.

Everything happens in the caller's transaction and stops at the first refusal, which is a
:class:`~frontdesk.configuration.document.FileProblem` with the file's line; the caller rolls
back, so nothing changes. ``diff`` is the same run, always rolled back.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.principal import Principal
from frontdesk.audit.service import record_event
from frontdesk.businesses import service as businesses
from frontdesk.businesses.models import Business
from frontdesk.clock import Clock
from frontdesk.configuration.document import (
    UNCHANGED,
    BusinessDoc,
    FileProblem,
    Located,
    SecretRef,
)
from frontdesk.configuration.reconcile import Reconciler, SecretResolver
from frontdesk.configuration.versions import changes_from
from frontdesk.delivery import template_service as templates
from frontdesk.errors import FrontdeskError
from frontdesk.integrations.models import IntegrationGroup
from frontdesk.integrations.removal import remove_group, restore_group
from frontdesk.plugins import Plugins
from frontdesk.security.outbound import OutboundPolicy
from frontdesk.security.secrets import SecretBox

APPLY = Principal.system("apply")


def directory_secrets(directory: Path | None) -> SecretResolver:
    """A resolver reading ``{secret: NAME}`` from the file ``NAME`` in ``directory``; a
    missing file (or ``unchanged``) keeps the stored value."""

    def resolve(_scope: str, _key: str, ref: SecretRef) -> str | None:
        if directory is None or ref.secret == UNCHANGED:
            return None
        path = directory / ref.secret
        if not path.is_file():
            return None
        return path.read_text(encoding="utf-8").rstrip("\r\n")

    return resolve


async def apply_document(
    session: AsyncSession,
    located: Located,
    *,
    clock: Clock,
    secrets: SecretBox,
    plugins: Plugins,
    secrets_dir: Path | None,
    outbound: OutboundPolicy | None = None,
) -> list[str]:
    """Make the database match the file (in the caller's transaction); the changes made."""
    document = located.document
    reconciler = Reconciler(
        session=session,
        principal=APPLY,
        clock=clock,
        secrets=secrets,
        plugins=plugins,
        resolve=directory_secrets(secrets_dir),
        locate=located.line,
        outbound=outbound,
    )
    order = sorted(
        enumerate(document.businesses),
        key=lambda item: (item[1].enterprise is not None, item[1].number),
    )
    numbers = [b.number for b in document.businesses]
    for index, number in enumerate(numbers):
        if number in numbers[:index]:
            raise FileProblem(
                f"business {number} is listed twice", located.line("businesses", index)
            )
    with changes_from(session, "apply"):
        for index, doc in order:
            await _business(reconciler, doc, ("businesses", index))
        listed: set[tuple[int, str]] = set()
        for index, group in enumerate(document.groups):
            path = ("groups", index)
            if (group.business, group.source) in listed:
                raise FileProblem(
                    f"group {group.business}/{group.source} is listed twice", located.line(*path)
                )
            listed.add((group.business, group.source))
            owner = await businesses.get_by_number(session, number=group.business)
            if owner is None:
                raise FileProblem(f"business {group.business} does not exist", located.line(*path))
            current = (
                await session.execute(
                    select(IntegrationGroup)
                    .join(IntegrationGroup.source)
                    .where(IntegrationGroup.business_id == owner.id)
                    .where(IntegrationGroup.source.has(name=group.source))
                )
            ).scalar_one_or_none()
            if current is not None and current.removed_at is not None:
                reconciler.changes.append(f"+ group {group.business}/{group.source} (restored)")
                await restore_group(session, principal=APPLY, clock=clock, group=current)
            await reconciler.group(group, path=path, current=current)
        await _removed_groups(reconciler, set(numbers), listed)
    if reconciler.changes:
        await record_event(
            session,
            clock=clock,
            actor=APPLY,
            action="config.apply",
            target_type="configuration",
            target_id="file",
            business_id=None,
            details={"changes": len(reconciler.changes), "businesses": sorted(numbers)},
        )
    return reconciler.changes


async def _business(rec: Reconciler, doc: BusinessDoc, path: tuple[str | int, ...]) -> None:
    session = rec.session
    current = await businesses.get_by_number(session, number=doc.number)
    try:
        if current is None:
            rec.changes.append(f"+ business {doc.number}")
            current = await businesses.add_business(
                session,
                principal=rec.principal,
                clock=rec.clock,
                number=doc.number,
                name=doc.name,
                enterprise_number=doc.enterprise,
                timezone=doc.timezone,
            )
        else:
            parent = await businesses.enterprise_number(session, business=current)
            if parent != doc.enterprise:
                raise FileProblem(
                    f"business {doc.number} belongs to enterprise {parent}: it cannot move",
                    rec.locate(*path, "enterprise"),
                )
            if (current.name, current.timezone) != (doc.name, doc.timezone):
                rec.changes.append(f"~ business {doc.number}: name or time zone")
                await businesses.update_business(
                    session,
                    principal=rec.principal,
                    clock=rec.clock,
                    number=doc.number,
                    name=doc.name,
                    timezone=doc.timezone,
                )
    except FrontdeskError as exc:
        raise FileProblem(exc.message, rec.locate(*path)) from None
    await _templates(rec, doc, current, path)


async def _templates(
    rec: Reconciler, doc: BusinessDoc, business: Business, path: tuple[str | int, ...]
) -> None:
    from frontdesk.delivery.models import MessageTemplate

    query = select(MessageTemplate).where(MessageTemplate.business_id == business.id)
    stored = {row.channel: row for row in (await rec.session.execute(query)).scalars()}
    for channel, wanted in sorted(doc.templates.items()):
        row = stored.get(channel)
        if row is not None and (row.subject, row.text_body, row.html_body) == (
            wanted.subject,
            wanted.text,
            wanted.html,
        ):
            continue
        rec.changes.append(f"{'~' if row else '+'} business {doc.number}: {channel} templates")
        await rec.at(
            (*path, "templates", channel),
            lambda c=channel, w=wanted: templates.set_business_templates(  # type: ignore[misc]
                rec.session,
                principal=rec.principal,
                clock=rec.clock,
                business=business,
                channel=c,
                subject=w.subject,
                text_body=w.text,
                html_body=w.html,
            ),
        )
    for channel in sorted(set(stored) - set(doc.templates)):
        rec.changes.append(f"- business {doc.number}: {channel} templates")
        await rec.at(
            (*path, "templates"),
            lambda c=channel: templates.delete_business_templates(  # type: ignore[misc]
                rec.session, principal=rec.principal, clock=rec.clock, business=business, channel=c
            ),
        )


async def _removed_groups(rec: Reconciler, numbers: set[int], listed: set[tuple[int, str]]) -> None:
    """Remove the groups of the file's businesses that the file does not list."""
    if not numbers:
        return
    query = (
        select(IntegrationGroup)
        .join(Business, IntegrationGroup.business_id == Business.id)
        .where(Business.number.in_(sorted(numbers)))
        .where(IntegrationGroup.removed_at.is_(None))
    )
    for group in (await rec.session.execute(query)).scalars().all():
        key = (group.business.number, group.source.name)
        if key in listed:
            continue
        rec.changes.append(f"- group {key[0]}/{key[1]}")
        group_id = group.id
        await rec.at(
            ("groups",),
            lambda g=group_id: remove_group(  # type: ignore[misc]
                rec.session, principal=rec.principal, clock=rec.clock, group_id=g
            ),
        )
