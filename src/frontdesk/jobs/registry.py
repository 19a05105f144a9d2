"""The application's tasks and schedules: the one place features add theirs.

Every runner runs what these return: the embedded runner inside ``frontdesk serve`` and each
``frontdesk worker``. A feature contributes a :class:`~frontdesk.jobs.tasks.Task` whose body
closes over the process context (``ctx.db``, ``ctx.secrets``, ``ctx.clock``) and takes ids
as keyword arguments, e.g.::

    registry.add(Task("sync_group", partial(sync_group, ctx), RetryPolicy(max_attempts=5)))

and, for work on a clock, a :class:`~frontdesk.jobs.periodic.Periodic` schedule (run by the
procrastinate workers; its body also receives ``timestamp``).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from frontdesk.jobs.periodic import Periodic
from frontdesk.jobs.tasks import RetryPolicy, Task, TaskRegistry

if TYPE_CHECKING:
    from frontdesk.server.context import AppContext


def build_task_registry(ctx: AppContext) -> TaskRegistry:
    """Every task this process may run or defer (explicit: no import-time registration)."""
    registry = TaskRegistry()
    # Features register their tasks here (the sync engine: ``sync_group``).
    from frontdesk.answering.desk.delivery import TASK_NAME, deliver_webhook

    # one attempt per job: the delivery row keeps its own backoff and parking
    registry.add(Task(TASK_NAME, partial(deliver_webhook, ctx), RetryPolicy(max_attempts=1)))
    from frontdesk.engagement.sending import ReviewSender

    # review requests: ``send_review_requests`` (retries are ledger state, one attempt a job)
    for task in ReviewSender(ctx).tasks():
        registry.add(task)
    return registry


def build_schedule(ctx: AppContext) -> list[Periodic]:
    """Periodic jobs (the sync dispatcher, the sweeper, pruning old jobs)."""
    return []
