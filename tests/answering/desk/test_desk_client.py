"""The answering-service client: Python API over ASGI, CLI round trip over a loopback server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from typer.testing import CliRunner

from frontdesk.answering.client import (
    AnsweringApiError,
    AnsweringClient,
    AnsweringUnavailable,
    encrypt_password,
    endpoint,
)
from frontdesk.answering.password_token import decrypt_password_token
from frontdesk.cli.main import app as cli_app


@pytest.fixture
async def live_url(app: FastAPI, api: Any) -> AsyncIterator[str]:
    """The test app (and its database) served by uvicorn on 127.0.0.1:<ephemeral>."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", ws="none"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(1000):
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started
    yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    server.should_exit = True
    await task


def _key_file(tmp_path: Path, key: str, ending: bytes = b"\n") -> Path:
    path = tmp_path / "key"
    path.write_bytes(key.encode() + ending)
    return path


async def _cli(*args: str, input: str | None = None) -> Any:
    """Run ``frontdesk ...`` in a thread (it runs its own event loop; ours serves)."""
    runner = CliRunner()
    return await asyncio.to_thread(runner.invoke, cli_app, list(args), input=input)


def test_encrypt_password_is_the_php_token() -> None:
    token = encrypt_password("Secret#1", "0123456789abcdef0123456789abcdef")
    result = decrypt_password_token(token, b"0123456789abcdef0123456789abcdef")
    assert result.plaintext == b"Secret#1"
    assert encrypt_password("Secret#1", b"k") != encrypt_password("Secret#1", b"k")  # fresh IV


def test_endpoint() -> None:
    assert endpoint("https://h.example") == "https://h.example/cc/modules/apiv2/index.php"
    assert endpoint("https://h.example/x/") == "https://h.example/x/cc/modules/apiv2/index.php"
    assert endpoint("http://h/cc/modules/apiv2/index.php") == "http://h/cc/modules/apiv2/index.php"
    with pytest.raises(ValueError, match="absolute"):
        endpoint("h.example")


async def test_python_client_over_asgi(app: FastAPI, api: Any) -> None:
    transport = httpx.ASGITransport(app=app)
    client = AnsweringClient(
        "http://frontdesk.test", "agent1", api.PASSWORD, api.KEY, transport=transport
    )
    async with client:
        created = await client.submit(api.ticket(), idempotency_key="cli-1")
        assert list(created) == list(created)  # 19 keys, vendor order
        assert len(created) == 19
        again = await client.submit(api.ticket(), idempotency_key="cli-1")
        assert again == created
        assert await client.status(created["ticket_id"]) == "IN PROGRESS"
        api.clock.advance(timedelta(hours=3))  # the token expires: one new token, one repeat
        assert await client.status(created["ticket_id"]) == "IN PROGRESS"
        with pytest.raises(AnsweringApiError) as refused:
            await client.status("nope")
        assert refused.value.codes == [406]
        with pytest.raises(AnsweringApiError) as missing:
            await client.submit({"prac": "1234"})
        assert set(missing.value.codes) == {407}
    wrong = AnsweringClient("http://frontdesk.test", "agent1", "bad", api.KEY, transport=transport)
    async with wrong:
        with pytest.raises(AnsweringApiError) as no_token:
            await wrong.token()
        assert no_token.value.codes == [413]


async def test_python_client_unavailable() -> None:
    async with AnsweringClient("http://127.0.0.1:9", "u", "p", "k", timeout_s=2) as client:
        with pytest.raises(AnsweringUnavailable):
            await client.token()


async def test_cli_round_trip_over_loopback(
    live_url: str, api: Any, staff: httpx.AsyncClient, tmp_path: Path
) -> None:
    key_file = _key_file(tmp_path, api.KEY, b"\r\n")
    encrypted = await _cli(
        "answering", "encrypt-password", "--key-file", str(key_file), input="Secret#1\n"
    )
    assert encrypted.exit_code == 0, encrypted.output
    token = encrypted.stdout.strip()
    assert decrypt_password_token(token, api.KEY.encode()).plaintext == b"Secret#1"

    common = ["--url", live_url, "--username", "agent1", "--key-file", str(key_file)]
    made = await _cli("answering", "token", *common, input="Secret#1\n")
    assert made.exit_code == 0, made.output
    assert len(made.stdout.strip()) == 16

    ticket_file = tmp_path / "ticket.json"
    ticket_file.write_text(json.dumps(api.ticket()))
    password_file = tmp_path / "pw"
    password_file.write_text("Secret#1\n")
    with_file = [*common, "--password-file", str(password_file)]
    first = await _cli(
        "answering", "submit", *with_file, "--json", str(ticket_file), "--idempotency-key", "c-9"
    )
    assert first.exit_code == 0, first.output
    result = json.loads(first.stdout)
    assert result["patient_lname"] == "Doe"
    ticket_id = result["ticket_id"]
    again = await _cli(
        "answering", "submit", *with_file, "--json", str(ticket_file), "--idempotency-key", "c-9"
    )
    assert json.loads(again.stdout)["ticket_id"] == ticket_id

    piped = await _cli(
        "answering", "submit", *common, "--json", "-", input="Secret#1\n" + json.dumps(api.ticket())
    )
    assert piped.exit_code == 0, piped.output
    assert json.loads(piped.stdout)["ticket_id"] != ticket_id

    status = await _cli("answering", "status", *with_file, "--ticket", ticket_id)
    assert (status.exit_code, status.stdout.strip()) == (0, "IN PROGRESS")
    moved = await staff.post(
        f"/api/answering/tickets/{ticket_id}/transition", json={"status": "ESCALATED"}
    )
    assert moved.status_code == 200
    status = await _cli("answering", "status", *with_file, "--ticket", ticket_id)
    assert status.stdout.strip() == "ESCALATED"

    unknown = await _cli("answering", "status", *with_file, "--ticket", "nope")
    assert unknown.exit_code == 1
    assert "406 Invalid Ticket" in unknown.output
    wrong = await _cli("answering", "token", *common, input="wrong\n")
    assert wrong.exit_code == 1
    assert "413" in wrong.output
    bad_url = await _cli(
        "answering",
        "token",
        "--url",
        "nowhere",
        "--username",
        "agent1",
        "--key-file",
        str(key_file),
        input="x\n",
    )
    assert bad_url.exit_code == 2
    for result_ in (encrypted, made, first, status):
        assert "Secret#1" not in result_.output


def test_cli_link_practices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("FRONTDESK_DATABASE_URL", raising=False)
    monkeypatch.delenv("FRONTDESK_SECRET_KEYS", raising=False)
    runner = CliRunner()

    def ok(*args: str, input: str | None = None) -> str:
        result = runner.invoke(cli_app, list(args), input=input)
        assert result.exit_code == 0, result.output
        return result.stdout

    ok("admin", "create-user", "--username", "nina", "--role", "nurse", input="long-password-1\n")
    ok(
        "answering", "add-user", "--username", "a1", "--company", "Acme",
        "--practice", "1234", "--practice", "5678", input="pw\nkey\n",
    )  # fmt: skip
    out = ok("answering", "link-practices", "--user", "nina", "--practice", "1234")
    assert "nina (nurse) works: 1234" in out
    unknown = runner.invoke(
        cli_app, ["answering", "link-practices", "--user", "nina", "--practice", "0000"]
    )
    assert unknown.exit_code == 1
    assert "1 practice code(s) are unknown" in unknown.output
    assert "works: nothing" in ok("answering", "link-practices", "--user", "nina")
