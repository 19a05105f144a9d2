"""The core's operations on a FHIR group, generated from its spec, against the FHIR sandbox
on loopback through the built-in plugins (the real outbound transport): "Test connection"
and "Discover" of the Add-integration flow, ``frontdesk integration diagnose``, health."""

from __future__ import annotations

from datetime import date

import httpx
from tests.fhir.conftest import group_properties

from frontdesk.access.principal import Principal
from frontdesk.composition import Role, build_process
from frontdesk.context import AppContext
from frontdesk.credentials.diagnose import diagnose
from frontdesk.credentials.health import group_health
from frontdesk.server.app import create_app
from frontdesk.web.connection import check_connection, discover_values

ENTERPRISE = 400000000000001


async def test_test_connection_and_discover_from_the_spec(ctx: AppContext, loopback: str) -> None:
    process = build_process(ctx, Role.CLI)
    properties = group_properties(**{"fhir.base.url": loopback})
    view = await check_connection(
        ctx.settings, process.plugins, source="FHIR_R4", properties=properties
    )
    assert view.status == "ok", view.message
    missing = await check_connection(
        ctx.settings, process.plugins, source="FHIR_R4", properties={"fhir.base.url": loopback}
    )
    assert missing.status == "not_configured"
    assert missing.field == "fhir.client.id"
    found = await discover_values(
        ctx.settings,
        process.plugins,
        source="FHIR_R4",
        properties=properties,
        today=date(2026, 3, 2),
    )
    assert found.discovery is not None, found.error
    assert [s.value for s in found.discovery.locations] == ["loc-1-1", "loc-1-2", "loc-1-3"]
    assert {s.value for s in found.discovery.statuses} >= {"fulfilled", "noshow"}


async def test_diagnose_and_health_of_a_fhir_group(
    ctx: AppContext, loopback: str, staff_headers: dict[str, str]
) -> None:
    process = build_process(ctx, Role.CLI)
    await process.start()
    try:
        app = create_app(process.settings, process=process)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test", headers=staff_headers
        ) as api:
            r = await api.post("/api/businesses", json={"businessNumber": ENTERPRISE, "name": "D"})
            assert r.status_code == 201, r.text
            props = [
                {"propertyKey": k, "propertyValue": v, "isSecure": k == "fhir.private.key"}
                for k, v in group_properties(**{"fhir.base.url": loopback}).items()
            ]
            r = await api.put(
                "/integration/add/businessintegrationgroup",
                json={
                    "parentBusinessNumber": ENTERPRISE,
                    "integrationSourceId": 33,
                    "integrationGroupTriggers": [{"triggerId": 57, "triggerTypeId": 1}],
                    "integrationGroupProperties": props,
                },
            )
            assert r.status_code == 200, r.text
            group = r.json()["groupId"]
        found = await diagnose(
            ctx, process.plugins, principal=Principal.system("test"), group_id=group
        )
        assert found.check.ok, found.check.message
        assert found.logs == []
        async with ctx.db.reader() as session:
            rows = await group_health(
                session, principal=None, settings=ctx.settings, now=ctx.clock.now()
            )
        row = next(h for h in rows if h.group_id == group)
        assert row.source == "FHIR_R4"
        assert row.password_age_days is None
        assert row.warnings == []
    finally:
        await process.stop()
