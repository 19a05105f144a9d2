"""Phone numbers: parsed, checked and written in E.164 with ``phonenumbers``.

The only module that imports ``phonenumbers``. A number is usable for text messages when it
parses (a number without a country code is read in ``region``, North American by default),
is a valid number of its country, and its type can receive texts (mobile, or the NANP's
"fixed line or mobile", which cannot be told apart by number). Problems are short codes
(``missing``, ``malformed``, ``not_mobile``), never the value.
"""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType

DEFAULT_REGION = "US"
_TEXTABLE = frozenset(
    {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE, PhoneNumberType.PAGER}
)
_GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True, slots=True)
class NumberCheck:
    """An E.164 number, or why there is none."""

    number: str | None = None
    problem: str | None = None


def mobile_number(raw: str | None, *, region: str = DEFAULT_REGION) -> NumberCheck:
    """``raw`` as an E.164 number that can receive texts, or the problem."""
    if raw is None or not raw.strip():
        return NumberCheck(problem="missing")
    try:
        parsed = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException:
        return NumberCheck(problem="malformed")
    if not phonenumbers.is_valid_number(parsed):
        return NumberCheck(problem="malformed")
    if phonenumbers.number_type(parsed) not in _TEXTABLE:
        return NumberCheck(problem="not_mobile")
    return NumberCheck(
        number=phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    )


def e164(raw: str | None, *, region: str = DEFAULT_REGION) -> str | None:
    """Any valid number (a sender, a short code excepted) in E.164; None when it is not one."""
    if not raw or not raw.strip():
        return None
    try:
        parsed = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True, slots=True)
class Segments:
    """How a text travels: its encoding and the number of SMS segments it takes."""

    encoding: str  # "GSM-7" or "UCS-2"
    characters: int
    segments: int


def segments(text: str) -> Segments:
    """GSM-7 when every character is in the GSM 03.38 alphabet (extension characters count
    twice), 160 per single / 153 per concatenated segment; else UCS-2, 70 / 67 (UTF-16 units)."""
    if all(c in _GSM7 or c in _GSM7_EXTENDED for c in text):
        units = sum(2 if c in _GSM7_EXTENDED else 1 for c in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    count = 1 if units <= single else -(-units // multi)
    return Segments(encoding=encoding, characters=units, segments=count if units else 0)


def sender_number(raw: str) -> str | None:
    """``raw`` as a valid E.164 number (any type: a sender may be a toll-free or landline
    number enabled for texts), or None. A sender must be written with its ``+country``."""
    try:
        parsed = phonenumbers.parse(raw.strip(), None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
