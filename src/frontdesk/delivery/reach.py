"""How a channel reaches a patient: the contact it needs, checked and normalised.

A channel declares one :class:`Reach`; the decision step, the contact hash, per-channel
opt-outs, the frequency cap and the composer ask :func:`contact_of` for the contact of that
kind, so they work for any registered channel:

- ``email``: the patient's email address (:func:`~.addresses.check_email_address`);
- ``mobile``: the patient's mobile number in E.164 (``phonenumbers``: a valid number of a
  type that can receive texts; without a country code it is read as North American), from
  the cell phone, else the home phone;
- ``webhook``: the business's own endpoint receives the event: no patient contact is needed,
  and the patient id stands for the contact (its hash keys opt-outs and the cap).

Problems are short codes (``missing``, ``malformed``), never the value.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from frontdesk.delivery.addresses import AddressCheck, check_email_address
from frontdesk.delivery.phone import mobile_number


class Reach(enum.StrEnum):
    EMAIL = "email"
    MOBILE = "mobile"
    WEBHOOK = "webhook"


def check_mobile_number(raw: str | None) -> AddressCheck:
    """An E.164 number that can receive texts, or the problem (``missing``, ``malformed``,
    ``not_mobile``): :func:`frontdesk.delivery.phone.mobile_number`."""
    checked = mobile_number(raw)
    return AddressCheck(address=checked.number, problem=checked.problem)


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
