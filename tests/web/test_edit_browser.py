"""Edit integration in a real browser: each kind of setting, and the next run follows it.

``frontdesk serve`` and the Unity sandbox run as subprocesses (as in ``test_browser.py``). The
practice is configured through the Integration API with a mistake: Loudoun's location name
is misspelt (nothing routes to it), only ``Acknowledge`` is allowed and Ashburn is not mapped.
A first run shows it; support then fixes everything in the Edit page and runs again. The
decisions are read from the server's database file (read-only). Writes
``docs/screenshots/edit-integration.png``.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

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

__all__ = ["browser"]

ENTERPRISE, LOUDOUN, ASHBURN = "149547879572938", "149547899859201", "149547899859202"
STATUS = "allscripts.appointment.status"


@dataclass(frozen=True)
class Practice:
    url: str
    group_id: int
    database: Path

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=10) as db:
            return db.execute(sql, args).fetchall()

    def wait_for_runs(self, count: int) -> None:
        """Until ``count`` runs of the group have finished (all must have succeeded)."""
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            rows = self.query("SELECT status FROM sync_runs WHERE group_id = ?", self.group_id)
            done = [s for (s,) in rows if s not in ("queued", "running")]
            if len(done) >= count:
                assert set(done) == {"succeeded"}, done
                return
            time.sleep(0.5)
        raise AssertionError(f"{count} runs did not finish")


def _prop(key: str, value: str, secure: bool = False) -> dict[str, Any]:
    return {"propertyKey": key, "propertyValue": value, "isSecure": secure}


@pytest.fixture(scope="module")
def practice(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Practice]:
    data = tmp_path_factory.mktemp("edit-browser") / "data"
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
            [*cli, *args], env=env, input=stdin, text=True, check=True, timeout=60,
            capture_output=True,
        )  # fmt: skip
        return done.stdout

    run("db", "upgrade")
    run("business", "add", "--number", ENTERPRISE, "--name", "Loudoun Valley Medical Group")
    for number, name in ((LOUDOUN, "Loudoun Office"), (ASHBURN, "Ashburn Office")):
        run("business", "add", "--number", number, "--name", name, "--enterprise", ENTERPRISE)
    for username, role in (("sam", "support"), ("vera", "viewer")):
        run("admin", "create-user", "--username", username, "--role", role, stdin=PASSWORD + "\n")
    key = run("admin", "create-api-key", "--name", "edit-browser").strip().splitlines()[-1]
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
                        _prop(STATUS, "Acknowledge"),
                        _prop("review.url", "https://reviews.example.org/group"),
                    ],
                },
            )
            assert made.status_code == 200, made.text
            group_id = int(made.json()["groupId"])
            mapped = api.put(
                "/integration/add/businessintegrationmapping",
                json={
                    "businessNumber": int(LOUDOUN),
                    "integrationGroupId": group_id,
                    "integrationProperties": [_prop("allscripts.location.name", "Loudoun Ofice")],
                    "customerFetchDelay": 1,
                },
            )
            assert mapped.status_code == 200, mapped.text
        yield Practice(url=url, group_id=group_id, database=data / "frontdesk.db")
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


def run_now(page: Page, practice: Practice, runs: int) -> None:
    page.goto(f"/integrations/groups/{practice.group_id}")
    page.get_by_role("button", name="Run now").click()
    expect(page.locator("#check-result")).to_contain_text("queued")
    practice.wait_for_runs(runs)


def test_edit_each_setting_and_the_next_run_follows(page: Page, practice: Practice) -> None:
    log_in(page, "sam")
    run_now(page, practice, 1)
    first = practice.query("SELECT mapping_id FROM checkins")
    assert first
    assert {m for (m,) in first} == {None}  # the misspelt name routes nothing

    page.goto(f"/integrations/groups/{practice.group_id}")
    page.get_by_role("link", name="Edit", exact=True).click()
    page.wait_for_url("**/edit")

    # Group properties: a bad value is refused next to its field, the typed values stay.
    group = page.get_by_role("form", name="Group properties")
    group.locator(f'input[name="g:{STATUS}"]').fill("Acknowledge, Confirmed")
    group.locator('input[name="g:review.url"]').fill("ftp://reviews.example.org")
    group.locator('input[name="g:PM_Password"]').fill(DEFAULT_PM_PASSWORD)
    group.get_by_role("button", name="Save properties").click()
    expect(page.locator("#err-g-review-url")).to_contain_text("review.url")
    group = page.get_by_role("form", name="Group properties")
    expect(group.locator(f'input[name="g:{STATUS}"]')).to_have_value("Acknowledge, Confirmed")
    expect(group.locator('input[name="g:PM_Password"]')).to_have_value("")  # never echoed
    group.locator('input[name="g:review.url"]').fill("https://reviews.example.org/loudoun")
    group.locator('input[name="g:PM_Password"]').fill(DEFAULT_PM_PASSWORD)
    group.get_by_role("button", name="Save properties").click()
    expect(page.get_by_role("status")).to_have_text("Group properties saved.")
    expect(page.locator('[data-secure-state="PM_Password"]')).to_have_text("set")
    html = page.content()
    assert DEFAULT_PM_PASSWORD not in html
    assert SERVICE_USER_PREFIX not in html

    # Triggers: replace (replaceTriggers) with the ticked one.
    triggers = page.get_by_role("form", name="Triggers")
    triggers.get_by_label("Replace the group's triggers", exact=False).check()
    triggers.get_by_role("button", name="Save triggers").click()
    expect(page.get_by_role("status")).to_have_text("Triggers saved.")

    # The location: its right name, today's schedule (fetch delay 0).
    loudoun = page.get_by_role("form", name="Location Loudoun Office")
    loudoun.get_by_label("Location name").fill("Loudoun Office")
    loudoun.get_by_label("Customer fetch delay").fill("0")
    loudoun.get_by_role("button", name="Save location").click()
    expect(page.get_by_role("status")).to_have_text("Location saved.")

    # Add Ashburn, in dry run.
    add = page.get_by_role("form", name="Add a location")
    add.locator('select[name="new:business"]').select_option(ASHBURN)
    add.get_by_label("Location name").fill("Ashburn Office")
    add.get_by_label("Customer fetch delay").fill("0")
    add.get_by_label("Dry run: decide and record").check()
    add.get_by_role("button", name="Add location").click()
    expect(page.get_by_role("status")).to_have_text("Location added.")
    page.locator("#location-" + str(_mapping(practice, ASHBURN))).locator("summary").click()
    shot(page, "edit-integration")

    run_now(page, practice, 2)
    second = practice.query(
        "SELECT c.mapping_id, c.pms_appointment_status, c.restriction_reason FROM checkins c"
        " WHERE c.run_id = (SELECT max(id) FROM sync_runs)"
    )
    loudoun_rows = [r for r in second if r[0] == _mapping(practice, LOUDOUN)]
    ashburn_rows = [r for r in second if r[0] == _mapping(practice, ASHBURN)]
    assert loudoun_rows, "the renamed location gets its appointments"
    assert ashburn_rows, "the added location gets its appointments"
    for _, status, reason in loudoun_rows:
        assert (status in ("Acknowledge", "Confirmed")) == (reason != "status_not_allowed")
    assert any(status == "Confirmed" for _, status, _ in loudoun_rows)
    assert any(reason == "dry_run" for _, _, reason in ashburn_rows)
    audit = {a for (a,) in practice.query("SELECT action FROM audit_events WHERE actor='user:sam'")}
    assert {
        "integration_group.properties.set",
        "integration_group.triggers",
        "integration_mapping.update",
        "integration_mapping.create",
    } <= audit


def test_a_viewer_cannot_edit(page: Page, practice: Practice) -> None:
    log_in(page, "vera")
    page.goto(f"/integrations/groups/{practice.group_id}")
    expect(page.get_by_role("link", name="Edit", exact=True)).to_have_count(0)
    response = page.goto(f"/integrations/groups/{practice.group_id}/edit")
    assert response is not None
    assert response.status == 403


def test_remove_a_location_then_the_group_after_confirming(page: Page, practice: Practice) -> None:
    log_in(page, "sam")
    decided = practice.query("SELECT count(*) FROM checkins")[0][0]
    page.goto(f"/integrations/groups/{practice.group_id}/edit")
    mapping = _mapping(practice, LOUDOUN)
    page.locator(f"#location-{mapping} summary").click()
    page.get_by_role("form", name="Location Loudoun Office").get_by_role(
        "link", name="Remove this location…"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Remove Loudoun Office")
    page.get_by_role("link", name="Cancel").click()  # nothing happens without confirming
    page.wait_for_url("**/edit")
    assert practice.query("SELECT id FROM integration_mappings WHERE id = ?", mapping)
    page.goto(f"/integrations/mappings/{mapping}/remove")
    page.get_by_role("button", name="Yes, remove").click()
    expect(page.get_by_role("status")).to_contain_text("Location removed")
    assert not practice.query("SELECT id FROM integration_mappings WHERE id = ?", mapping)

    page.get_by_role("link", name=f"Remove group #{practice.group_id}…").click()
    page.get_by_role("button", name="Yes, remove").click()
    page.wait_for_url("**/integrations?removed=*")
    assert f"/integrations/groups/{practice.group_id}" not in page.content()
    assert practice.query("SELECT count(*) FROM checkins")[0][0] == decided  # history kept
    response = page.goto(f"/integrations/groups/{practice.group_id}")
    assert response is not None
    assert response.status == 404


def _mapping(practice: Practice, number: str) -> int:
    rows = practice.query(
        "SELECT m.id FROM integration_mappings m JOIN businesses b ON b.id = m.business_id"
        " WHERE b.number = ?",
        int(number),
    )
    return int(rows[0][0])
