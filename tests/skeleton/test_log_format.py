"""Log lines read like a terminal program's at a terminal and are JSON everywhere else."""

from __future__ import annotations

import io
import json
import sys

import pytest

from frontdesk.logs import configure_logging, get_logger
from frontdesk.settings import Settings


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


@pytest.mark.parametrize(
    ("log_format", "stderr", "as_json"),
    [
        pytest.param("auto", Terminal, False, id="auto at a terminal: console"),
        pytest.param("auto", Pipe, True, id="auto into a pipe: json"),
        pytest.param("json", Terminal, True, id="json at a terminal"),
        pytest.param("console", Pipe, False, id="console into a pipe"),
    ],
)
def test_the_renderer_follows_the_setting_and_the_terminal(
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
    log_format: str,
    stderr: type[io.StringIO],
    as_json: bool,
) -> None:
    out = stderr()
    monkeypatch.setattr(sys, "stderr", out)
    try:
        configure_logging(settings.model_copy(update={"log_format": log_format}))
        get_logger("test").info("demo.ready", port=8080)
    finally:
        configure_logging(settings)  # back to the suite's JSON
    line = out.getvalue().strip().splitlines()[-1]
    if as_json:
        assert json.loads(line)["event"] == "demo.ready"
    else:
        assert not line.startswith("{")
        assert "demo.ready" in line
        assert "port" in line


def test_auto_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FRONTDESK_LOG_FORMAT", raising=False)
    assert Settings().log_format == "auto"
