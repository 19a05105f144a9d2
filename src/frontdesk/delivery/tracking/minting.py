"""The tracked links of the channels that carry one (``email``, ``sms``): one per request.

A channel asks :meth:`TrackedLinks.url_for` for the link of a request
(``{FRONTDESK_PUBLIC_URL}/r/{token}``, the token derived from the ledger key: a resend
carries the same link), renders it as the message's ``review_url``, and stores it with
:meth:`TrackedLinks.record` before the message leaves, so a click that follows at once finds
it. What the link leads to (the location's ``review.url``, or the landing page of its
``review.sites``) is decided at click time: :mod:`frontdesk.delivery.tracking.api`.

The links of the messages in flight share commits (:class:`GroupCommitter`): a write
transaction per message was most of the cost of a text in ``bench/sync_throughput.py``.
One instance serves every channel of a process (the registry shares it), so the
install's contact pepper is read once.
"""

from __future__ import annotations

from frontdesk.answering.group_commit import GroupCommitter
from frontdesk.context import AppContext
from frontdesk.delivery.tracking.links import LinkWriter, NewLink, link_url, token_for
from frontdesk.engagement.optouts import contact_pepper


class TrackedLinks:
    """Mints and stores the ``/r/{token}`` links of review requests (see the module docstring)."""

    def __init__(self, ctx: AppContext) -> None:
        self._ctx = ctx
        self._pepper: bytes | None = None
        self._committer = GroupCommitter(ctx.db)
        self._writer = LinkWriter(ctx.db.dialect)

    async def pepper(self) -> bytes:
        """The install's contact pepper (link tokens, opt-out hashes), read once."""
        if self._pepper is None:
            ctx = self._ctx
            async with ctx.db.transaction() as session:
                pepper = await contact_pepper(session, secrets=ctx.secrets, clock=ctx.clock)
            assert pepper is not None  # created on first use in a write transaction
            self._pepper = pepper
        return self._pepper

    async def url_for(self, ledger_key: str) -> str:
        """The link the message of ``ledger_key`` carries (nothing is stored yet)."""
        token = token_for(await self.pepper(), ledger_key)
        return link_url(self._ctx.settings.public_url, token)

    async def record(self, ledger_key: str, target_url: str) -> str:
        """Store the link of ``ledger_key`` leading to ``target_url`` (a link stored before
        is kept as it was) and return it; committed when this returns."""
        token = token_for(await self.pepper(), ledger_key)
        link = NewLink(token, ledger_key, target_url, self._ctx.clock.now())
        await self._committer.submit(self._writer, link)  # shares a commit with the others
        return link_url(self._ctx.settings.public_url, token)

    async def aclose(self) -> None:
        """Wait for the links queued so far to be written."""
        await self._committer.drain()
