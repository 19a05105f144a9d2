"""Message templates: Jinja2 in a sandbox, defaults shipped as files, validated on save.

Templates see exactly these variables (:data:`VARIABLES`): ``first_name`` (the recipient's:
the patient's, or the guardian's when a minor's request goes to them; may be empty),
``location_name``, ``review_url``, ``unsubscribe_url``, ``sender_name``.
Subject and text render without escaping; HTML renders with autoescaping, so a patient name
such as ``<b>`` arrives as ``&lt;b&gt;``. The sandbox (immutable) keeps a template from
reaching Python internals; :class:`jinja2.StrictUndefined` turns a misspelt variable into an
error instead of an empty string.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from frontdesk.delivery.channel import TEMPLATE_ERROR, PermanentDeliveryError, TemplateSet
from frontdesk.delivery.choice import TemplateRule
from frontdesk.errors import InvalidInput

VARIABLES = ("first_name", "location_name", "review_url", "unsubscribe_url", "sender_name")
# Which parts each kind of message needs (a channel's reach: email, mobile, webhook); the
# shipped defaults are in ``templates/<kind>/``. Business templates are kept per channel name.
CHANNEL_PARTS: Mapping[str, tuple[str, ...]] = {
    "email": ("subject", "text", "html"),
    "mobile": ("text",),
    "webhook": ("text",),
}
MAX_SUBJECT_SOURCE = 1_000
MAX_BODY_SOURCE = 100_000
_FIELDS = {"subject": "subject", "text": "textBody", "html": "htmlBody"}
_SAMPLE_REVIEW = "https://reviews.invalid/frontdesk-sample-review"
_SAMPLE_UNSUBSCRIBE = "https://frontdesk.invalid/unsubscribe/sample-token"


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """A message's text as the recipient will read it."""

    subject: str
    text: str
    html: str | None


@cache
def default_template_set(channel: str) -> TemplateSet:
    """The shipped templates of a kind of message (``delivery/templates/<kind>/``)."""
    if channel not in CHANNEL_PARTS:
        raise InvalidInput("that channel has no templates", field="channel")
    folder = resources.files("frontdesk.delivery") / "templates" / channel

    def read(name: str) -> str | None:
        item = folder / name
        return item.read_text(encoding="utf-8") if item.is_file() else None

    text = read("text.txt")
    if text is None:
        raise FileNotFoundError(f"default text template of {channel} is missing")
    return TemplateSet(
        subject=read("subject.txt"), text=text, html=read("html.html"), origin="default"
    )


def render_template_set(templates: TemplateSet, variables: Mapping[str, str]) -> RenderedMessage:
    """Render for sending; a template that fails is a permanent failure of this message."""
    try:
        return _render(templates, variables)
    except Exception as exc:  # any failure inside a template is the template's fault
        raise PermanentDeliveryError(
            f"the {templates.origin} templates failed to render ({type(exc).__name__})",
            reason=TEMPLATE_ERROR,
        ) from None


def validate_template_set(
    channel: str, templates: TemplateSet, rule: TemplateRule | None = None
) -> None:
    """Refuse templates of kind ``channel`` that cannot work: :class:`InvalidInput` naming
    the field.

    Checked: the kind's parts are present and not too long, the syntax, that only known
    variables are used, that a sample renders, that the subject is not empty, and what the
    channel's :class:`~frontdesk.delivery.choice.TemplateRule` asks of every body: the links
    it must render (default: the review URL and the unsubscribe URL) and the wording it must
    carry (a text: "Reply STOP").
    """
    rule = rule or TemplateRule(kind=channel)
    parts = CHANNEL_PARTS.get(channel)
    if parts is None:
        raise InvalidInput("that channel has no templates", field="channel")
    sources = {"subject": templates.subject, "text": templates.text, "html": templates.html}
    for part in parts:
        source = sources[part]
        field = _FIELDS[part]
        if source is None or not source.strip():
            raise InvalidInput(f"{field} is required for the {channel} channel", field=field)
        limit = MAX_SUBJECT_SOURCE if part == "subject" else MAX_BODY_SOURCE
        if len(source) > limit:
            raise InvalidInput(f"{field} is longer than {limit} characters", field=field)
        _check_source(source, html=part == "html", field=field)
    sample = {
        "first_name": "Sample",
        "location_name": "Sample Location",
        "review_url": _SAMPLE_REVIEW,
        "unsubscribe_url": _SAMPLE_UNSUBSCRIBE,
        "sender_name": "Sample Practice",
    }
    links = {"review_url": _SAMPLE_REVIEW, "unsubscribe_url": _SAMPLE_UNSUBSCRIBE}
    for first_name in ("Sample", ""):
        try:
            rendered = _render(templates, {**sample, "first_name": first_name})
        except Exception:  # a runtime error in staff-written template code
            raise InvalidInput(
                "the templates fail to render with sample values", field="template"
            ) from None
        if "subject" in parts and not rendered.subject:
            raise InvalidInput("the subject renders empty", field="subject")
        bodies = {"text": rendered.text, "html": rendered.html}
        for part in ("text", "html"):
            body = bodies[part]
            if part in parts and body is not None:
                _check_body(body, rule, links, field=_FIELDS[part])


def _check_body(body: str, rule: TemplateRule, links: Mapping[str, str], *, field: str) -> None:
    """A rendered body carries the rule's links and wording."""
    for name in rule.links:
        if links.get(name, name) not in body:
            raise InvalidInput(f"{field} must include {{{{ {name} }}}}", field=field)
    folded = " ".join(body.split()).casefold()
    for phrase in rule.phrases:
        if " ".join(phrase.split()).casefold() not in folded:
            raise InvalidInput(f"{field} must include the words {phrase!r}", field=field)


def _check_source(source: str, *, html: bool, field: str) -> None:
    env = _environment(html)
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as exc:
        raise InvalidInput(
            f"{field} is not a valid template (line {exc.lineno})", field=field
        ) from None
    unknown = meta.find_undeclared_variables(tree) - set(VARIABLES)
    if unknown:
        raise InvalidInput(
            f"{field} uses {len(unknown)} unknown variable(s); available: {', '.join(VARIABLES)}",
            field=field,
        )


def _render(templates: TemplateSet, variables: Mapping[str, str]) -> RenderedMessage:
    values = {name: variables.get(name, "") for name in VARIABLES}
    subject = ""
    if templates.subject is not None:
        subject = " ".join(_compile(False, templates.subject).render(values).split())
    text = _compile(False, templates.text).render(values)
    html = _compile(True, templates.html).render(values) if templates.html is not None else None
    return RenderedMessage(subject=subject, text=text, html=html)


@lru_cache(maxsize=256)
def _compile(html: bool, source: str) -> Template:
    return _environment(html).from_string(source)


@cache
def _environment(html: bool) -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(
        autoescape=html,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=False,
    )
