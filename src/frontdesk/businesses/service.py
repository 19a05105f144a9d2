"""Creating and finding businesses, with tenant visibility."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.principal import Principal
from frontdesk.audit.service import record_event
from frontdesk.businesses.models import Business
from frontdesk.clock import Clock
from frontdesk.errors import Conflict, InvalidInput, NotFound, PermissionDenied

SMB, ENTERPRISE, LOCATION = "smb", "enterprise", "location"
DEFAULT_TIMEZONE = "America/New_York"


def validate_business_number(number: int, *, field: str = "businessNumber") -> int:
    """Business numbers have exactly 15 digits."""
    if not 10**14 <= number < 10**15:
        raise InvalidInput("a business number has exactly 15 digits", field=field)
    return number


def validate_timezone(name: str, *, field: str = "timezone") -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput("not a known IANA time zone name", field=field) from exc
    return name


async def get_by_number(session: AsyncSession, *, number: int) -> Business | None:
    result = await session.execute(select(Business).where(Business.number == number))
    return result.scalar_one_or_none()


async def visible_business(
    session: AsyncSession, *, principal: Principal, number: int, field: str = "businessNumber"
) -> Business:
    """The business with ``number`` if the caller may see it; otherwise 404 (never 403)."""
    business = await get_by_number(session, number=number)
    if business is None or not principal.can_see(business.id, business.enterprise_id):
        raise NotFound(f"business {number} not found", field=field)
    return business


async def add_business(
    session: AsyncSession,
    *,
    principal: Principal,
    clock: Clock,
    number: int,
    name: str,
    enterprise_number: int | None = None,
    timezone: str | None = None,
) -> Business:
    """Create an SMB, or a location of an enterprise (which becomes an enterprise if needed)."""
    validate_business_number(number)
    name = name.strip()
    if not name:
        raise InvalidInput("a business needs a name", field="name")
    if await get_by_number(session, number=number) is not None:
        raise Conflict(f"business {number} already exists", field="businessNumber")
    enterprise: Business | None = None
    if enterprise_number is not None:
        enterprise = await visible_business(
            session, principal=principal, number=enterprise_number, field="enterpriseNumber"
        )
        if enterprise.kind == LOCATION:
            raise InvalidInput(
                f"business {enterprise_number} is a location, not an enterprise",
                field="enterpriseNumber",
            )
    elif not principal.is_staff:
        raise PermissionDenied("a business key can only add locations to its own enterprise")
    tz = validate_timezone(timezone or (enterprise.timezone if enterprise else DEFAULT_TIMEZONE))
    business = Business(
        number=number,
        name=name,
        kind=LOCATION if enterprise else SMB,
        enterprise_id=enterprise.id if enterprise else None,
        timezone=tz,
        created_at=clock.now(),
    )
    session.add(business)
    if enterprise is not None and enterprise.kind == SMB:
        enterprise.kind = ENTERPRISE
    await session.flush()
    await record_event(
        session,
        clock=clock,
        actor=principal,
        action="business.create",
        target_type="business",
        target_id=str(number),
        business_id=enterprise.id if enterprise else business.id,
        details={
            "name": name,
            "kind": business.kind,
            "enterpriseNumber": enterprise_number,
            "timezone": tz,
        },
    )
    return business


async def list_businesses(session: AsyncSession, *, principal: Principal) -> Sequence[Business]:
    query = select(Business).order_by(Business.number)
    if not principal.is_staff:
        scope = principal.business_scope
        query = query.where(or_(Business.id == scope, Business.enterprise_id == scope))
    return (await session.execute(query)).scalars().all()


async def locations_of(session: AsyncSession, *, business: Business) -> Sequence[Business]:
    query = select(Business).where(Business.enterprise_id == business.id)
    return (await session.execute(query.order_by(Business.number))).scalars().all()


async def enterprise_number(session: AsyncSession, *, business: Business) -> int | None:
    if business.enterprise_id is None:
        return None
    parent = await session.get(Business, business.enterprise_id)
    return parent.number if parent else None


async def update_business(
    session: AsyncSession,
    *,
    principal: Principal,
    clock: Clock,
    number: int,
    name: str | None = None,
    timezone: str | None = None,
) -> Business:
    """Rename a business or change its time zone (``None`` leaves a field as it is)."""
    business = await visible_business(session, principal=principal, number=number)
    before = {"name": business.name, "timezone": business.timezone}
    if name is not None:
        if not name.strip():
            raise InvalidInput("a business needs a name", field="name")
        business.name = name.strip()
    if timezone is not None:
        business.timezone = validate_timezone(timezone)
    await session.flush()
    await record_event(
        session,
        clock=clock,
        actor=principal,
        action="business.update",
        target_type="business",
        target_id=str(number),
        business_id=business.enterprise_id or business.id,
        details={"before": before, "after": {"name": business.name, "timezone": business.timezone}},
    )
    return business
