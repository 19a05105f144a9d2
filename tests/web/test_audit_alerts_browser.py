"""The Audit log and Alerts pages in a real browser.

``frontdesk serve`` runs as a subprocess with alert thresholds in seconds, and so does
``frontdesk mllp`` (the listener with its heartbeat); businesses and users come from the
CLI, which writes the audit log the page lists. The listener is killed (``SIGKILL``: no
clean stop), serve's alert loop opens ``component_quiet`` and the Alerts page shows it;
a restarted listener clears it. Writes ``docs/screenshots/audit.png`` and ``alerts.png``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from .test_browser import (
    CHROMIUM,
    PASSWORD,
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

ENTERPRISE, LOUDOUN, OTHER = "149547879572938", "149547899859217", "149547800000001"


@dataclass
class Stack:
    url: str
    cli: list[str]
    env: dict[str, str]
    mllp_port: int

    def listener(self) -> subprocess.Popen[bytes]:
        """``frontdesk mllp`` on the stack's port, up and beating."""
        process = subprocess.Popen(
            [*self.cli, "mllp", "--port", str(self.mllp_port)],
            env=self.env,
            stdout=subprocess.PIPE,
        )
        assert process.stdout is not None
        line = process.stdout.readline()  # "mllp listening on ..." once it listens and beat
        assert b"mllp listening" in line, line
        return process


def close_output(process: subprocess.Popen[bytes]) -> None:
    if process.stdout is not None:
        process.stdout.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data = tmp_path_factory.mktemp("audit-browser") / "data"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env |= {
        "FRONTDESK_DATA_DIR": str(data),
        "FRONTDESK_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "FRONTDESK_LOG_LEVEL": os.environ.get("FRONTDESK_BROWSER_LOG_LEVEL", "WARNING"),
        "PYTHONUNBUFFERED": "1",
        "FRONTDESK_ALERTS__CHECK_INTERVAL_S": "0.3",
        "FRONTDESK_ALERTS__HEARTBEAT_S": "0.3",
        "FRONTDESK_ALERTS__QUIET_AFTER_S": "1.5",
    }
    cli = [sys.executable, "-c", "from frontdesk.cli.main import main; main()"]

    def run(*args: str, stdin: str | None = None) -> None:
        subprocess.run([*cli, *args], env=env, input=stdin, text=True, check=True, timeout=60)

    run("db", "upgrade")
    run("business", "add", "--number", ENTERPRISE, "--name", "Loudoun Valley Medical Group")
    run(
        "business",
        "add",
        "--number",
        LOUDOUN,
        "--name",
        "Loudoun Office",
        "--enterprise",
        ENTERPRISE,
    )
    run("business", "add", "--number", OTHER, "--name", "Lakeside Pediatrics")
    run("admin", "create-user", "--username", "sam", "--role", "support", stdin=PASSWORD + "\n")
    run(
        "admin",
        "create-user",
        "--username",
        "lea",
        "--role",
        "admin",
        "--business",
        ENTERPRISE,
        stdin=PASSWORD + "\n",
    )
    run("admin", "create-api-key", "--name", "lakeside", "--business", OTHER)
    server = subprocess.Popen([*cli, "serve", "--port", str(port)], env=env)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", server)
        yield Stack(f"http://127.0.0.1:{port}", cli, env, free_port())
    finally:
        stop(server)


@pytest.fixture
def page(browser: Browser, stack: Stack) -> Iterator[Page]:
    yield from open_page(browser, stack.url)


def log_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/integrations")


def rows(page: Page) -> list[str]:
    return page.locator("table.audit-table tbody tr").all_inner_texts()


def test_the_audit_log_filters_in_the_browser(page: Page) -> None:
    log_in(page, "sam")
    page.get_by_role("link", name="Audit log").click()
    page.wait_for_url("**/audit")
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    everything = rows(page)
    assert any("business.create" in r for r in everything)
    assert any("api_key.create" in r for r in everything)

    page.locator("select[name=action]").select_option("business.create")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**action=business.create*")
    created = rows(page)
    assert len(created) == 3
    assert all("business.create" in r for r in created)

    page.locator("select[name=business]").select_option(OTHER)
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**business=" + OTHER)
    (only,) = rows(page)
    assert "Lakeside Pediatrics" in only

    page.get_by_role("link", name="Reset").click()
    page.locator("input[name=actor]").fill("nobody-at-all")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No event matches.")).to_be_visible()
    page.get_by_role("link", name="Reset").click()
    page.wait_for_url("**/audit")
    shot(page, "audit")


def test_a_practice_user_sees_only_its_own_audit_entries(page: Page) -> None:
    log_in(page, "lea")
    page.goto("/audit")
    texts = rows(page)
    assert texts
    assert not any("Lakeside" in r for r in texts)
    options = page.locator("select[name=business]").locator("option").all_inner_texts()
    assert not any("Lakeside" in o for o in options)


def wait_until(check: object, page: Page, *, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        page.reload()
        if check():  # type: ignore[operator]
            return
        time.sleep(0.3)
    raise AssertionError("the page never showed it")


def test_a_killed_listener_shows_on_the_alerts_page_until_it_is_back(
    page: Page, stack: Stack
) -> None:
    listener = stack.listener()
    log_in(page, "sam")
    page.get_by_role("link", name="Alerts").click()
    page.wait_for_url("**/alerts")
    quiet = page.locator("li.alert-item.alert-open[data-kind=component_quiet]")
    time.sleep(2.0)  # beating: nothing to show
    page.reload()
    expect(quiet).to_have_count(0)

    listener.kill()  # SIGKILL: no clean stop, its heartbeat row stays and stops moving
    listener.wait()
    close_output(listener)
    wait_until(lambda: quiet.count() == 1, page)
    expect(quiet).to_contain_text("MLLP listener")
    expect(quiet.get_by_role("link", name="this alert")).to_be_visible()
    shot(page, "alerts")

    restarted = stack.listener()
    try:
        wait_until(lambda: quiet.count() == 0, page)
        expect(
            page.locator("li.alert-item.alert-resolved[data-kind=component_quiet]")
        ).to_have_count(1)
    finally:
        stop(restarted)
        close_output(restarted)


def test_a_practice_user_does_not_see_the_installations_alerts(page: Page) -> None:
    log_in(page, "lea")
    page.goto("/alerts")
    expect(page.get_by_role("heading", name="Alerts", exact=True)).to_be_visible()
    expect(page.locator("li.alert-item[data-kind=component_quiet]")).to_have_count(0)
