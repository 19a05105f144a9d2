"""The HL7 messages page: staff see every message without content, a business-scoped user
only its facilities' messages; operators reprocess (CSRF-checked), viewers cannot."""

from __future__ import annotations

import re

from tests.hl7v2.conftest import ENTERPRISE, Practice
from tests.hl7v2.feeds import PATIENT_VALUES, Sender, Siu

from frontdesk.access.principal import Principal
from frontdesk.staff.service import create_user

PASSWORD = "Dashboard#Pass-2026"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def _login(practice: Practice, role: str, business: int | None = None) -> str:
    username = f"{role}-{business or 'all'}"
    async with practice.ctx.db.transaction() as session:
        await create_user(
            session,
            principal=Principal.system("test"),
            clock=practice.ctx.clock,
            username=username,
            password=PASSWORD,
            role=role,
            business_number=business,
        )
    api = practice.api
    api.cookies.clear()
    page = await api.get("/login")
    token = CSRF.search(page.text)
    assert token is not None
    r = await api.post(
        "/login", data={"csrf_token": token[1], "username": username, "password": PASSWORD}
    )
    assert r.status_code == 303, r.text
    landing = await api.get("/hl7")
    found = CSRF.search(landing.text)
    return found[1] if found else ""


async def test_the_hl7_page(practice: Practice) -> None:
    sender = await Sender.connect(practice.port)
    await sender.send(str(Siu(control_id="NORTH-1")))
    await sender.send(str(Siu(control_id="WEST-1", facility="WESTSIDE")))
    await sender.close()

    await _login(practice, "admin")
    page = await practice.api.get("/hl7")
    assert page.status_code == 200
    assert "NORTH-1" in page.text
    assert "WEST-1" in page.text
    assert "unknown sending facility" in page.text
    for value in PATIENT_VALUES:
        assert value not in page.text
    rejected = await practice.api.get("/hl7", params={"state": "rejected"})
    assert "WEST-1" in rejected.text
    assert "NORTH-1" not in rejected.text

    await _login(practice, "viewer", business=ENTERPRISE)
    scoped = await practice.api.get("/hl7")
    assert "NORTH-1" in scoped.text
    assert "WEST-1" not in scoped.text
    assert "Reprocess" not in scoped.text

    await _login(practice, "viewer")
    denied = await practice.api.post("/hl7/reprocess", data={"csrf_token": "x"})
    assert denied.status_code == 403

    r = await practice.api.put(
        f"/integration/businessintegrationgroup/id/{practice.group_id}"
        "/properties/hl7.sending.facility",
        json={"propertyValue": "NORTHSIDE,WESTSIDE", "isSecure": False},
    )
    assert r.status_code == 200, r.text
    csrf = await _login(practice, "support")
    assert (await practice.api.post("/hl7/reprocess", data={})).status_code == 403
    done = await practice.api.post("/hl7/reprocess", data={"csrf_token": csrf})
    assert done.status_code == 303
    after = await practice.api.get(done.headers["location"])
    assert "reprocessed 1: 1 accepted" in after.text
    assert "rejected</span>" not in after.text
