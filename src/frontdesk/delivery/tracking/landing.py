"""The landing page of a tracked link when a location lists several review sites.

Property ``review.sites`` (group or location): the location's public review sites, one
``Name=URL`` per line or separated by ``;`` (``Google=https://g.page/r/…;
Healthgrades=https://www.healthgrades.com/…``), at most :data:`MAX_SITES`. With two or more,
``GET /r/{token}`` records the click and answers a small page listing every site; with one
or none it redirects to the request's review link (``review.url``) as before.

Never gated by rating: the page asks nothing and offers every site to every patient
(Google's review policy and the 2024 FTC rule on reviews forbid suppressing unhappy ones).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from jinja2 import Environment, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.delivery.addresses import usable_review_url
from frontdesk.integrations.mappings import effective_properties
from frontdesk.integrations.models import IntegrationMapping
from frontdesk.security.secrets import SecretBox

SITES_KEY = "review.sites"
MAX_SITES = 8
_SEPARATOR = re.compile(r"[;\n]")
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>Review {{ location }}</title></head>
<body style="font-family: sans-serif; max-width: 32rem; margin: 2rem auto; padding: 0 1rem">
<h1 style="font-size: 1.3rem">Thank you for visiting {{ location }}</h1>
<p>Would you share your experience? Choose any site you like:</p>
<ul style="list-style: none; padding: 0">
{% for site in sites %}<li style="margin: .75rem 0"><a rel="noopener noreferrer"
 style="display: block; padding: .8rem; border: 1px solid #888; border-radius: .4rem"
 href="{{ site.url }}">{{ site.name }}</a></li>
{% endfor %}</ul></body></html>
"""


@dataclass(frozen=True, slots=True)
class ReviewSite:
    name: str
    url: str


def parse_sites(value: str | None) -> list[ReviewSite]:
    """The sites of a ``review.sites`` value (ValueError naming the entry, not its text)."""
    sites: list[ReviewSite] = []
    for index, entry in enumerate(e.strip() for e in _SEPARATOR.split(value or "")):
        if not entry:
            continue
        name, equals, raw_url = entry.partition("=")
        url = usable_review_url(raw_url) if equals else None
        if not name.strip() or url is None:
            raise ValueError(f"entry {index + 1} must be Name=https://…")
        sites.append(ReviewSite(" ".join(name.split())[:60], url))
    if len(sites) > MAX_SITES:
        raise ValueError(f"must list at most {MAX_SITES} sites")
    return sites


def review_sites(value: str) -> str:
    """Validator of ``review.sites``: stored one ``Name=URL`` per line."""
    sites = parse_sites(value)
    if not sites:
        raise ValueError("must list at least one Name=https://… site")
    return "\n".join(f"{s.name}={s.url}" for s in sites)


async def sites_of_location(
    session: AsyncSession, *, location_id: int, secrets: SecretBox
) -> tuple[str, list[ReviewSite]]:
    """The location's name and review sites (an unreadable stored value: none)."""
    mapping = (
        await session.execute(
            select(IntegrationMapping)
            .where(IntegrationMapping.business_id == location_id)
            .order_by(IntegrationMapping.id)
            .limit(1)
        )
    ).scalar_one_or_none()
    if mapping is None:
        return "", []
    try:
        sites = parse_sites(effective_properties(mapping, secrets=secrets).get(SITES_KEY))
    except ValueError:
        sites = []
    return mapping.business.name, sites


def render_landing(location: str, sites: list[ReviewSite]) -> str:
    """The page (autoescaped: a location name is text, never markup)."""
    return _template().render(location=location, sites=sites)


@cache
def _template() -> Template:
    return Environment(autoescape=True).from_string(_PAGE)
