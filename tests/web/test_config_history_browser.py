"""The group page's configuration history in a real browser (Playwright, Debian's chromium):
a practice configured by ``frontdesk config apply``, changed by a second file, served by
``frontdesk serve``; the page loads the history and shows the diff, never a secret."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from .test_browser import CHROMIUM, PASSWORD, Stack, free_port, log_in, open_page, stop, wait_for

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"
    ),
]
if CHROMIUM.exists():
    from playwright.sync_api import Browser, Page, expect, sync_playwright

ENTERPRISE, LOUDOUN = 149547879572938, 149547899859217
SECRETS = {"User_Name": "10220c34e:0010220^1^", "PM_Password": "first-password-81"}
NEW_PASSWORD = "second-password-82"


def practice_file(statuses: str) -> str:
    return f"""version: 1
businesses:
- number: {ENTERPRISE}
  name: Riverside
  timezone: America/New_York
- number: {LOUDOUN}
  name: Loudoun Office
  timezone: America/Chicago
  enterprise: {ENTERPRISE}
groups:
- business: {ENTERPRISE}
  source: ALLSCRIPTS
  triggers: [allscriptsAppointmentTriggerService]
  properties:
    User_Name: {{secret: {ENTERPRISE}.ALLSCRIPTS.User_Name}}
    PM_Password: {{secret: {ENTERPRISE}.ALLSCRIPTS.PM_Password}}
    pms_user_name: pmuser
    allscripts.appointment.status: {statuses}
  mappings:
  - business: {LOUDOUN}
    timezone: America/Chicago
    properties:
      allscripts.location.name: Loudoun Office
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("history")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env |= {
        "FRONTDESK_DATA_DIR": str(root / "data"),
        "FRONTDESK_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "FRONTDESK_LOG_LEVEL": "WARNING",
    }
    cli = [sys.executable, "-c", "from frontdesk.cli.main import main; main()"]

    def run(*args: str, stdin: str | None = None) -> None:
        subprocess.run([*cli, *args], env=env, input=stdin, text=True, check=True, timeout=60)

    secrets = root / "secrets"
    secrets.mkdir()
    for key, value in SECRETS.items():
        (secrets / f"{ENTERPRISE}.ALLSCRIPTS.{key}").write_text(value)
    first, second = root / "first.yaml", root / "second.yaml"
    first.write_text(practice_file("Acknowledge,Confirmed"))
    second.write_text(practice_file("Confirmed"))
    run("config", "apply", str(first), "--secrets-dir", str(secrets))
    (secrets / f"{ENTERPRISE}.ALLSCRIPTS.PM_Password").write_text(NEW_PASSWORD)
    run("config", "apply", str(second), "--secrets-dir", str(secrets))
    run("admin", "create-user", "--username", "vera", "--role", "viewer", stdin=PASSWORD + "\n")
    server = subprocess.Popen([*cli, "serve", "--port", str(port)], env=env)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", server)
        yield Stack(url=f"http://127.0.0.1:{port}", sandbox_url="")
    finally:
        stop(server)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, stack: Stack) -> Iterator[Page]:
    yield from open_page(browser, stack.url)


def test_the_group_page_shows_the_history_and_its_diff(page: Page) -> None:
    log_in(page, "vera")
    page.goto("/integrations/groups/1")
    table = page.locator("#history-table")
    expect(table).to_be_visible()
    newest = table.locator("tbody tr").first
    expect(newest).to_have_attribute("data-version", "2")
    expect(newest).to_contain_text("apply")
    expect(newest).to_contain_text("properties.allscripts.appointment.status")
    expect(newest).to_contain_text("Acknowledge,Confirmed → Confirmed")
    expect(newest).to_contain_text("properties.PM_Password")
    expect(newest).to_contain_text("(secret, changed)")
    expect(table.locator("tbody tr")).to_have_count(2)
    html = page.content()
    for value in (*SECRETS.values(), NEW_PASSWORD):
        assert value not in html
