"""The Tickets pages in a real browser: a nurse works a ticket to COMPLETED.

``frontdesk serve`` runs as a subprocess (as in ``test_browser.py``); staff users and a staff
API key come from the CLI; the answering-service company, practices, doctors and the nurse's
practices are set up through the staff API, and the tickets arrive through the Answering
Service API v2 over loopback (the answering-service client). Writes
``docs/screenshots/tickets.png`` and ``ticket-detail.png``.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest

from frontdesk.answering.client import AnsweringClient
from frontdesk.staff.roles import PATIENT_DETAIL_MASK

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
T = TypeVar("T")

COMPANY, API_USER, API_PASSWORD = "Night Owl Answering", "owl", "Owl#Secret1"
API_KEY = "0123456789abcdef0123456789abcdef"
PRACTICES = {"4101": "Riverside Family Medicine", "4102": "Lakeside Pediatrics"}
CALLS = [  # prac, patient "first last", dob, complaint, phone (synthetic)
    ("4101", "Maya Lindqvist", "19840312", "Fever of 39.4 C since the afternoon", "5715550142"),
    ("4102", "Noah Brennan", "20210604", "Ear pain, crying since 10 pm", "7035550119"),
    ("4101", "Tomas Ferreira", "19570908", "Out of lisinopril until Monday", "5715550178"),
    ("4199", "Elias Moreau", "19920127", "Rash on both forearms, itching", "7035550163"),
    ("4101", "Ruth Okonkwo", "19690224", "Dizzy after a new blood-pressure pill", "5715550105"),
]


@dataclass(frozen=True)
class Desk:
    url: str
    ids: list[str]  # ticket ids, in the order of CALLS

    def vendor_status(self, ticket_id: str) -> str:
        """What the answering service reads back through ticketStatus."""

        async def ask() -> str:
            async with AnsweringClient(self.url, API_USER, API_PASSWORD, API_KEY) as client:
                return await client.status(ticket_id)

        return off_the_loop(ask)


def off_the_loop(call: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine in a thread of its own: Playwright's sync API holds this thread's loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(call())).result()


async def _submit(url: str) -> list[str]:
    async with AnsweringClient(url, API_USER, API_PASSWORD, API_KEY) as client:
        ids = []
        for prac, name, dob, complaint, phone in CALLS:
            first, last = name.split()
            fields = {"prac": prac, "client_code": "NOAS-17", "patient_fname": first}
            fields |= {"patient_lname": last, "dob": dob, "complaint": complaint}
            fields |= {"contact_phone": phone, "caller_fname": first, "caller_lname": last}
            ids.append((await client.submit(fields))["ticket_id"])
        return ids


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    data = tmp_path_factory.mktemp("tickets-browser") / "data"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env |= {
        "FRONTDESK_DATA_DIR": str(data),
        "FRONTDESK_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "FRONTDESK_LOG_LEVEL": os.environ.get("FRONTDESK_BROWSER_LOG_LEVEL", "WARNING"),
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
    for username, role in (("nina", "nurse"), ("vera", "viewer"), ("ada", "admin")):
        run("admin", "create-user", "--username", username, "--role", role, stdin=PASSWORD + "\n")
    key = run("admin", "create-api-key", "--name", "tickets-test").strip().splitlines()[-1]
    server = subprocess.Popen([*cli, "serve", "--port", str(port)], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/healthz", server)
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as api:

            def call(method: str, path: str, body: object) -> httpx.Response:
                response = api.request(method, f"/api/answering{path}", json=body)
                assert response.status_code < 300, response.text
                return response

            for code, name in PRACTICES.items():
                call("POST", "/practices", {"code": code, "name": name})
            call("POST", "/doctors", {"practiceCode": "4101", "code": "RFM-PATEL"})
            user = {"username": API_USER, "password": API_PASSWORD, "key": API_KEY}
            call("POST", "/users", {**user, "company": COMPANY, "practices": list(PRACTICES)})
            call("PATCH", f"/companies/{COMPANY}", {"unassignedPracticeCode": "4100"})
            call("PUT", "/staff-users/nina/practices", {"practices": ["4101", "4100"]})
            ids = off_the_loop(lambda: _submit(url))
            # Some variety in the queue: one waits for a callback, one is assigned to nina.
            call("POST", f"/tickets/{ids[2]}/transition", {"status": "CALLBACK PENDING"})
            call("POST", f"/tickets/{ids[4]}/assign", {"assignee": "nina"})
        yield Desk(url=url, ids=ids)
    finally:
        stop(server)


@pytest.fixture
def page(browser: Browser, desk: Desk) -> Iterator[Page]:
    yield from open_page(browser, desk.url)


def log_in(page: Page, username: str, lands_on: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{lands_on}")


def test_a_nurse_works_a_ticket_to_completed(page: Page, desk: Desk) -> None:
    log_in(page, "nina", "/tickets")  # a nurse's first page is her queue
    rows = page.locator("table.tickets-table tbody tr")
    # Her practices (4101 and the Unassigned one), open tickets, newest first.
    expect(rows).to_have_count(4)
    expect(rows.first).to_have_id(f"ticket-{desk.ids[4]}")  # newest first
    expect(page.locator(f"#ticket-{desk.ids[3]}")).to_contain_text("Unassigned practice")
    expect(page.locator(f"#ticket-{desk.ids[1]}")).to_have_count(0)  # 4102 is not hers
    expect(page.locator(f"#ticket-{desk.ids[4]}")).to_contain_text("nina")
    shot(page, "tickets")

    # The status tabs and the filters narrow the queue through htmx, into the URL.
    with page.expect_response("**/tickets?*status=CALLBACK*PENDING*"):
        page.get_by_label("Status").select_option("CALLBACK PENDING")
    expect(rows).to_have_count(1)
    assert "status=CALLBACK+PENDING" in page.url
    page.get_by_role("link", name="Open").first.click()
    expect(rows).to_have_count(4)

    # Work the first call: assign, note, callback pending, escalated, completed.
    page.locator(f"#ticket-{desk.ids[0]}").get_by_role("link").first.click()
    page.wait_for_url(f"**/tickets/{desk.ids[0]}")
    status = page.locator("#ticket-status")
    expect(status).to_have_text("IN PROGRESS")
    expect(page.get_by_text("Fever of 39.4 C since the afternoon")).to_be_visible()
    page.get_by_role("button", name="Assign to me").click()
    expect(status).to_have_text("ASSIGNED")
    expect(page.locator("#ticket-assignee")).to_have_text("nina")

    page.get_by_label("Note", exact=True).fill("Called back: 39.1 C now, fluids and paracetamol.")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_role("status")).to_have_text("Note added.")
    expect(page.locator(".timeline .entry-note")).to_contain_text("39.1 C now")

    unassign = "IN PROGRESS (unassign)"
    for target, offered in (
        ("CALLBACK PENDING", [unassign, "CALLBACK PENDING", "ESCALATED", "COMPLETED", "CANCELLED"]),
        ("ESCALATED", ["ESCALATED", "COMPLETED", "CANCELLED"]),
        ("COMPLETED", ["COMPLETED", "CANCELLED"]),
    ):
        select = page.get_by_label("New status")
        expect(select.locator("option")).to_have_text(offered)  # the lifecycle's next steps
        select.select_option(target)
        page.get_by_label("Why").fill(f"moved to {target.lower()}")
        page.get_by_role("button", name="Change status").click()
        expect(status).to_have_text(target)
    expect(page.get_by_label("New status").locator("option")).to_have_text(["CLOSED"])
    timeline = page.locator(".timeline .entry")
    expect(timeline).to_have_count(6)  # received, assigned, note, three status changes
    expect(timeline.last).to_contain_text("ESCALATED → COMPLETED")
    expect(timeline.last).to_contain_text("nina")
    shot(page, "ticket-detail")

    page.reload()  # it is stored, and the answering service sees it too
    expect(status).to_have_text("COMPLETED")
    assert desk.vendor_status(desk.ids[0]) == "COMPLETED"


def test_a_form_post_without_the_csrf_token_is_refused(page: Page, desk: Desk) -> None:
    log_in(page, "nina", "/tickets")
    page.goto(f"/tickets/{desk.ids[2]}")
    notes = page.locator(".timeline .entry-note")
    expect(notes).to_have_count(0)
    # A forged form: no hidden token, and no header from <body hx-headers>.
    page.evaluate(
        """() => {
            document.body.removeAttribute("hx-headers");
            document.querySelectorAll("input[name=csrf_token]").forEach((e) => e.remove());
        }"""
    )
    page.get_by_label("Note", exact=True).fill("this must not be stored")
    with page.expect_response(f"**/tickets/{desk.ids[2]}/notes") as answer:
        page.get_by_role("button", name="Add note").click()
    assert answer.value.status == 403
    expect(page.get_by_role("alert")).to_contain_text("security token")
    page.reload()
    expect(page.locator("#ticket-status")).to_have_text("CALLBACK PENDING")
    expect(notes).to_have_count(0)


def test_a_viewer_cannot_see_patient_details(page: Page, desk: Desk) -> None:
    log_in(page, "vera", "/integrations")
    page.get_by_role("link", name="Tickets", exact=True).click()
    page.wait_for_url("**/tickets")
    queues = page.get_by_role("navigation", name="Queues")
    queues.get_by_role("link", name=re.compile(r"^All \d+$")).click()
    rows = page.locator("table.tickets-table tbody tr")
    expect(rows).to_have_count(len(CALLS))  # every ticket of every practice
    patients = page.locator("td.patient > span:first-child")
    for index in range(len(CALLS)):
        expect(patients.nth(index)).to_have_text(PATIENT_DETAIL_MASK)
    expect(page.get_by_label("Complaint contains")).to_have_count(0)
    page.goto(f"/tickets/{desk.ids[3]}")
    expect(page.get_by_text("Your role does not show patient details.")).to_be_visible()
    expect(page.get_by_role("heading", name="Work this ticket")).to_have_count(0)
    content = page.content()
    for _prac, name, dob, complaint, phone in CALLS:
        for value in (*name.split(), dob, complaint, phone):
            assert value not in content, value
