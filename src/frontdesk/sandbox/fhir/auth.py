"""The sandbox's SMART Backend Services authorisation server.

``POST /auth/token`` checks, as an EHR does: ``grant_type=client_credentials``, the
``client_assertion_type``, and the assertion — a JWT signed RS384 or ES384 by one of the
client's registered public keys (picked by ``kid``), ``iss`` = ``sub`` = a registered client
id, ``aud`` = this token URL, ``exp`` in the future and at most 5 minutes ahead, a ``jti``
never seen before. The granted scopes are the requested ones the client may have.
Refusals answer RFC 6749 §5.2 errors (``invalid_client``, ``invalid_scope``...).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt

from frontdesk.sandbox.fhir.config import Client

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_S = 300
SKEW_S = 30


@dataclass(frozen=True)
class Grant:
    client_id: str
    scopes: frozenset[str]
    expires_at: float


class Refused(Exception):
    """A token request refused with an OAuth error code and description."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


class AuthServer:
    """Registered clients, issued tokens and seen ``jti`` values."""

    def __init__(self, clients: tuple[Client, ...]) -> None:
        self.clients: dict[str, Client] = {c.client_id: c for c in clients}
        self.tokens: dict[str, Grant] = {}
        self._jtis: set[str] = set()
        self.issued = 0

    def register(self, client: Client, jwks: dict[str, Any] | None = None) -> None:
        """Register (or replace) a client; ``jwks`` fetched from its JWKS URL if given."""
        if jwks is not None:
            client = client.model_copy(update={"jwks": jwks})
        self.clients[client.client_id] = client

    def issue(self, form: dict[str, str], token_url: str, lifetime_s: int) -> dict[str, Any]:
        """Check a token request; the token response, or :class:`Refused`."""
        if form.get("grant_type") != "client_credentials":
            raise Refused("unsupported_grant_type", "only client_credentials is supported")
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise Refused("invalid_request", "client_assertion_type must be jwt-bearer")
        assertion = form.get("client_assertion") or ""
        client = self._verify(assertion, token_url)
        allowed = set(client.scopes.split())
        requested = set((form.get("scope") or "").split())
        granted = requested & allowed
        if any(s.startswith("system/*.") for s in requested):  # a wildcard: what it covers
            granted |= {a for a in allowed if a.startswith("system/")}
        if requested and not granted:
            raise Refused("invalid_scope", "none of the requested scopes is allowed")
        token = secrets.token_urlsafe(24)
        self.tokens[token] = Grant(
            client.client_id, frozenset(granted or allowed), time.monotonic() + lifetime_s
        )
        self.issued += 1
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": lifetime_s,
            "scope": " ".join(sorted(granted or allowed)),
        }

    def _verify(self, assertion: str, token_url: str) -> Client:
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise Refused("invalid_client", "the client assertion is not a JWT", 401) from None
        client = self.clients.get(str(claims.get("iss") or ""))
        if client is None or claims.get("sub") != client.client_id:
            raise Refused("invalid_client", "unknown client (iss/sub)", 401)
        if header.get("alg") not in ("RS384", "ES384"):
            raise Refused("invalid_client", "the assertion must be signed RS384 or ES384", 401)
        keys = [
            k
            for k in (client.jwks or {}).get("keys", [])
            if header.get("kid") in (None, k.get("kid"))
        ]
        for candidate in keys:
            try:
                verified = jwt.decode(
                    assertion,
                    jwt.PyJWK(candidate, algorithm=header["alg"]).key,
                    algorithms=[header["alg"]],
                    audience=token_url,
                    issuer=client.client_id,
                    options={"require": ["exp", "jti", "iss", "sub", "aud"]},
                    leeway=SKEW_S,
                )
            except jwt.InvalidSignatureError:
                continue
            except jwt.PyJWTError as error:
                raise Refused("invalid_client", f"assertion refused: {error}", 401) from None
            break
        else:
            raise Refused("invalid_client", "no registered key verifies the assertion", 401)
        if verified["exp"] - time.time() > MAX_ASSERTION_S + SKEW_S:
            raise Refused("invalid_client", "the assertion's exp is more than 5 minutes ahead", 401)
        jti = str(verified["jti"])
        if jti in self._jtis:
            raise Refused("invalid_client", "the assertion's jti was already used", 401)
        self._jtis.add(jti)
        return client

    def grant(self, authorization: str | None) -> Grant | None:
        """The live grant of a ``Bearer`` header, or None."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        grant = self.tokens.get(authorization[7:].strip())
        if grant is None or grant.expires_at <= time.monotonic():
            return None
        return grant

    def revoke(self, authorization: str | None) -> None:
        if authorization and authorization.lower().startswith("bearer "):
            self.tokens.pop(authorization[7:].strip(), None)

    def revoke_all(self) -> None:
        self.tokens.clear()


def allows(grant: Grant, resource: str) -> bool:
    """Whether ``grant`` may read ``resource`` (v1 ``.read``/``.*`` or v2 ``.rs`` scopes)."""
    for scope in grant.scopes:
        context, _, rest = scope.partition("/")
        kind, _, access = rest.partition(".")
        if (
            context == "system"
            and kind in (resource, "*")
            and (access in ("read", "*") or "r" in access.split("?")[0])
        ):
            return True
    return False
