"""The Unity connector: :class:`UnityConnector` implements the connector contract.

- ``check()`` — GetToken + GetUserAuthentication, GetServerInfo (product, version, zone),
  then one harmless call of each action the integration guide requires
  (:data:`~frontdesk.connectors.allscripts.wire.REQUIRED_ACTIONS`) to find licence gaps.
- ``discover(today)`` — ``GetSchedule`` (P4 ``All``) for each of the 30 days up to
  ``today``: location names, appointment types (``appttype`` with its ``type``
  description) and statuses, with counts.
- ``read(window, cursor)`` — see :mod:`frontdesk.connectors.allscripts.reading`.
"""

from __future__ import annotations

import asyncio
import functools
import random
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import date, timedelta

from frontdesk.clock import Clock, SystemClock
from frontdesk.connectors.allscripts import mapping, wire
from frontdesk.connectors.allscripts.client import Sleep, Transport, UnityClient
from frontdesk.connectors.allscripts.config import UnityGroupConfig
from frontdesk.connectors.allscripts.reading import UnityAppointmentStream
from frontdesk.connectors.allscripts.statuses import status_matches
from frontdesk.connectors.base import (
    CheckResult,
    CheckStatus,
    Discovery,
    SeenValue,
    Window,
)
from frontdesk.connectors.errors import (
    ActivationPending,
    CredentialsRejected,
    EndpointNotFound,
    MissingLicense,
    ServerLogEntry,
)
from frontdesk.connectors.limits import ConcurrencyLimits
from frontdesk.errors import ConfigurationError, FatalError, FrontdeskError, TransientError
from frontdesk.outbound.http import build_transport
from frontdesk.retry import RetryPolicy
from frontdesk.security.outbound import DestinationRefused, OutboundPolicy
from frontdesk.settings import Settings

DISCOVERY_DAYS = 30
_UNSAFE = re.compile(r"[^A-Za-z0-9 ._\-]")


