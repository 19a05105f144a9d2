"""URL-valued properties the server connects to: staff only, and checked by the outbound rule.

A property whose spec has ``outbound`` set (``allscripts.unity.url``: the Unity client posts
the application's service credentials there) may be set only by staff — a business-scoped
API key gets 403 — and its value must pass :class:`~frontdesk.security.outbound.OutboundPolicy`
(422 naming the field; the message never quotes the value). Without a policy such a
property cannot be set at all (the caller did not wire one: fail closed).
"""

from __future__ import annotations

from collections.abc import Sequence

from frontdesk.access.principal import Principal
from frontdesk.errors import InvalidInput, PermissionDenied
from frontdesk.integrations.properties import CheckedProperty
from frontdesk.security.outbound import DestinationRefused, OutboundPolicy


async def check_outbound_properties(
    checked: Sequence[CheckedProperty],
    *,
    principal: Principal,
    outbound: OutboundPolicy | None,
    field: str,
) -> None:
    """Refuse outbound URL properties set by a tenant, or pointing where the rule forbids."""
    for index, item in enumerate(checked):
        spec = item.spec
        if spec is None or spec.outbound is None:
            continue
        where = _join(_join(field, str(index)) if field else "", "propertyValue")
        if not principal.is_staff:
            raise PermissionDenied(
                f"only staff may set {item.key}: the server connects to that URL",
                field=_join(_join(field, str(index)) if field else "", "propertyKey"),
            )
        if outbound is None:
            raise InvalidInput(f"{item.key} cannot be set here", field=where)
        try:
            await outbound.check_configured(
                item.value, sends_credentials=spec.outbound == "credentials"
            )
        except DestinationRefused as error:
            raise InvalidInput(
                f"{item.key}: {error.message}", field=where, code=error.code
            ) from None
        except (OSError, TimeoutError):
            raise InvalidInput(
                f"{item.key}: the URL's host does not resolve", field=where
            ) from None


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name
