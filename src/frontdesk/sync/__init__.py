"""Sync: turning mapping schedules into runs, and running them.

``models`` (``sync_runs``, ``sync_run_mappings``), ``windows`` (run day, window, next run),
``runs`` (the run lifecycle: create, claim, heartbeat, finish, recover), ``dispatcher`` (the
tick), ``routing`` (rows → mappings), ``engine`` (the ``sync_group`` task body), ``worker``
(the embedded runner + dispatcher loop), ``api``. The rules and the decision log are in
:mod:`frontdesk.engagement`. See ``docs/sync.md``.
"""
