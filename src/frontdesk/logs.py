"""Structured logging: structlog for our events, the standard library routed through it.

Every record, ours or a library's (uvicorn, httpx, SQLAlchemy), passes the redaction
processor before it is rendered.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from frontdesk.security.redaction import redact_event
from frontdesk.settings import Settings


def configure_logging(settings: Settings) -> None:
    """Install the processors and handlers; safe to call more than once."""
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact_event,
    ]
    renderer = _renderer(settings.log_format, tty=sys.stderr.isatty())
    structlog.configure(
        # Drop below-level events before any processor (redaction included) pays for them.
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = _StderrHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if not getattr(h, "_frontdesk", False)]
    handler._frontdesk = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    logging.getLogger("uvicorn.access").disabled = True  # our own access log replaces it
    for chatty in ("aiosqlite", "asyncio", "httpcore"):
        logging.getLogger(chatty).setLevel(max(logging.INFO, root.level))
    # httpx logs every full URL at INFO; our clients log their own calls, by route, redacted.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("uvicorn.error").propagate = True


def _renderer(log_format: str, *, tty: bool) -> structlog.typing.Processor:
    """JSON lines for machines; a terminal program's lines (colours at a terminal) for people.
    ``auto`` picks by whether stderr is a terminal, so ``make demo`` reads like a CLI and a
    container or a pipe still gets one JSON object per line."""
    if log_format == "json" or (log_format == "auto" and not tty):
        return structlog.processors.JSONRenderer()
    return structlog.dev.ConsoleRenderer(colors=tty)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (it may be swapped after start-up)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger
