"""FastAPI dependencies that hand routers the parts of the running process."""

from __future__ import annotations

from fastapi import Request

from frontdesk.context import AppContext


def get_context(request: Request) -> AppContext:
    """FastAPI dependency: the process context stored on the app."""
    ctx: AppContext = request.app.state.context
    return ctx
