"""The Answering Service v2 password token against PHP's own vectors (spec §2, §5).

Every ``vectors[]`` and ``decrypt_cases[]`` entry of
``tests/fixtures/answering/answering-service-password-vectors.json`` (a copy of the reference's
file, carried in the repository so a fresh clone runs it) is a test case. When ``php`` is on
PATH, random Python-made tokens are also cross-checked against real PHP.
"""

from __future__ import annotations

import base64
import json
import random
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError

from frontdesk.answering.password_token import (
    DecryptResult,
    TokenOutcome,
    decrypt_password_token,
    encrypt_password_token,
    php_base64_decode,
    verify_password_token,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "answering"
VECTORS_FILE = FIXTURES / "answering-service-password-vectors.json"
PHP_SCRIPT = FIXTURES / "php-vectors.php"
DATA: dict[str, Any] = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
VECTORS: list[dict[str, Any]] = DATA["vectors"]
DECRYPT_CASES: list[dict[str, Any]] = DATA["decrypt_cases"]
K32 = b"0123456789abcdef0123456789abcdef"
PHP = shutil.which("php")
TRIM_SET = b" \t\n\r\0\x0b"


def php_expected(case: dict[str, Any]) -> bytes | bool:
    """PHP's DecryptionCustom result as bytes or False (null means non-UTF-8 bytes, see hex)."""
    value = case["php_decrypts_to"]
    if value is False:
        return False
    expected = bytes.fromhex(case["php_decrypts_to_hex"])
    if value is not None:
        assert value.encode() == expected
    return expected


def expected_outcome(expected: bytes | bool) -> TokenOutcome:
    if expected is False:
        return TokenOutcome.FAILED
    return TokenOutcome.EMPTY if expected == b"" else TokenOutcome.DECRYPTED


def php_iv_warning_length(warnings: list[str]) -> int | None:
    for warning in warnings:
        match = re.search(r"IV passed is (?:only )?(\d+) bytes long", warning)
        if match:
            return int(match.group(1))
    return None


def by_name(cases: list[dict[str, Any]]) -> Any:
    return pytest.mark.parametrize("case", cases, ids=[c["name"] for c in cases])


# --------------------------------------------------------------------------- PHP's vectors


def test_vectors_file_is_complete() -> None:
    assert len(VECTORS) == 20
    assert len(DECRYPT_CASES) == 16


@by_name(VECTORS)
def test_vector_encrypt_reproduces_php_token(case: dict[str, Any]) -> None:
    password = case["password"].encode()
    assert password == bytes.fromhex(case["password_hex"])
    assert len(case["key"].encode()) == case["key_len_bytes"]
    token = encrypt_password_token(password, case["key"].encode(), bytes.fromhex(case["iv_hex"]))
    assert token == case["php_token"]
    if token:
        inner = php_base64_decode(token.encode()).split(b"::", 1)[0]
        assert inner.decode() == case["inner_openssl_encrypt_b64"]


@by_name(VECTORS)
def test_vector_decrypt_matches_php(case: dict[str, Any]) -> None:
    result = decrypt_password_token(case["php_token"], case["key"].encode())
    expected = php_expected(case)
    assert result.php_value() == expected
    assert result.outcome is expected_outcome(expected)
    assert case["php_warnings"] == []


@by_name(DECRYPT_CASES)
def test_decrypt_case_matches_php(case: dict[str, Any]) -> None:
    result = decrypt_password_token(case["php_token"], case["key"].encode())
    expected = php_expected(case)
    assert result.php_value() == expected
    assert result.outcome is expected_outcome(expected)
    warned_iv = php_iv_warning_length(case["php_warnings"])
    if result.outcome is TokenOutcome.EMPTY:
        assert result.iv_length is None  # openssl_decrypt was never called
    else:
        assert result.iv_length == (16 if warned_iv is None else warned_iv)


@by_name(DECRYPT_CASES)
def test_decrypt_case_bytes_token_equals_str_token(case: dict[str, Any]) -> None:
    key = case["key"].encode()
    from_str = decrypt_password_token(case["php_token"], key)
    from_bytes = decrypt_password_token(case["php_token"].encode(), key)
    assert from_bytes.php_value() == from_str.php_value()
    assert from_bytes.outcome is from_str.outcome


def test_naive_explode_without_limit_fails_like_php() -> None:
    """§2.3 row 9: cutting the IV at its own "::" leaves 2 bytes and PHP returns false."""
    naive = DATA["meta"]["naive_explode_without_limit_on_iv_with_colons"]
    assert decrypt_password_token(naive["token"], K32).php_value() == b"Secret#1"
    inner, iv = php_base64_decode(naive["token"].encode()).split(b"::", 1)
    cut_iv = iv.split(b"::")[0]
    assert len(cut_iv) == 2
    cut = decrypt_password_token(base64.b64encode(inner + b"::" + cut_iv), K32)
    assert cut.php_value() is naive["result"] is False


# ---------------------------------------------------------------------- lenient base64


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [
        pytest.param(b"", b"", id="empty"),
        pytest.param(b"QUJD", b"ABC", id="plain"),
        pytest.param(b"QQ==", b"A", id="padded"),
        pytest.param(b"QQ", b"A", id="missing-padding"),
        pytest.param(b"QUI", b"AB", id="missing-single-pad"),
        pytest.param(b"Q", b"", id="lone-sextet-dropped"),
        pytest.param(b"QUJDR", b"ABC", id="lone-trailing-sextet-dropped"),
        pytest.param(b"QR==", b"A", id="leftover-bits-ignored"),
        pytest.param(b"=QU=JD=", b"ABC", id="equals-anywhere-ignored"),
        pytest.param(b"QQ==QUJD", b"A\x04\x14$", id="data-after-padding-continues"),
        pytest.param(b"QU\r\nJD\n", b"ABC", id="crlf-skipped"),
        pytest.param(b" Q U J D ", b"ABC", id="spaces-skipped"),
        pytest.param(b"Q!U@J#D$", b"ABC", id="junk-skipped"),
        pytest.param(b"\xffQU\x00JD\x80", b"ABC", id="binary-skipped"),
        pytest.param(b"-_QUJD", b"ABC", id="urlsafe-alphabet-skipped"),
        pytest.param(b"+/+/", b"\xfb\xff\xbf", id="plus-slash"),
        pytest.param(b" / /", b"\xff", id="plus-as-space-shifts-bits"),
        pytest.param(b"::", b"", id="colons-skipped"),
    ],
)
def test_php_base64_decode(encoded: bytes, decoded: bytes) -> None:
    assert php_base64_decode(encoded) == decoded


