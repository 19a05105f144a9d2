"""The Unity sandbox: a faithful simulator of an Allscripts PM Unity server (JSON endpoints).

Public in-process API::

    from frontdesk.sandbox.unity import ManualClock, create_unity_app, default_config

    app = create_unity_app(default_config(), clock=ManualClock())
    sandbox = app.state.sandbox            # Sandbox
    sandbox.update_knobs(error_rate=0.1)   # or PATCH /sandbox/admin/knobs
    sandbox.practice.appointments_on(day)  # what GetSchedule will serve for ``day``

See ``docs/unity.md`` for the wire behaviour and every choice made where the protocol
reference is silent.
"""

from frontdesk.sandbox.unity.app import create_unity_app
from frontdesk.sandbox.unity.clock import Clock, ManualClock, SystemClock
from frontdesk.sandbox.unity.config import (
    DEFAULT_APPNAME,
    DEFAULT_PM_PASSWORD,
    DEFAULT_PM_USER,
    DEFAULT_SERVICE_PASSWORD,
    DEFAULT_SERVICE_USER,
    PM_ACTIONS,
    ClientCredential,
    PmUser,
    PracticeShape,
    SandboxConfig,
    default_config,
    multi_group_config,
)
from frontdesk.sandbox.unity.enterprise import STATUSES, AppointmentStatus, Enterprise
from frontdesk.sandbox.unity.knobs import Knobs, Latency
from frontdesk.sandbox.unity.patients import Patient
from frontdesk.sandbox.unity.practice import Appointment, Practice
from frontdesk.sandbox.unity.sandbox import Sandbox

__all__ = [
    "DEFAULT_APPNAME",
    "DEFAULT_PM_PASSWORD",
    "DEFAULT_PM_USER",
    "DEFAULT_SERVICE_PASSWORD",
    "DEFAULT_SERVICE_USER",
    "PM_ACTIONS",
    "STATUSES",
    "Appointment",
    "AppointmentStatus",
    "ClientCredential",
    "Clock",
    "Enterprise",
    "Knobs",
    "Latency",
    "ManualClock",
    "Patient",
    "PmUser",
    "Practice",
    "PracticeShape",
    "Sandbox",
    "SandboxConfig",
    "SystemClock",
    "create_unity_app",
    "default_config",
    "multi_group_config",
]
