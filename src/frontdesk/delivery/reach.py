"""How a channel reaches a patient: the contact it needs, checked and normalised.

A channel declares one :class:`Reach`; the decision step, the contact hash, per-channel
opt-outs, the frequency cap and the composer ask :func:`contact_of` for the contact of that
kind, so they work for any registered channel:

- ``email``: the patient's email address (:func:`~.addresses.check_email_address`);
- ``mobile``: the patient's mobile number in E.164 (``+`` and 8–15 digits; a 10-digit
  number is read as North American, ``+1``), from the cell phone, else the home phone;
- ``webhook``: the business's own endpoint receives the event: no patient contact is needed,
  and the patient id stands for the contact (its hash keys opt-outs and the cap).

Problems are short codes (``missing``, ``malformed``), never the value.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping

from frontdesk.delivery.addresses import AddressCheck, check_email_address


class Reach(enum.StrEnum):
    EMAIL = "email"
    MOBILE = "mobile"
    WEBHOOK = "webhook"


_DIGITS = re.compile(r"\D+")


def check_mobile_number(raw: str | None) -> AddressCheck:
    """An E.164 mobile number, or the problem (``missing``, ``malformed``)."""
    if raw is None or not raw.strip():
        return AddressCheck(problem="missing")
    text = raw.strip()
    digits = _DIGITS.sub("", text)
    if text.startswith("+"):
        number = "+" + digits
    elif len(digits) == 10:
        number = "+1" + digits
    elif len(digits) == 11 and digits.startswith("1"):
        number = "+" + digits
    else:
        return AddressCheck(problem="malformed")
    if not 8 <= len(number) - 1 <= 15 or number[1] == "0":
        return AddressCheck(problem="malformed")
    return AddressCheck(address=number)


def contact_of(reach: Reach, patient: Mapping[str, str | None]) -> AddressCheck:
    """The contact of ``reach`` in a patient document (keys ``patient_id``, ``email``,
    ``cell_phone``/``phone``, ``home_phone``)."""
    if reach is Reach.EMAIL:
        return check_email_address(patient.get("email"))
    if reach is Reach.MOBILE:
        cell = patient.get("cell_phone") or patient.get("phone")
        return check_mobile_number(cell or patient.get("home_phone"))
    patient_id = patient.get("patient_id")
    return AddressCheck(address=f"patient:{patient_id}") if patient_id else AddressCheck()
