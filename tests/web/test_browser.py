"""The dashboard in a real browser: Playwright driving Debian's chromium.

The real server (``frontdesk serve``) and the Unity sandbox run as subprocesses on loopback
with a temporary data directory; users and businesses are made with the CLI. The tests take
the screenshots of ``docs/screenshots/``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from frontdesk.sandbox.unity import (
    DEFAULT_APPNAME,
    DEFAULT_PM_PASSWORD,
    DEFAULT_PM_USER,
    DEFAULT_SERVICE_PASSWORD,
)
from frontdesk.web.wizard import slot

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"
    ),
]
if CHROMIUM.exists():
    from playwright.sync_api import Browser, Page, expect, sync_playwright

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ENTERPRISE, LOUDOUN, ASHBURN = "149547879572938", "149547899859217", "149547899859218"
SERVICE_USER_PREFIX = "VHCP001PM:PMGA02^8^"  # the sandbox's ServiceUser, without our suffix
SERVICE_SUFFIX = "Front-4d2e-FrontDesk-test"
PASSWORD = "correct horse battery"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass(frozen=True)
class Stack:
    url: str
    sandbox_url: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data = tmp_path_factory.mktemp("browser") / "data"
    sandbox_port, port = free_port(), free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("FRONTDESK_") or k == "FRONTDESK_TEST_POSTGRES_URL"
    }
    env.pop("FRONTDESK_TEST_POSTGRES_URL", None)
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

    def run(*args: str, stdin: str | None = None) -> None:
        subprocess.run([*cli, *args], env=env, input=stdin, text=True, check=True, timeout=60)

    run("db", "upgrade")
    run("business", "add", "--number", ENTERPRISE, "--name", "Loudoun Valley Medical Group")
    for number, name in ((LOUDOUN, "Loudoun Office"), (ASHBURN, "Ashburn Office")):
        run("business", "add", "--number", number, "--name", name, "--enterprise", ENTERPRISE)
    run("business", "add", "--number", "149547800000001", "--name", "Lakeside Pediatrics")
    for username, role in (("sam", "support"), ("vera", "viewer")):
        run("admin", "create-user", "--username", username, "--role", role, stdin=PASSWORD + "\n")

    sandbox = subprocess.Popen(
        [sys.executable, "-m", "frontdesk.sandbox", "unity", "--port", str(sandbox_port)],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    server = subprocess.Popen([*cli, "serve", "--port", str(port)], env=env)
    try:
        wait_for(f"http://127.0.0.1:{sandbox_port}/sandbox/admin/knobs", sandbox)
        wait_for(f"http://127.0.0.1:{port}/healthz", server)
        yield Stack(url=f"http://127.0.0.1:{port}", sandbox_url=f"http://127.0.0.1:{sandbox_port}")
    finally:
        stop(server, sandbox)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield launched
        launched.close()


def stop(*processes: subprocess.Popen[bytes]) -> None:
    """Terminate the stack's processes (kill one that does not stop within 10 s)."""
    for process in processes:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def open_page(browser: Browser, base_url: str) -> Iterator[Page]:
    """A page in a fresh context on ``base_url`` (every browser test's ``page`` fixture:
    ``yield from open_page(...)``); ``FRONTDESK_BROWSER_DEBUG`` prints console and responses."""
    context = browser.new_context(
        base_url=base_url, viewport={"width": 1280, "height": 860}, device_scale_factor=1
    )
    context.set_default_timeout(20_000)
    opened = context.new_page()
    if os.environ.get("FRONTDESK_BROWSER_DEBUG"):
        opened.on("console", lambda m: print("console:", m.type, m.text))
        opened.on("response", lambda r: print("response:", r.status, r.request.method, r.url))
    yield opened
    context.close()


@pytest.fixture
def page(browser: Browser, stack: Stack) -> Iterator[Page]:
    yield from open_page(browser, stack.url)


