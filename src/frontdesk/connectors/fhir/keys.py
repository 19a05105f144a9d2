"""The client's signing key: a PEM RSA or EC P-384 private key, its algorithm and its JWK.

SMART Backend Services (v2, "Authenticating with the client credentials grant") requires the
server to support RS384 and ES384 client assertions; the key type picks the algorithm:
RSA (2048 bits or more) signs RS384, EC P-384 signs ES384. :func:`generate_key` makes an
EC P-384 key pair for EHRs that register a JWKS URL (``docs/fhir.md``); :func:`public_jwk`
is the public half as published there, with its ``kid`` (the RFC 7638 thumbprint unless a
``fhir.key.id`` is set).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

PRIVATE_KEY = "fhir.private.key"
MIN_RSA_BITS = 2048


@dataclass(frozen=True)
class SigningKey:
    """A loaded private key (never in ``repr``) and the ``alg``/``kid`` of its assertions."""

    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = field(repr=False)
    algorithm: str
    kid: str


_PEM = re.compile(r"(-----BEGIN [A-Z ]+-----)(.*?)(-----END [A-Z ]+-----)", re.DOTALL)


def normalise_pem(pem: str) -> str:
    """The PEM block re-wrapped at 64 columns: a key pasted into a one-line field (a password
    input drops the newlines) or with CRLF line ends still loads."""
    found = _PEM.search(pem)
    if found is None:
        return pem.strip()
    body = "".join(found.group(2).split())
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "\n".join([found.group(1), *lines, found.group(3)]) + "\n"


def load_signing_key(pem: str, kid: str | None = None) -> SigningKey:
    """Parse ``pem``; ValueError (never quoting it) when it is not a usable key."""
    try:
        key = serialization.load_pem_private_key(normalise_pem(pem).encode(), password=None)
    except (ValueError, TypeError):
        raise ValueError("must be an unencrypted PEM RSA or EC P-384 private key") from None
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise ValueError(f"an RSA key must have at least {MIN_RSA_BITS} bits")
        algorithm = "RS384"
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, ec.SECP384R1):
            raise ValueError("an EC key must be on the P-384 curve (ES384)")
        algorithm = "ES384"
    else:
        raise ValueError("must be an RSA or EC P-384 private key")
    signing = SigningKey(key=key, algorithm=algorithm, kid="")
    return SigningKey(key=key, algorithm=algorithm, kid=kid or thumbprint(signing))


def private_key(value: str) -> str:
    """The property validator of ``fhir.private.key``."""
    load_signing_key(value)
    return normalise_pem(value)


def generate_key() -> str:
    """A fresh EC P-384 private key as PEM (PKCS#8)."""
    key = ec.generate_private_key(ec.SECP384R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _b64(number: int, length: int | None = None) -> str:
    size = length or (number.bit_length() + 7) // 8
    return base64.urlsafe_b64encode(number.to_bytes(size, "big")).rstrip(b"=").decode()


def _members(signing: SigningKey) -> dict[str, str]:
    """The required public members of the JWK (RFC 7638 order-independent)."""
    public = signing.key.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        numbers = public.public_numbers()
        return {"e": _b64(numbers.e), "kty": "RSA", "n": _b64(numbers.n)}
    assert isinstance(public, ec.EllipticCurvePublicKey)
    point = public.public_numbers()
    return {"crv": "P-384", "kty": "EC", "x": _b64(point.x, 48), "y": _b64(point.y, 48)}


def thumbprint(signing: SigningKey) -> str:
    """The RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key."""
    canonical = json.dumps(_members(signing), sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def public_jwk(signing: SigningKey) -> dict[str, Any]:
    """The public JWK of ``signing`` as a JWKS lists it."""
    return {**_members(signing), "alg": signing.algorithm, "kid": signing.kid, "use": "sig"}
