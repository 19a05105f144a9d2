"""FastAPI dependencies that hand routers the parts of the running process.

``app.state.context`` holds one object, the process built by the composition root
(:class:`~frontdesk.composition.Process`); routers never look anything else up by name.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from frontdesk.answering.runtime import AnsweringRuntime
from frontdesk.composition import Process
from frontdesk.context import AppContext
from frontdesk.engagement.sending import ReviewSender
from frontdesk.plugins import Plugins
from frontdesk.security.outbound import OutboundPolicy


def get_process(request: Request) -> Process:
    """The process this app serves."""
    process: Process = request.app.state.context
    return process


def get_context(request: Request) -> AppContext:
    """The process context: settings, database, key ring, clock."""
    return get_process(request).ctx


def get_plugins(request: Request) -> Plugins:
    """The registered sources and channels."""
    return get_process(request).plugins


def get_answering(request: Request) -> AnsweringRuntime:
    """The answering API's runtime (options, committer, caches)."""
    return get_process(request).answering


def get_outbound(request: Request) -> OutboundPolicy:
    """The outbound rule (FRONTDESK_OUTBOUND__ALLOWED_HOSTS), built once per process."""
    return get_process(request).outbound


def get_sender(request: Request) -> ReviewSender:
    """The review sender (its queue defers an operator's requeue)."""
    return get_process(request).sender


ProcessDep = Annotated[Process, Depends(get_process)]
PluginsDep = Annotated[Plugins, Depends(get_plugins)]
AnsweringDep = Annotated[AnsweringRuntime, Depends(get_answering)]
