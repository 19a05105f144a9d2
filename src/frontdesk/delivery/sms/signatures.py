"""``X-Twilio-Signature``: Twilio's HMAC-SHA1 over the callback URL and the sorted form
fields, keyed with the account's auth token, checked with the ``twilio`` package's
:class:`~twilio.request_validator.RequestValidator` (the simulator signs with the same class).

The URL is the one Twilio was given: ``FRONTDESK_PUBLIC_URL`` + the path (+ query), never
the URL the request arrived on (a proxy in front of frontdesk rewrites scheme and host).
"""

from __future__ import annotations

from collections.abc import Mapping

from twilio.request_validator import RequestValidator

SIGNATURE_HEADER = "X-Twilio-Signature"


def public_callback_url(public_url: str, path: str, query: str = "") -> str:
    """The URL Twilio signs: the public base, the path and the query string."""
    url = public_url.rstrip("/") + path
    return f"{url}?{query}" if query else url


def sign(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """The signature Twilio sends for a POST of ``params`` to ``url``."""
    return str(RequestValidator(auth_token).compute_signature(url, dict(params)))


def verify(auth_token: str, url: str, params: Mapping[str, str], signature: str | None) -> bool:
    """Whether ``signature`` is Twilio's for ``params`` posted to ``url`` (constant time)."""
    if not auth_token or not signature:
        return False
    return bool(RequestValidator(auth_token).validate(url, dict(params), signature))
