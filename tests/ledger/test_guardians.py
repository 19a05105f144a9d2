"""A minor's review request goes to their guardian: over the Unity sandbox (whose well-baby
visits are babies with a parent as guarantor) and a real SMTP server, the e-mail goes to the
parent's address and greets the parent; a minor whose guardian has no e-mail stays
restricted ``minor``; the logs carry none of it."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select

from frontdesk.context import AppContext
from frontdesk.delivery.email_format import message_id_for
from frontdesk.engagement.checkin_models import CheckIn

from .conftest import DAY, ON, Loopback, Practice, Sink, Wired, requests
from .test_sending import key_of


async def checkins(ctx: AppContext) -> list[Any]:
    async with ctx.db.reader() as session:
        return list((await session.execute(select(CheckIn.__table__))).all())


async def test_a_babys_request_goes_to_the_parent_and_greets_them(
    ctx: AppContext,
    practice: Practice,
    wired: Wired,
    sink: tuple[Sink, int],
    unity: Loopback,
    capsys: pytest.CaptureFixture[str],
) -> None:
    handler, _ = sink
    capsys.readouterr()
    await wired.run_day(practice, ON)
    logs = capsys.readouterr().err
    data = unity.sandbox.practice
    rows = await checkins(ctx)
    by_checkin = {r.checkin_id: r for r in await requests(ctx)}
    messages = {str(m["Message-ID"]): m for m in handler.parsed()}

    to_guardian = [r for r in rows if r.detail == "to guardian"]
    assert {r.decision for r in to_guardian} == {"eligible"}
    kinds = Counter(r.pms_appointment_type for r in to_guardian)
    assert kinds["WELLBAB1"] >= 1, kinds
    for row in to_guardian:
        patient = data.patient(int(row.patient_id))
        assert patient is not None
        guardian = patient.guarantor
        assert guardian is not None
        assert patient.age_on(DAY) < 18
        sealed = json.loads(ctx.secrets.decrypt(row.patient_sealed))
        assert sealed["to_guardian"] is True
        assert sealed["email"] == guardian.email  # never the child's own
        assert sealed["guardian_first_name"] == guardian.first_name
        assert sealed["first_name"] == patient.first_name  # the check-in is still the child's
        message = messages[message_id_for(key_of(by_checkin[row.id]), domain="fd.test")]
        assert str(message["To"]).lower() == guardian.email.lower()
        text = message.get_body(preferencelist=("plain",)).get_content()
        assert text.startswith(f"Hi {guardian.first_name},")

    # Explained as such (the API's decision log), without a name.
    one = to_guardian[0]
    explained = (
        await practice.client.get(f"/api/checkins/{one.id}", headers=practice.headers)
    ).json()
    assert explained["detail"] == "to guardian"
    why = {step["rule"]: step["why"] for step in explained["rules"]}
    assert why["minor"] == "minimum age 18: younger, the request goes to the guardian"
    assert why["no_usable_contact"] == "the guardian has a usable contact"

    # An adult's request still greets the patient at their own address.
    adults = [r for r in rows if r.decision == "eligible" and r.detail is None]
    assert adults
    for row in adults:
        patient = data.patient(int(row.patient_id))
        assert patient is not None
        assert patient.age_on(DAY) >= 18
        message = messages[message_id_for(key_of(by_checkin[row.id]), domain="fd.test")]
        assert str(message["To"]).lower() == patient.email.strip().lower()

    # A minor whose guardian has no e-mail on file stays restricted.
    minors = [r for r in rows if r.restriction_reason == "minor"]
    assert minors
    for row in minors:
        patient = data.patient(int(row.patient_id))
        assert patient is not None
        assert patient.guarantor is not None
        assert patient.guarantor.email == ""

    # Nothing of the child or the parent in the logs (whole words: "Lee" is not "Leesburg").
    assert '"event": "checkin.decided"' in logs
    for row in to_guardian:
        patient = data.patient(int(row.patient_id))
        assert patient is not None
        assert patient.guarantor is not None
        for value in (
            patient.first_name,
            patient.last_name,
            patient.guarantor.first_name,
            patient.guarantor.email,
            patient.guarantor.cell_phone,
        ):
            if value.strip():
                assert not re.search(rf"(?<!\w){re.escape(value.strip())}(?!\w)", logs), value