def shot(page: Page, name: str, *, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def shot_step(page: Page, name: str, step: int) -> None:
    """A screenshot of one step card of the Add-integration page (1-based)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("section.step").nth(step - 1).screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def log_in(page: Page, username: str, *, screenshot: bool = False) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    if screenshot:
        shot(page, "login", full_page=False)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/integrations")


def test_wrong_password_is_refused_on_the_login_page(page: Page) -> None:
    page.goto("/integrations")
    page.wait_for_url("**/login?next=/integrations")
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Sign-in failed")


def test_add_an_integration_through_the_whole_flow(page: Page) -> None:
    log_in(page, "sam", screenshot=True)
    expect(page.get_by_role("heading", name="Integrations")).to_be_visible()
    page.get_by_role("link", name="Add integration").first.click()
    page.wait_for_url("**/integrations/new")

    # 1-2: practice, then search the source.
    page.get_by_label("Practice").select_option(ENTERPRISE)
    with page.expect_response("**/integrations/new/sources?q=allscr*"):
        page.get_by_label("Search sources").fill("allscr")
    source = page.get_by_role("radio", name="ALLSCRIPTS")
    expect(source).to_be_visible()
    source.check()
    # 3: the only trigger is pre-selected.
    trigger = page.get_by_role("checkbox", name="Allscripts Appointment Trigger")
    expect(trigger).to_be_checked()
    shot(page, "add-integration-source", full_page=False)

    # 4: group properties; secure ones are password fields.
    user_name = page.locator('input[name="g:User_Name"]')
    expect(user_name).to_have_attribute("type", "password")
    user_name.fill(SERVICE_USER_PREFIX)
    page.locator('input[name="g:PM_Password"]').fill(DEFAULT_PM_PASSWORD)
    page.locator('input[name="g:pms_user_name"]').fill(DEFAULT_PM_USER)
    page.locator('input[name="g:review.url"]').fill("https://reviews.example.org/loudoun")

    # 5: test the connection, then discover statuses and types.
    page.get_by_role("button", name="Test connection").click()
    result = page.locator("#connection-result .result")
    expect(result).to_have_attribute("data-status", "ok")
    expect(result).to_contain_text("Connected")
    expect(result).to_contain_text("America/New_York")
    page.get_by_role("button", name="Discover statuses and types").click()
    acknowledge = page.get_by_role("checkbox", name="Acknowledge")
    expect(acknowledge).to_be_visible()
    acknowledge.check()
    page.get_by_role("checkbox", name="Confirmed").check()
    shot_step(page, "add-integration-properties", 4)
    shot_step(page, "add-integration-connection", 5)

    # 6: one drawer per location.
    drawers = page.locator("details.drawer")
    expect(drawers).to_have_count(2)
    for index, name in enumerate(("Loudoun Office", "Ashburn Office")):
        drawer = drawers.nth(index)
        if drawer.get_attribute("open") is None:
            drawer.locator("summary").click()
        number = LOUDOUN if index == 0 else ASHBURN
        drawer.locator(f'input[name="l:{number}:name"]').fill(name)
    drawers.nth(0).locator(f'select[name="l:{LOUDOUN}:freq_unit"]').select_option("hours")
    drawers.nth(0).locator(f'input[name="l:{LOUDOUN}:freq_value"]').fill("12")

    # A mistake is shown next to its field, and nothing is saved.
    drawers.nth(1).locator(f'input[name="l:{ASHBURN}:tz"]').fill("Mars/Olympus")
    page.get_by_role("button", name="Save integration").click()
    error = page.locator("#" + slot(f"l:{ASHBURN}:tz"))
    expect(error).to_contain_text("time zone")
    expect(page.locator("#err-form")).to_contain_text("Not saved")
    error.scroll_into_view_if_needed()
    shot(page, "add-integration-error", full_page=False)
    drawers.nth(1).locator(f'input[name="l:{ASHBURN}:tz"]').fill("America/New_York")
    drawers.nth(1).locator("summary").click()  # close the second drawer again
    shot_step(page, "add-integration-locations", 6)

    page.get_by_role("button", name="Save integration").click()
    page.wait_for_url("**/integrations/groups/*?created=1")
    expect(page.get_by_role("status")).to_contain_text("Integration saved")
    body = page.content()
    assert DEFAULT_PM_PASSWORD not in body
    assert SERVICE_USER_PREFIX not in body
    expect(page.locator("td.masked").first).to_have_text("********")
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#check-result .result")).to_have_attribute("data-status", "ok")
    shot(page, "group-detail")

    # Run now: the embedded worker of `frontdesk serve` runs it against the sandbox.
    page.get_by_role("button", name="Run now").click()
    expect(page.locator("#check-result")).to_contain_text("queued")

    page.get_by_role("link", name="Integrations", exact=True).first.click()
    page.wait_for_url("**/integrations")
    row = page.locator("#business-" + ENTERPRISE)
    expect(row).to_contain_text("ALLSCRIPTS")
    expect(row.locator(".badge")).to_have_text("Active")
    expect(row).to_contain_text("2 active")
    deadline = time.monotonic() + 60
    while "run-succeeded" not in row.inner_html() and time.monotonic() < deadline:
        assert "run-failed" not in row.inner_html()
        time.sleep(0.5)
        page.reload()
    expect(row.locator(".run")).to_have_text("succeeded")
    expect(row).to_contain_text("fetched")
    shot(page, "integrations")


def test_a_viewer_cannot_reach_configuration(page: Page) -> None:
    log_in(page, "vera")
    expect(page.get_by_role("heading", name="Integrations")).to_be_visible()
    expect(page.get_by_role("link", name="Add integration")).to_have_count(0)
    response = page.goto("/integrations/new")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()


def test_a_form_post_without_the_csrf_token_is_refused(page: Page) -> None:
    log_in(page, "sam")
    # Strip the token from the logout form and from htmx's headers, then submit it.
    page.evaluate(
        """() => {
            document.querySelectorAll('input[name="csrf_token"]').forEach(e => e.remove());
            document.body.removeAttribute('hx-headers');
        }"""
    )
    with page.expect_response("**/logout") as refused:
        page.get_by_role("button", name="Log out").click()
    assert refused.value.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    # Still logged in: the refused post changed nothing.
    page.goto("/integrations")
    expect(page.get_by_role("heading", name="Integrations")).to_be_visible()
    api = page.request.post("/integrations/new", form={"business": ENTERPRISE})
    assert api.status == 403


def test_api_docs_render_offline_under_their_csp(page: Page, stack: Stack) -> None:
    """``/docs`` (hardening issue, finding 9): Swagger UI from this server, no CDN, and its
    CSP (no inline script) does not stop it from rendering."""
    errors: list[str] = []
    elsewhere: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on(
        "request",
        lambda r: None if r.url.startswith((stack.url, "data:")) else elsewhere.append(r.url),
    )
    page.goto("/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("frontdesk")
    expect(page.get_by_text("/integration/add/businessintegrationgroup").first).to_be_visible()
    assert not errors, errors
    assert not elsewhere, elsewhere
