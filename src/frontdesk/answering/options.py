"""Behaviour switches of the Answering Service API, with the spec's recommendations as defaults.

Only ``http_status_codes`` is a field of :class:`frontdesk.settings.AnsweringSettings` today
(``FRONTDESK_ANSWERING__HTTP_STATUS_CODES``); the others are read from the same settings object
when a field of that name exists there, so that adding a setting is a one-line change. Tests
override them per context with :func:`set_options`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from frontdesk.context import AppContext

_KEY = "answering.options"


@dataclass(frozen=True, slots=True)
class AnsweringOptions:
    """How the answering API resolves the vendor's ambiguities (spec §6; docs/answering.md)."""

    http_status_codes: bool = False
    """Ambiguity 4: HTTP 200 with the code in the body unless this is on."""
    allow_empty_client_code: bool = False
    """Ambiguity 9: ``client_code`` is required non-blank by default."""
    strict_dob: bool = True
    """Ambiguity 24: also refuse birth years before 1900 and dates after today (410)."""
    notes_timezone: str = "UTC"
    """Ambiguity 21: the time zone of the ``notes`` timestamp."""
    case_insensitive_usernames: bool = False
    """§4.3 step 2: usernames match exactly unless this is on."""
    max_body_bytes: int = 1_048_576
    """Bodies above this are refused with HTTP 413 and a clear message."""
    token_ttl_s: int = 7200
    """§4.4: a token expires this long after its last recorded activity."""
    token_max_lifetime_s: int = 43_200
    """A token expires this long after it was created, however active (absolute lifetime)."""
    activity_granularity_s: int = 60
    """A token's last activity is written at most once per this many seconds."""
    lockout_failures: int = 5
    """More than this many failed tokenCreate calls for one username within the window lock it."""
    lockout_source_failures: int = 100
    """Failures from one source address (all usernames) in the window that lock the source."""
    lockout_account_failures: int = 20
    """Failures for one username (all sources) that lock it against sources that failed."""
    lockout_window_s: int = 900
    lockout_duration_s: int = 900


def options_from_settings(source: Any) -> AnsweringOptions:
    """Options from ``settings.answering``: every field present there overrides the default."""
    values = {
        f.name: getattr(source, f.name) for f in fields(AnsweringOptions) if hasattr(source, f.name)
    }
    return AnsweringOptions(**values)


def get_options(ctx: AppContext) -> AnsweringOptions:
    options = ctx.extras.get(_KEY)
    if not isinstance(options, AnsweringOptions):
        options = options_from_settings(ctx.settings.answering)
        ctx.extras[_KEY] = options
    return options


def set_options(ctx: AppContext, options: AnsweringOptions) -> None:
    ctx.extras[_KEY] = options
