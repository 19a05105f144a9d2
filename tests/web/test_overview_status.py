"""The Integrations pages' "Password expiring" badge follows the credential settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from frontdesk.integrations.models import GroupProperty, IntegrationGroup, IntegrationSource
from frontdesk.settings import CredentialSettings
from frontdesk.web.overview import display_status

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def group_with_password_age(days: int) -> IntegrationGroup:
    password = GroupProperty(key="PM_Password", updated_at=NOW - timedelta(days=days))
    source = IntegrationSource(name="ALLSCRIPTS", password_key="PM_Password")
    return IntegrationGroup(status="active", source=source, properties=[password])


@pytest.mark.parametrize(
    ("age", "limits", "key", "detail"),
    [
        pytest.param(79, CredentialSettings(), "active", "", id="default: day 79 is quiet"),
        pytest.param(
            80, CredentialSettings(), "expiring", "PM_Password expires in 10 days", id="default: 80"
        ),
        pytest.param(
            95,
            CredentialSettings(),
            "expiring",
            "PM_Password is over 90 days old",
            id="default: past 90",
        ),
        pytest.param(
            50,
            CredentialSettings(pm_password_warn_from_day=45, pm_password_max_age_days=60),
            "expiring",
            "PM_Password expires in 10 days",
            id="a 60-day policy warns from day 45",
        ),
        pytest.param(
            61,
            CredentialSettings(pm_password_warn_from_day=45, pm_password_max_age_days=60),
            "expiring",
            "PM_Password is over 60 days old",
            id="a 60-day policy: past 60",
        ),
        pytest.param(
            85,
            CredentialSettings(pm_password_warn_from_day=100, pm_password_max_age_days=120),
            "active",
            "",
            id="a 120-day policy is quiet on day 85",
        ),
    ],
)
def test_password_expiring_follows_the_settings(
    age: int, limits: CredentialSettings, key: str, detail: str
) -> None:
    status = display_status(group_with_password_age(age), now=NOW, limits=limits)
    assert (status.key, status.detail) == (key, detail)
