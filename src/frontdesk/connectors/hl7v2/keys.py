"""The HL7 source's id and property keys (shared by its spec, connector and the listener)."""

SOURCE_ID = 34
NAME = "HL7V2"
TRIGGER_ID = 58
FACILITY = "hl7.sending.facility"
STATUS = "hl7.appointment.status"
TYPE = "hl7.appointment.type"
LOCATION = "hl7.location.id"
TIMEZONE = "hl7.timezone"
DEFAULT_STATUSES = "Complete"
