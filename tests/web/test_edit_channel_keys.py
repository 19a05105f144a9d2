"""Edit integration offers the keys the registered channels own (the sms channel's sender and
HELP text), and saves them through the same checks as the integration API."""

from __future__ import annotations

import httpx
import pytest

from frontdesk.context import AppContext
from frontdesk.integrations.groups import group_properties
from frontdesk.settings import Settings, TwilioSettings

from .conftest import ENTERPRISE, LoginAs
from .test_edit_integration import group_form

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Texts configured: the sms channel (and its property specs) is registered."""
    return settings.model_copy(
        update={
            "twilio": TwilioSettings(
                account_sid="AC" + "0" * 32,
                auth_token="t" * 32,  # type: ignore[arg-type]
                from_="+15005550006",
            )
        }
    )


async def test_the_sms_channels_keys_are_edited_like_the_sources(
    client: httpx.AsyncClient, ctx: AppContext, login_as: LoginAs, tenants: dict[str, int]
) -> None:
    token = await login_as("support")
    group_id = tenants[str(ENTERPRISE)]
    page = await client.get(f"/integrations/groups/{group_id}/edit")
    assert page.status_code == 200
    assert 'name="g:twilio.from"' in page.text
    assert 'name="g:twilio.help_text"' in page.text

    refused = await client.post(
        f"/integrations/groups/{group_id}/properties",
        data=group_form(token, **{"g:twilio.from": "not a number"}),
    )
    assert refused.status_code == 422
    saved = await client.post(
        f"/integrations/groups/{group_id}/properties",
        data=group_form(token, **{"g:twilio.from": "+1 703 555 0190"}),
    )
    assert saved.status_code == 303, saved.text
    async with ctx.db.reader() as session:
        values = await group_properties(session, group_id=group_id, secrets=ctx.secrets)
    assert values["twilio.from"] == "+17035550190"  # normalised to E.164 like the API does
