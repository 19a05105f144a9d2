"""/metrics with several processes: with ``PROMETHEUS_MULTIPROC_DIR`` shared, the exposition
of any one process sums what every process recorded (prometheus-client's multiprocess mode)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

import frontdesk

SRC = str(Path(frontdesk.__file__).resolve().parents[1])
RECORD = """
import sys
from frontdesk.usage.metrics import Instruments
instruments = Instruments()
for _ in range(int(sys.argv[1])):
    instruments.request("POST", "/cc/modules/apiv2/index.php", 200, 0.004)
instruments.source_call("ALLSCRIPTS", "GetSchedule", 0.05, "timeout")
"""
EXPOSE = """
import sys
from frontdesk.usage.metrics import DatabaseGauges, exposition
gauges = DatabaseGauges(review_requests={"sent": 3}, sync_runs={}, jobs_queued={})
sys.stdout.write(exposition(None, gauges).decode())
"""


def run(code: str, *args: str, directory: Path) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory), "PYTHONPATH": SRC}
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_every_process_is_summed(tmp_path: Path) -> None:
    run(RECORD, "7", directory=tmp_path)
    run(RECORD, "5", directory=tmp_path)
    text = run(EXPOSE, directory=tmp_path)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    route = (("method", "POST"), ("route", "/cc/modules/apiv2/index.php"), ("status", "200"))
    assert samples[("frontdesk_http_requests_total", route)] == 12
    errors = (("action", "GetSchedule"), ("code", "timeout"), ("source", "ALLSCRIPTS"))
    assert samples[("frontdesk_source_call_errors_total", errors)] == 2
    assert samples[("frontdesk_review_requests", (("state", "sent"),))] == 3
