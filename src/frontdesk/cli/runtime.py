"""Shared plumbing of CLI commands: settings, context, console, async entry."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import typer
from rich.console import Console

from frontdesk import eventloop
from frontdesk.composition import Process, Role, running
from frontdesk.context import AppContext
from frontdesk.errors import FrontdeskError
from frontdesk.eventloop import EventLoopChoice
from frontdesk.logs import configure_logging
from frontdesk.settings import Settings, load_settings

T = TypeVar("T")
console = Console()
err_console = Console(stderr=True)


def cli_settings() -> Settings:
    settings = load_settings()
    configure_logging(settings.model_copy(update={"log_level": "WARNING"}))
    return settings


def run(coro: Coroutine[Any, Any, T], *, event_loop: EventLoopChoice | None = None) -> T:
    """Run one async command body on the configured event loop (``FRONTDESK_EVENT_LOOP``,
    unless ``event_loop`` is given); a FrontdeskError becomes a clear message and exit code 1."""
    try:
        choice = event_loop or load_settings().event_loop
        return eventloop.run(coro, choice=choice)
    except FrontdeskError as exc:
        where = f" ({exc.field})" if exc.field else ""
        err_console.print(f"[red]error{where}:[/red] {exc.message}")
        raise typer.Exit(1) from None


@asynccontextmanager
async def opened_context(settings: Settings | None = None) -> AsyncIterator[AppContext]:
    ctx = await AppContext.open(settings or cli_settings())
    try:
        yield ctx
    finally:
        await ctx.close()


@asynccontextmanager
async def opened_process(settings: Settings | None = None) -> AsyncIterator[Process]:
    """The parts of a CLI command (the composition root's ``cli`` role), started."""
    async with opened_context(settings) as ctx, running(ctx, Role.CLI) as process:
        yield process


def read_secret(prompt: str) -> str:
    """A secret from the terminal (no echo) or from stdin when it is not a terminal."""
    if sys.stdin.isatty():
        value: str = typer.prompt(prompt, hide_input=True)
        return value
    return sys.stdin.readline().rstrip("\r\n")


Column = tuple[str, Callable[[dict[str, Any]], str]]
