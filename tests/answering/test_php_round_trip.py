"""Real PHP against the running server: the vendor's encryption recipe, token, ticket, status.

Needs ``php`` (php-cli from Debian; ``.ci/run`` installs it). The PHP client uses
``file_get_contents`` with a stream context, so the curl extension is not needed.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

PHP = shutil.which("php")
FRONTDESK = str(Path(sys.executable).parent / "frontdesk")
KEY = "0123456789abcdef0123456789abcdef"
PASSWORD = "Php#Secret-1"

PHP_CLIENT = r"""<?php
// The vendor page's EncryptionCustom, verbatim in substance.
function EncryptionCustom($Str, $CipherMethod, $EncryptionDecryptionKey) {
    if (isset($Str) && trim($Str) != '') {
        $iv = openssl_random_pseudo_bytes(openssl_cipher_iv_length($CipherMethod));
        $encrypted = openssl_encrypt($Str, $CipherMethod, $EncryptionDecryptionKey, 0, $iv);
        return base64_encode($encrypted . '::' . $iv);
    }
    return '';
}
function call($url, $method, $body = null, $type = null) {
    $http = ['method' => $method, 'ignore_errors' => true];
    if ($body !== null) {
        $http['header'] = "Content-Type: $type\r\n";
        $http['content'] = $body;
    }
    $raw = file_get_contents($url, false, stream_context_create(['http' => $http]));
    return json_decode($raw, true);
}
[$script, $server, $user, $password, $key] = $argv;
$login = EncryptionCustom($password, 'aes-256-cbc', $key);
$token = call("$server/index.php?resource=tokenCreate", 'POST',
    http_build_query(['login_username' => $user, 'login_password' => $login]),
    'application/x-www-form-urlencoded');
$t = $token['result']['token'];
$ticket = call("$server/index.php?resource=adi&token=$t", 'POST', json_encode([
    'patient_lname' => 'Doe', 'patient_fname' => 'Jane', 'dob' => '19891230',
    'complaint' => 'issue', 'prac' => '1234', 'client_code' => 'AS-1',
    'contact_phone' => '1234567890', 'Call_type' => '1', 'field_mr' => '123|ABC123',
]), 'application/json');
$id = $ticket['result']['ticket_id'];
$status = call("$server/index.php?resource=ticketStatus&token=$t&ticket_id=$id", 'GET');
$bad = EncryptionCustom($password, 'aes-256-cbc', 'not the key');
$wrong = call("$server/index.php?resource=tokenCreate", 'POST',
    http_build_query(['login_username' => $user, 'login_password' => $bad]),
    'application/x-www-form-urlencoded');
echo json_encode(['token' => $token, 'ticket' => $ticket, 'status' => $status, 'wrong' => $wrong]);
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env["FRONTDESK_DATA_DIR"] = str(tmp_path / "data")
    subprocess.run(
        [FRONTDESK, "answering", "add-user", "--username", "php-user", "--password", PASSWORD,
         "--key", KEY, "--company", "PHP Answering", "--practice", "1234"],
        check=True, env=env, capture_output=True, timeout=60,
    )  # fmt: skip
    port = _free_port()
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [FRONTDESK, "serve", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    try:
        for _ in range(150):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the server did not start")
        yield f"http://127.0.0.1:{port}/cc/modules/apiv2"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.mark.slow
@pytest.mark.skipif(PHP is None, reason="php (php-cli) is not installed; .ci/run installs it")
def test_php_client_gets_a_token_and_round_trips_a_ticket(server: str, tmp_path: Path) -> None:
    script = tmp_path / "client.php"
    script.write_text(PHP_CLIENT)
    assert PHP is not None
    out = subprocess.run(
        [PHP, str(script), server, "php-user", PASSWORD, KEY],
        check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    result = json.loads(out.stdout)
    assert result["token"]["success"] is True, result
    assert len(result["token"]["result"]["token"]) == 16
    ticket = result["ticket"]
    assert ticket["success"] is True, ticket
    assert ticket["result"]["notes"].endswith("from PHP Answering by php-user")
    assert ticket["result"]["call_type"] == "1"
    assert result["status"] == {
        "success": True,
        "result": {"ticket_id": ticket["result"]["ticket_id"], "ticket_status": "IN PROGRESS"},
        "errors": [],
    }
    assert result["wrong"]["success"] is False
    assert [e["code"] for e in result["wrong"]["errors"]] == [413]
