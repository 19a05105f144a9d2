"""The kernel: what every part of a running process shares — settings, database, key ring,
clock. No web types and no bag of extras: everything else a process is made of is built by
the composition root (:mod:`frontdesk.composition`) and handed over as typed arguments."""

from __future__ import annotations

from dataclasses import dataclass, field

from frontdesk.clock import Clock, SystemClock
from frontdesk.db.engine import Database
from frontdesk.db.migrate import upgrade
from frontdesk.security.secrets import SecretBox, load_keys
from frontdesk.settings import Settings


@dataclass
class AppContext:
    """Built once per process (app factory, CLI command, worker) and passed down."""

    settings: Settings
    db: Database
    secrets: SecretBox
    clock: Clock = field(default_factory=SystemClock)

    @classmethod
    async def open(
        cls, settings: Settings, *, clock: Clock | None = None, migrate: bool | None = None
    ) -> AppContext:
        """Connect, load the key ring and (embedded default) bring the schema up to date."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.sqlalchemy_url)
        if settings.auto_migrate if migrate is None else migrate:
            await upgrade(db)
        return cls(
            settings=settings,
            db=db,
            secrets=SecretBox(load_keys(settings)),
            clock=clock or SystemClock(),
        )

    async def close(self) -> None:
        await self.db.dispose()
