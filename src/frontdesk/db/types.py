"""Column types with one meaning on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, Text
from sqlalchemy.types import TypeDecorator

FERNET_PREFIX = "gAAAAA"


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC; naive values are refused (they are always a bug)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store aware UTC datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class EncryptedText(TypeDecorator[str]):
    """A column that holds only ciphertext made by :class:`frontdesk.security.secrets.SecretBox`.

    Services encrypt before assigning (the key ring is not global state). The type refuses
    anything that is not a Fernet token, so a forgotten ``encrypt`` fails loudly instead of
    writing a secret in plain text, and ``frontdesk admin rotate-key`` finds every such column
    through this type.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value.startswith(FERNET_PREFIX):
            raise ValueError("EncryptedText accepts ciphertext only; encrypt with SecretBox first")
        return value
