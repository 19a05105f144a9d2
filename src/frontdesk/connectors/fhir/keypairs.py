"""Key pairs frontdesk generates for a FHIR group, and the JWKS it publishes for them.

Many EHRs (Epic, Oracle Health, the SMART reference server) register a backend client by a
JWKS URL rather than an uploaded public key. :func:`generate_group_key` makes an EC P-384
key pair, stores the private key as the group's secure ``fhir.private.key`` (encrypted at
rest like every secure property, so ``frontdesk admin rotate-key`` re-encrypts it) and its
thumbprint as ``fhir.key.id``; :func:`group_jwks` is the public half the JWKS URL serves
(``GET /fhir/jwks/{group_id}.json``, :mod:`frontdesk.connectors.fhir.http_jwks`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.principal import Principal
from frontdesk.clock import Clock
from frontdesk.connectors.fhir.config import KEY_ID
from frontdesk.connectors.fhir.keys import PRIVATE_KEY, generate_key, load_signing_key, public_jwk
from frontdesk.errors import InvalidInput, NotFound
from frontdesk.integrations.groups import PropertyInput, get_group, set_group_properties
from frontdesk.integrations.properties import read_value
from frontdesk.plugins import Plugins
from frontdesk.security.secrets import SecretBox

SOURCE = "FHIR_R4"
JWKS_PATH = "/fhir/jwks/{group_id}.json"


def jwks_url(public_url: str, group_id: int) -> str:
    """Where frontdesk publishes a group's JWKS (give it to the EHR)."""
    return public_url.rstrip("/") + JWKS_PATH.format(group_id=group_id)


async def generate_group_key(
    session: AsyncSession,
    *,
    principal: Principal,
    clock: Clock,
    secrets: SecretBox,
    plugins: Plugins,
    group_id: int,
) -> str:
    """Give a FHIR group a new key pair (replacing its key); returns the new ``kid``."""
    group = await get_group(session, group_id=group_id, principal=principal)
    if group.source.name != SOURCE:
        raise InvalidInput(f"group {group_id} is not a FHIR R4 group", field="group")
    pem = generate_key()
    kid = load_signing_key(pem).kid
    await set_group_properties(
        session,
        principal=principal,
        clock=clock,
        secrets=secrets,
        plugins=plugins,
        group_id=group_id,
        properties=[PropertyInput(PRIVATE_KEY, pem, True), PropertyInput(KEY_ID, kid)],
    )
    return kid


async def group_jwks(session: AsyncSession, *, group_id: int, secrets: SecretBox) -> dict[str, Any]:
    """The public JWKS of a FHIR group's key (NotFound: no such FHIR group or no key)."""
    try:
        group = await get_group(session, group_id=group_id)
    except NotFound:
        raise NotFound("no JWKS here") from None
    values = {p.key: read_value(p, secrets) for p in group.properties}
    if group.source.name != SOURCE or not values.get(PRIVATE_KEY):
        raise NotFound("no JWKS here")
    signing = load_signing_key(values[PRIVATE_KEY], values.get(KEY_ID) or None)
    return {"keys": [public_jwk(signing)]}
