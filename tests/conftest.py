"""Shared fixtures: real databases (SQLite always, PostgreSQL when configured), app, client.

Every test that uses ``db_url`` (and so ``ctx``, ``app``, ``client``) runs once per backend:
SQLite, and PostgreSQL whenever ``FRONTDESK_TEST_POSTGRES_URL`` is set (then it must run).
Each test gets a database of its own, copied from a template migrated once per session:
a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL. Nothing is shared
between tests, and code under test may open as many connections as it likes.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvloop
from cryptography.fernet import Fernet
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from frontdesk.access.principal import Principal
from frontdesk.access.service import create_api_key
from frontdesk.context import AppContext
from frontdesk.db.engine import Database
from frontdesk.db.migrate import upgrade
from frontdesk.server.app import create_app
from frontdesk.settings import Settings

PG_ENV = "FRONTDESK_TEST_POSTGRES_URL"
TEST_SECRET_KEY = Fernet.generate_key().decode()
_counter = itertools.count()


LoopFactory = Callable[[], asyncio.AbstractEventLoop]
BOTH_LOOPS = frozenset(
    {"test_http_transport.py", "test_http_responses.py", "test_outbound_proxy.py"}
)
"""Modules (under tests/connectors/) whose tests run on asyncio's loop and on uvloop."""


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, LoopFactory]:
    """Event loops per test: the HTTP transport's tests run on both loops (ids ``[asyncio]``,
    ``[uvloop]``), since production may run either.

    Every other test gets asyncio's default loop under a single name, which leaves its id
    as it was. (pytest-asyncio 1.5 refuses ``None`` here: "must return a non-empty mapping
    of factory names to callables", for every async test.)
    """
    if item.path.parent.name == "connectors" and item.path.name in BOTH_LOOPS:
        return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}
    return {"asyncio": asyncio.new_event_loop}


def _backends() -> list[Any]:
    params: list[Any] = [pytest.param("sqlite", id="sqlite")]
    if os.environ.get(PG_ENV):
        params.append(pytest.param("postgres", id="postgres", marks=pytest.mark.postgres))
    return params


def _migrate(url: str) -> None:
    async def go() -> None:
        db = Database(url)
        await upgrade(db)
        await db.dispose()

    asyncio.run(go())


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    _migrate(f"sqlite+aiosqlite:///{path}")
    return path


def _pg_admin_url() -> str:
    return os.environ[PG_ENV].replace("postgresql+psycopg://", "postgresql://")


def _pg_exec(sql: str) -> None:
    with psycopg.connect(_pg_admin_url(), autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    name = f"fd_tpl_{os.getpid()}"
    _pg_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _pg_exec(f"CREATE DATABASE {name}")
    url = make_url(_pg_admin_url()).set(drivername="postgresql+psycopg", database=name)
    _migrate(url.render_as_string(hide_password=False))
    yield name
    _pg_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=_backends())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated database of its own for this test, on each backend."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "frontdesk.db"
        shutil.copyfile(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template_name: str = request.getfixturevalue("pg_template")
    name = f"fd_t_{os.getpid()}_{next(_counter)}"
    _pg_exec(f"CREATE DATABASE {name} TEMPLATE {template_name}")
    url = make_url(_pg_admin_url()).set(drivername="postgresql+psycopg", database=name)
    yield url.render_as_string(hide_password=False)
    _pg_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        secret_keys=TEST_SECRET_KEY,  # type: ignore[arg-type]
        log_format="json",
        log_level="DEBUG",
    )


@pytest.fixture
async def ctx(settings: Settings) -> AsyncIterator[AppContext]:
    context = await AppContext.open(settings, migrate=False)
    yield context
    await context.close()


@pytest.fixture
def app(settings: Settings, ctx: AppContext) -> FastAPI:
    return create_app(settings, context=ctx)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://frontdesk.test") as c:
        yield c


class KeyFactory:
    """Makes API keys straight through the service layer; returns auth headers."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    async def __call__(self, *, name: str = "test", business: int | None = None) -> dict[str, str]:
        async with self.ctx.db.transaction() as session:
            created = await create_api_key(
                session,
                principal=Principal.system("test"),
                clock=self.ctx.clock,
                name=name,
                business_number=business,
            )
        return {"Authorization": f"Bearer {created.secret}"}


@pytest.fixture
def api_key(ctx: AppContext) -> KeyFactory:
    return KeyFactory(ctx)


@pytest.fixture
async def staff_headers(api_key: KeyFactory) -> dict[str, str]:
    return await api_key(name="staff")
