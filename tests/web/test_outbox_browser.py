"""The Outbox page in a real browser: run a sync, requeue, read the sent email.

``frontdesk serve`` and the Unity sandbox run as subprocesses (as in ``test_browser.py``); the
practice is configured through the Integration API with a key made by the CLI. The server's
SMTP relay is "down" at first (nothing listens on its port), so the requests of the first run
end up ``parked`` after two attempts; then the demo's mail capture (a real aiosmtpd server,
``MailCapture``) starts on that port, support requeues a request from the Outbox page and
reads the sent email there, rendered. A viewer sees the states and errors with no patient
detail. Writes ``docs/screenshots/outbox.png`` and ``outbox-detail.png``.
"""

from __future__ import annotations

import os
import re
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
BLUE = "rgb(37, 99, 235)"  # the default template's "Leave a review" button (an inline style)


@dataclass
class Relay:
    """The server's SMTP port: nothing listens until :meth:`start` runs the mail capture."""

    port: int
    database_url: str
    capture: MailCapture | None = None

    def start(self) -> None:
        if self.capture is None:
            self.capture = MailCapture(self.database_url, port=self.port)
            self.capture.start()

    def stop(self) -> None:
        if self.capture is not None:
            self.capture.stop()


@dataclass(frozen=True)
class Stack:
    url: str
    group_id: int
    api_key: str
    relay: Relay

    def run_through_the_api(self) -> None:
        response = httpx.post(
            f"{self.url}/integration/businessintegrationgroup/id/{self.group_id}/run",
            json={},
            headers={"Authorization": f"Bearer {self.api_key}"},
        )
        assert response.status_code == 202, response.text


def _prop(key: str, value: str, secure: bool = False) -> dict[str, Any]:
    return {"propertyKey": key, "propertyValue": value, "isSecure": secure}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Server + sandbox; an enterprise with two mapped locations with review links, reading
    today's schedule; review sends retried once after a second, then parked."""
    data = tmp_path_factory.mktemp("outbox-browser") / "data"
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
        "FRONTDESK_SMTP__TIMEOUT_S": "5",
        "FRONTDESK_REVIEW__MAX_ATTEMPTS": "2",
        "FRONTDESK_REVIEW__RETRY_BASE_S": "1",
        "FRONTDESK_REVIEW__RETRY_MAX_S": "1",
        "FRONTDESK_REVIEW__SWEEP_S": "0.5",
        "FRONTDESK_REVIEW__SWEEP_GRACE_S": "0.5",
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
    relay = Relay(smtp_port, f"sqlite+aiosqlite:///{data / 'frontdesk.db'}")
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
        yield Stack(url=url, group_id=group_id, api_key=key, relay=relay)
    finally:
        relay.stop()
        stop(server, sandbox)


@pytest.fixture
def page(browser: Browser, stack: Stack) -> Iterator[Page]:
    yield from open_page(browser, stack.url)


def log_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/integrations")


def reload_until(page: Page, done: Any, what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)
        page.reload()


