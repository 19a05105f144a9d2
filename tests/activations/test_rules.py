"""The lifecycle's allowed changes (written out here, not derived from the code), and the
support group's address setting refusing what it cannot honour."""

from __future__ import annotations

import itertools

import pytest
from pydantic import ValidationError

from frontdesk.activations.lifecycle import STATUSES, check_transition, holds
from frontdesk.errors import InvalidInput
from frontdesk.settings import Settings

ALLOWED = {
    ("draft", "requested"),
    ("requested", "approved"),
    ("requested", "active"),  # the check may see the vendor answer before anyone records it
    ("requested", "declined"),
    ("approved", "active"),
    ("approved", "declined"),
    ("active", "revoked"),
    ("declined", "requested"),
    ("revoked", "requested"),
}


@pytest.mark.parametrize(
    ("current", "wanted"),
    list(itertools.product(STATUSES, STATUSES)),
    ids=[f"{a}->{b}" for a, b in itertools.product(STATUSES, STATUSES)],
)
def test_transition(current: str, wanted: str) -> None:
    if (current, wanted) in ALLOWED:
        check_transition(current, wanted)
        return
    with pytest.raises(InvalidInput) as refused:
        check_transition(current, wanted)
    assert f"cannot go from {current} to {wanted}" in refused.value.message
    assert refused.value.field == "status"


def test_only_active_lets_groups_run() -> None:
    assert [s for s in STATUSES if not holds(s)] == ["active"]


@pytest.mark.parametrize(
    "value",
    ["support", "a@b", "one@example.org, two@example.org", "Support <s@example.org>"],
    ids=["no-at", "no-domain-dot", "two-addresses", "display-name"],
)
def test_notify_must_be_one_address(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("FRONTDESK_ACTIVATIONS__NOTIFY", value)
    with pytest.raises(ValidationError, match="notify must be one e-mail address"):
        Settings()


def test_notify_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_ACTIVATIONS__NOTIFY", " integrations@example.org ")
    assert Settings().activations.notify == "integrations@example.org"
    monkeypatch.setenv("FRONTDESK_ACTIVATIONS__NOTIFY", "")
    assert Settings().activations.notify is None
