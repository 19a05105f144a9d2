"""tokenCreate, the token check and its sliding window, lockout (spec §4.3-4.4, §5)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from frontdesk.answering.password_token import encrypt_password_token

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "answering"
VECTORS = json.loads((FIXTURES / "answering-service-password-vectors.json").read_text())


def encrypt(password: str, key: str) -> str:
    return encrypt_password_token(password.encode(), key.encode())


async def test_token_is_16_alphanumerics_and_works(api: Any) -> None:
    token = await api.token()
    assert re.fullmatch(r"[A-Za-z0-9]{16}", token)
    assert (await api.submit(token)).body["success"] is True


@pytest.mark.parametrize("body", ["json", "form", "multipart"])
async def test_token_create_accepts_every_body_encoding(api: Any, body: str) -> None:
    fields = {"login_username": "agent1", "login_password": encrypt(api.PASSWORD, api.KEY)}
    if body == "json":
        answer = await api.call("tokenCreate", json=fields)
    elif body == "form":
        answer = await api.call("tokenCreate", form=fields)
    else:
        answer = await api.call("tokenCreate", files={k: (None, v) for k, v in fields.items()})
    assert answer.status == 200
    assert answer.body["success"] is True
    assert answer.body["errors"] == []


def _plus_to_space(token: str) -> str:
    # a form post without URL-encoding: every '+' arrives as ' ' (spec §2.3 row 14)
    while "+" not in token:
        token = encrypt("Secret#1", "0123456789abcdef0123456789abcdef")
    return token.replace("+", " ")


@pytest.mark.parametrize(
    ("case", "username", "login_password"),
    [
        ("plaintext password", "agent1", "Secret#1"),
        ("wrong key", "agent1", encrypt("Secret#1", "another key of 32 bytes.........")),
        ("wrong password", "agent1", encrypt("Secret#2", "0123456789abcdef0123456789abcdef")),
        ("plus turned into space", "agent1", _plus_to_space("")),
        ("unknown user", "nobody", encrypt("Secret#1", "0123456789abcdef0123456789abcdef")),
        ("blank password", "agent1", "   "),
        ("missing password", "agent1", None),
        ("missing username", None, encrypt("Secret#1", "0123456789abcdef0123456789abcdef")),
        ("username other case", "AGENT1", encrypt("Secret#1", "0123456789abcdef0123456789abcdef")),
        ("trimmed password", "agent1", encrypt(" Secret#1", "0123456789abcdef0123456789abcdef")),
    ],
    ids=lambda v: v if isinstance(v, str) and " " in v else "",
)
async def test_credential_failures_answer_413(
    api: Any, case: str, username: str | None, login_password: str | None
) -> None:
    fields = {"login_username": username, "login_password": login_password}
    answer = await api.call("tokenCreate", json={k: v for k, v in fields.items() if v is not None})
    assert answer.status == 200
    assert answer.body["success"] is False
    assert answer.body["result"] == []
    assert answer.codes == [413]


async def test_inactive_user_with_good_credentials_answers_408(api: Any, staff: Any) -> None:
    await staff.patch("/api/answering/users/agent1", json={"active": False})
    answer = await api.call(
        "tokenCreate",
        json={"login_username": "agent1", "login_password": encrypt(api.PASSWORD, api.KEY)},
    )
    assert answer.codes == [408]


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
async def test_every_php_vector_creates_a_token(api: Any, vector: dict[str, Any]) -> None:
    """PHP's own token for (key, password) is accepted when the user has that key and password."""
    password = bytes.fromhex(vector["password_hex"]).decode()
    if vector["php_token"] == "":
        # PHP makes no token for a PHP-blank password; such a login_password is a 413
        answer = await api.call(
            "tokenCreate", json={"login_username": "agent1", "login_password": ""}
        )
        assert answer.codes == [413]
        return
    await api.add_user(
        username="vec", company="Vectors", practices=["1234"], password=password, key=vector["key"]
    )
    answer = await api.call(
        "tokenCreate", json={"login_username": "vec", "login_password": vector["php_token"]}
    )
    assert answer.body["success"] is True, answer.body


@pytest.mark.parametrize("case", VECTORS["decrypt_cases"], ids=lambda c: c["name"])
async def test_every_php_decrypt_case_over_http(api: Any, case: dict[str, Any]) -> None:
    """A token is accepted exactly when PHP decrypts it to the user's password."""
    password = "Secret#1"
    await api.add_user(
        username="dec", company="Vectors", practices=["1234"], password=password, key=case["key"]
    )
    answer = await api.call(
        "tokenCreate", json={"login_username": "dec", "login_password": case["php_token"]}
    )
    php_value = case["php_decrypts_to"]
    expected_success = php_value == password
    assert answer.body["success"] is expected_success, (case["name"], answer.body)
    if not expected_success:
        assert answer.codes == [413]


