"""Named tasks and the registry that maps names to task bodies."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from frontdesk.errors import TransientError

TaskBody = Callable[..., Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, for transient errors only."""

    max_attempts: int = 5
    base_s: float = 1.0
    max_s: float = 300.0
    retry_on: tuple[type[BaseException], ...] = (TransientError,)

    def should_retry(self, error: BaseException, attempt: int) -> bool:
        return attempt < self.max_attempts and isinstance(error, self.retry_on)

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed ``attempt`` (1-based)."""
        ceiling = min(self.max_s, self.base_s * 2 ** (attempt - 1))
        return (rng or random).uniform(ceiling / 2, ceiling)


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
