"""Secrets at rest: a rotating key ring over ``cryptography``'s MultiFernet.

Keys come from ``FRONTDESK_SECRET_KEYS`` (comma-separated, newest first) or, when that is not
set, from ``<data_dir>/secret.keys`` (one key a line, newest first, mode 0600), generated on
first use. The newest key encrypts; every key decrypts. ``frontdesk admin rotate-key`` adds a
key and re-encrypts every :class:`~frontdesk.db.types.EncryptedText` column.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from frontdesk.errors import ConfigurationError, FatalError
from frontdesk.settings import Settings

KEY_FILE_NAME = "secret.keys"


class SecretBox:
    """Encrypts and decrypts short secrets (passwords, API credentials) with the key ring."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ConfigurationError("the secret key ring is empty")
        try:
            self._fernet = MultiFernet([Fernet(key) for key in keys])
        except ValueError as exc:
            raise ConfigurationError("a secret key is not a valid Fernet key") from exc
        self.keys = tuple(keys)

    @property
    def primary_key_id(self) -> str:
        """A short fingerprint of the encrypting key, safe to show and log."""
        return key_id(self.keys[0])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode()
        except InvalidToken as exc:
            raise FatalError("a stored secret cannot be decrypted with the key ring") from exc

    def rotate(self, ciphertext: str) -> str:
        """Re-encrypt with the newest key (no-op in meaning, new bytes)."""
        try:
            return self._fernet.rotate(ciphertext.encode("ascii")).decode("ascii")
        except InvalidToken as exc:
            raise FatalError("a stored secret cannot be decrypted with the key ring") from exc


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def generate_key() -> bytes:
    return Fernet.generate_key()


def key_file(settings: Settings) -> Path:
    return settings.data_dir / KEY_FILE_NAME


def load_keys(settings: Settings) -> list[bytes]:
    """The key ring from settings, or from the key file (created, mode 0600, when missing)."""
    if settings.secret_keys is not None:
        keys = [k.strip().encode() for k in settings.secret_keys.get_secret_value().split(",")]
        return [k for k in keys if k]
    path = key_file(settings)
    if not path.exists():
        write_key_file(path, [generate_key()])
    return [line.strip().encode() for line in path.read_text().splitlines() if line.strip()]


def write_key_file(path: Path, keys: Sequence[bytes]) -> None:
    """Atomically replace the key file, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("".join(key.decode() + "\n" for key in keys))
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