@pytest.mark.parametrize("seed", range(5))
def test_php_base64_decode_round_trips_with_noise(seed: int) -> None:
    rng = random.Random(seed)
    for length in range(40):
        data = rng.randbytes(length)
        encoded = bytearray(base64.b64encode(data))
        assert php_base64_decode(bytes(encoded)) == data
        for _ in range(rng.randrange(1, 6)):
            encoded.insert(rng.randrange(len(encoded) + 1), rng.choice(b" \r\n\t=.:!\x00\xff"))
        assert php_base64_decode(bytes(encoded)) == data
        assert php_base64_decode(base64.b64encode(data).rstrip(b"=")) == data


# ----------------------------------------------------------------- property round trips


def random_iv(rng: random.Random) -> bytes:
    iv = bytearray(rng.randbytes(16))
    style = rng.randrange(5)
    if style == 1:
        at = rng.randrange(15)
        iv[at : at + 2] = b"::"
    elif style == 2:
        iv[0] = ord(":")
    elif style == 3:
        iv[rng.randrange(16)] = 0
        iv[rng.randrange(16)] = 0xFF
    elif style == 4:
        iv = bytearray(rng.choice([b":", b"\0", b"\xff"]) * 16)
    return bytes(iv[:16])


def random_password(rng: random.Random, length: int) -> bytes:
    kind = rng.randrange(3)
    if kind == 0:
        password = rng.randbytes(length)
    elif kind == 1:
        text = "".join(rng.choice("aZ9 #:€密🔑\u00a0\f") for _ in range(length))
        password = text.encode()[:length]
    else:
        password = bytes(rng.choice(b" \t\n\r\0\x0b\x0c!:") for _ in range(length))
    return password.ljust(length, b"x")


