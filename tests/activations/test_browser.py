"""The Client Activations page in a real browser (Playwright, Debian's chromium): the real
server and the Unity sandbox (``--not-activated``) as subprocesses, a real SMTP sink.
Takes ``docs/screenshots/activations.png``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from tests.credentials.conftest import Mailbox
from tests.web.test_browser import (  # noqa: F401  (the browser fixture)
    CHROMIUM,
    ENTERPRISE,
    PASSWORD,
    SERVICE_SUFFIX,
    browser,
    free_port,
    log_in,
    open_page,
    shot,
    stop,
    wait_for,
)

from frontdesk.delivery.capture import LoopbackController
from frontdesk.sandbox.unity import DEFAULT_APPNAME, DEFAULT_SERVICE_PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"
    ),
]
if CHROMIUM.exists():
    from playwright.sync_api import Browser, Page, expect

NOTIFY = "integrations-support@frontdesk.test"


@dataclass(frozen=True)
class Stack:
    url: str
    sandbox_url: str
    mailbox: Mailbox


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    mailbox = Mailbox()
    smtp = LoopbackController(mailbox)
    smtp.start()
    data = tmp_path_factory.mktemp("activations") / "data"
    sandbox_port, port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env |= {
        "FRONTDESK_DATA_DIR": str(data),
        "FRONTDESK_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "FRONTDESK_LOG_LEVEL": "WARNING",
        "FRONTDESK_UNITY__URL": f"http://127.0.0.1:{sandbox_port}/UnityPM/UnityService.svc/json",
        "FRONTDESK_UNITY__APPNAME": DEFAULT_APPNAME,
        "FRONTDESK_UNITY__SERVICE_USERNAME": SERVICE_SUFFIX,
        "FRONTDESK_UNITY__SERVICE_PASSWORD": DEFAULT_SERVICE_PASSWORD,
        "FRONTDESK_SMTP__HOST": "127.0.0.1",
        "FRONTDESK_SMTP__PORT": str(smtp.port),
        "FRONTDESK_ACTIVATIONS__NOTIFY": NOTIFY,
    }
    cli = [sys.executable, "-c", "from frontdesk.cli.main import main; main()"]

    def run(*args: str, stdin: str | None = None) -> None:
        subprocess.run([*cli, *args], env=env, input=stdin, text=True, check=True, timeout=60)

    run("db", "upgrade")
    run("business", "add", "--number", ENTERPRISE, "--name", "Loudoun Valley Medical Group")
    run("admin", "create-user", "--username", "sam", "--role", "support", stdin=PASSWORD + "\n")
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "frontdesk.sandbox", "unity", "--port", str(sandbox_port),
         "--not-activated"],
        env=env,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    server = subprocess.Popen([*cli, "serve", "--port", str(port)], env=env)
    try:
        wait_for(f"http://127.0.0.1:{sandbox_port}/sandbox/admin/knobs", sandbox)
        wait_for(f"http://127.0.0.1:{port}/healthz", server)
        yield Stack(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{sandbox_port}", mailbox)
    finally:
        stop(server, sandbox)
        smtp.stop()


@pytest.fixture
def page(browser: Browser, stack: Stack) -> Iterator[Page]:  # noqa: F811
    yield from open_page(browser, stack.url)


def wait_for_mails(mailbox: Mailbox, count: int) -> list[str]:
    deadline = time.monotonic() + 10
    while len(mailbox.parsed()) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return [str(m["Subject"]) for m in mailbox.parsed()]


def test_raise_and_advance_an_activation_in_the_browser(page: Page, stack: Stack) -> None:
    log_in(page, "sam")
    page.get_by_role("link", name="Client Activations").click()
    page.wait_for_url("**/activations")
    expect(page.get_by_role("heading", name="Client Activations")).to_be_visible()

    form = page.get_by_role("form", name="Raise an activation request")
    form.get_by_label("Business number").fill(ENTERPRISE)
    form.get_by_label("Practice name").fill("Loudoun Valley Medical Group")
    form.get_by_label("Contact", exact=True).fill("Dana Office-Manager")
    form.get_by_label("Contact e-mail").fill("dana@loudoun.example")
    form.get_by_label("Vendor client id").fill("VHCP001")
    form.get_by_label("Service user").fill("VHCP001PM:PMGA02^8^" + SERVICE_SUFFIX)
    form.get_by_label("Notes").fill("Set-up call on Monday; vendor form sent.")
    form.get_by_role("button", name="Raise request").click()
    expect(page.get_by_role("status")).to_contain_text("raised as requested")
    row = page.locator("#activations tbody tr").first
    expect(row).to_contain_text("requested")
    expect(row).not_to_contain_text(SERVICE_SUFFIX)  # masked: the last four characters

    page.get_by_text("History (1) and next step").click()
    advance = page.get_by_role("form", name="Advance activation 1")
    advance.get_by_label("New status").select_option("approved")
    advance.get_by_label("Note").fill("Vendor ticket 4711")
    advance.get_by_role("button", name="Record").click()
    expect(page.get_by_role("status")).to_contain_text("is now approved")
    expect(page.locator("#activations tbody tr").first).to_contain_text("approved")
    page.get_by_text("History (2) and next step").click()
    expect(page.locator("ol.history li")).to_have_count(2)
    shot(page, "activations")

    # The sandbox started with --not-activated: its client still waits for the vendor.
    clients = httpx.get(f"{stack.sandbox_url}/sandbox/admin/clients").json()
    assert [c["activated"] for c in clients] == [False]

    subjects = wait_for_mails(stack.mailbox, 2)
    assert len(subjects) == 2
    assert subjects[1].endswith("requested → approved")
    assert {m["To"] for m in stack.mailbox.parsed()} == {NOTIFY}