async def test_several_tokens_per_user_stay_valid(api: Any) -> None:
    first, second = await api.token(), await api.token()
    assert first != second
    assert (await api.submit(first)).body["success"] is True
    assert (await api.submit(second)).body["success"] is True


@pytest.mark.parametrize(
    ("token", "where"), [(None, "none"), ("", "blank"), ("A" * 16, "unknown")], ids=str
)
async def test_bad_tokens_answer_408(api: Any, token: str | None, where: str) -> None:
    answer = await api.submit(token)
    assert answer.codes == [408]
    assert (await api.status(token or "", "RQxQ5s84H")).codes == [408]


async def test_token_slides_and_expires_at_7200_seconds(api: Any) -> None:
    token = await api.token()
    api.clock.advance(timedelta(seconds=7199))
    assert (await api.submit(token)).body["success"] is True  # and gets a fresh 2 h
    api.clock.advance(timedelta(seconds=7199))
    assert (await api.submit(token)).body["success"] is True
    api.clock.advance(timedelta(seconds=7200))
    assert (await api.submit(token)).codes == [408]


async def test_failed_validation_still_counts_as_activity(api: Any) -> None:
    token = await api.token()
    api.clock.advance(timedelta(seconds=7000))
    assert (await api.submit(token, api.ticket(complaint=""))).codes == [407]
    api.clock.advance(timedelta(seconds=7000))
    assert (await api.submit(token)).body["success"] is True


async def test_activity_is_written_at_most_once_a_minute(api: Any) -> None:
    """Expiry slides with one-minute granularity: uses within 60 s of the last write are free."""
    token = await api.token()
    api.clock.advance(timedelta(seconds=30))
    assert (await api.submit(token)).body["success"] is True  # not written
    api.clock.advance(timedelta(seconds=7170))  # 7200 s after the recorded activity
    assert (await api.submit(token)).codes == [408]


async def test_expiry_is_not_served_from_a_stale_cache(api: Any) -> None:
    token = await api.token()
    assert (await api.submit(token)).body["success"] is True  # cached now
    api.clock.advance(timedelta(seconds=7200))
    assert (await api.submit(token)).codes == [408]


async def test_token_in_body_and_query_wins(api: Any) -> None:
    token = await api.token()
    by_body = await api.call("as", json={**api.ticket(), "token": token})
    assert by_body.body["success"] is True
    both = await api.call(
        "as", query={"token": "wrongwrongwrong1"}, json={**api.ticket(), "token": token}
    )
    assert both.codes == [408]


async def test_lockout_after_more_than_five_failures(api: Any, staff: Any) -> None:
    bad = {"login_username": "agent1", "login_password": encrypt("nope", api.KEY)}
    good = {"login_username": "agent1", "login_password": encrypt(api.PASSWORD, api.KEY)}
    for _ in range(5):
        assert (await api.call("tokenCreate", json=bad)).codes == [413]
    assert (await api.call("tokenCreate", json=good)).body["success"] is True  # 5 is not > 5
    for _ in range(6):
        assert (await api.call("tokenCreate", json=bad)).codes == [413]
    locked = await api.call("tokenCreate", json=good)
    assert locked.codes == [413]  # answered like any credential failure
    listing = (await staff.get("/api/answering/lockouts", params={"active": "true"})).json()
    assert [(lock["username"], lock["active"]) for lock in listing] == [("agent1", True)]
    api.clock.advance(timedelta(minutes=15))
    assert (await api.call("tokenCreate", json=good)).body["success"] is True


async def test_failures_outside_the_window_do_not_count(api: Any) -> None:
    bad = {"login_username": "agent1", "login_password": encrypt("nope", api.KEY)}
    good = {"login_username": "agent1", "login_password": encrypt(api.PASSWORD, api.KEY)}
    for _ in range(5):
        await api.call("tokenCreate", json=bad)
    api.clock.advance(timedelta(minutes=16))
    for _ in range(5):
        await api.call("tokenCreate", json=bad)
    assert (await api.call("tokenCreate", json=good)).body["success"] is True


async def test_unknown_usernames_are_locked_too_and_staff_can_release(api: Any, staff: Any) -> None:
    bad = {"login_username": "ghost", "login_password": encrypt("x", api.KEY)}
    for _ in range(6):
        await api.call("tokenCreate", json=bad)
    released = await staff.delete("/api/answering/lockouts/ghost")
    assert released.status_code == 200
    assert released.json()["releasedBy"].startswith("api_key:")
    assert (await staff.delete("/api/answering/lockouts/ghost")).status_code == 404
