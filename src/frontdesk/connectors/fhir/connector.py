"""The FHIR connector: :class:`FhirConnector` implements the connector contract.

- ``check()`` — the CapabilityStatement (``GET metadata``: FHIR version, software, whether
  Appointment is searchable), then a token, then one ``Appointment?_count=1`` search so that
  a token without the scopes shows as missing permissions.
- ``discover(today)`` — Locations (``Location?_count=…``, every page) and the appointment
  types and statuses seen in the 30 days up to ``today`` (no patient read).
- ``read(window, cursor)`` — see :mod:`frontdesk.connectors.fhir.reading`.

Statuses (FHIR ``AppointmentStatus``): an allow-list names the statuses meaning the visit
happened (the spec's default: ``fulfilled``; ``arrived`` and ``checked-in`` only when
listed); ``noshow``, ``cancelled`` and ``entered-in-error`` never match, whatever is listed.
"""

from __future__ import annotations

import functools
import random
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, timedelta

from frontdesk.clock import Clock
from frontdesk.connectors.base import CheckResult, CheckStatus, Discovery, SeenValue, Window
from frontdesk.connectors.errors import CredentialsRejected, EndpointNotFound
from frontdesk.connectors.fhir.client import FhirClient, Sleep, Transport
from frontdesk.connectors.fhir.config import FhirGroupConfig
from frontdesk.connectors.fhir.reading import Capabilities, FhirAppointmentStream
from frontdesk.connectors.limits import ConcurrencyLimits
from frontdesk.errors import ConfigurationError, FatalError, FrontdeskError, TransientError
from frontdesk.outbound.http import build_transport
from frontdesk.retry import RetryPolicy
from frontdesk.security.outbound import OutboundPolicy
from frontdesk.settings import Settings

DISCOVERY_DAYS = 30
NEVER = frozenset({"noshow", "cancelled", "entered-in-error"})
"""Statuses that never mean the visit happened, whatever the allow-list says."""


def status_matches(allowed: Iterable[str], status: str) -> bool:
    """FHIR status matching: codes compared trimmed and case-insensitively; :data:`NEVER`
    never matches."""
    code = status.strip().lower()
    if code in NEVER:
        return False
    return code in {a.strip().lower() for a in allowed}


