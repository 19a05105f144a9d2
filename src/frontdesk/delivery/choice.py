"""Two parts of the channel contract a channel plugin declares besides its factory.

- :class:`ChannelChoice`: a ``review.channel`` value that is not one channel but resolves,
  per appointment, to one or more registered channels — the first member the patient can be
  reached by (``sms_then_email``: a text, else an email) or every member they can be reached
  by (``email_and_sms``). The decision step checks each member's contact and opt-outs and
  writes one review request per chosen channel (the ledger's key includes the channel, so
  each is sent once); a plain channel is the choice of itself. The core never names the
  members: the registry only offers a choice whose channels are all registered.
- :class:`TemplateRule`: the kind of templates a channel uses (business templates are kept
  per kind: ``email``, ``mobile``, ``webhook``; several channels may share one) and what a
  valid body must contain — the variables it must link (an email its unsubscribe link) and
  the wording it must carry (a text "Reply STOP", the carriers' opt-out instruction).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChannelChoice:
    """A ``review.channel`` value resolving to ``members`` (channel names, in order).

    ``every`` False: the first member with a usable, not opted-out contact;
    True: every such member (one request per channel).
    """

    name: str
    members: tuple[str, ...]
    every: bool = False

    def __post_init__(self) -> None:
        if not self.members or len(set(self.members)) != len(self.members):
            raise ValueError(f"channel choice {self.name!r} needs distinct members")


@dataclass(frozen=True)
class TemplateRule:
    """How a channel's templates are kept and checked (see the module docstring)."""

    kind: str = "email"
    links: tuple[str, ...] = ("review_url", "unsubscribe_url")
    """Variables every body must render (the review link; the unsubscribe link)."""
    phrases: tuple[str, ...] = ()
    """Wording every body must contain, compared without case (``Reply STOP``)."""
