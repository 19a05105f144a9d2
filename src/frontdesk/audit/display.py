"""Audit details as the dashboard shows them: secrets never, whatever an old row holds.

:func:`frontdesk.audit.service.record_event` already redacts details on the way in, and
callers record keys rather than values. This is the second net, on the way out: values
under a key that names a secret or patient field (:func:`is_sensitive_key`), under a
property key a source declares secure (``PM_Password``, ``User_Name``, ...), and the
``propertyValue`` of a ``{"propertyKey": <secure key>, ...}`` pair are replaced with
``[redacted]``; free text is scrubbed of e-mail addresses, phone numbers and API keys.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from frontdesk.connectors.spec import SourceSpec
from frontdesk.security.redaction import REDACTED, is_sensitive_key, scrub_text

VALUE_KEYS = ("propertyValue", "value")


def secure_property_keys(specs: Iterable[SourceSpec]) -> frozenset[str]:
    """Every property key a registered source marks secure."""
    return frozenset(p.key for spec in specs for p in spec.properties if p.secure)


def shown(value: Any, secure_keys: frozenset[str]) -> Any:
    """A copy of ``value`` with secrets replaced (see the module docstring)."""
    if isinstance(value, Mapping):
        hide_value = str(value.get("propertyKey", "")) in secure_keys
        return {
            str(k): REDACTED
            if str(k) in secure_keys
            or is_sensitive_key(str(k))
            or (hide_value and str(k) in VALUE_KEYS)
            else shown(v, secure_keys)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [shown(v, secure_keys) for v in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value


def detail_items(details: Mapping[str, Any], secure_keys: frozenset[str]) -> list[tuple[str, str]]:
    """``(key, text)`` pairs of an event's details for a table cell, secrets replaced."""
    safe = shown(details, secure_keys)
    return [
        (key, value if isinstance(value, str) else json.dumps(value, default=str))
        for key, value in safe.items()
    ]
