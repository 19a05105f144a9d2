"""Published SIU samples (HL7 v2.8, LF-separated, TQ1 timing, a stale SCH-11) are received,
acknowledged and mapped: start from TQ1-7, location AIL-3.1, the no-show never eligible."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from tests.hl7v2.conftest import Practice
from tests.hl7v2.feeds import Sender, msa

from frontdesk.connectors.hl7v2.mapping import visit_of
from frontdesk.hl7.message import decode, header_of, parse
from frontdesk.hl7.store import Search

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "hl7"


async def test_published_samples_are_acked_and_mapped(practice: Practice) -> None:
    r = await practice.api.put(
        f"/integration/businessintegrationgroup/id/{practice.group_id}"
        "/properties/hl7.sending.facility",
        json={"propertyValue": "NORTHSIDE,GHHSFacility", "isSecure": False},
    )
    assert r.status_code == 200, r.text
    sender = await Sender.connect(practice.port)
    s12 = (SAMPLES / "SIU-S12-01.hl7").read_bytes()
    s26 = (SAMPLES / "SIU-S26-01.hl7").read_bytes()
    assert msa(await sender.send(s12))[:2] == ["AA", "MSG00012"]
    assert msa(await sender.send(s26))[:2] == ["AA", "MSG00026"]
    await sender.close()

    [_visit_26, visit_12] = await practice.listener.store.search(Search())
    assert (visit_12.appointment_id, str(visit_12.appointment_day), visit_12.location) == (
        "36996",
        "2021-09-24",
        "055",
    )
    message = parse(decode(s12))
    visit = visit_of(message, header_of(message))
    assert visit.start == datetime(2021, 9, 24, 9, 30, tzinfo=timezone(timedelta(minutes=135)))
    assert (visit.status, visit.appointment_type, visit.practitioner) == (
        "Booked",
        "Normal",
        "Robert GE",
    )
    assert visit.patient is not None
    assert visit.patient.patient_id == "PATID1234"
    message = parse(decode(s26))
    assert visit_of(message, header_of(message)).status == "Noshow"
