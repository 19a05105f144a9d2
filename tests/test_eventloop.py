"""``FRONTDESK_EVENT_LOOP``: uvloop by default where installed, asyncio on request, a clear
error when uvloop is required but missing; the CLI runner and uvicorn get the same choice."""

from __future__ import annotations

import asyncio
import importlib.util

import pytest
import uvloop

from frontdesk import eventloop
from frontdesk.errors import ConfigurationError
from frontdesk.settings import load_settings


async def loop_kind() -> str:
    return type(asyncio.get_running_loop()).__module__.split(".")[0]


def test_auto_runs_on_uvloop_when_it_is_installed() -> None:
    assert eventloop.resolve("auto") == "uvloop"
    assert eventloop.run(loop_kind()) == "uvloop"
    assert eventloop.loop_factory("auto") is uvloop.new_event_loop


def test_asyncio_is_the_escape_hatch() -> None:
    assert eventloop.resolve("asyncio") == "asyncio"
    assert eventloop.run(loop_kind(), choice="asyncio") == "asyncio"


def test_without_uvloop_auto_falls_back_and_a_required_uvloop_is_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "uvloop" else real(name, *a)
    )
    assert eventloop.resolve("auto") == "asyncio"
    assert eventloop.run(loop_kind()) == "asyncio"
    with pytest.raises(ConfigurationError, match="uvloop is not installed"):
        eventloop.resolve("uvloop")


def test_the_setting_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().event_loop == "auto"
    monkeypatch.setenv("FRONTDESK_EVENT_LOOP", "asyncio")
    assert load_settings().event_loop == "asyncio"
    monkeypatch.setenv("FRONTDESK_EVENT_LOOP", "trio")
    with pytest.raises(ValueError, match="event_loop"):
        load_settings()
