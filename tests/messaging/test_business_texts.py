"""A business's own texts through the sync engine against the Twilio simulator over HTTP:
its SMS templates (kind ``mobile``, "Reply STOP" instead of an unsubscribe link), its own
sender (``twilio.from`` / ``twilio.messaging_service_sid``) and its HELP text."""

from __future__ import annotations

from typing import Any

from tests.messaging.conftest import CLINIC, DAY, PUBLIC_URL, Texting

TEMPLATES = f"/api/businesses/{CLINIC}/message-templates"
OWN_TEXT = "{{ location_name }} here. How did we do? {{ review_url }} Reply STOP to opt out"


async def test_a_business_sms_template_is_checked_and_used(texting: Texting) -> None:
    t = texting
    unsubscribe_only = "Review us: {{ review_url }} {{ unsubscribe_url }}"
    r = await t.api.put(f"{TEMPLATES}/sms", json={"textBody": unsubscribe_only})
    assert r.status_code == 422
    assert "Reply STOP" in r.text
    no_link = "Please review us. Reply STOP to opt out"
    r = await t.api.put(f"{TEMPLATES}/mobile", json={"textBody": no_link})
    assert r.status_code == 422
    assert "review_url" in r.text
    r = await t.api.put(f"{TEMPLATES}/sms", json={"textBody": OWN_TEXT})
    assert r.status_code == 200, r.text
    # the channel's name and its template kind are the same templates
    r = await t.api.get(f"{TEMPLATES}/mobile")
    assert (r.json()["origin"], r.json()["textBody"]) == ("business", OWN_TEXT)
    preview = (await t.api.get(f"{TEMPLATES}/sms/preview")).json()
    assert preview["origin"].startswith("business:")
    assert preview["textBody"].startswith("Care North here. How did we do?")
    assert preview["segments"] == {
        "encoding": "GSM-7",
        "characters": len(preview["textBody"]),
        "segments": 1,
    }
    # an email still needs its unsubscribe link
    r = await t.api.put(
        f"{TEMPLATES}/email",
        json={"subject": "Hi", "textBody": OWN_TEXT, "htmlBody": "<p>{{ review_url }}</p>"},
    )
    assert r.status_code == 422
    assert "unsubscribe_url" in r.text

    t.book.visit(1, DAY, "+15715550103")
    ids = await t.run(DAY)
    assert list((await t.process.sender.send_requests(ids)).values()) == ["sent"]
    (message,) = t.sim.state.messages
    assert message.body.startswith("Care North here. How did we do? " + PUBLIC_URL + "/r/")
    assert message.body.endswith("Reply STOP to opt out")


async def group_property(t: Texting, key: str, value: str) -> Any:
    url = f"/integration/businessintegrationgroup/id/{t.group}/properties/{key}"
    return await t.api.put(url, json={"propertyValue": value})


async def test_the_sender_property_is_the_channels_own(texting: Texting) -> None:
    t = texting
    r = await group_property(t, "twilio.from", "555-0100")
    assert r.status_code == 422
    assert "twilio.from" in r.text
    r = await group_property(t, "twilio.messaging_service_sid", "MG123")
    assert r.status_code == 422
    r = await group_property(t, "twilio.from", "+1 (571) 555-0177")
    assert r.status_code == 200, r.text
    group = r.json()
    assert group["unknownPropertyKeys"] == []
    stored = {p["propertyKey"]: p for p in group["integrationGroupProperties"]}
    assert stored["twilio.from"]["propertyValue"] == "+15715550177"
    assert stored["twilio.from"]["known"] is True
