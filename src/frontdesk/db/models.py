"""The explicit registry of every feature's models, imported by Alembic and the test suite."""

from frontdesk.access import models as access_models
from frontdesk.activations import models as activation_models
from frontdesk.alerts import models as alert_models
from frontdesk.answering import models as answering_models
from frontdesk.answering.desk import models as answering_desk_models
from frontdesk.audit import models as audit_models
from frontdesk.businesses import models as business_models
from frontdesk.configuration import models as configuration_models
from frontdesk.credentials import models as credential_models
from frontdesk.db.base import Base
from frontdesk.delivery import models as delivery_models
from frontdesk.delivery.sms import models as sms_models
from frontdesk.delivery.tracking import models as tracking_models
from frontdesk.delivery.webhook import models as webhook_models
from frontdesk.engagement import checkin_models, ledger_models, optout_models
from frontdesk.hl7 import models as hl7_models
from frontdesk.integrations import models as integration_models
from frontdesk.security import throttle_models
from frontdesk.staff import models as staff_models
from frontdesk.sync import models as sync_models
from frontdesk.webhooks import models as webhook_event_models

__all__ = [
    "Base",
    "access_models",
    "activation_models",
    "alert_models",
    "answering_desk_models",
    "answering_models",
    "audit_models",
    "business_models",
    "checkin_models",
    "configuration_models",
    "credential_models",
    "delivery_models",
    "hl7_models",
    "integration_models",
    "ledger_models",
    "optout_models",
    "sms_models",
    "staff_models",
    "sync_models",
    "throttle_models",
    "tracking_models",
    "webhook_event_models",
    "webhook_models",
]
