"""``frontdesk worker``: refuses what it cannot run on; SIGTERM lets running jobs finish."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import psycopg
import pytest
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from frontdesk.cli.main import app
from frontdesk.jobs.procrastinate_queue import ProcrastinateJobQueue, libpq_url
from frontdesk.jobs.tasks import Task, TaskRegistry

PG_ENV = "FRONTDESK_TEST_POSTGRES_URL"
TEST_SECRET_KEY = Fernet.generate_key().decode()
WORKER_APP = Path(__file__).with_name("worker_app.py")
needs_pg = pytest.mark.skipif(not os.environ.get(PG_ENV), reason=f"{PG_ENV} unset")


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("FRONTDESK_DATABASE_URL", raising=False)
    monkeypatch.delenv("FRONTDESK_JOBS__BACKEND", raising=False)
    return CliRunner()


def test_worker_refuses_the_embedded_backend(runner: CliRunner) -> None:
    result = runner.invoke(app, ["worker"])
    assert result.exit_code == 1
    assert "FRONTDESK_JOBS__BACKEND=procrastinate" in result.output


def test_worker_refuses_sqlite(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_JOBS__BACKEND", "procrastinate")
    result = runner.invoke(app, ["worker"])
    assert result.exit_code == 1
    assert "needs PostgreSQL" in result.output
    assert not (Path(os.environ["FRONTDESK_DATA_DIR"]) / "frontdesk.db").exists()


def test_worker_refuses_to_make_a_key_ring_of_its_own(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FRONTDESK_JOBS__BACKEND", "procrastinate")
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.delenv("FRONTDESK_SECRET_KEYS", raising=False)
    monkeypatch.setenv("FRONTDESK_SECRETS_DIR", str(tmp_path))  # an empty one
    result = runner.invoke(app, ["worker"])
    assert result.exit_code == 1
    assert "FRONTDESK_SECRET_KEYS" in result.output


@pytest.mark.postgres
@needs_pg
def test_worker_refuses_a_schema_that_is_not_upgraded(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = os.environ[PG_ENV].replace("postgresql+psycopg://", "postgresql://")
    name = f"fd_jobs_empty_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")  # type: ignore[arg-type]
        conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    try:
        url = make_url(admin).set(database=name).render_as_string(hide_password=False)
        monkeypatch.setenv("FRONTDESK_DATABASE_URL", url)
        monkeypatch.setenv("FRONTDESK_JOBS__BACKEND", "procrastinate")
        monkeypatch.setenv("FRONTDESK_AUTO_MIGRATE", "false")
        monkeypatch.setenv("FRONTDESK_SECRET_KEYS", TEST_SECRET_KEY)
        result = runner.invoke(app, ["worker"])
        assert result.exit_code == 1
        assert "frontdesk db upgrade" in " ".join(result.output.split())  # however it wraps
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]


async def _statuses(url: str) -> dict[str, str]:
    async with await psycopg.AsyncConnection.connect(libpq_url(url)) as conn:
        cursor = await conn.execute(
            "SELECT args->>'marker', status::text FROM procrastinate_jobs ORDER BY id"
        )
        return {Path(marker).name: status for marker, status in await cursor.fetchall()}


async def _wait_for(path: Path, timeout_s: float = 30) -> None:
    for _ in range(int(timeout_s / 0.05)):
        if await asyncio.to_thread(path.exists):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path.name} never appeared")


@pytest.mark.postgres
@pytest.mark.slow
@needs_pg
async def test_sigterm_lets_the_running_job_finish_and_exits_0(pg_url: str, tmp_path: Path) -> None:
    async def never(**_: object) -> None:
        raise AssertionError("only the worker runs jobs")

    queue = ProcrastinateJobQueue(TaskRegistry([Task("slow", never)]), url=pg_url)
    running, held = tmp_path / "running", tmp_path / "held"
    await queue.defer("slow", args={"marker": str(running), "seconds": 1.5}, lock="group:1")
    # waits behind the running job's lock: still waiting when the stop comes
    await queue.defer("slow", args={"marker": str(held), "seconds": 0}, lock="group:1")
    await queue.close()

    env = {
        **os.environ,
        "FRONTDESK_DATABASE_URL": pg_url,
        "FRONTDESK_JOBS__BACKEND": "procrastinate",
        "FRONTDESK_DATA_DIR": str(tmp_path / "data"),
        "FRONTDESK_LOG_FORMAT": "json",
        "FRONTDESK_SECRET_KEYS": TEST_SECRET_KEY,
    }
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        str(WORKER_APP),
        "--concurrency",
        "2",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await _wait_for(tmp_path / "running.started")
        worker.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(worker.communicate(), timeout=30)
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
    assert worker.returncode == 0, stderr.decode()[-2000:]
    assert (tmp_path / "running.finished").exists()
    assert not (tmp_path / "held.started").exists()
    assert await _statuses(pg_url) == {"running": "succeeded", "held": "todo"}
    assert b"worker.stopping" in stderr
