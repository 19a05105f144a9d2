"""The event loop frontdesk's long-running processes run on: uvloop by default.

``FRONTDESK_EVENT_LOOP`` chooses: ``auto`` (the default: uvloop where it is installed, which
it is on Linux and macOS, else asyncio's own loop), ``uvloop`` (required: an error if it is
missing) or ``asyncio`` (the standard library's loop: the escape hatch should a library
misbehave on uvloop). ``frontdesk serve`` and ``frontdesk demo`` hand the same choice to
uvicorn (``loop=``), ``frontdesk worker`` and the other commands run through :func:`run`.

Why: a sync run is mostly small network exchanges (one Unity request per patient, a few SMTP
commands per review request), so the loop's own bookkeeping (callbacks, futures, transports,
timers) is a large share of the CPU; uvloop does the same work in C. ``bench/sync_throughput.py``
runs on the same choice and prints which loop it ran on.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar

from frontdesk.errors import ConfigurationError

T = TypeVar("T")
EventLoopChoice = Literal["auto", "asyncio", "uvloop"]
LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def resolve(choice: EventLoopChoice) -> Literal["asyncio", "uvloop"]:
    """The loop ``choice`` means on this machine; an error when uvloop is required but absent."""
    if choice == "asyncio":
        return "asyncio"
    if importlib.util.find_spec("uvloop") is not None:
        return "uvloop"
    if choice == "uvloop":
        raise ConfigurationError(
            "FRONTDESK_EVENT_LOOP is uvloop but uvloop is not installed", field="event_loop"
        )
    return "asyncio"


def loop_factory(choice: EventLoopChoice) -> LoopFactory:
    """A factory of new loops of the kind ``choice`` resolves to."""
    if resolve(choice) == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return asyncio.new_event_loop


def run(coro: Coroutine[Any, Any, T], *, choice: EventLoopChoice = "auto") -> T:
    """``asyncio.run`` on the chosen loop."""
    with asyncio.Runner(loop_factory=loop_factory(choice)) as runner:
        return runner.run(coro)