def test_run_a_sync_requeue_and_read_the_sent_email(page: Page, stack: Stack) -> None:
    # Support runs the group now; the relay is down, so every request ends up parked.
    log_in(page, "sam")
    page.goto(f"/integrations/groups/{stack.group_id}")
    page.get_by_role("button", name="Run now").click()
    expect(page.locator("#check-result")).to_contain_text("queued")
    page.get_by_role("link", name="Outbox", exact=True).click()
    page.wait_for_url("**/outbox")
    expect(page.get_by_role("heading", name="Outbox", exact=True)).to_be_visible()
    rows = page.locator("table.outbox-table tbody tr")
    parked = page.locator("table.outbox-table tbody tr.state-row-parked")
    reload_until(
        page, lambda: rows.count() > 1 and parked.count() == rows.count(), "parked requests"
    )
    first = rows.first
    expect(first.locator(".state")).to_have_text("Parked")
    expect(first.locator("td").nth(5)).to_have_text("2")  # attempts
    expect(first.locator("td.error")).to_contain_text("Every attempt failed")
    expect(first.locator("td.recipient")).to_contain_text("***@")

    # The form post without the CSRF token is refused and changes nothing.
    request_id = first.get_attribute("id", timeout=5000) or ""
    number = request_id.removeprefix("request-")
    refused = page.request.post(f"/outbox/{number}/requeue", form={"x": "1"})
    assert refused.status == 403
    page.reload()
    expect(page.locator(f"#{request_id} .state")).to_have_text("Parked")

    # The relay comes back (the demo's mail capture); support requeues one request.
    stack.relay.start()
    with page.expect_response(lambda r: "/outbox?" in r.url and "state=parked" in r.url):
        page.locator("select[name=state]").select_option("parked")
    page.wait_for_url(lambda url: "state=parked" in url)  # the filter is in the address bar
    row = page.locator(f"#{request_id}")
    with page.expect_response(f"**/outbox/{number}/requeue"):
        row.get_by_role("button", name="Requeue").click()
    expect(page.locator(f"#{request_id}")).to_contain_text("Requeued: it goes out now.")
    expect(page.locator(f"#{request_id} .state")).to_have_text("Pending")

    # Its page: sent, with the captured email rendered (text and HTML).
    page.locator(f"#{request_id}").get_by_role("link", name="Details").click()
    page.wait_for_url(f"**/outbox/{number}")
    badge = page.locator(".page-head .state")
    reload_until(page, lambda: badge.inner_text() == "Sent", "the request to be sent")
    message = page.get_by_role("region", name="The message")
    expect(message).to_contain_text("How was your visit to")
    # the review link is the request's tracked link on this server (/r/{token})
    tracked = re.compile(r"Leave a review: http://127\.0\.0\.1:\d+/r/[\w-]{11}\s")
    expect(message.locator("pre.message-text")).to_contain_text(tracked)
    frame = page.frame_locator("iframe.message-frame")
    button = frame.get_by_text("Leave a review")
    expect(button).to_be_visible()
    assert button.evaluate("e => getComputedStyle(e).backgroundColor") == BLUE  # inline style
    assert frame.locator("body").evaluate("() => window.origin") == "null"  # sandboxed
    expect(frame.get_by_role("link")).to_have_count(0)  # the unsubscribe link cannot be followed
    page.set_viewport_size({"width": 1280, "height": 1200})
    shot(page, "outbox-detail", full_page=False)

    # Back on the list: one sent, the others still parked, with their errors.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Outbox").click()
    page.wait_for_url("**/outbox")
    expect(page.locator(f"#{request_id} .state")).to_have_text("Sent")
    expect(page.locator(".stat-state-sent dd")).to_have_text("1")
    page.set_viewport_size({"width": 1280, "height": 1100})
    shot(page, "outbox", full_page=False)


def test_a_viewer_sees_states_and_errors_but_no_patient_details(page: Page, stack: Stack) -> None:
    log_in(page, "vera")
    page.goto("/outbox")
    rows = page.locator("table.outbox-table tbody tr")
    if rows.count() == 0:  # run alone: the other test has not run the group
        stack.run_through_the_api()
    reload_until(page, lambda: rows.count() > 0, "review requests")
    recipients = page.locator("td.recipient > span:first-child")
    for index in range(min(recipients.count(), 10)):
        expect(recipients.nth(index)).to_have_text(PATIENT_DETAIL_MASK)
    expect(page.get_by_role("button", name="Requeue")).to_have_count(0)
    rows.first.get_by_role("link", name="Details").click()
    page.wait_for_url("**/outbox/*")
    expect(page.get_by_text("Your role does not show patient details.")).to_be_visible()
    expect(page.get_by_role("region", name="The message")).to_contain_text(
        "Not shown: the message carries patient details"
    )
    expect(page.locator("iframe")).to_have_count(0)
    assert "@" not in page.locator(".facts").nth(1).inner_text()
    number = page.url.rsplit("/", 1)[-1]
    assert page.request.get(f"/outbox/{number}/message.html").status == 403
