"""Password hashing with argon2id (``argon2-cffi``).

Verifying costs tens of milliseconds of CPU on purpose: async callers must run
:func:`verify_password` in a worker thread (``anyio.to_thread.run_sync``) so that one login
never stalls the event loop.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher()


def hash_password(password: str | bytes) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str | bytes) -> bool:
    """True when ``password`` matches; False for a mismatch or a malformed hash."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _HASHER.check_needs_rehash(password_hash)
