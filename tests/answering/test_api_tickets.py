"""Ticket submission and ticketStatus through HTTP (spec §4.1-4.2, §4.5-4.7, §5)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from frontdesk.answering.models import AnsweringTicket, AnsweringTicketStatus
from frontdesk.answering.runtime import AnsweringRuntime

RESULT_KEYS = [
    "field_mr", "call_type", "patient_lname", "patient_fname", "dob", "sex", "complaint",
    "caller_lname", "caller_fname", "relationship", "contact_phone", "contact_phone_2", "email",
    "address", "city", "state", "zip", "ticket_id", "notes",
]  # fmt: skip


async def test_ticket_result_has_the_19_keys_in_order_and_echoes(api: Any) -> None:
    token = await api.token()
    answer = await api.submit(token)
    assert answer.status == 200
    assert answer.body["success"] is True
    assert answer.body["errors"] == []
    result = answer.result
    assert list(result) == RESULT_KEYS
    assert all(isinstance(v, str) for v in result.values())
    assert re.fullmatch(r"[A-Za-z0-9]{9}", result["ticket_id"])
    sent = api.ticket()
    for key in RESULT_KEYS[2:17]:
        assert result[key] == sent[key]
    assert result["field_mr"] == "123|ABC123"
    assert result["call_type"] == "1"
    assert result["notes"] == (
        "2026-01-05 12:00:00 : Created by Answering Service API v2.0 from Acme Answering by agent1"
    )


async def test_ticket_round_trips_and_is_stored_in_progress(api: Any) -> None:
    token = await api.token()
    ticket_id = (await api.submit(token)).result["ticket_id"]
    status = await api.status(token, ticket_id)
    assert status.body == {
        "success": True,
        "result": {"ticket_id": ticket_id, "ticket_status": "IN PROGRESS"},
        "errors": [],
    }
    async with api.ctx.db.reader() as session:
        row = (
            await session.execute(
                select(AnsweringTicket).where(AnsweringTicket.ticket_id == ticket_id)
            )
        ).scalar_one()
        history = (await session.execute(select(AnsweringTicketStatus))).scalars().all()
        assert (row.prac, row.client_code, row.comments, row.txt, row.unassigned) == (
            "1234", "AS-77", "call back after 6pm", "1|2|3|4", False
        )  # fmt: skip
        assert [(h.ticket_pk, h.status, h.actor) for h in history] == [
            (row.id, "IN PROGRESS", "answering_user:agent1")
        ]


async def test_optional_fields_not_sent_are_empty_strings(api: Any) -> None:
    token = await api.token()
    minimal = {
        k: api.ticket()[k]
        for k in ("patient_lname", "patient_fname", "dob", "complaint", "prac", "client_code")
    }
    result = (await api.submit(token, minimal)).result
    assert list(result) == RESULT_KEYS
    assert result["email"] == result["call_type"] == result["field_mr"] == ""


@pytest.mark.parametrize("resource", ["as", "adi", "AS", "Adi"])
async def test_as_and_adi_are_aliases(api: Any, resource: str) -> None:
    token = await api.token()
    assert (await api.submit(token, resource=resource)).body["success"] is True


@pytest.mark.parametrize("encoding", ["json", "form", "multipart", "json-without-content-type"])
async def test_body_encodings_behave_identically(api: Any, encoding: str) -> None:
    token = await api.token()
    fields = api.ticket()
    query = {"token": token}
    if encoding == "json":
        answer = await api.call("as", query=query, json=fields)
    elif encoding == "form":
        answer = await api.call("as", query=query, form=fields)
    elif encoding == "multipart":
        answer = await api.call("as", query=query, files={k: (None, v) for k, v in fields.items()})
    else:
        answer = await api.call(
            "as", query=query, content=json.dumps(fields).encode(), headers={"content-type": ""}
        )
    assert answer.body["success"] is True, answer.body
    assert answer.result["patient_lname"] == "Doe"


@pytest.mark.parametrize(
    ("fields", "call_type"),
    [
        ({"Call_type": "7"}, "7"),
        ({"call_type": "8"}, "8"),
        ({"Call_type": "7", "call_type": "8"}, "7"),
    ],
    ids=["Call_type", "call_type", "both"],
)
async def test_call_type_keys(api: Any, fields: dict[str, str], call_type: str) -> None:
    token = await api.token()
    body = {k: v for k, v in api.ticket().items() if k != "Call_type"} | fields
    assert (await api.submit(token, body)).result["call_type"] == call_type


async def test_json_scalars_are_coerced_like_php(api: Any) -> None:
    token = await api.token()
    body: dict[str, Any] = {
        **api.ticket(),
        "prac": 1234,
        "Call_type": 2,
        "zip": 33601.0,
        "sex": True,
    }
    result = (await api.call("as", query={"token": token}, json=body)).result
    assert (result["call_type"], result["zip"], result["sex"]) == ("2", "33601", "1")


@pytest.mark.parametrize(
    ("dob", "codes"),
    [
        ("19891230", None),
        ("20240229", None),
        ("1989-12-30", [410]),
        ("19891332", [410]),
        ("20230229", [410]),
        ("8912301", [410]),
        ("１９８９１２３０", [410]),
        ("18991231", [410]),
        ("20260106", [410]),  # tomorrow for the manual clock
        ("", [407]),
        ("   ", [407]),
    ],
)
async def test_dob(api: Any, dob: str, codes: list[int] | None) -> None:
    token = await api.token()
    answer = await api.submit(token, api.ticket(dob=dob))
    if codes is None:
        assert answer.body["success"] is True
    else:
        assert answer.codes == codes


async def test_missing_dob_key_answers_407(api: Any) -> None:
    token = await api.token()
    body = {k: v for k, v in api.ticket().items() if k != "dob"}
    answer = await api.submit(token, body)
    assert answer.codes == [407]
    assert answer.body["errors"][0]["message"] == "Missing required information: dob"


async def test_one_407_per_missing_field_in_field_order(api: Any) -> None:
    token = await api.token()
    answer = await api.submit(token, {"patient_lname": "Doe", "complaint": " \t"})
    assert answer.codes == [407] * 5
    assert [e["message"].rsplit(" ", 1)[1] for e in answer.body["errors"]] == [
        "patient_fname", "dob", "complaint", "prac", "client_code"
    ]  # fmt: skip


async def test_empty_body_and_malformed_json_answer_407(api: Any) -> None:
    token = await api.token()
    assert (await api.call("as", query={"token": token})).codes == [407] * 6
    smart = b'{"patient_lname":\xe2\x80\x9cDoe\xe2\x80\x9d,}'
    answer = await api.call(
        "as", query={"token": token}, content=smart, headers={"content-type": "application/json"}
    )
    assert answer.codes == [407] * 6


def set_options(runtime: AnsweringRuntime, **changes: Any) -> None:
    """Answer with the default options changed by ``changes`` from now on."""
    runtime.options = runtime.options.model_copy(update=changes)


async def test_empty_client_code_is_407_unless_allowed(api: Any, runtime: AnsweringRuntime) -> None:
    token = await api.token()
    assert (await api.submit(token, api.ticket(client_code=""))).codes == [407]
    set_options(runtime, allow_empty_client_code=True)
    assert (await api.submit(token, api.ticket(client_code=""))).body["success"] is True


@pytest.mark.parametrize(
    ("changes", "codes"),
    [
        ({"prac": "9999"}, [405]),  # exists, not the user's
        ({"prac": "0000"}, [405]),  # unknown, no Unassigned fallback
        ({"prac": "1234", "dc": "NOPE"}, [406]),
        ({"prac": "1234", "dc": "D3"}, [414]),
        ({"prac": "1234", "dc": "D2"}, [411]),
        ({"prac": "1234", "dc": "D1"}, None),
        ({"prac": "5678", "dc": "D3"}, None),
        ({"prac": "9999", "dc": "NOPE"}, [405]),  # practice is checked before the doctor
        ({"prac": "1234", "dc": "NOPE", "dob": "bad"}, [410]),  # dob before practice
        ({"prac": "9999", "complaint": ""}, [407]),  # required before practice
    ],
)
async def test_practice_and_doctor_checks_in_order(
    api: Any, changes: dict[str, str], codes: list[int] | None
) -> None:
    token = await api.token()
    answer = await api.submit(token, api.ticket(**changes))
    if codes is None:
        assert answer.body["success"] is True, answer.body
    else:
        assert answer.codes == codes
        assert answer.body["result"] == []


async def test_unknown_practice_filed_as_unassigned_when_the_company_enables_it(
    api: Any, staff: Any
) -> None:
    response = await staff.patch(
        "/api/answering/companies/Acme Answering", json={"unassignedPracticeCode": "AS-ACME"}
    )
    assert response.status_code == 200
    token = await api.token()
    answer = await api.submit(token, api.ticket(prac="0000", dc="WHOEVER"))
    assert answer.body["success"] is True, answer.body
    async with api.ctx.db.reader() as session:
        row = (await session.execute(select(AnsweringTicket))).scalar_one()
        assert (row.unassigned, row.prac, row.dc, row.doctor_id) == (True, "0000", "WHOEVER", None)
    # a practice that exists but is not the user's is still refused
    assert (await api.submit(token, api.ticket(prac="9999"))).codes == [405]
    other = await api.token("other", key=api.OTHER_KEY)
    assert (await api.submit(other, api.ticket(prac="0000"))).codes == [405]


async def test_tickets_are_visible_only_within_the_company(api: Any) -> None:
    mine = await api.token()
    ticket_id = (await api.submit(mine)).result["ticket_id"]
    theirs = await api.token("other", key=api.OTHER_KEY)
    answer = await api.status(theirs, ticket_id)
    assert answer.codes == [406]
    assert answer.body["errors"][0]["message"] == "Invalid Ticket"
    await api.add_user(username="agent2", company="Acme Answering", practices=["1234"])
    colleague = await api.token("agent2")
    assert (await api.status(colleague, ticket_id)).result["ticket_status"] == "IN PROGRESS"


async def test_ticket_status_errors(api: Any) -> None:
    token = await api.token()
    assert (await api.status(token, "NOSUCHID1")).codes == [406]
    assert (await api.call("ticketStatus", method="GET", query={"token": token})).codes == [413]
    ticket_id = (await api.submit(token)).result["ticket_id"]
    by_post = await api.call("ticketStatus", json={"token": token, "ticket_id": ticket_id})
    assert by_post.result["ticket_status"] == "IN PROGRESS"


async def test_http_status_codes_switch(api: Any, runtime: AnsweringRuntime) -> None:
    token = await api.token()
    assert (await api.submit(token, api.ticket(dob="x"))).status == 200
    set_options(runtime, http_status_codes=True)
    assert (await api.submit(token, api.ticket(dob="x"))).status == 410
    assert (await api.submit(None)).status == 408
    ok = await api.submit(token)
    assert (ok.status, ok.body["success"]) == (200, True)


async def test_unknown_resource_and_method(api: Any) -> None:
    answer = await api.call("nope")
    assert (answer.status, answer.codes, answer.body["success"]) == (404, [404], False)
    wrong = await api.call("as", method="PUT")
    # HTTP 405, but our own envelope code: the vendor's 405 means "No Access to this practice"
    assert (wrong.status, wrong.codes, wrong.body["success"]) == (405, [901], False)


async def test_alias_path_without_index_php(api: Any) -> None:
    token = await api.token()
    answer = await api.call(
        "as", query={"token": token}, json=api.ticket(), path="/cc/modules/apiv2/"
    )
    assert answer.body["success"] is True


async def test_bodies_over_one_megabyte_are_refused(api: Any) -> None:
    token = await api.token()
    big = api.ticket(comments="x" * 1_100_000)
    answer = await api.submit(token, big)
    assert answer.status == 413
    # our own code: the vendor's 413 means "missing information / unable to create token"
    assert answer.codes == [902]
    assert "too large" in answer.body["errors"][0]["message"]
    exactly = api.ticket(comments="")
    padding = 1_048_576 - len(json.dumps(exactly).encode())
    assert (await api.submit(token, api.ticket(comments="y" * (padding - 20)))).body["success"]


async def test_unexpected_errors_answer_the_envelope(
    api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from frontdesk.answering import api as answering_api

    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(answering_api, "create_ticket", broken)
    token = await api.token()
    answer = await api.submit(token)
    assert (answer.status, answer.codes) == (500, [409])
    assert answer.body["success"] is False


async def test_timestamp_in_notes_uses_configured_zone(api: Any, runtime: AnsweringRuntime) -> None:
    set_options(runtime, notes_timezone="America/New_York")
    token = await api.token()
    notes = (await api.submit(token)).result["notes"]
    assert notes.startswith("2026-01-05 07:00:00 : ")


async def test_no_patient_field_or_password_in_logs(
    api: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    token = await api.token()
    await api.submit(token)
    await api.submit(token, api.ticket(dob="bad"))
    await api.call("tokenCreate", json={"login_username": "agent1", "login_password": "Secret#1"})
    api.clock.advance(timedelta(seconds=1))
    # the server's lines (the test's own httpx client logs its request URLs, token included)
    logged = "\n".join(
        line for line in capsys.readouterr().err.splitlines() if '"logger": "httpx"' not in line
    )
    assert "answering.ticket_created" in logged
    for secret in ("Jane", "Doe", "19891230", "5551234567", "jane.doe@example.com", "1 Main St",
                   "fever", "Secret#1", token, api.KEY, "33601", "call back"):  # fmt: skip
        assert secret not in logged, secret
