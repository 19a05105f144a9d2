"""Is this contact usable? Email addresses (and review links) checked before anything is sent.

An unusable address is not an error: it is a restriction reason, "no usable contact", that the
rules record for the check-in. :func:`check_email_address` says why in a short code that never
quotes the address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_ADDRESS = 254
MAX_LOCAL = 64
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TLD = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$")
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f]")
"""Whitespace (``\\s`` is ``str.isspace`` on str patterns) or a C0 control character."""


@dataclass(frozen=True, slots=True)
class AddressCheck:
    """The outcome of checking a contact: ``address`` when usable, else ``problem``."""

    address: str | None = field(default=None, repr=False)
    problem: str | None = None

    @property
    def usable(self) -> bool:
        return self.address is not None


def check_email_address(raw: str | None) -> AddressCheck:
    """Validate one email address as received from an EHR.

    Usable means a plain ``local@domain`` (no display name, no comments, no quoted local part,
    no IP literal), a dot-atom local part of at most 64 characters, and a domain of at least
    two DNS labels with an alphabetic (or IDNA) top-level label. The result keeps the local
    part as given and the domain in lower-case ASCII (IDNA-encoded when needed).
    """
    if raw is None or not raw.strip():
        return AddressCheck(problem="missing")
    text = raw.strip()
    if len(text) > MAX_ADDRESS or _SPACE_OR_CONTROL.search(text):
        return AddressCheck(problem="malformed")
    # The accepted form (dot-atom local part, DNS domain) is a strict subset of RFC 5322's
    # addr-spec, so splitting at the one "@" and checking both halves decides it: a full
    # RFC 5322 parse (email.headerregistry) would only add the quoted and commented forms
    # refused below, at ~30x the CPU on the sync's hot path.
    if text.count("@") != 1:
        return AddressCheck(problem="malformed")
    local, domain = text.split("@")
    if not local or len(local) > MAX_LOCAL or not _LOCAL.match(local):
        return AddressCheck(problem="malformed")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return AddressCheck(problem="malformed")
    ascii_domain = _ascii_domain(domain)
    if ascii_domain is None:
        return AddressCheck(problem="bad_domain")
    return AddressCheck(address=f"{local}@{ascii_domain}")


def normalise_email(raw: str) -> str:
    """The comparison form of an address: trimmed and lower-cased (opt-outs, hashing)."""
    return raw.strip().lower()


def usable_review_url(raw: str | None) -> str | None:
    """The review link if it is an absolute http(s) URL with a host; else None."""
    if raw is None or not raw.strip():
        return None
    url = raw.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if _SPACE_OR_CONTROL.search(url):
        return None
    return url


def _ascii_domain(domain: str) -> str | None:
    domain = domain.rstrip(".").lower()
    if not domain or domain.startswith("["):
        return None
    try:
        encoded = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    labels = encoded.split(".")
    if len(labels) < 2 or len(encoded) > 253:
        return None
    if not all(_LABEL.match(label) for label in labels):
        return None
    if not _TLD.match(labels[-1]):
        return None
    return encoded
