"""Key rotation: re-encrypt every :class:`EncryptedText` column with the newest key.

Order matters for crash safety: the new key ring (new key first, old keys kept) is written
before any row changes, so every row stays decryptable whatever point a crash hits.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Column, Table, select, update

from frontdesk.db.base import Base
from frontdesk.db.engine import Database
from frontdesk.db.types import EncryptedText
from frontdesk.security.secrets import SecretBox


@dataclass(frozen=True)
class RotationReport:
    columns: int
    values: int


def encrypted_columns() -> list[tuple[Table, Column[str]]]:
    """Every encrypted column of every registered model."""
    import frontdesk.db.models  # noqa: F401  (fills Base.metadata)

    found: list[tuple[Table, Column[str]]] = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, EncryptedText):
                found.append((table, column))
    return found


async def reencrypt_all(db: Database, box: SecretBox, *, batch: int = 500) -> RotationReport:
    """Rewrite every stored secret with ``box``'s newest key, in one transaction."""
    columns = encrypted_columns()
    values = 0
    async with db.transaction() as session:
        for table, column in columns:
            pk = list(table.primary_key.columns)
            rows = (await session.execute(select(*pk, column).where(column.is_not(None)))).all()
            for start in range(0, len(rows), batch):
                for row in rows[start : start + batch]:
                    *keys, value = row
                    condition = [c == k for c, k in zip(pk, keys, strict=True)]
                    await session.execute(
                        update(table).where(*condition).values({column.name: box.rotate(value)})
                    )
                    values += 1
    return RotationReport(columns=len(columns), values=values)
