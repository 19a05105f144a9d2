"""Per-business templates: defaults, overrides (location → enterprise → default), validation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from frontdesk.access.principal import Principal
from frontdesk.context import AppContext
from frontdesk.delivery.channel import TEMPLATE_ERROR, PermanentDeliveryError, TemplateSet
from frontdesk.delivery.email import EmailChannel
from frontdesk.delivery.template_service import (
    delete_business_templates,
    resolve_template_set,
    set_business_templates,
)
from frontdesk.delivery.templates import (
    default_template_set,
    render_template_set,
    validate_template_set,
)
from frontdesk.errors import InvalidInput
from frontdesk.settings import SmtpSettings

Templates = Callable[..., TemplateSet]
VARS = {
    "first_name": "Ann",
    "location_name": "Loudoun",
    "review_url": "https://r.example/x",
    "unsubscribe_url": "https://u.example/t",
    "sender_name": "Riverside",
}


def test_default_email_templates_are_valid_and_render() -> None:
    defaults = default_template_set("email")
    validate_template_set("email", defaults)
    rendered = render_template_set(defaults, VARS)
    assert rendered.subject == "How was your visit to Loudoun?"
    assert "Hi Ann," in rendered.text
    assert rendered.html is not None
    assert 'href="https://r.example/x"' in rendered.html


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"subject": "Hi {{ first_name "}, "subject", id="syntax-subject"),
        pytest.param({"html": "{% if %}"}, "htmlBody", id="syntax-html"),
        pytest.param(
            {"text": "{{ last_name }} {{ review_url }} {{ unsubscribe_url }}"},
            "textBody",
            id="unknown-variable",
        ),
        pytest.param({"text": "{{ review_url }} only"}, "textBody", id="no-unsubscribe-link"),
        pytest.param(
            {"html": "<a href='{{ unsubscribe_url }}'>x</a>"}, "htmlBody", id="no-review-link"
        ),
        pytest.param(
            {"subject": "  {{ first_name }}  "}, "subject", id="subject-empty-without-name"
        ),
        pytest.param({"subject": None}, "subject", id="subject-missing"),
        pytest.param({"html": None}, "htmlBody", id="html-missing"),
        pytest.param(
            {"text": "{{ review_url.__class__.__mro__ }} {{ unsubscribe_url }}"},
            "template",
            id="sandbox",
        ),
        pytest.param(
            {"text": "{{ first_name.nope.deeper }} {{ review_url }} {{ unsubscribe_url }}"},
            "template",
            id="strict-undefined",
        ),
        pytest.param(
            {"text": "{{ 1 / 0 }} {{ review_url }} {{ unsubscribe_url }}"},
            "template",
            id="runtime-error",
        ),
        pytest.param({"text": "x" * 100_001}, "textBody", id="too-long"),
    ],
)
def test_invalid_templates_are_refused(
    custom_templates: Templates, overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_template_set("email", custom_templates(**overrides))
    assert caught.value.field == field


def test_unknown_channel_has_no_templates(custom_templates: Templates) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_template_set("pigeon", custom_templates())
    assert caught.value.field == "channel"


def test_a_template_that_breaks_at_send_time_is_a_permanent_template_error() -> None:
    broken = TemplateSet(subject="x", text="{{ nope }}", html=None, origin="business:9")
    with pytest.raises(PermanentDeliveryError) as caught:
        render_template_set(broken, VARS)
    assert caught.value.reason == TEMPLATE_ERROR
    assert "business:9" in caught.value.message


async def test_overrides_resolve_location_then_enterprise_then_default(
    ctx: AppContext, practice: Any, custom_templates: Templates
) -> None:
    system = Principal.system("test")
    async with ctx.db.transaction() as session:
        await set_business_templates(
            session,
            principal=system,
            clock=ctx.clock,
            business=practice.enterprise,
            channel="email",
            subject="Enterprise: {{ location_name }}",
            text_body=custom_templates().text,
            html_body=custom_templates().html,
        )
        await set_business_templates(
            session,
            principal=system,
            clock=ctx.clock,
            business=practice.location_a,
            channel="email",
            subject="Location A: {{ location_name }}",
            text_body=custom_templates().text,
            html_body=custom_templates().html,
        )
    async with ctx.db.reader() as session:
        a = await resolve_template_set(session, business_id=practice.location_a.id, channel="email")
        b = await resolve_template_set(session, business_id=practice.location_b.id, channel="email")
        smb = await resolve_template_set(session, business_id=practice.smb.id, channel="email")
    assert a.subject == "Location A: {{ location_name }}"
    assert a.origin == f"business:{practice.location_a.id}"
    assert b.subject == "Enterprise: {{ location_name }}"
    assert b.origin == f"business:{practice.enterprise.id}"
    assert smb == default_template_set("email")

    async with ctx.db.transaction() as session:
        assert await delete_business_templates(
            session,
            principal=system,
            clock=ctx.clock,
            business=practice.location_a,
            channel="email",
        )
    async with ctx.db.reader() as session:
        a = await resolve_template_set(session, business_id=practice.location_a.id, channel="email")
    assert a.subject == "Enterprise: {{ location_name }}"


async def test_the_email_channel_sends_with_a_business_override(
    ctx: AppContext,
    practice: Any,
    custom_templates: Templates,
    smtp_server: Any,
    sink_factory: Any,
    make_message: Any,
) -> None:
    async with ctx.db.transaction() as session:
        await set_business_templates(
            session,
            principal=Principal.system("test"),
            clock=ctx.clock,
            business=practice.location_a,
            channel="email",
            subject="Tell us about {{ location_name }}",
            text_body=custom_templates().text,
            html_body=custom_templates().html,
        )
    async with ctx.db.reader() as session:
        templates = await resolve_template_set(
            session, business_id=practice.location_a.id, channel="email"
        )
    sink = sink_factory()
    port = smtp_server(sink)
    smtp = SmtpSettings(host="127.0.0.1", port=port, from_="reviews@frontdesk.example")
    await EmailChannel(smtp).send(make_message(templates=templates, location_name="Loudoun"))
    assert b"Subject: Tell us about Loudoun" in sink.received[0][2]


async def test_templates_over_http(
    client: httpx.AsyncClient,
    staff_headers: dict[str, str],
    api_key: Any,
    practice: Any,
    custom_templates: Templates,
) -> None:
    base = f"/api/businesses/{practice.location_a.number}/message-templates/email"
    r = await client.get(base, headers=staff_headers)
    assert r.status_code == 200, r.text
    assert r.json()["origin"] == "default"
    assert "review_url" in r.json()["variables"]

    good = custom_templates()
    body = {"subject": "Hi from {{ location_name }}", "textBody": good.text, "htmlBody": good.html}
    r = await client.put(base, json=body, headers=staff_headers)
    assert r.status_code == 200, r.text
    assert r.json()["origin"] == "business"

    r = await client.put(base, json={**body, "textBody": "{{ secret_var }}"}, headers=staff_headers)
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "textBody"
    assert "secret_var" not in r.text

    sibling = f"/api/businesses/{practice.location_b.number}/message-templates/email"
    r = await client.get(sibling, headers=staff_headers)
    assert r.json()["origin"] == "default"

    other_tenant = await api_key(name="lakeside", business=practice.smb.number)
    r = await client.get(base, headers=other_tenant)
    assert r.status_code == 404

    r = await client.delete(base, headers=staff_headers)
    assert r.status_code == 204
    r = await client.delete(base, headers=staff_headers)
    assert r.status_code == 404
    r = await client.get(
        f"/api/businesses/{practice.location_a.number}/message-templates/pigeon",
        headers=staff_headers,
    )
    assert r.status_code == 404
