"""Jobs: task bodies are plain ``async def`` functions taking ids; runners execute them.

The seam: :class:`~frontdesk.jobs.queue.JobQueue` (defer a named task with JSON-able args,
optionally under a ``lock`` — one job per lock at a time — and a ``queueing_lock`` — at most
one waiting job per key). The embedded runner is :class:`~frontdesk.jobs.local.LocalJobQueue`;
the PostgreSQL runner (procrastinate) implements the same protocol. Task bodies never import
either. Durable state lives in our own rows (``sync_run``, the review-request ledger); a
queue only carries ids, so a lost in-memory job is found again from the database.
"""