@pytest.mark.parametrize("length", range(65), ids=lambda n: f"pw{n}")
def test_round_trip(length: int) -> None:
    rng = random.Random(length)
    for key_length in (0, 1, 15, 16, 25, 31, 32, 33, 40, 64):
        key = rng.randbytes(key_length)
        password = random_password(rng, length)
        iv = random_iv(rng)
        token = encrypt_password_token(password, key, iv)
        result = decrypt_password_token(token, key)
        if password.strip(TRIM_SET) == b"":
            assert token == ""
            assert result.outcome is TokenOutcome.EMPTY
            continue
        assert result.outcome is TokenOutcome.DECRYPTED
        assert result.plaintext == password
        assert result.iv_length == 16
        inner, token_iv = php_base64_decode(token.encode()).split(b"::", 1)
        assert token_iv == iv
        assert len(inner) == 4 * -(-16 * (length // 16 + 1) // 3)
        assert len(php_base64_decode(inner)) == 16 * (length // 16 + 1)
        # PHP's key rule: only the NUL-padded / truncated 32 bytes matter.
        assert encrypt_password_token(password, key[:32].ljust(32, b"\0"), iv) == token


@pytest.mark.parametrize(
    "password",
    [b"\f", b"\xc2\xa0", b"\xa0", b"\x1f", b" \fx ", b"\x00x\x00"],
    ids=["formfeed", "nbsp-utf8", "nbsp-latin1", "unit-separator", "formfeed-in-spaces", "nul-x"],
)
def test_not_blank_for_php_is_encrypted(password: bytes) -> None:
    token = encrypt_password_token(password, K32)
    assert token
    assert decrypt_password_token(token, K32).plaintext == password


@pytest.mark.parametrize("blank", [b"", b" ", b"\0", b"\x0b", b" \t\n\r\0\x0b "])
def test_blank_password_gives_empty_token(blank: bytes) -> None:
    assert encrypt_password_token(blank, K32) == ""
    assert decrypt_password_token(blank, K32).outcome is TokenOutcome.EMPTY


def test_random_iv_is_fresh_per_token() -> None:
    tokens = {encrypt_password_token(b"Secret#1", K32) for _ in range(20)}
    assert len(tokens) == 20
    assert all(decrypt_password_token(t, K32).plaintext == b"Secret#1" for t in tokens)


@pytest.mark.parametrize("iv_length", [0, 1, 15, 17, 32])
def test_encrypt_rejects_iv_that_is_not_16_bytes(iv_length: int) -> None:
    with pytest.raises(ValueError, match="exactly 16 bytes") as excinfo:
        encrypt_password_token(b"Secret#1", K32, b"\x01" * iv_length)
    assert "Secret" not in str(excinfo.value)
    assert "0123" not in str(excinfo.value)


@pytest.mark.parametrize("iv_length", [1, 2, 3, 8, 15, 17, 21, 40])
def test_decrypt_pads_or_truncates_iv_like_php(iv_length: int) -> None:
    iv = bytes(range(1, iv_length + 1))
    php_iv = iv[:16].ljust(16, b"\0")
    inner = php_base64_decode(encrypt_password_token(b"pw", K32, php_iv).encode()).split(b"::")[0]
    result = decrypt_password_token(base64.b64encode(inner + b"::" + iv), K32)
    assert result.plaintext == b"pw"
    assert result.iv_length == iv_length


@pytest.mark.parametrize(
    "inner",
    [
        b"====",
        b"!!!!",
        base64.b64encode(bytes(3)),
        base64.b64encode(bytes(15)),
        base64.b64encode(bytes(17)),
        base64.b64encode(bytes(31)),
    ],
    ids=["only-padding", "only-junk", "3-bytes", "15-bytes", "17-bytes", "31-bytes"],
)
def test_ciphertext_not_a_positive_multiple_of_16_fails_like_openssl(inner: bytes) -> None:
    result = decrypt_password_token(base64.b64encode(inner + b"::" + bytes(16)), K32)
    assert result.outcome is TokenOutcome.FAILED
    assert result.php_value() is False


def test_wrong_keys_never_yield_the_password() -> None:
    token = encrypt_password_token(b"Secret#1", K32, bytes(16))
    outcomes = [decrypt_password_token(token, f"wrong-{i}".encode()) for i in range(2000)]
    assert all(r.plaintext != b"Secret#1" for r in outcomes)
    failed = sum(r.outcome is TokenOutcome.FAILED for r in outcomes)
    assert 1900 < failed < 2000  # about 1 in 256 unpads by chance (spec §2.3 row 10)


def test_result_repr_hides_plaintext() -> None:
    result = decrypt_password_token(VECTORS[0]["php_token"], K32)
    assert result.plaintext == b"Secret#1"
    assert "Secret" not in repr(result)
    assert isinstance(result, DecryptResult)


# ---------------------------------------------------------------------------- verify

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.mark.parametrize(
    ("token", "key", "stored_password", "expected"),
    [
        pytest.param(VECTORS[0]["php_token"], K32, b"Secret#1", True, id="match"),
        pytest.param(VECTORS[0]["php_token"], K32, b"Secret#2", False, id="other-password"),
        pytest.param(VECTORS[0]["php_token"], b"wrong-key-98", b"Secret#1", False, id="garbage"),
        pytest.param(VECTORS[0]["php_token"], b"wrong", b"Secret#1", False, id="false"),
        pytest.param("Secret#1", K32, b"Secret#1", False, id="plain-password-sent"),
        pytest.param("", K32, b"", False, id="blank-token"),
        pytest.param(VECTORS[12]["php_token"], K32, b"spaced pass", False, id="no-trimming"),
        pytest.param(VECTORS[12]["php_token"], K32, b"  spaced pass  ", True, id="exact-bytes"),
    ],
)
def test_verify_password_token(
    token: str, key: bytes, stored_password: bytes, expected: bool
) -> None:
    password_hash = FAST_HASHER.hash(stored_password)
    assert (
        verify_password_token(token, key=key, password_hash=password_hash, hasher=FAST_HASHER)
        is expected
    )


def test_verify_with_default_hasher() -> None:
    password_hash = PasswordHasher().hash("P@ssw0rd!")
    assert verify_password_token(
        VECTORS[1]["php_token"], key=b"Sixteen-byte-key", password_hash=password_hash
    )


def test_verify_rejects_malformed_hash_loudly() -> None:
    with pytest.raises(InvalidHashError):
        verify_password_token(VECTORS[0]["php_token"], key=K32, password_hash="not-a-hash")


# ------------------------------------------------------------------ real PHP cross-check


def mutate(rng: random.Random, token: str) -> str:
    kind = rng.randrange(6)
    if kind == 0:
        return token.rstrip("=")
    if kind == 1:
        at = rng.randrange(len(token) + 1)
        return token[:at] + rng.choice([" ", "\r\n", "\t", "=", "*"]) + token[at:]
    if kind == 2:
        return token.replace("+", " ")
    if kind == 3:
        inner, iv = php_base64_decode(token.encode()).split(b"::", 1)
        iv = iv[: rng.randrange(1, 16)] if rng.random() < 0.5 else iv + rng.randbytes(5)
        return base64.b64encode(inner + b"::" + iv).decode()
    if kind == 4:
        return base64.b64encode(rng.randbytes(rng.randrange(48))).decode()
    return token


@pytest.mark.slow
@pytest.mark.skipif(PHP is None, reason="php-cli not installed: cannot cross-check with real PHP")
def test_cross_check_with_real_php() -> None:
    rng = random.Random(2024)
    lines, expected = [], {}
    for i in range(400):
        key = rng.randbytes(rng.randrange(65))
        password = random_password(rng, rng.randrange(50))
        iv = random_iv(rng)
        token = encrypt_password_token(password, key, iv)
        decrypt_key = key if rng.random() < 0.8 else rng.randbytes(32)
        sent = mutate(rng, token) if token and rng.random() < 0.5 else token
        decrypted = decrypt_password_token(sent, decrypt_key).php_value()
        lines.append(
            {
                "id": str(i),
                "key_b64": base64.b64encode(decrypt_key).decode(),
                "password_b64": base64.b64encode(password).decode(),
                "iv_hex": iv.hex(),
                "token": sent,
            }
        )
        php_token = encrypt_password_token(password, decrypt_key, iv)
        expected[str(i)] = (php_token, None if decrypted is False else decrypted.hex())
    completed = subprocess.run(
        [str(PHP), str(PHP_SCRIPT), "--check"],
        input="".join(json.dumps(line) + "\n" for line in lines),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    outcomes = {
        "false" if hex_ is None else "empty" if hex_ == "" else "bytes"
        for _, hex_ in expected.values()
    }
    assert outcomes == {"false", "empty", "bytes"}
    answers = [json.loads(line) for line in completed.stdout.splitlines()]
    assert len(answers) == len(lines)
    for answer in answers:
        php_token, decrypted_hex = expected[answer["id"]]
        assert answer["php_token"] == php_token, answer["id"]
        assert answer["php_decrypt_is_false"] is (decrypted_hex is None), answer["id"]
        assert answer["php_decrypt_of_token_hex"] == decrypted_hex, answer["id"]


@pytest.mark.slow
@pytest.mark.skipif(PHP is None, reason="php-cli not installed: cannot cross-check with real PHP")
def test_php_base64_decode_matches_real_php(tmp_path: Path) -> None:
    rng = random.Random(7)
    alphabet = (
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=== \r\n-_:\x00\xff"
    )
    samples = [bytes(rng.choice(alphabet) for _ in range(rng.randrange(30))) for _ in range(2000)]
    script = tmp_path / "b64.php"
    script.write_text(
        "<?php while (($l = fgets(STDIN)) !== false) "
        '{ echo bin2hex(base64_decode(base64_decode(trim($l)))), "\\n"; }\n'
    )
    completed = subprocess.run(
        [str(PHP), str(script)],
        input="".join(base64.b64encode(s).decode() + "\n" for s in samples),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    php_results = completed.stdout.splitlines()
    assert len(php_results) == len(samples)
    for sample, php_hex in zip(samples, php_results, strict=True):
        assert php_base64_decode(sample).hex() == php_hex, sample
