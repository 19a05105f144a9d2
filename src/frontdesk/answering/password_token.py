"""The PHP-compatible ``login_password`` token of the Answering Service API v2.

Clients do not send their password to ``tokenCreate``; they send the vendor's token (spec §2.2,
``shared/reference/answering-service.md``)::

    inner = openssl_encrypt(password, "aes-256-cbc", key, 0, iv)  # standard base64 text
    token = base64_encode(inner . "::" . iv)                        # iv: 16 random raw bytes

This module reproduces PHP 8's ``EncryptionCustom`` / ``DecryptionCustom`` byte for byte with
the ``cryptography`` package. The PHP quirks it mirrors (spec §2.3 rows, §2.4 rules):

* **Key** (rows 1-3, rule 1): counted in bytes, right-padded with NUL to 32 bytes or cut to its
  first 32 bytes, silently.
* **Blank test** (row 7, rule 2): PHP's default ``trim`` set ``" \\t\\n\\r\\0\\x0B"`` only; form
  feed and U+00A0 are *not* blank. ``trim`` only decides blankness; the untrimmed bytes are used.
* **Lenient base64** (rows 13-14, rule 3): non-strict ``base64_decode`` skips every byte outside
  ``A-Za-z0-9+/``, ignores ``=`` anywhere and drops a lone trailing sextet. It applies to the
  outer token and, because ``openssl_decrypt`` runs with options 0, to the inner ciphertext.
* **Split** (rows 8-9, 15, rule 4): ``explode('::', …, 2)``; the base64 part never holds ``:``,
  so the first ``::`` is the separator and an IV containing ``::`` survives. No second part or an
  empty part makes ``DecryptionCustom`` return ``''``.
* **IV** (row 12, rule 5): PHP NUL-pads a short IV and truncates a long one (with a warning)
  and still decrypts. :attr:`DecryptResult.iv_length` lets a caller log the same warning.
* **Failure** (rows 10, 16, rule 6): ``openssl_decrypt`` returns ``false`` when the ciphertext is
  empty or not a multiple of 16 bytes, or when PKCS#7 unpadding fails.

A successful decrypt is never proof of identity (row 10, rule 7): about 1 in 256 wrong keys
passes the padding check and yields garbage. :func:`verify_password_token` therefore checks the
decrypted bytes against the user's argon2 hash, exactly (no trimming).

Nothing here logs, and no exception text contains a password, a key or a plaintext.
"""

from __future__ import annotations

import base64
import enum
import secrets
from dataclasses import dataclass, field
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = [
    "DecryptResult",
    "TokenOutcome",
    "decrypt_password_token",
    "encrypt_password_token",
    "php_base64_decode",
    "verify_password_token",
]

KEY_LENGTH = 32
IV_LENGTH = 16
SEPARATOR = b"::"
_BLOCK_BYTES = 16
_BLOCK_BITS = 8 * _BLOCK_BYTES
PHP_TRIM_CHARACTERS = b" \t\n\r\0\x0b"
_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_NOT_BASE64 = bytes(b for b in range(256) if b not in _BASE64_ALPHABET)


class TokenOutcome(enum.Enum):
    """What PHP's ``DecryptionCustom`` would have returned."""

    DECRYPTED = "decrypted"
    """``openssl_decrypt`` returned a string (possibly garbage from a wrong key)."""
    EMPTY = "empty"
    """``DecryptionCustom`` returned ``''``: blank token, no ``::``, or an empty part."""
    FAILED = "failed"
    """``openssl_decrypt`` returned ``false``: bad length or bad PKCS#7 padding."""


@dataclass(frozen=True, slots=True)
class DecryptResult:
    """The outcome of :func:`decrypt_password_token`; ``plaintext`` is kept out of ``repr``."""

    outcome: TokenOutcome
    detail: str
    """A fixed, secret-free reason, fit for logs."""
    plaintext: bytes = field(default=b"", repr=False)
    """The decrypted bytes; ``b""`` unless ``outcome`` is ``DECRYPTED``."""
    iv_length: int | None = None
    """The raw IV length given to ``openssl_decrypt`` (PHP warns unless 16); None if not reached."""

    @property
    def decrypted(self) -> bool:
        """True when ``openssl_decrypt`` returned a string. This is not authentication."""
        return self.outcome is TokenOutcome.DECRYPTED

    def php_value(self) -> bytes | Literal[False]:
        """The value PHP's ``DecryptionCustom`` returns: the bytes, ``b""`` or ``False``."""
        return False if self.outcome is TokenOutcome.FAILED else self.plaintext