class FhirConnector:
    """One integration group's FHIR R4 connection."""

    source = "FHIR_R4"

    def __init__(self, client: FhirClient) -> None:
        self.client = client
        self._capabilities: Capabilities | None = None

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
    ) -> FhirConnector:
        """Build from a group's effective properties (the source's factory). ``transport``:
        a shared one (closed by its owner); without, the connector builds and closes its own."""
        config = FhirGroupConfig.from_properties(properties, settings)
        limits = limits or ConcurrencyLimits.from_settings(settings)
        owns = transport is None
        if transport is None:  # every new connection checked by the outbound rule
            rule = OutboundPolicy.from_settings(settings)
            transport = build_transport(
                settings,
                max_connections=limits.per_group,
                connect_check=functools.partial(rule.check_connect, sends_credentials=False),
            )
        client = FhirClient(
            config,
            limits=limits,
            transport=transport,
            owns_transport=owns,
            retry=retry,
            rng=rng,
            sleep=sleep,
        )
        return cls(client)

    async def capabilities(self) -> Capabilities:
        """The CapabilityStatement's answers, read once per connector."""
        if self._capabilities is None:
            self._capabilities = Capabilities.of(await self.client.capability_statement())
        return self._capabilities

    async def _no_includes(self) -> Capabilities:
        return Capabilities()

    async def check(self) -> CheckResult:
        """Test the connection; remote failures become a typed result, never an exception."""
        try:
            statement = await self.client.capability_statement()
        except (FrontdeskError, TimeoutError) as error:
            return _failed(error)
        self._capabilities = capabilities = Capabilities.of(statement)
        version = str(statement.get("fhirVersion") or "")
        system = capabilities.software or "FHIR server"
        if not version.startswith("4."):
            return CheckResult(
                CheckStatus.UNREACHABLE,
                f"the server speaks FHIR {version or '?'}, not R4",
                server_version=version or None,
                server_system=system,
            )
        try:
            await self.client.access_token()
            await self.client.search("Appointment", [("_count", "1")])
        except CredentialsRejected as error:
            status = (
                CheckStatus.MISSING_PERMISSIONS
                if error.reason == "forbidden"
                else CheckStatus.UNAUTHORIZED
            )
            return CheckResult(
                status,
                error.message,
                reason=error.reason,
                server_system=system,
                server_version=version,
            )
        except (FrontdeskError, TimeoutError) as error:
            return _failed(error)
        warnings = (
            ()
            if capabilities.include_patient
            else ("the server has no _include=Appointment:patient: patients are read in batches",)
        )
        return CheckResult(
            CheckStatus.OK,
            f"connected to {system} {capabilities.version}".strip() + f" (FHIR {version})",
            server_version=version,
            server_system=system,
            warnings=warnings,
        )

    async def discover(self, today: date) -> Discovery:
        """Locations and the appointment types and statuses of the 30 days up to ``today``."""
        window = Window(today - timedelta(days=DISCOVERY_DAYS - 1), today)
        locations: Counter[str] = Counter()
        names: dict[str, str] = {}
        page = await self.client.search("Location", [("_count", "200")])
        while True:
            for resource in page.resources:
                if resource.get("resourceType") == "Location" and resource.get("id"):
                    names[str(resource["id"])] = str(resource.get("name") or "")
            if page.next_url is None:
                break
            page = await self.client.page(page.next_url, call="Location search")
        types: Counter[str] = Counter()
        statuses: Counter[str] = Counter()
        descriptions: dict[str, str] = {}
        total = 0
        stream = FhirAppointmentStream(
            self.client, window, self._no_includes, by_name=False, with_patients=False
        )
        async for appointment in stream:
            total += 1
            if appointment.location_name:
                locations[appointment.location_name] += 1
            if appointment.appointment_type:
                types[appointment.appointment_type] += 1
                descriptions.setdefault(
                    appointment.appointment_type, appointment.appointment_type_description
                )
            if appointment.status:
                statuses[appointment.status] += 1
        for location_id in names:
            locations.setdefault(location_id, 0)
        return Discovery(
            window=window,
            appointments=total,
            locations=SeenValue.ranked(locations, names),
            appointment_types=SeenValue.ranked(types, descriptions),
            statuses=SeenValue.ranked(statuses),
        )

    def read(self, window: Window, cursor: str | None = None) -> FhirAppointmentStream:
        """Appointments of ``window`` with their patients (every read is a full read)."""
        by_name = self.client.config.location_by == "name"
        return FhirAppointmentStream(self.client, window, self.capabilities, by_name=by_name)

    def status_matches(self, allowed: Iterable[str], status: str) -> bool:
        return status_matches(allowed, status)

    async def aclose(self) -> None:
        await self.client.aclose()


def _failed(error: BaseException) -> CheckResult:
    if isinstance(error, CredentialsRejected):
        return CheckResult(CheckStatus.UNAUTHORIZED, error.message, reason=error.reason)
    if isinstance(error, EndpointNotFound | TransientError | TimeoutError):
        message = getattr(error, "message", "the FHIR server did not answer in time")
        return CheckResult(CheckStatus.UNREACHABLE, message)
    if isinstance(error, FatalError):
        return CheckResult(
            CheckStatus.UNREACHABLE, f"the server does not answer as a FHIR R4 server: {error}"
        )
    if isinstance(error, ConfigurationError):
        return CheckResult(CheckStatus.MISSING_PERMISSIONS, error.message)
    return CheckResult(CheckStatus.UNREACHABLE, str(error))
