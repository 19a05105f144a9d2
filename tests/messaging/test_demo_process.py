"""``frontdesk demo`` as a user runs it (``make demo``): a real process on loopback. Its first
sync texts before the server listens, so the Twilio simulator holds the status callbacks
until the server is up; then every text of the first sync shows ``delivered`` in the outbox
(the callbacks were lost before: texts stayed without a delivery status)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.web.test_browser import free_port, stop

pytestmark = pytest.mark.slow


def test_the_demos_first_texts_are_delivered_once_it_listens(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env |= {
        "FRONTDESK_DATA_DIR": str(tmp_path / "demo"),
        "FRONTDESK_LOG_LEVEL": "WARNING",
        "COLUMNS": "200",
    }
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        demo = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from frontdesk.cli.main import main; main()",
                "demo",
                "--port",
                str(port),
                "--no-browser",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        deadline = time.monotonic() + 120
        key = None
        while time.monotonic() < deadline and key is None:
            assert demo.poll() is None, log.read_text()
            found = re.search(r"demo API key.*?(fd_[\w-]+)", log.read_text(), re.S)
            key = found.group(1) if found else None
            time.sleep(0.2)
        assert key is not None, log.read_text()
        headers = {"Authorization": f"Bearer {key}"}
        url = f"http://127.0.0.1:{port}/api/outbox"
        texts: list[dict[str, object]] = []
        while time.monotonic() < deadline:
            items = httpx.get(url, params={"limit": 1000}, headers=headers).json()["items"]
            texts = [i for i in items if i["channel"] == "sms"]
            if texts and all(i["deliveryStatus"] == "delivered" for i in texts):
                break
            time.sleep(0.3)
        assert texts
        assert {i["deliveryStatus"] for i in texts} == {"delivered"}
    finally:
        stop(demo)
