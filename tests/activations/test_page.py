"""The Client Activations page over HTTP: the report, raising and advancing through the forms
(CSRF), a refused change explained, the mails captured; viewers read only; tenants see their
own; the Integrations page names the hold of a held group's run."""

from __future__ import annotations

from datetime import timedelta

import httpx
from tests.web.conftest import PASSWORD, csrf_of, login

from frontdesk.access.principal import Principal
from frontdesk.context import AppContext
from frontdesk.staff.service import create_user

from .conftest import DAY, ENTERPRISE, OTHER_TENANT, Mailbox, Practice, request_body, run_all_to_end


async def log_in_as(
    ctx: AppContext,
    client: httpx.AsyncClient,
    username: str,
    role: str,
    business: int | None = None,
) -> str:
    async with ctx.db.transaction() as session:
        await create_user(
            session,
            principal=Principal.system("test"),
            clock=ctx.clock,
            username=username,
            password=PASSWORD,
            role=role,
            business_number=business,
        )
    client.cookies.clear()
    assert (await login(client, username)).status_code == 303
    return csrf_of((await client.get("/activations")).text)


FORM = {
    "business": str(ENTERPRISE),
    "source": "ALLSCRIPTS",
    "practice": "Loudoun Valley Medical Group",
    "contact": "Dana Office-Manager",
    "email": "dana@loudoun.example",
    "client_id": "FDG0001",
    "service_user": request_body()["serviceUser"],
    "environment": "production",
    "initial": "requested",
    "notes": "",
}


async def test_raise_and_advance_through_the_page(
    ctx: AppContext, practice: Practice, mailbox: tuple[Mailbox, int]
) -> None:
    client = practice.client
    csrf = await log_in_as(ctx, client, "sam", "support")
    page = await client.get("/activations")
    assert page.status_code == 200
    assert 'href="/activations"' in page.text
    assert "Client Activations" in page.text
    assert "No activation request" in page.text

    no_csrf = await client.post("/activations", data=FORM)
    assert no_csrf.status_code == 403
    raised = await client.post("/activations", data={**FORM, "csrf_token": csrf})
    assert raised.status_code == 303, raised.text
    report = (await client.get(raised.headers["location"])).text
    assert "raised as requested" in report
    assert "Loudoun Valley Medical Group" in report
    assert "FDG0001" in report
    assert FORM["service_user"] not in report

    rows = (await client.get("/api/activations", headers=practice.headers)).json()
    activation_id = rows[0]["id"]
    moved = await client.post(
        f"/activations/{activation_id}/status",
        data={"csrf_token": csrf, "status": "approved", "note": "vendor ticket 4711"},
    )
    assert moved.status_code == 303
    refused = await client.post(
        f"/activations/{activation_id}/status", data={"csrf_token": csrf, "status": "requested"}
    )
    assert refused.status_code == 422
    assert "cannot go from approved to requested" in refused.text
    report = (await client.get("/activations?status=approved")).text
    assert "vendor ticket 4711" in report
    assert "user:sam" in report
    assert (
        "No activation request is active" in (await client.get("/activations?status=active")).text
    )
    missing = await client.post("/activations", data={**FORM, "csrf_token": csrf, "contact": ""})
    assert missing.status_code == 422
    assert "contactName is required" in missing.text

    subjects = [str(m["Subject"]) for m in mailbox[0].parsed()]
    assert len(subjects) == 2
    assert subjects[1].endswith("requested → approved")

    # The held group's run names the hold on the Integrations page.
    (run,) = await run_all_to_end(ctx, await practice.run_now(DAY + timedelta(days=1)))
    assert run.error_code == "activation_pending"
    integrations = (await client.get("/integrations")).text
    assert "Held: client activation not active yet" in integrations
    group_page = (await client.get(f"/integrations/groups/{practice.group_id}")).text
    assert "Held: client activation not active yet" in group_page

    # "Test connection" passes (this sandbox's client is activated): the request turns active.
    checked = await client.post(
        f"/integrations/groups/{practice.group_id}/check", data={"csrf_token": csrf}
    )
    assert checked.status_code == 200
    assert "Connected" in checked.text
    shown = (await client.get(f"/api/activations/{activation_id}", headers=practice.headers)).json()
    assert shown["status"] == "active"
    assert shown["history"][-1]["actor"] == "system:check"
    assert len(mailbox[0].parsed()) == 3

    # A viewer reads the report but gets no form and may not post; another tenant sees none.
    csrf = await log_in_as(ctx, client, "vera", "viewer")
    page = await client.get("/activations")
    assert "Loudoun Valley Medical Group" in page.text
    assert "Raise a request" not in page.text
    denied = await client.post(
        f"/activations/{activation_id}/status", data={"csrf_token": csrf, "status": "active"}
    )
    assert denied.status_code == 403
    r = await client.post(
        "/api/businesses",
        json={"businessNumber": OTHER_TENANT, "name": "Elsewhere"},
        headers=practice.headers,
    )
    assert r.status_code == 201
    await log_in_as(ctx, client, "olga", "support", business=OTHER_TENANT)
    assert "No activation request" in (await client.get("/activations")).text