class UnityConnector:
    """One integration group's Unity connection (PM schedules and demographics)."""

    source = "ALLSCRIPTS"

    def __init__(
        self,
        config: UnityGroupConfig,
        *,
        limits: ConcurrencyLimits,
        outbound: OutboundPolicy,
        transport: Transport,
        owns_transport: bool = False,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        sleep: Sleep | None = None,
        service_credentials_expire_on: date | None = None,
        service_credentials_warn_days: int = 14,
        clock: Clock | None = None,
    ) -> None:
        self.client = UnityClient(
            config,
            limits=limits,
            outbound=outbound,
            transport=transport,
            owns_transport=owns_transport,
            retry=retry,
            rng=rng,
            sleep=sleep,
        )
        self._credentials_expire_on = service_credentials_expire_on
        self._credentials_warn_days = service_credentials_warn_days
        self._clock: Clock = clock or SystemClock()

    @classmethod
    def from_properties(
        cls,
        properties: Mapping[str, str],
        settings: Settings,
        *,
        transport: Transport | None = None,
        limits: ConcurrencyLimits | None = None,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
        outbound: OutboundPolicy | None = None,
    ) -> UnityConnector:
        """Build from a group's effective properties (the source's factory); the service
        credentials warning starts ``settings.credentials.service_credentials_warn_days``
        before they expire, counted on ``clock``.

        ``outbound``: the process's outbound rule (default: the rule of ``settings``); the
        app's service credentials go only where it allows. ``transport``: the process's
        shared outbound transport (closed by the process); without one, the connector builds
        and closes its own (:func:`build_transport`, one group's limit of connections, every
        new connection checked by the rule).
        """
        config = UnityGroupConfig.from_properties(properties, settings)
        limits = limits or ConcurrencyLimits.from_settings(settings)
        outbound = outbound or OutboundPolicy.from_settings(settings)
        owns_transport = transport is None
        if transport is None:
            transport = build_transport(
                settings,
                max_connections=limits.per_group,
                connect_check=functools.partial(outbound.check_connect, sends_credentials=True),
            )
        return cls(
            config,
            limits=limits,
            outbound=outbound,
            transport=transport,
            owns_transport=owns_transport,
            retry=retry,
            rng=rng,
            sleep=sleep,
            service_credentials_expire_on=settings.unity.service_credentials_expire_on,
            service_credentials_warn_days=settings.credentials.service_credentials_warn_days,
            clock=clock,
        )

    async def recent_errors(self, limit: int) -> list[ServerLogEntry]:
        """The Unity server's recent errors (``LastLogs``), newest first (diagnose)."""
        return await self.client.last_logs(errors_only=True, count=limit)

    async def __aenter__(self) -> UnityConnector:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    # -- check --------------------------------------------------------------------------

    async def check(self) -> CheckResult:
        """Test the connection; remote failures become a typed result, never an exception."""
        try:
            await self.client.login()
        except CredentialsRejected as error:
            return CheckResult(
                CheckStatus.UNAUTHORIZED, error.message, reason=error.reason, warnings=self._warn()
            )
        except MissingLicense as error:
            return CheckResult(
                CheckStatus.MISSING_PERMISSIONS, error.message, missing_actions=(error.action,)
            )
        except (FrontdeskError, TimeoutError) as error:
            return _failed(error)
        missing: list[str] = []
        info: mapping.ServerInfo | None = None
        try:
            info = await self.client.server_info()
        except MissingLicense:
            missing.append(wire.GET_SERVER_INFO)
        except (FrontdeskError, TimeoutError) as error:
            return _failed(error)
        today = info.server_time.date() if info and info.server_time else self._today()
        probes: tuple[tuple[str, Callable[[], Awaitable[object]]], ...] = (
            # Own schedule (P4 empty) of one day: proves the licence, costs nothing.
            (wire.GET_SCHEDULE, lambda: self.client.schedule(today, today, users="")),
            # An id no patient has: Unity answers an empty list (reference §1.8).
            (wire.GET_PATIENT_DEMOGRAPHICS, lambda: self.client.patient_demographics("0")),
            (wire.LAST_LOGS, lambda: self.client.last_logs(count=1)),
        )
        for action, probe in probes:
            try:
                await probe()
            except MissingLicense:
                missing.append(action)
            except (FrontdeskError, TimeoutError) as error:
                return _failed(error, info)
        if missing:
            ordered = tuple(a for a in wire.REQUIRED_ACTIONS if a in missing)
            return _result(
                CheckStatus.MISSING_PERMISSIONS,
                "the Unity licence lacks " + ", ".join(ordered),
                info,
                missing_actions=ordered,
                warnings=self._warn(),
            )
        version = _shown(info.product_version) if info else "?"
        return _result(
            CheckStatus.OK,
            f"connected to {_shown(info.system) if info else 'Unity'} {version}",
            info,
            warnings=self._warn(),
        )

    def _today(self) -> date:
        return self._clock.now().date()

    def _warn(self) -> tuple[str, ...]:
        expires = self._credentials_expire_on
        if expires is not None and expires - self._today() <= timedelta(
            days=self._credentials_warn_days
        ):
            return (f"the Unity service credentials expire on {expires.isoformat()}",)
        return ()

    # -- discover -----------------------------------------------------------------------

    async def discover(self, today: date) -> Discovery:
        """What the schedule used over the 30 days up to ``today`` (no patient data read)."""
        window = Window(today - timedelta(days=DISCOVERY_DAYS - 1), today)
        days = await asyncio.gather(*(self.client.schedule(day, day) for day in window.days()))
        locations: Counter[str] = Counter()
        types: Counter[str] = Counter()
        statuses: Counter[str] = Counter()
        descriptions: dict[str, str] = {}
        total = 0
        for rows in days:
            for row in rows:
                total += 1
                location = row.get("LocationName", "").strip()
                kind = (row.get("appttype") or row.get("type") or "").strip()
                status = row.get("Status", "").strip()
                if location:
                    locations[location] += 1
                if kind:
                    types[kind] += 1
                    descriptions.setdefault(kind, row.get("type", "").strip())
                if status:
                    statuses[status] += 1
        return Discovery(
            window=window,
            appointments=total,
            locations=SeenValue.ranked(locations),
            appointment_types=SeenValue.ranked(types, descriptions),
            statuses=SeenValue.ranked(statuses),
        )

    # -- read ---------------------------------------------------------------------------

    def read(self, window: Window, cursor: str | None = None) -> UnityAppointmentStream:
        """Appointments of ``window`` with their patients; ``stream.cursor`` after the end."""
        return UnityAppointmentStream(self.client, window, cursor)

    def status_matches(self, allowed: Iterable[str], status: str) -> bool:
        """PM status matching: trimmed, case-insensitive, letter = description."""
        return status_matches(allowed, status)

    async def aclose(self) -> None:
        await self.client.aclose()


def _result(
    status: CheckStatus,
    message: str,
    info: mapping.ServerInfo | None,
    *,
    missing_actions: tuple[str, ...] = (),
    warnings: tuple[str, ...] = (),
) -> CheckResult:
    return CheckResult(
        status,
        message,
        server_version=(info.product_version or None) if info else None,
        server_timezone=info.iana_zone if info else None,
        server_timezone_name=(info.time_zone_name or None) if info else None,
        server_system=(info.system or None) if info else None,
        missing_actions=missing_actions,
        warnings=warnings,
    )


def _shown(value: str) -> str:
    """A remote product or version name as a message may quote it: word characters only."""
    shown = _UNSAFE.sub("", value)[:40].strip()
    return shown or "?"


def _failed(error: BaseException, info: mapping.ServerInfo | None = None) -> CheckResult:
    if isinstance(error, ActivationPending):
        return CheckResult(CheckStatus.ACTIVATION_PENDING, error.message, reason=error.code)
    if isinstance(error, EndpointNotFound | TransientError | TimeoutError | DestinationRefused):
        message = getattr(error, "message", "Unity did not answer in time")
        return _result(CheckStatus.UNREACHABLE, message, info)
    if isinstance(error, FatalError):
        return _result(
            CheckStatus.UNREACHABLE,
            f"the server at the Unity URL does not answer as Unity does: {error}",
            info,
        )
    if isinstance(error, ConfigurationError):
        return _result(CheckStatus.MISSING_PERMISSIONS, error.message, info)
    return _result(CheckStatus.UNREACHABLE, str(error), info)
