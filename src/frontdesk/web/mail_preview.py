"""A captured email's HTML made inert for the Outbox's preview frame.

The frame is already sandboxed (no scripts, no forms, no popups, an opaque origin) and its
response has a CSP of its own (no network), but a sandboxed frame may still navigate itself,
and the email's links are live: its "Stop receiving review requests" link opts the patient
out on a plain ``GET``. So the preview must not follow links: :func:`inert_html` rewrites
the document with the standard library's tokenizer, keeping the markup and inline styles
the email renders with, and

- moves every link target (``href`` of ``a``/``area``) to ``data-href`` and into a
  ``title``, so the address shows on hover but nothing can be followed;
- drops what could navigate, run or load: ``script`` (with its content), ``base``,
  ``iframe``/``frame``/``object``/``embed``, ``meta http-equiv=refresh``, event-handler
  attributes, ``action``/``formaction``/``srcdoc``.

The output is only ever served into that frame, never into a dashboard page.
"""

from __future__ import annotations

from html import escape
from html.parser import HTMLParser

DROPPED_WITH_CONTENT = frozenset({"script", "iframe", "object"})
DROPPED = frozenset({"base", "embed", "frame", "frameset"})  # the tag alone
LINKS = frozenset({"a", "area"})
DROPPED_ATTRIBUTES = frozenset({"action", "formaction", "srcdoc", "ping"})
LINK_STYLE = "<style>a[data-href]{text-decoration:underline;cursor:not-allowed}</style>"


class _Inert(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._skipping: str | None = None  # inside a dropped element with raw content
        self._raw = False  # inside <style>: text is CSS, not to be escaped

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, closed=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, closed=True)

    def _start(self, tag: str, attrs: list[tuple[str, str | None]], *, closed: bool) -> None:
        if self._skipping:
            return
        if tag in DROPPED_WITH_CONTENT:
            self._skipping = None if closed else tag
            return
        if tag in DROPPED:
            return
        if tag == "meta" and any(
            k == "http-equiv" and (v or "").strip().lower() == "refresh" for k, v in attrs
        ):
            return
        kept: list[tuple[str, str | None]] = []
        titled = any(key == "title" for key, _ in attrs)
        for key, value in attrs:
            if key.startswith("on") or key in DROPPED_ATTRIBUTES:
                continue
            if tag in LINKS and key == "href":
                kept.append(("data-href", value))
                if not titled:
                    kept.append(("title", f"{value} (not followed in the preview)"))
                continue
            kept.append((key, value))
        text = "".join(
            f" {key}" if value is None else f' {key}="{escape(value, quote=True)}"'
            for key, value in kept
        )
        self.out.append(f"<{tag}{text}{' /' if closed else ''}>")
        self._raw = tag == "style" and not closed

    def handle_endtag(self, tag: str) -> None:
        if self._skipping:
            if tag == self._skipping:
                self._skipping = None
            return
        if tag in DROPPED or tag in DROPPED_WITH_CONTENT:
            return
        self._raw = False
        self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.out.append(data if self._raw else escape(data, quote=False))

    def handle_comment(self, data: str) -> None:
        return  # conditional comments and the like: not needed to render

    def handle_decl(self, decl: str) -> None:
        if not self._skipping:
            self.out.append(f"<!{escape(decl, quote=False)}>")


def inert_html(html: str) -> str:
    """``html`` with nothing that can be followed, run or loaded (see the module docstring)."""
    parser = _Inert()
    parser.feed(html)
    parser.close()
    # Last, so a doctype stays first (standards mode); a <style> anywhere applies.
    return "".join(parser.out) + LINK_STYLE
