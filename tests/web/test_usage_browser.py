"""The Usage page in a real browser, over a real ``frontdesk serve``.

The Unity sandbox and the server run as subprocesses; the demo's mail capture (aiosmtpd) is
the server's SMTP relay. A practice is configured and run through the Integration API with a
key made by the CLI; the server flushes its usage every half second. Support opens the Usage
page: its figures equal ``GET /api/usage``, four SVG charts are drawn (with the funnel);
picking one location narrows the figures to it. Writes ``docs/screenshots/usage.png``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from frontdesk.delivery.capture import MailCapture
from frontdesk.sandbox.unity import (
    DEFAULT_APPNAME,
    DEFAULT_PM_PASSWORD,
    DEFAULT_PM_USER,
    DEFAULT_SERVICE_PASSWORD,
)

from .test_browser import (
    CHROMIUM,
    PASSWORD,
    SERVICE_SUFFIX,
    SERVICE_USER_PREFIX,
    browser,
    free_port,
    open_page,
    shot,
    stop,
    wait_for,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"
    ),
]
if CHROMIUM.exists():
    from playwright.sync_api import Browser, Page, expect

__all__ = ["browser"]  # the shared Playwright fixture

ENTERPRISE = "149547879572938"
LOCATIONS = {"149547899859201": "Loudoun Office", "149547899859202": "Ashburn Office"}
STATUSES = "Acknowledge,Confirmed"


@dataclass(frozen=True)
class Stack:
    url: str
    api_key: str

    def usage(self, **params: str) -> dict[str, Any]:
        response = httpx.get(
            f"{self.url}/api/usage",
            params=params,
            headers={"Authorization": f"Bearer {self.api_key}"},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def _prop(key: str, value: str, secure: bool = False) -> dict[str, Any]:
    return {"propertyKey": key, "propertyValue": value, "isSecure": secure}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data = tmp_path_factory.mktemp("usage-browser") / "data"
    sandbox_port, port, smtp_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env |= {
        "FRONTDESK_DATA_DIR": str(data),
        "FRONTDESK_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "FRONTDESK_LOG_LEVEL": os.environ.get("FRONTDESK_BROWSER_LOG_LEVEL", "WARNING"),
        "FRONTDESK_UNITY__URL": f"http://127.0.0.1:{sandbox_port}/UnityPM/UnityService.svc/json",
        "FRONTDESK_UNITY__APPNAME": DEFAULT_APPNAME,
        "FRONTDESK_UNITY__SERVICE_USERNAME": SERVICE_SUFFIX,
        "FRONTDESK_UNITY__SERVICE_PASSWORD": DEFAULT_SERVICE_PASSWORD,
        "FRONTDESK_SMTP__HOST": "127.0.0.1",
        "FRONTDESK_SMTP__PORT": str(smtp_port),
        "FRONTDESK_SMTP__FROM": "reviews@frontdesk.test",
        "FRONTDESK_REVIEW__SWEEP_S": "0.5",
        "FRONTDESK_USAGE__FLUSH_S": "0.5",
    }
    cli = [sys.executable, "-c", "from frontdesk.cli.main import main; main()"]

    def run(*args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [*cli, *args], env=env, input=stdin, text=True, check=True, timeout=60,
            capture_output=True,
        )  # fmt: skip
        return done.stdout

    run("db", "upgrade")
    run("business", "add", "--number", ENTERPRISE, "--name", "Loudoun Valley Medical Group")
    for number, name in LOCATIONS.items():
        run("business", "add", "--number", number, "--name", name, "--enterprise", ENTERPRISE)
    run("admin", "create-user", "--username", "sam", "--role", "support", stdin=PASSWORD + "\n")
    key = run("admin", "create-api-key", "--name", "usage-test").strip().splitlines()[-1]
    capture = MailCapture(f"sqlite+aiosqlite:///{data / 'frontdesk.db'}", port=smtp_port)
    capture.start()
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "frontdesk.sandbox", "unity", "--port", str(sandbox_port)],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    server = subprocess.Popen([*cli, "serve", "--port", str(port)], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"http://127.0.0.1:{sandbox_port}/sandbox/admin/knobs", sandbox)
        wait_for(f"{url}/healthz", server)
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as api:
            made = api.put(
                "/integration/add/businessintegrationgroup",
                json={
                    "parentBusinessNumber": int(ENTERPRISE),
                    "integrationSourceId": 32,
                    "integrationGroupTriggers": [{"triggerId": 56, "triggerTypeId": 1}],
                    "integrationGroupProperties": [
                        _prop("User_Name", SERVICE_USER_PREFIX, True),
                        _prop("PM_Password", DEFAULT_PM_PASSWORD, True),
                        _prop("pms_user_name", DEFAULT_PM_USER),
                        _prop("allscripts.appointment.status", STATUSES),
                    ],
                },
            )
            assert made.status_code == 200, made.text
            group_id = int(made.json()["groupId"])
            for number, name in LOCATIONS.items():
                mapped = api.put(
                    "/integration/add/businessintegrationmapping",
                    json={
                        "businessNumber": int(number),
                        "integrationGroupId": group_id,
                        "integrationProperties": [
                            _prop("allscripts.location.name", name),
                            _prop("review.url", f"https://reviews.example.org/{number}"),
                        ],
                        "customerFetchDelay": 0,
                    },
                )
                assert mapped.status_code == 200, mapped.text
            ran = api.post(f"/integration/businessintegrationgroup/id/{group_id}/run", json={})
            assert ran.status_code == 202, ran.text
        found = Stack(url=url, api_key=key)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:  # the run ends, its requests are sent and flushed
            totals = found.usage()["subjects"]
            sent = totals.get("review_request", {}).get("email:sent", 0)
            if totals.get("sync_run") and sent and sent == totals["checkin"].get("eligible"):
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"usage did not arrive: {found.usage()['subjects']}")
        yield found
    finally:
        capture.stop()
        stop(server, sandbox)


@pytest.fixture
def page(browser: Browser, stack: Stack) -> Iterator[Page]:
    yield from open_page(browser, stack.url)


def figure(page: Page, kind: str) -> int:
    return int(page.locator(f'dd[data-kind="{kind}"]').inner_text())


def test_the_usage_page_shows_the_work_with_charts(page: Page, stack: Stack) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/integrations")
    page.get_by_role("link", name="Usage").click()
    page.wait_for_url("**/usage")
    expect(page.get_by_role("heading", name="Usage", exact=True)).to_be_visible()
    every = stack.usage()
    checkins = every["subjects"]["checkin"]
    assert figure(page, "integration_api") == every["totals"]["integration_api"]
    assert figure(page, "source_call") == every["totals"]["source_call"] > 0
    assert figure(page, "sync_run") == every["totals"]["sync_run"] == 1
    assert figure(page, "eligible") == checkins["eligible"] > 0
    assert figure(page, "restricted") == sum(v for k, v in checkins.items() if k != "eligible")
    assert figure(page, "sent") == every["subjects"]["review_request"]["email:sent"]
    charts = page.locator("svg.chart")
    expect(charts).to_have_count(4)  # activity, the funnel, check-ins, requests
    for i in range(4):
        expect(charts.nth(i)).to_be_visible()
    assert page.locator("svg.chart rect").count() > 0  # the stacked bars were drawn
    sent = every["subjects"]["review_request"]["email:sent"]
    expect(page.locator('#usage-funnel-table tr[data-channel="email"] td').nth(1)).to_have_text(
        str(sent)
    )
    expect(page.locator(".alerts-panel")).to_be_visible()
    expect(page.locator("#usage-source-table")).to_contain_text("ALLSCRIPTS GetSchedule")
    shot(page, "usage")

    loudoun = next(n for n, name in LOCATIONS.items() if name == "Loudoun Office")
    page.get_by_label("Business").select_option(label="Loudoun Office")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(f"**/usage?business={loudoun}**")
    own = stack.usage(business=loudoun)
    assert figure(page, "eligible") == own["subjects"]["checkin"]["eligible"]
    assert figure(page, "eligible") < checkins["eligible"]
    assert figure(page, "sent") == own["subjects"]["review_request"]["email:sent"]
    assert figure(page, "sync_run") == 0  # the run is the enterprise group's