def php_base64_decode(data: bytes) -> bytes:
    """Decode ``data`` as PHP's non-strict ``base64_decode`` does (spec §2.3 row 13, §2.4.3).

    Every byte outside ``A-Za-z0-9+/`` (including every ``=``) is skipped, missing padding is
    accepted, a lone trailing character is dropped and leftover low bits are ignored. It never
    fails.
    """
    sextets = data.translate(None, _NOT_BASE64)
    if len(sextets) % 4 == 1:
        sextets = sextets[:-1]
    return base64.b64decode(sextets + b"=" * (-len(sextets) % 4), validate=True)


def _php_key(key: bytes) -> bytes:
    """PHP's key rule (spec §2.3 rows 1-3): NUL-pad or cut to exactly 32 bytes."""
    return key[:KEY_LENGTH].ljust(KEY_LENGTH, b"\0")


def _is_php_blank(value: bytes) -> bool:
    return value.strip(PHP_TRIM_CHARACTERS) == b""


def encrypt_password_token(password: bytes, key: bytes, iv: bytes | None = None) -> str:
    """Build the token PHP's ``EncryptionCustom`` builds for ``password`` (spec §2.2).

    Like PHP, a password that is blank under PHP's ``trim`` set gives ``""``; any other password
    is encrypted untrimmed. ``iv`` defaults to 16 bytes from :mod:`secrets`; a caller-supplied IV
    must be exactly 16 bytes (the vendor recipe always uses ``openssl_cipher_iv_length``), so
    PHP's pad-with-warning path is never taken on this side.
    """
    if _is_php_blank(password):
        return ""
    if iv is None:
        iv = secrets.token_bytes(IV_LENGTH)
    elif len(iv) != IV_LENGTH:
        raise ValueError(f"iv must be exactly {IV_LENGTH} bytes")
    padder = padding.PKCS7(_BLOCK_BITS).padder()
    padded = padder.update(password) + padder.finalize()
    encryptor = Cipher(algorithms.AES(_php_key(key)), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    inner = base64.b64encode(ciphertext)
    return base64.b64encode(inner + SEPARATOR + iv).decode("ascii")


def decrypt_password_token(token: str | bytes, key: bytes) -> DecryptResult:
    """Decrypt ``token`` exactly as PHP's ``DecryptionCustom`` does (spec §2.4).

    Returns a :class:`DecryptResult` whose ``outcome`` separates PHP's three answers: the
    decrypted bytes, ``''`` and ``false``. A ``DECRYPTED`` outcome does not authenticate anyone;
    use :func:`verify_password_token`.
    """
    raw = token.encode("utf-8", "surrogatepass") if isinstance(token, str) else token
    if _is_php_blank(raw):
        return DecryptResult(TokenOutcome.EMPTY, "blank token")
    parts = php_base64_decode(raw).split(SEPARATOR, 1)
    if len(parts) < 2:
        return DecryptResult(TokenOutcome.EMPTY, "no '::' separator")
    inner, iv = parts
    if not inner:
        return DecryptResult(TokenOutcome.EMPTY, "empty ciphertext part")
    if not iv:
        return DecryptResult(TokenOutcome.EMPTY, "empty IV part")
    ciphertext = php_base64_decode(inner)
    if not ciphertext or len(ciphertext) % _BLOCK_BYTES:
        detail = "ciphertext is not a positive multiple of 16 bytes"
        return DecryptResult(TokenOutcome.FAILED, detail, iv_length=len(iv))
    php_iv = iv[:IV_LENGTH].ljust(IV_LENGTH, b"\0")
    decryptor = Cipher(algorithms.AES(_php_key(key)), modes.CBC(php_iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(_BLOCK_BITS).unpadder()
    try:
        plaintext = unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        return DecryptResult(TokenOutcome.FAILED, "bad PKCS#7 padding", iv_length=len(iv))
    return DecryptResult(TokenOutcome.DECRYPTED, "decrypted", plaintext, iv_length=len(iv))


def verify_password_token(
    token: str | bytes, *, key: bytes, password_hash: str, hasher: PasswordHasher | None = None
) -> bool:
    """True only when ``token`` decrypts and its exact bytes match the argon2 ``password_hash``.

    ``''`` and ``false`` outcomes, and garbage from a wrong key that happened to unpad, all give
    ``False``. argon2's own comparison is constant-time. A malformed ``password_hash`` raises
    :class:`argon2.exceptions.InvalidHashError`: that is a data fault, not a wrong password.
    """
    result = decrypt_password_token(token, key)
    if not result.decrypted:
        return False
    try:
        return (hasher or PasswordHasher()).verify(password_hash, result.plaintext)
    except VerificationError:
        return False
