"""FHIR R4 appointments through SMART Backend Services (source 33 ``FHIR_R4``)."""
