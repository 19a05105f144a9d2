"""One redaction step for logs, audit details and HTTP event hooks.

Two layers: values under sensitive keys are replaced whole (secrets and patient fields, by key
name, at any depth), and free text is scrubbed of anything shaped like an email address, a phone
number or a frontdesk API key. Errors and log events should not carry such data in the first
place; this is the net under that rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from typing import Any

REDACTED = "[redacted]"

# Compared after lower-casing and dropping everything but letters and digits.
_SECRET_PARTS = (
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "authorization",
    "cookie",
    "credential",
    "privatekey",
    "encryptionkey",
    "loginpassword",
)
_PATIENT_PARTS = (
    "firstname",
    "lastname",
    "middlename",
    "fullname",
    "patientname",
    "dob",
    "birth",
    "phone",
    "email",
    "cbn",
    "callback",
    "address",
    "ssn",
    "zip",
)
_EXACT = frozenset({"key", "pw", "pwd", "name", "fname", "lname", "cell", "mobile"})
_SAFE = frozenset(
    {
        "propertykey",
        # Business numbers are tenant ids, not patient data ("busiNESSNumber" is not an SSN).
        "businessnumber",
        "parentbusinessnumber",
        "tokenid",
        "keyid",
        "idempotencykey",
        "businessname",
        "locationname",
        "practicename",
        "sourcename",
        "triggername",
        "eventname",
    }
)

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"(?<![\w/.:-])\+?\d[\d\s().\-]{8,}\d(?![\w/.:-])")
_API_KEY = re.compile(r"\bfd_[A-Za-z0-9_\-]{16,}")


def is_sensitive_key(key: str) -> bool:
    norm = re.sub(r"[^a-z0-9]", "", key.lower())
    if norm in _SAFE:
        return False
    if norm in _EXACT:
        return True
    return any(part in norm for part in _SECRET_PARTS + _PATIENT_PARTS)


def scrub_text(text: str) -> str:
    """Mask email addresses, phone numbers and API keys inside free text."""
    text = _API_KEY.sub("[api-key]", text)
    text = _EMAIL.sub("[email]", text)
    return _PHONE.sub(_phone, text)


def redact(value: Any) -> Any:
    """A redacted deep copy of ``value`` (mappings, sequences, strings)."""
    if isinstance(value, Mapping):
        return {k: REDACTED if is_sensitive_key(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value


def redact_event(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: redact every field of a log event, the message included."""
    for key in list(event_dict):
        if key == "event":
            event_dict[key] = scrub_text(str(event_dict[key]))
        elif is_sensitive_key(key):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = redact(event_dict[key])
    return event_dict


def _phone(match: re.Match[str]) -> str:
    # 10-13 digits: a phone number; 15-digit business numbers and short ids stay readable.
    digits = sum(c.isdigit() for c in match[0])
    return "[phone]" if 10 <= digits <= 13 else match[0]
