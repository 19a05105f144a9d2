"""``frontdesk worker`` with one test task, for test_worker_cli.py to run as a subprocess.

The application's registry seam is swapped for one holding ``slow``, which marks files when
it starts and when it finishes; everything else is the real command.
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


def test_registry(ctx: Any) -> TaskRegistry:
    return TaskRegistry([Task("slow", slow)])


if __name__ == "__main__":
    registry.build_task_registry = test_registry
    app(["worker", *sys.argv[1:]], prog_name="frontdesk")
