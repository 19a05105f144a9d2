"""The meter: in-memory usage counters per (day, business, kind, subject), plus /metrics.

What is counted (``kind`` → ``subject``):

- ``integration_api`` → the API key's label: calls authenticated with an API key;
- ``answering_api`` → the answering user: authenticated Answering-API calls;
- ``source_call`` / ``source_error`` → ``SOURCE action``: calls a connector made to its
  remote system and those that failed (through :class:`~frontdesk.connectors.limits.CallObserver`,
  so the core never names a vendor);
- ``sync_run`` → the run's final status, with its duration in ``total_ms``;
- ``checkin`` → ``eligible`` or ``restricted:<reason>``;
- ``review_request`` → ``<channel>:<state>``: outcomes recorded by the sender;
- ``ticket`` → ``created``.

The business of a remote call is the one whose run is in progress in the calling task
(:func:`metering_business`, a context variable the sync engine sets): connectors do not know
it and need not. Counting is a dict update under the event loop (no lock: one loop per
process); :meth:`Meter.drain` hands the counts to the flusher and starts afresh.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from datetime import date

from frontdesk.usage.metrics import Instruments

INTEGRATION_API = "integration_api"
ANSWERING_API = "answering_api"
SOURCE_CALL = "source_call"
SOURCE_ERROR = "source_error"
SYNC_RUN = "sync_run"
CHECKIN = "checkin"
REVIEW_REQUEST = "review_request"
TICKET = "ticket"
KINDS = (
    INTEGRATION_API,
    ANSWERING_API,
    SOURCE_CALL,
    SOURCE_ERROR,
    SYNC_RUN,
    CHECKIN,
    REVIEW_REQUEST,
    TICKET,
)
NO_BUSINESS = 0
"""The business id of work no business is known for (answering calls, staff keys)."""
SUBJECT_MAX = 120

Key = tuple[date, int, str, str]
_business: ContextVar[int] = ContextVar("frontdesk_metering_business", default=NO_BUSINESS)


@contextlib.contextmanager
def metering_business(business_id: int) -> Iterator[None]:
    """Attribute the remote calls made inside the block (and its tasks) to ``business_id``."""
    token = _business.set(business_id)
    try:
        yield
    finally:
        _business.reset(token)


class Meter:
    """Counts work per business and day in memory; feeds /metrics' instruments when on."""

    def __init__(
        self,
        *,
        today: Callable[[], date],
        enabled: bool = True,
        instruments: Instruments | None = None,
    ) -> None:
        """``today``: the current (UTC) day, read at each count — the process's clock, which
        tests may replace after the meter is built."""
        self.today = today
        self.enabled = enabled
        self.instruments = instruments
        self._counts: dict[Key, list[int]] = {}

    def add(
        self, kind: str, subject: str, *, business_id: int | None = None, n: int = 1, ms: int = 0
    ) -> None:
        """Add ``n`` (and ``ms`` milliseconds) to today's counter of ``kind``/``subject``."""
        if not self.enabled:
            return
        business = _business.get() if business_id is None else business_id
        key = (self.today(), business, kind, subject[:SUBJECT_MAX])
        slot = self._counts.get(key)
        if slot is None:
            self._counts[key] = [n, ms]
        else:
            slot[0] += n
            slot[1] += ms

    # -- what the hot paths call --------------------------------------------------------

    def api_call(self, key_label: str, business_id: int | None) -> None:
        """One integration-API call authenticated with an API key."""
        self.add(INTEGRATION_API, key_label, business_id=business_id or NO_BUSINESS)

    def answering_call(self, username: str) -> None:
        """One authenticated Answering-API call."""
        self.add(ANSWERING_API, username, business_id=NO_BUSINESS)

    def ticket_created(self) -> None:
        """One answering-service ticket stored."""
        self.add(TICKET, "created", business_id=NO_BUSINESS)

    def source_call(self, source: str, action: str, seconds: float, error: str | None) -> None:
        """One remote call of a connector (the :class:`CallObserver` of the connectors)."""
        subject = f"{source} {action}"
        self.add(SOURCE_CALL, subject)
        if error is not None:
            self.add(SOURCE_ERROR, subject)
        if self.instruments is not None:
            self.instruments.source_call(source, action, seconds, error)

    def sync_run(self, business_id: int, status: str, seconds: float) -> None:
        """One sync run attempt that ended with ``status``."""
        self.add(SYNC_RUN, status, business_id=business_id, ms=round(seconds * 1000))
        if self.instruments is not None:
            self.instruments.sync_run(status, seconds)

    def checkin(self, business_id: int, decision: str, reason: str | None) -> None:
        """One check-in written with its decision."""
        subject = "eligible" if decision == "eligible" else f"restricted:{reason or 'unknown'}"
        self.add(CHECKIN, subject, business_id=business_id)

    def review_request(self, business_id: int, channel: str, state: str) -> None:
        """One review-request outcome recorded (sent, pending again, failed, parked)."""
        self.add(REVIEW_REQUEST, f"{channel}:{state}", business_id=business_id)

    # -- the flusher's side ---------------------------------------------------------------

    def drain(self) -> dict[Key, list[int]]:
        """The counts since the last drain; the meter starts afresh."""
        counts, self._counts = self._counts, {}
        return counts

    def restore(self, counts: dict[Key, list[int]]) -> None:
        """Give back counts a flush could not write (they go with the next one)."""
        for key, (n, ms) in counts.items():
            slot = self._counts.setdefault(key, [0, 0])
            slot[0] += n
            slot[1] += ms

    @property
    def observing(self) -> bool:
        """Whether anything listens: usage counting or /metrics' instruments."""
        return self.enabled or self.instruments is not None

    @property
    def pending(self) -> int:
        """Counters waiting for the next flush."""
        return len(self._counts)
