"""The Outbox page's reads: review requests in pages, counts per state, rows as shown.

Pages run newest first by keyset on ``id`` (``before``: older rows, ``after``: newer ones),
never by OFFSET, so the hundredth page costs what the first does; the counts per state stop
at ``COUNT_CAP``. Both read index ranges only (migration 0012), whatever the table's size.
Visibility is the outbox's (:func:`frontdesk.engagement.outbox.visibility`): a practice
number means all of its requests, a location number that location's, another tenant's
number is a 404.

The recipient comes from the check-in's sealed patient document. It is decrypted only for
roles that may see patient details: ``"full"`` (the request's own page) or ``"shape"``
(``j***@example.org``, in lists); ``"hidden"`` never decrypts anything.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.principal import Principal
from frontdesk.businesses.models import Business
from frontdesk.engagement.checkin_models import CheckIn
from frontdesk.engagement.checkin_queries import mask
from frontdesk.engagement.ledger_models import (
    FAILED,
    PARKED,
    PENDING,
    SENDING,
    SENT,
    STATES,
    ReviewRequest,
)
from frontdesk.engagement.outbox import visibility
from frontdesk.errors import InvalidInput
from frontdesk.security.secrets import SecretBox

Recipient = Literal["full", "shape", "hidden"]
COUNT_CAP = 10_000  # counts per state stop here ("10000+"): exact beyond that costs a scan
HIDDEN = "hidden"  # what a masked role's templates get instead of a decrypted value

STATE_WORDS = {
    PENDING: "Waiting to be sent",
    SENDING: "On its way",
    SENT: "Accepted by the mail server",
    FAILED: "Refused for good: not retried",
    PARKED: "Stopped until an operator requeues it",
}
ERROR_WORDS = {
    "recipient_refused": "The mail server refused the recipient",
    "message_refused": "The mail server refused the message",
    "attempts_exhausted": "Every attempt failed",
    "outcome_unknown": "The sender stopped while sending: it may have arrived",
    "interrupted": "The sender stopped before it arrived; sent again",
    "delivery_transient": "A temporary delivery problem",
    "delivery_configuration": "The mail settings are wrong",
    "delivery_failed": "Delivery failed",
    "opted_out": "The patient opted out after the decision",
    "no_usable_contact": "No usable email address",
    "no_review_link": "The location has no review link",
    "template_error": "The location's template does not render",
    "configuration_error": "A setting is wrong",
    "internal_error": "An unexpected error",
}


@dataclass(frozen=True)
class Browse:
    """The Outbox page's filters."""

    business_number: int | None = None
    state: str | None = None
    appointment_id: str | None = None


@dataclass(frozen=True)
class BrowsePage:
    """One page, newest first; ``newer``/``older``: the ids the neighbouring pages start
    from (``after=newer``, ``before=older``), None at either end."""

    rows: list[ReviewRequest]
    newer: int | None
    older: int | None


@dataclass(frozen=True)
class Row:
    """A review request as the page shows it."""

    request: ReviewRequest
    location: Business | None
    practice: Business | None
    timezone: str
    appointment_start: datetime | None
    appointment_day: date | None
    recipient: str | None
    error_words: str | None


async def _conditions(session: AsyncSession, principal: Principal, browse: Browse) -> list[Any]:
    conditions: list[Any] = []
    visible = await visibility(session, principal=principal, business_number=browse.business_number)
    if visible is not None:
        conditions.append(visible)
    if browse.appointment_id:
        conditions.append(ReviewRequest.appointment_id == browse.appointment_id)
    return conditions


def _states(browse: Browse) -> tuple[str, ...]:
    if browse.state is None:
        return STATES
    if browse.state not in STATES:
        raise InvalidInput(f"state must be one of {', '.join(STATES)}", field="state")
    return (browse.state,)


