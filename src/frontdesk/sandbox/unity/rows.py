"""PM row shapes on the wire: exact column spellings, value formats and CHAR padding.

Every value is a string; empty values are ``""``, never ``null``. CHAR-like code columns
are right-padded with blanks as Unity's JSON shows them (reference §2). Dates follow the
reference §4: ``ApptTime2`` is .NET "G" en-US (``M/d/yyyy h:mm:ss tt``), ``ApptTime`` and
``TimeStart``/``TimeIn``/``TimeOut`` are ``HH:mm``, ``DOB`` and ``Patient_DOB`` ``MM/dd/yyyy``.
"""

from __future__ import annotations

from datetime import date, datetime, time

from frontdesk.sandbox.unity.enterprise import Enterprise
from frontdesk.sandbox.unity.patients import Patient
from frontdesk.sandbox.unity.practice import Appointment

Row = dict[str, str]

APPT_TYPE_WIDTH = 10
"""``appttype`` is CHAR(10)."""
CODE_WIDTH = 10
"""Abbreviation columns of demographics (``PCP_Abbr``, ``Zip_Code``, …) are CHAR(10)."""
PATIENT_PICTURE = (
    "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////"
    "////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQAB"
    "PxD/2Q=="
)
"""``base64image`` with ``Parameter3=Y``: a 1×1 grey JPEG stands in for the 45×45 picture."""


def format_general(moment: datetime) -> str:
    """.NET "G" en-US: ``7/6/2015 9:00:00 AM``."""
    hour = moment.hour % 12 or 12
    suffix = "AM" if moment.hour < 12 else "PM"
    return (
        f"{moment.month}/{moment.day}/{moment.year} "
        f"{hour}:{moment.minute:02d}:{moment.second:02d} {suffix}"
    )


def format_mdy(day: date) -> str:
    """``MM/dd/yyyy``: ``05/01/1950``."""
    return f"{day.month:02d}/{day.day:02d}/{day.year}"


def format_hhmm(moment: time | None) -> str:
    """``HH:mm`` (24-hour), or ``""`` for no time."""
    return "" if moment is None else f"{moment.hour:02d}:{moment.minute:02d}"


def display_name(patient: Patient) -> str:
    """``Last, First M`` as in the schedule's ``patient`` column (blanks kept)."""
    middle = f" {patient.middle_initial}" if patient.middle_initial else ""
    return f"{patient.last_name}, {patient.first_name}{middle}"


def schedule_row(
    appointment: Appointment, patient: Patient, enterprise: Enterprise, *, picture: bool
) -> Row:
    """One PM GetSchedule row, columns in the order of the reference §3.3."""
    practitioner = appointment.practitioner
    kind = appointment.appointment_type
    start = appointment.start
    return {
        "LocationName": appointment.location.name,
        "Practitioner_Name": practitioner.practitioner_name,
        "TimeOut": format_hhmm(appointment.time_out),
        "Link_Control_Number": str(appointment.link_control_number),
        "Duration": str(appointment.duration_minutes),
        "Comment": appointment.comment,
        "patient": display_name(patient),
        "base64image": PATIENT_PICTURE if picture else "",
        "organizationMRN": patient.mrn,
        "Status": appointment.status.description,
        "PatientFirstName": patient.first_name,
        "SchedComment": "",
        "ApptTime2": format_general(start),
        "appttype": kind.abbreviation.ljust(APPT_TYPE_WIDTH),
        "ApptTime": format_hhmm(start.time()),
        "AppointmentID": str(appointment.appointment_id),
        "SchedText": "",
        "OrganizationID": str(enterprise.enterprise_id),
        "TimeStart": format_hhmm(start.time()),
        "Practitioner_ID": str(practitioner.practitioner_id),
        "ProviderID": str(practitioner.practitioner_id),
        "OrgName": enterprise.name,
        "PatientLastName": patient.last_name,
        "Patient_DOB": format_mdy(patient.birth_date),
        "TimeIn": format_hhmm(appointment.time_in),
        "statuscolor": appointment.status.color,
        "Provider": practitioner.provider_name,
        "type": kind.description,
        "patientID": str(appointment.patient_id),
        "username": practitioner.username,
    }


