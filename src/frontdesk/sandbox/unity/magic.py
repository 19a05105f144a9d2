"""The Unity operations without HTTP: GetToken, MagicJson and RetireToken.

MagicJson checks, in this order: the token (unknown, retired or idle-expired → "logged out
due to inactivity"), the Appname, the action (unknown or outside the credential's licence →
"Action is not valid for this license."), the user binding, then runs the action. Every
call of a known credential is written to its server log (see ``LastLogs``).
"""

from __future__ import annotations

import json
import time

from frontdesk.sandbox.unity.actions import ACTIONS, WITHOUT_USER, ActionContext, run_action
from frontdesk.sandbox.unity.sandbox import Sandbox
from frontdesk.sandbox.unity.tokens import TokenSession
from frontdesk.sandbox.unity.wire import (
    APP_NOT_SUPPORTED,
    BAD_SERVICE_LOGIN,
    LOGGED_OUT,
    NOT_ACTIVATED,
    NOT_AUTHENTICATED,
    NOT_LICENSED,
    WRONG_USER,
    MagicError,
    MagicReply,
    MagicRequest,
)


def token_request_user(body: bytes) -> tuple[str, str, str]:
    """``(Username, Password, Appname)`` of a GetToken body; blanks when unreadable."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return "", "", ""
    if not isinstance(document, dict):
        return "", "", ""
    values = [document.get(key) for key in ("Username", "Password", "Appname")]
    username, password, appname = (value if isinstance(value, str) else "" for value in values)
    return username, password, appname


def get_token(sandbox: Sandbox, body: bytes) -> str:
    """A new token as bare GUID text, or Unity's ``error: ...`` text (both HTTP 200); a
    client not activated for our application gets ``error: Appname ... is not activated``."""
    username, password, appname = token_request_user(body)
    credential = sandbox.find_credential(username)
    if credential is None:
        return BAD_SERVICE_LOGIN
    error: str | None = None
    if password != credential.service_password:
        error = BAD_SERVICE_LOGIN
    elif appname and appname != credential.appname:
        # [I] GetToken ignores Appname on Unity, except to refuse an app not licensed here.
        version = ".".join(credential.product_version.split(".")[:3])
        error = APP_NOT_SUPPORTED.format(appname=appname, version=version)
    elif not sandbox.is_activated(credential.service_user):
        # [I] the vendor has not activated our application for this client (the real reply
        # is not public; docs/activations.md): refused at GetToken, before any Magic call.
        error = NOT_ACTIVATED.format(appname=credential.appname)
    sandbox.server_log.record(
        credential.service_user, logged_at=sandbox.now(), action="GetToken", error=error
    )
    return error if error is not None else sandbox.tokens.issue(credential.service_user)


def retire_token(sandbox: Sandbox, body: bytes) -> None:
    """Forget the token named in ``{"Token": ..., "Appname": ...}``; silent otherwise."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return
    if isinstance(document, dict) and isinstance(document.get("Token"), str):
        sandbox.tokens.retire(document["Token"])


def run_magic(sandbox: Sandbox, request: MagicRequest, *, force_expiry: bool = False) -> MagicReply:
    """Answer one MagicJson call."""
    action_name = request.action.strip()
    session = sandbox.tokens.touch(request.token)
    if session is not None and force_expiry:
        sandbox.tokens.retire(session.token)
        sandbox.server_log.record(
            session.service_user,
            logged_at=sandbox.now(),
            action=action_name,
            username=request.app_user_id,
            appname=request.appname,
            error="Token expired (forced by the sandbox token_expiry_rate knob).",
        )
        session = None
    if session is None:
        return MagicError(LOGGED_OUT.format(action=action_name))
    started = time.perf_counter()
    reply = _checked_call(sandbox, request, action_name, session)
    sandbox.server_log.record(
        session.service_user,
        logged_at=sandbox.now(),
        action=action_name,
        username=request.app_user_id,
        appname=request.appname,
        error=reply.message if isinstance(reply, MagicError) else None,
        elapsed_ms=round((time.perf_counter() - started) * 1000),
    )
    return reply


def _checked_call(
    sandbox: Sandbox, request: MagicRequest, action_name: str, session: TokenSession
) -> MagicReply:
    credential = sandbox.credential(session.service_user)
    if request.appname != credential.appname:
        version = ".".join(credential.product_version.split(".")[:3])
        return MagicError(APP_NOT_SUPPORTED.format(appname=request.appname, version=version))
    key = action_name.lower()
    licensed = {name.lower() for name in credential.licensed_actions}
    if key not in ACTIONS or key not in licensed:
        return MagicError(NOT_LICENSED)
    handler = ACTIONS[key]
    if key not in WITHOUT_USER:
        if session.username is None:
            return MagicError(NOT_AUTHENTICATED.format(action=action_name))
        if request.app_user_id.strip().lower() != session.username.lower():
            return MagicError(WRONG_USER.format(action=action_name))
    context = ActionContext(
        request=request,
        credential=credential,
        session=session,
        practice=sandbox.practice_for(session.service_user),
        accounts=sandbox.accounts,
        server_log=sandbox.server_log,
        now=sandbox.now(),
    )
    return run_action(context, handler)