async def browse_page(
    session: AsyncSession,
    *,
    principal: Principal,
    browse: Browse,
    after: int | None = None,
    before: int | None = None,
    size: int = 50,
) -> BrowsePage:
    """A page of the requests ``principal`` may see matching ``browse``, newest first.

    One state is one index range in ``id`` order (``(state, id)``, ``(scope_business_id,
    state, id)`` or ``(business_id, state, id)``); without a state, the page is the top of
    the five states' ranges merged, so its cost does not grow with the table.
    """
    conditions = await _conditions(session, principal, browse)
    order = ReviewRequest.id.desc()
    if after is not None:
        conditions.append(ReviewRequest.id > after)
        order = ReviewRequest.id.asc()
    elif before is not None:
        conditions.append(ReviewRequest.id < before)
    states = _states(browse)
    ranges = [
        select(ReviewRequest.id)
        .where(*conditions, ReviewRequest.state == state)
        .order_by(order)
        .limit(size + 1)
        .subquery()
        for state in states
    ]
    if len(ranges) == 1:
        wanted = select(ranges[0].c.id)
    else:
        merged = union_all(*(select(r.c.id) for r in ranges)).subquery()
        wanted = select(merged.c.id)
    query = select(ReviewRequest).where(ReviewRequest.id.in_(wanted)).order_by(order)
    rows = list((await session.execute(query.limit(size + 1))).scalars().all())
    more = len(rows) > size
    rows = rows[:size]
    if after is not None:
        rows.reverse()
    has_newer = more if after is not None else before is not None
    has_older = more if after is None else True
    return BrowsePage(
        rows=rows,
        newer=rows[0].id if rows and has_newer else None,
        older=rows[-1].id if rows and has_older else None,
    )


async def state_counts(
    session: AsyncSession, *, principal: Principal, browse: Browse
) -> dict[str, int]:
    """Requests per state (every state, in ledger order) for ``browse`` without its state,
    each counted up to ``COUNT_CAP + 1`` (an index range each: the cost stays bounded)."""
    conditions = await _conditions(session, principal, browse)
    counts = [
        select(func.count())
        .select_from(
            select(ReviewRequest.id)
            .where(*conditions, ReviewRequest.state == state)
            .limit(COUNT_CAP + 1)
            .subquery()
        )
        .scalar_subquery()
        for state in STATES
    ]
    found = (await session.execute(select(*counts))).one()
    return dict(zip(STATES, (int(n) for n in found), strict=True))


async def rows_of(
    session: AsyncSession,
    requests: Sequence[ReviewRequest],
    *,
    secrets: SecretBox,
    recipient: Recipient,
) -> list[Row]:
    """The rows for ``requests`` (their businesses and check-ins looked up once each)."""
    if not requests:
        return []
    ids = {r.business_id for r in requests} | {r.scope_business_id for r in requests}
    found = await session.execute(select(Business).where(Business.id.in_(ids)))
    businesses = {b.id: b for b in found.scalars()}
    columns: list[Any] = [CheckIn.id, CheckIn.appointment_start, CheckIn.appointment_day]
    if recipient != "hidden":  # a masked role's page never holds the decrypted values
        columns.append(CheckIn.patient_sealed)
    wanted = {r.checkin_id for r in requests}
    found_checkins = await session.execute(select(*columns).where(CheckIn.id.in_(wanted)))
    checkins = {row.id: row for row in found_checkins}
    shown = []
    for r in requests:
        location = businesses.get(r.business_id)
        checkin = checkins.get(r.checkin_id)
        sealed = getattr(checkin, "patient_sealed", None)
        shown.append(
            Row(
                request=r,
                location=location,
                practice=businesses.get(r.scope_business_id),
                timezone=location.timezone if location else "UTC",
                appointment_start=checkin.appointment_start if checkin else None,
                appointment_day=checkin.appointment_day if checkin else None,
                recipient=_recipient(sealed, secrets, recipient),
                error_words=ERROR_WORDS.get(r.last_error_code or "", r.last_error_code),
            )
        )
    return shown


def _recipient(sealed: str | None, secrets: SecretBox, recipient: Recipient) -> str | None:
    if recipient == "hidden":
        return HIDDEN
    if not sealed:
        return None
    email: str | None = json.loads(secrets.decrypt(sealed)).get("email")
    return email if recipient == "full" else mask("email", email)
