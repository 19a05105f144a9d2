"""Error text and logs never echo what a caller typed (issue 19, finding 8).

A marker that looks like patient data (a name with a birth date, with markup around it) goes
through every surface that used to quote it back: the business time zone, tokenCreate's
username (people type passwords there), staff lookups of API users, companies, practices,
doctors and tickets, message-template channels, dashboard ticket pages. The marker appears in
no response and in no log line.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from frontdesk.answering.password_token import encrypt_password_token

CORE = "JaneDoe19891230"
MARKER = f"<img src=x>{CORE}"


def assert_no_marker(text: str) -> None:
    assert CORE not in text
    assert quote(CORE) not in text


async def test_no_surface_echoes_the_marker(
    api: Any, staff: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    texts: list[str] = []
    token_body = {
        "login_username": MARKER,
        "login_password": encrypt_password_token(b"Secret#1", api.KEY.encode()),
    }
    texts.append(str((await api.call("tokenCreate", json=token_body)).body))
    wrong = {"login_username": "agent1", "login_password": MARKER}
    texts.append(str((await api.call("tokenCreate", json=wrong)).body))
    for _ in range(7):  # and once it locks
        texts.append(str((await api.call("tokenCreate", json=token_body)).body))
    business = {"businessNumber": 149547800000077, "name": "Clinic", "timezone": MARKER}
    responses = [
        await staff.post("/api/businesses", json=business),
        await staff.patch(f"/api/answering/users/{quote(MARKER, safe='')}", json={"active": True}),
        await staff.patch(
            f"/api/answering/companies/{quote(MARKER, safe='')}",
            json={"unassignedPracticeCode": None},
        ),
        await staff.post("/api/answering/doctors", json={"practiceCode": MARKER, "code": "D9"}),
        await staff.post("/api/answering/doctors", json={"practiceCode": "1234", "code": "D1"}),
        await staff.get(f"/api/answering/tickets/{quote(MARKER, safe='')}"),
        await staff.get(f"/api/businesses/149547800000077/message-templates/{CORE}"),
    ]
    for response in responses:
        assert response.status_code in (404, 409, 422), response.text
        texts.append(response.text)
    texts.append(caplog.text)
    captured = capsys.readouterr()
    texts.extend([captured.out, captured.err])
    for text in texts:
        assert_no_marker(text)