def demographics_row(patient: Patient) -> Row:
    """The PM GetPatientDemographics row, columns as listed in the reference §3.4."""
    pid = patient.patient_id
    guarantor = patient.guarantor
    pcp = patient.primary_care
    pcp_abbr = pcp.username.upper()[:CODE_WIDTH].ljust(CODE_WIDTH)
    row: Row = {
        "Patient_ID": str(pid),
        "Patient_Number": str(500_000 + pid),
        "Patient_Med_Rec_No": patient.mrn,
        "Patient_Enterprise_Number": str(900_000 + pid),
        "Account_ID": str(200_000 + pid),
        "Account_Number": str(700_000 + pid),
        "Account_Type_Abbr": "FAM".ljust(CODE_WIDTH),
        "Account_Type_Desc": "Family",
        "Contact_ID": str(400_000 + pid),
        "First_Name": patient.first_name,
        "Middle_Initial": patient.middle_initial,
        "Last_Name": patient.last_name,
        "Suffix": patient.suffix,
        "DOB": format_mdy(patient.birth_date),
        "Sex": patient.sex,
        "Marital_Status": patient.marital_status,
        "Race": patient.race,
        "Ethnicity": patient.ethnicity,
        "Language": patient.language,
        "HomePhone": patient.home_phone,
        "Work_Phone": patient.work_phone,
        "Work_Phone_Ext": "",
        "Cell_Phone": patient.cell_phone,
        "Email_Address": patient.email,
        "Street1": patient.street1,
        "Street2": patient.street2,
        "City": patient.city,
        "State": patient.state,
        "Zip_Code": patient.zip_code.ljust(CODE_WIDTH),
        "SSN": "",
        "HideSSN": "Y",
        "SuppressSSN": "Y",
        "PCP_Name": pcp.provider_name,
        "PCP_Abbr": pcp_abbr,
        "Usual_Provider_Name": pcp.provider_name,
        "Usual_Provider_Abbr": pcp_abbr,
        "ReferringDr_Name": "",
        "ReferringDr_Abbr": "",
        "Patient_Employer_ID": "",
        "Patient_Employer_Abbr": "",
        "Patient_Employer_Name": patient.employer,
        "Emergency_Contact": patient.emergency_contact,
        "EmergencyContactRelation": patient.emergency_relation if patient.emergency_contact else "",
        "Is_Guarantor": "N" if guarantor else "Y",
        "Is_Patient": "Y",
        "RelationToGuarantor": "Child" if guarantor else "Self",
    }
    row.update(_guarantor_columns(patient))
    row["HIPAAStmtExp"] = ""
    return row


def _guarantor_columns(patient: Patient) -> Row:
    guarantor = patient.guarantor
    if guarantor is None:  # the patient is their own guarantor
        first, middle, last = patient.first_name, patient.middle_initial, patient.last_name
        birth, cell, email = patient.birth_date, patient.cell_phone, patient.email
    else:
        first, middle, last = guarantor.first_name, guarantor.middle_initial, guarantor.last_name
        birth, cell, email = guarantor.birth_date, guarantor.cell_phone, guarantor.email
    return {
        "Guarantor_Name": f"{last}, {first} {middle}".rstrip(),
        "Guarantor_First_Name": first,
        "Guarantor_Last_Name": last,
        "Guarantor_MI": middle,
        "Guarantor_Suffix": "",
        "Guarantor_DOB": format_mdy(birth),
        "Guarantor_SSN": "",
        "Guarantor_Street1": patient.street1,
        "Guarantor_Street2": patient.street2,
        "Guarantor_City": patient.city,
        "Guarantor_State": patient.state,
        "Guarantor_Zip_Code": patient.zip_code.ljust(CODE_WIDTH),
        "Guarantor_Country": "USA",
        "Guarantor_Home_Phone": patient.home_phone,
        "Guarantor_Work_Phone": "",
        "Guarantor_Work_Ext": "",
        "Guarantor_Cell_Phone": cell,
        "Guarantor_Email": email,
    }
