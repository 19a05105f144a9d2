"""Named tasks and the registry that maps names to task bodies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from frontdesk.retry import RetryPolicy

TaskBody = Callable[..., Awaitable[None]]


@dataclass(frozen=True)
class Task:
    """A task body with its name and retry policy."""

    name: str
    body: TaskBody
    retry: RetryPolicy = field(default_factory=RetryPolicy)


class TaskRegistry:
    """An explicit list of tasks, built by the application (no import-time registration)."""

    def __init__(self, tasks: list[Task] | None = None) -> None:
        self._tasks: dict[str, Task] = {}
        for task in tasks or []:
            self.add(task)

    def add(self, task: Task) -> None:
        if task.name in self._tasks:
            raise ValueError(f"task {task.name!r} registered twice")
        self._tasks[task.name] = task

    def get(self, name: str) -> Task:
        try:
            return self._tasks[name]
        except KeyError:
            raise KeyError(f"unknown task {name!r}") from None

    def __iter__(self) -> Iterator[Task]:
        return iter(self._tasks.values())

    def __contains__(self, name: object) -> bool:
        return name in self._tasks


JobArgs = dict[str, Any]
