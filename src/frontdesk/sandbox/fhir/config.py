"""The FHIR sandbox's configuration: its clients, its data seed and its knobs.

Knobs change while it runs (``FhirSandbox.knobs = ...`` in-process, or
``PATCH /sandbox/admin/knobs``); faults are queued (``POST /sandbox/admin/faults``) and fire
on the API requests they target, in order.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import BaseModel, ConfigDict, Field

DEMO_CLIENT_ID = "frontdesk-demo"
ALL_SCOPES = "system/Appointment.read system/Patient.read system/Location.read"


def demo_private_key(seed: int = 1) -> str:
    """The demo client's EC P-384 private key (PEM), derived from ``seed``.

    Public knowledge by design: it lets the demo and the tests sign assertions that the
    sandbox accepts without exchanging files. Never use it for anything real.
    """
    digest = hashlib.sha512(f"frontdesk-fhir-sandbox-demo-key:{seed}".encode()).digest()
    order = int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973",
        16,
    )  # the order of P-384
    secret = int.from_bytes(digest, "big") % (order - 1) + 1
    key = ec.derive_private_key(secret, ec.SECP384R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


class Client(BaseModel):
    """A registered backend-services client: its public keys (a JWKS) or a JWKS URL."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: str
    jwks: dict[str, Any] | None = None
    jwks_url: str | None = None
    scopes: str = ALL_SCOPES


class Fault(BaseModel):
    """A fault for the next ``times`` requests matching ``target`` once ``after`` more
    matching requests have been served normally."""

    model_config = ConfigDict(extra="forbid")

    status: Literal[401, 429, 500, 502, 503, 504]
    """401 drops the presented access token (as if it expired early)."""
    target: Literal["api", "token", "Appointment", "Patient", "Location", "next"] = "api"
    """``api``: every FHIR search; ``next``: paging requests only."""
    after: int = Field(default=0, ge=0)
    times: int = Field(default=1, ge=1)
    retry_after_s: float | None = Field(default=None, ge=0)


class Knobs(BaseModel):
    """Timing and behaviour knobs; the defaults describe a healthy, fast server."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_ms: float = Field(default=0.0, ge=0)
    """Added to every request (a fixed sleep before it is handled)."""
    slow_page_ms: float = Field(default=0.0, ge=0)
    """Added to every paging (``next``) request on top of the latency."""
    token_lifetime_s: int = Field(default=300, ge=1)
    max_page_size: int = Field(default=500, ge=1)
    default_page_size: int = Field(default=50, ge=1)
    include: bool = True
    """Whether ``_include`` is supported (and declared in the CapabilityStatement)."""


class PracticeShape(BaseModel):
    """The synthetic practices' size."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    practices: int = Field(default=1, ge=1)
    locations_per_practice: int = Field(default=3, ge=1)
    appointments_per_location_day: int = Field(default=12, ge=0)
    patients: int = Field(default=400, ge=1)
    timezone: str = "America/New_York"


class FhirSandboxConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: int = 1
    clients: tuple[Client, ...] = ()
    knobs: Knobs = Knobs()
    shape: PracticeShape = PracticeShape()
    synthetic: bool = True
    """Generate practices from the seed (tests may start empty and add their own resources)."""
