"""The Outbox preview's HTML: nothing in a captured email can be followed, run or loaded,
and what it renders with (markup, inline styles, text) stays."""

from __future__ import annotations

from pathlib import Path

import pytest

from frontdesk.web.mail_preview import inert_html

TEMPLATE = Path(__file__).resolve().parents[2] / "src/frontdesk/delivery/templates/email/html.html"


@pytest.mark.parametrize(
    ("html", "kept", "gone"),
    [
        pytest.param(
            '<a href="https://x.test/unsubscribe/t?a=1&amp;b=2">Stop</a>',
            ['data-href="https://x.test/unsubscribe/t?a=1&amp;b=2"', ">Stop</a>", "title="],
            [" href="],
            id="links-lose-their-target",
        ),
        pytest.param(
            '<map><area href="/x" alt="x"></map>', ['data-href="/x"'], [" href="], id="area"
        ),
        pytest.param(
            '<a href="/x" title="mine">t</a>', ['title="mine"'], ["not followed"], id="own-title"
        ),
        pytest.param(
            "<p>hi</p><script>document.write('x')</script><p>there</p>",
            ["<p>hi</p><p>there</p>"],
            ["script", "document.write"],
            id="scripts-with-their-content",
        ),
        pytest.param(
            '<p onclick="steal()" onmouseover="x">t</p>',
            ["<p>t</p>"],
            ["steal", "on"],
            id="handlers",
        ),
        pytest.param(
            '<meta http-equiv="Refresh" content="0;url=/unsubscribe/t"><meta charset="utf-8">',
            ['<meta charset="utf-8">'],
            ["refresh", "/unsubscribe"],
            id="meta-refresh",
        ),
        pytest.param(
            '<base href="https://evil.test/"><iframe src="/x">in</iframe><embed src="/e">'
            '<object data="/o"></object>'
            '<form action="/post"><button formaction="/go">b</button></form>',
            ["<form><button>b</button></form>"],
            ["evil", "iframe", ">in<", "/o", "/e", "/post", "/go"],
            id="loaders-and-forms",
        ),
        pytest.param(
            '<style>td > p { color: red }</style><p style="color:#fff">a &lt; b &amp; c</p>',
            ["td > p { color: red }", 'style="color:#fff"', "a &lt; b &amp; c"],
            [],
            id="styles-and-text-stay",
        ),
        pytest.param(
            '<img src="data:image/png;base64,AA" alt=\'say "hi"\'>',
            ['alt="say &quot;hi&quot;"', 'src="data:image/png;base64,AA"'],
            [],
            id="attributes-re-escaped",
        ),
    ],
)
def test_inert_html(html: str, kept: list[str], gone: list[str]) -> None:
    out = inert_html(html)
    body = out[: out.rindex("<style>a[data-href]")]  # the preview's own rule comes last
    for text in kept:
        assert text in body
    for text in gone:
        assert text not in body.lower()


def test_the_default_template_keeps_its_doctype_first_and_its_look() -> None:
    source = TEMPLATE.read_text()
    out = inert_html(source)
    assert out.startswith("<!DOCTYPE html>")
    assert "href=" not in out.replace("data-href=", "")
    assert out.count('style="') == source.count('style="')
    assert "Leave a review</a>" in out
