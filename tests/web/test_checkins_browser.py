"""The Check-ins page in a real browser: "why wasn't my patient asked?".

``frontdesk serve`` and the Unity sandbox run as subprocesses (as in ``test_browser.py``); the
practice is configured through the Integration API with a key made by the CLI. Support runs
the group from its page (Run now, the embedded worker), opens Check-ins, finds a restricted
check-in and reads its reason; a viewer sees the same decisions with patient fields masked.
Writes ``docs/screenshots/checkins.png`` and ``checkins-detail.png``.
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

from frontdesk.sandbox.unity import (
    DEFAULT_APPNAME,
    DEFAULT_PM_PASSWORD,
    DEFAULT_PM_USER,
    DEFAULT_SERVICE_PASSWORD,
)
from frontdesk.staff.roles import PATIENT_DETAIL_MASK

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
class Practice:
    url: str
    group_id: int
    api_key: str

    def run_through_the_api(self) -> None:
        """Queue a run like Run now does (for a test that runs on its own)."""
        response = httpx.post(
            f"{self.url}/integration/businessintegrationgroup/id/{self.group_id}/run",
            json={},
            headers={"Authorization": f"Bearer {self.api_key}"},
        )
        assert response.status_code == 202, response.text


def _prop(key: str, value: str, secure: bool = False) -> dict[str, Any]:
    return {"propertyKey": key, "propertyValue": value, "isSecure": secure}


@pytest.fixture(scope="module")
def practice(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Practice]:
    """Server + sandbox; an enterprise with two mapped locations (Ashburn without a review
    link) whose group reads today's schedule (fetch delay 0)."""
    data = tmp_path_factory.mktemp("checkins-browser") / "data"
    sandbox_port, port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env |= {
        "FRONTDESK_DATA_DIR": str(data),
        "FRONTDESK_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "FRONTDESK_LOG_LEVEL": os.environ.get("FRONTDESK_BROWSER_LOG_LEVEL", "WARNING"),
        "FRONTDESK_UNITY__URL": f"http://127.0.0.1:{sandbox_port}/UnityPM/UnityService.svc/json",
        "FRONTDESK_UNITY__APPNAME": DEFAULT_APPNAME,
        "FRONTDESK_UNITY__SERVICE_USERNAME": SERVICE_SUFFIX,
        "FRONTDESK_UNITY__SERVICE_PASSWORD": DEFAULT_SERVICE_PASSWORD,
    }
    cli = [sys.executable, "-c", "from frontdesk.cli.main import main; main()"]

    def run(*args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [*cli, *args],
            env=env,
            input=stdin,
            text=True,
            check=True,
            timeout=60,
            capture_output=True,
        )
        return done.stdout

    run("db", "upgrade")
    run("business", "add", "--number", ENTERPRISE, "--name", "Loudoun Valley Medical Group")
    for number, name in LOCATIONS.items():
        run("business", "add", "--number", number, "--name", name, "--enterprise", ENTERPRISE)
    for username, role in (("sam", "support"), ("vera", "viewer")):
        run("admin", "create-user", "--username", username, "--role", role, stdin=PASSWORD + "\n")
    key = run("admin", "create-api-key", "--name", "browser-test").strip().splitlines()[-1]

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
                props = [_prop("allscripts.location.name", name)]
                if name == "Loudoun Office":
                    props.append(_prop("review.url", "https://reviews.example.org/loudoun"))
                mapped = api.put(
                    "/integration/add/businessintegrationmapping",
                    json={
                        "businessNumber": int(number),
                        "integrationGroupId": group_id,
                        "integrationProperties": props,
                        "customerFetchDelay": 0,
                    },
                )
                assert mapped.status_code == 200, mapped.text
        yield Practice(url=url, group_id=group_id, api_key=key)
    finally:
        stop(server, sandbox)


@pytest.fixture
def page(browser: Browser, practice: Practice) -> Iterator[Page]:
    yield from open_page(browser, practice.url)


def log_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/integrations")


def test_find_why_a_patient_was_not_asked(page: Page, practice: Practice) -> None:
    # Support runs the group now; the embedded worker reads today's schedule.
    log_in(page, "sam")
    page.goto(f"/integrations/groups/{practice.group_id}")
    page.get_by_role("button", name="Run now").click()
    expect(page.locator("#check-result")).to_contain_text("queued")
    page.goto("/integrations")
    row = page.locator("#business-" + ENTERPRISE)
    deadline = time.monotonic() + 60
    while "run-succeeded" not in row.inner_html() and time.monotonic() < deadline:
        assert "run-failed" not in row.inner_html()
        time.sleep(0.5)
        page.reload()
    expect(row.locator(".run")).to_have_text("succeeded")

    # Check-ins: the latest day, counts per reason on top.
    page.get_by_role("link", name="Check-ins", exact=True).click()
    page.wait_for_url("**/checkins")
    expect(page.get_by_role("heading", name="Check-ins", exact=True)).to_be_visible()
    summary = page.locator(".reason-summary")
    expect(summary).to_contain_text("'Appointment status' is not in the allowed list")
    expect(page.locator("tr.decision-eligible").first).to_be_visible()
    page.set_viewport_size({"width": 1280, "height": 1180})
    shot(page, "checkins", full_page=False)
    page.set_viewport_size({"width": 1280, "height": 860})

    # Narrow to one reason (htmx swaps the results), open a check-in, read why.
    with page.expect_response("**/checkins?*reason=status_not_allowed*"):
        page.get_by_label("Decision").select_option("status_not_allowed")
    rows = page.locator("table.checkins-table tbody tr")
    expect(rows.first).to_contain_text("'Appointment status' is not in the allowed list")
    assert "reason=status_not_allowed" in page.url  # the filter is in the address bar
    for index in range(rows.count()):
        expect(rows.nth(index).locator(".decision")).to_have_text("Restricted")
    status = rows.first.locator("td").nth(4).inner_text().strip()
    rows.first.get_by_role("link", name="Why?").click()
    page.wait_for_url("**/checkins/*")
    verdict = page.get_by_role("region", name="Why")
    expect(verdict).to_contain_text(
        "Not asked for a review: 'Appointment status' is not in the allowed list"
    )
    expect(verdict).to_contain_text(f"Status '{status}' is not in [Acknowledge, Confirmed]")
    expect(page.locator("tr.step-restricted")).to_have_count(1)
    expect(page.locator("tr.step-passed")).to_have_count(2)
    shot(page, "checkins-detail")


def test_a_viewer_sees_decisions_with_patient_details_masked(
    page: Page, practice: Practice
) -> None:
    log_in(page, "vera")
    page.goto("/checkins")
    rows = page.locator("table.checkins-table tbody tr")
    if rows.count() == 0:  # run alone: the other test has not run the group
        practice.run_through_the_api()
    deadline = time.monotonic() + 60
    while rows.count() == 0 and time.monotonic() < deadline:
        time.sleep(0.5)
        page.reload()
    expect(rows.first).to_be_visible()
    patients = page.locator("td.patient > span:first-child")
    for index in range(min(patients.count(), 10)):
        expect(patients.nth(index)).to_have_text(PATIENT_DETAIL_MASK)
    page.get_by_role("link", name="Why?").first.click()
    page.wait_for_url("**/checkins/*")
    expect(page.get_by_text("Your role does not show patient details.")).to_be_visible()
    masked = page.locator(".facts dd .masked")
    expect(masked.first).to_have_text(PATIENT_DETAIL_MASK)
    assert "@" not in page.locator(".facts").nth(1).inner_text()
