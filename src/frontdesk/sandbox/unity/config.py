"""Configuration of the Unity sandbox: client credentials, their PM users, licences, practices.

One sandbox serves several *client credentials* at once, the way one Ubiquity broker serves
many customers: each credential is a service user as GetToken receives it (a Ubiquity routing
prefix such as ``VHCP001PM:PMGA02^8^`` glued to the service username), its service password,
the Appname it must present, its PM users, the Magic actions its licence allows and the shape
of its synthetic practice. :func:`default_config` is what ``frontdesk sandbox unity`` serves
without options; :func:`multi_group_config` builds the many-customer setups the benchmarks need.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator

from frontdesk.sandbox.unity.knobs import Knobs

PM_ACTIONS = (
    "GetServerInfo",
    "GetUserAuthentication",
    "GetSchedule",
    "GetPatientDemographics",
    "LastLogs",
    "Echo",
)
"""Magic actions the sandbox implements (the integration's PM licence set)."""

WINDOWS_TIME_ZONES = {
    "Eastern Standard Time": "America/New_York",
    "Central Standard Time": "America/Chicago",
    "Mountain Standard Time": "America/Denver",
    "US Mountain Standard Time": "America/Phoenix",
    "Pacific Standard Time": "America/Los_Angeles",
    "Alaskan Standard Time": "America/Anchorage",
    "Hawaiian Standard Time": "Pacific/Honolulu",
}
"""Windows zone names (as ``GetServerInfo.ServerTimeZone`` reports them) → IANA zones."""

DEFAULT_SERVICE_USER = "VHCP001PM:PMGA02^8^Front-4d2e-FrontDesk-test"
DEFAULT_SERVICE_PASSWORD = "Sandbox-Svc-Pass-1"  # noqa: S105 - documented sandbox default
DEFAULT_APPNAME = "Frontdesk.ReviewHub.TestApp"
DEFAULT_PM_USER = "frontdesk"
DEFAULT_PM_PASSWORD = "PmSandbox#90"  # noqa: S105 - documented sandbox default
DEFAULT_LOCATION_NAMES = (
    "Loudoun Office",
    "Ashburn Office",
    "Leesburg Family Medicine",
    "Sterling Pediatrics",
    "Reston Office",
    "Purcellville Clinic",
)

_UBIQUITY_PREFIX = re.compile(r"^(?P<ubiquity_id>[^:^]+):(?P<client_id>[^:^]*)\^(?P<tenant>\d+)\^")


@dataclass(frozen=True)
class UbiquityRoute:
    """The parts of a Ubiquity routing prefix ``<ubiquity_id>:<client_id>^<tenant>^``."""

    ubiquity_id: str
    client_id: str
    tenant: str
    service_username: str


def parse_ubiquity_route(service_user: str) -> UbiquityRoute | None:
    """Split a GetToken username into its Ubiquity prefix parts, or ``None`` without a prefix."""
    match = _UBIQUITY_PREFIX.match(service_user)
    if match is None:
        return None
    return UbiquityRoute(
        ubiquity_id=match["ubiquity_id"],
        client_id=match["client_id"],
        tenant=match["tenant"],
        service_username=service_user[match.end() :],
    )


class PmUser(BaseModel):
    """A PM user (``AppUserID``) and its PM password (``GetUserAuthentication`` Parameter1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    username: str = Field(min_length=1)
    password: str
    password_expired: bool = False


class PracticeShape(BaseModel):
    """Size and naming of a credential's synthetic enterprise; contents derive from the seed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enterprise_name: str | None = None
    """``None`` = a name drawn from the seed."""
    locations: int = Field(default=6, ge=1, le=999)
    location_names: tuple[str, ...] | None = None
    """Explicit ``LocationName`` values (their count overrides ``locations``)."""
    practitioners_per_location: int = Field(default=4, ge=1, le=50)
    appointments_per_location: int = Field(default=25, ge=1, le=999)
    """Appointments per location on a weekday (Saturday a third, Sunday a sixth, at least 1)."""
    patients_per_location: int = Field(default=600, ge=1, le=100_000)
    time_zone: str = "Eastern Standard Time"

    @model_validator(mode="after")
    def _check(self) -> PracticeShape:
        if self.time_zone not in WINDOWS_TIME_ZONES:
            raise ValueError(f"time_zone must be one of {sorted(WINDOWS_TIME_ZONES)}")
        if self.location_names is not None:
            if not self.location_names or len(set(self.location_names)) != len(self.location_names):
                raise ValueError("location_names must be non-empty and unique")
            if len(self.location_names) > 999:
                raise ValueError("at most 999 locations")
        return self

    @property
    def location_count(self) -> int:
        """Number of locations, taking explicit names into account."""
        return len(self.location_names) if self.location_names else self.locations


class ClientCredential(BaseModel):
    """One customer's access: service login, Appname, PM users, licence and practice."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    service_user: str = Field(min_length=1)
    """GetToken ``Username`` exactly as received, Ubiquity prefix included when there is one."""
    service_password: str
    appname: str = DEFAULT_APPNAME
    users: tuple[PmUser, ...] = (PmUser(username=DEFAULT_PM_USER, password=DEFAULT_PM_PASSWORD),)
    licensed_actions: tuple[str, ...] = PM_ACTIONS
    client_id: str | None = None
    """``GetUserAuthentication.ClientID``; ``None`` = taken from the Ubiquity prefix."""
    product_version: str = "10.4.2.31.000"
    lockout_after_failures: int | None = Field(default=None, ge=1)
    """Lock a PM user after this many failed logins in a row; ``None`` = never."""
    activated: bool = True
    """Whether the vendor has activated our application for this client at start; an
    admin call activates it (``POST /sandbox/admin/clients/activate``)."""
    practice: PracticeShape = PracticeShape()

    @model_validator(mode="after")
    def _check(self) -> ClientCredential:
        unknown = {a.lower() for a in self.licensed_actions} - {a.lower() for a in PM_ACTIONS}
        if unknown:
            raise ValueError(f"licensed_actions {sorted(unknown)} are not implemented")
        names = [user.username.lower() for user in self.users]
        if len(set(names)) != len(names):
            raise ValueError("PM user names must be unique (case-insensitive)")
        return self

    @property
    def effective_client_id(self) -> str:
        """The client id reported by GetUserAuthentication."""
        if self.client_id is not None:
            return self.client_id
        route = parse_ubiquity_route(self.service_user)
        return route.client_id if route else ""


class SandboxConfig(BaseModel):
    """Everything a sandbox needs at start: seed, credentials and initial knobs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = 1
    credentials: tuple[ClientCredential, ...] = Field(
        default=(
            ClientCredential(
                service_user=DEFAULT_SERVICE_USER,
                service_password=DEFAULT_SERVICE_PASSWORD,
                practice=PracticeShape(
                    enterprise_name="Loudoun Valley Medical Group",
                    location_names=DEFAULT_LOCATION_NAMES,
                ),
            ),
        ),
        min_length=1,
    )
    knobs: Knobs = Knobs()

    @model_validator(mode="after")
    def _unique_service_users(self) -> SandboxConfig:
        users = [credential.service_user for credential in self.credentials]
        if len(set(users)) != len(users):
            raise ValueError("service_user values must be unique")
        return self

    @property
    def default_credential(self) -> ClientCredential:
        """The first credential: the one the CLI prints and ``sandbox.practice`` refers to."""
        return self.credentials[0]


def default_config(*, seed: int = 1) -> SandboxConfig:
    """The documented default: one Ubiquity PM credential, a six-location enterprise."""
    return SandboxConfig(seed=seed)


def multi_group_config(
    *,
    groups: int,
    locations: int = 10,
    appointments_per_location: int = 100,
    seed: int = 1,
    service_username: str = "Front-4d2e-FrontDesk-test",
    service_password: str = DEFAULT_SERVICE_PASSWORD,
    knobs: Knobs | None = None,
) -> SandboxConfig:
    """Many customers on one sandbox, as the benchmarks run them.

    Group ``i`` (from 1) gets service user ``FDG{i:04d}PM:PMG{i:04d}^1^<service_username>``,
    PM user ``pmuser{i:04d}`` with password ``PmPass-{i:04d}`` and its own enterprise of
    ``locations`` locations.
    """
    credentials = tuple(
        ClientCredential(
            service_user=f"FDG{i:04d}PM:PMG{i:04d}^1^{service_username}",
            service_password=service_password,
            users=(PmUser(username=f"pmuser{i:04d}", password=f"PmPass-{i:04d}"),),
            practice=PracticeShape(
                locations=locations, appointments_per_location=appointments_per_location
            ),
        )
        for i in range(1, groups + 1)
    )
    return SandboxConfig(seed=seed, credentials=credentials, knobs=knobs or Knobs())
