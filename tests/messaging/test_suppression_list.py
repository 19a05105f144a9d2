"""The suppression list as CSV: imported contacts are opted out (hashes only), exported with
source and date, and honoured by the decision step."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select
from tests.messaging.conftest import CLINIC, DAY, ENTERPRISE, Texting

from frontdesk.engagement.checkin_models import CheckIn


async def test_import_then_export_and_the_decision_honours_it(texting: Texting) -> None:
    t = texting
    body = (
        "channel,contact\n"
        "sms,(703) 555-0101\n"
        "email,Ann@Example.org\n"
        "sms,+17035550101\n"  # the same number again
        "sms,not a number\n"
        "fax,+17035550101\n"  # no such channel here
    )
    r = await t.api.post(f"/api/optouts/{CLINIC}.csv", content=body)
    assert r.status_code == 200, r.text
    assert r.json() == {"added": 2, "already": 1, "rejectedLines": [5, 6]}
    r = await t.api.get(f"/api/optouts/{ENTERPRISE}.csv", params={"channel": "sms"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "7035550101" not in r.text
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(row["channel"], row["source"], len(row["contact_hash"])) for row in rows] == [
        ("sms", "import", 64)
    ]
    t.book.visit(1, DAY, "703.555.0101")
    assert await t.run(DAY) == []
    async with t.ctx.db.reader() as session:
        reason = (await session.execute(select(CheckIn.restriction_reason))).scalar_one()
    assert reason == "opted_out"
    assert (await t.api.get("/api/optouts/999999999999999.csv")).status_code == 404
