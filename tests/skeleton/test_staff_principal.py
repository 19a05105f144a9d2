"""Staff-only endpoints need an unscoped principal in a staff role."""

from __future__ import annotations

import pytest

from frontdesk.access.dependencies import staff_principal
from frontdesk.access.principal import Principal
from frontdesk.errors import PermissionDenied


@pytest.mark.parametrize(
    ("principal", "allowed"),
    [
        pytest.param(Principal("api_key", 1, "ops", "staff"), True, id="staff-key"),
        pytest.param(Principal.system(), True, id="system"),
        pytest.param(Principal("user", 2, "ann", "admin"), True, id="admin-user"),
        # Regression: an unscoped dashboard viewer or nurse is not staff.
        pytest.param(Principal("user", 3, "vic", "viewer"), False, id="viewer-user"),
        pytest.param(Principal("user", 4, "nina", "nurse"), False, id="nurse-user"),
        pytest.param(Principal("user", 5, "sue", "support"), False, id="support-user"),
        pytest.param(Principal("api_key", 6, "biz", "business", 9), False, id="business-key"),
    ],
)
async def test_staff_principal(principal: Principal, allowed: bool) -> None:
    if allowed:
        assert await staff_principal(principal) is principal
    else:
        with pytest.raises(PermissionDenied):
            await staff_principal(principal)
