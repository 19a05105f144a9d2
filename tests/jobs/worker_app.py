"""``frontdesk worker`` with one test task, for test_worker_cli.py to run as a subprocess.

The application's tasks are swapped for one, ``slow``, which marks files when it starts and
when it finishes, and no schedule; everything else is the real command.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from frontdesk.cli.main import app
from frontdesk.jobs import registry
from frontdesk.jobs.tasks import Task, TaskRegistry


async def slow(*, marker: str, seconds: float) -> None:
    await asyncio.to_thread(Path(marker + ".started").touch)
    await asyncio.sleep(seconds)
    await asyncio.to_thread(Path(marker + ".finished").touch)


def test_registry(jobs: Any) -> TaskRegistry:
    return TaskRegistry([Task("slow", slow)])


def no_schedule(jobs: Any) -> list[Any]:
    return []


if __name__ == "__main__":
    registry.AppJobs.registry = test_registry
    registry.AppJobs.schedule = no_schedule
    app(["worker", *sys.argv[1:]], prog_name="frontdesk")
