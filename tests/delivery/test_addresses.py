"""Which email addresses and review links are usable."""

from __future__ import annotations

import pytest

from frontdesk.delivery.addresses import check_email_address, normalise_email, usable_review_url


@pytest.mark.parametrize(
    ("raw", "address"),
    [
        pytest.param("zoe@example.org", "zoe@example.org", id="plain"),
        pytest.param(
            "  Zoe.Patient@Example.ORG \n", "Zoe.Patient@example.org", id="trimmed-domain-lowered"
        ),
        pytest.param(
            "first.last+tag@mail.example.co.uk",
            "first.last+tag@mail.example.co.uk",
            id="plus-subdomain",
        ),
        pytest.param("o'neil@example.com", "o'neil@example.com", id="apostrophe"),
        pytest.param("zoe@bücher.example", "zoe@xn--bcher-kva.example", id="idna-domain"),
        pytest.param("zoe@example.xn--p1ai", "zoe@example.xn--p1ai", id="idna-tld"),
    ],
)
def test_usable_addresses(raw: str, address: str) -> None:
    check = check_email_address(raw)
    assert check.usable
    assert check.address == address
    assert check.problem is None


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        pytest.param(None, "missing", id="none"),
        pytest.param("   ", "missing", id="blank"),
        pytest.param("zoe", "malformed", id="no-at"),
        pytest.param("zoe@@example.org", "malformed", id="two-ats"),
        pytest.param("zoe smith@example.org", "malformed", id="space"),
        pytest.param("Zoe <zoe@example.org>", "malformed", id="display-name"),
        pytest.param("zoe@example.org, bob@example.org", "malformed", id="two-addresses"),
        pytest.param(".zoe@example.org", "malformed", id="leading-dot"),
        pytest.param("zo..e@example.org", "malformed", id="double-dot"),
        pytest.param('"zoe smith"@example.org', "malformed", id="quoted-local"),
        pytest.param('"zoe"@example.org', "malformed", id="quoted-local-no-space"),
        pytest.param("zoe(home)@example.org", "malformed", id="comment-in-local"),
        pytest.param("zoe@(home)example.org", "bad_domain", id="comment-in-domain"),
        pytest.param("zoe\u00a0@example.org", "malformed", id="no-break-space"),
        pytest.param("zoë@example.org", "malformed", id="non-ascii-local"),
        pytest.param("x" * 65 + "@example.org", "malformed", id="long-local"),
        pytest.param("zoe@localhost", "bad_domain", id="single-label"),
        pytest.param("zoe@[127.0.0.1]", "bad_domain", id="ip-literal"),
        pytest.param("zoe@example.123", "bad_domain", id="numeric-tld"),
        pytest.param("zoe@-example.org", "bad_domain", id="hyphen-label"),
        pytest.param("zoe@exa_mple.org", "bad_domain", id="underscore"),
        pytest.param("zoe@example.org\r\nBcc: x@y.org", "malformed", id="header-injection"),
        pytest.param("n/a", "malformed", id="placeholder"),
    ],
)
def test_unusable_addresses_say_why_without_quoting(raw: str | None, problem: str) -> None:
    check = check_email_address(raw)
    assert not check.usable
    assert check.problem == problem
    assert "zoe" not in repr(check)


def test_normalised_form_for_comparison() -> None:
    assert normalise_email("  Zoe.Patient@Example.ORG ") == "zoe.patient@example.org"


@pytest.mark.parametrize(
    ("raw", "usable"),
    [
        ("https://g.page/r/abc/review", True),
        ("http://reviews.example.com/x?y=1", True),
        ("  https://g.page/r/abc/review  ", True),
        (None, False),
        ("", False),
        ("g.page/r/abc", False),
        ("javascript:alert(1)", False),
        ("https://", False),
        ("https://exa mple.com/", False),
    ],
)
def test_review_links(raw: str | None, usable: bool) -> None:
    assert (usable_review_url(raw) is not None) is usable
