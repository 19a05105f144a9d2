"""What a patient's reply means: opt out, opt back in, ask for help, or nothing.

Keywords are the carriers' and Twilio's standard set, matched on the whole message (trimmed,
case-insensitive, trailing punctuation ignored). Since the FCC's 2025 consent rules, a
revocation "in any reasonable manner" counts too: short plain-language replies such as
"stop texting me", "please unsubscribe", "don't text me again" are read as opt-outs
(:data:`PLAIN_REVOCATION`); a long message that merely contains "stop" is not.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})
MAX_PLAIN_WORDS = 12
"""Longer replies are conversations, not revocations; staff read them."""

PLAIN_REVOCATION = re.compile(
    r"\b("
    r"stop\s+(texting|messaging|sending|contacting)"
    r"|(do\s*n[o']?t|never)\s+(text|message|contact|send)"
    r"|no\s+more\s+(texts?|messages?)"
    r"|unsubscribe|opt\s*-?\s*out|remove\s+me|take\s+me\s+off"
    r"|leave\s+me\s+alone"
    r")\b",
    re.IGNORECASE,
)


class Intent(enum.StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


@dataclass(frozen=True, slots=True)
class Reading:
    """An intent, the keyword that said it (None: plain language) and how it was read."""

    intent: Intent
    keyword: str | None
    source: str  # "keyword" or "plain_language"


def read_reply(body: str | None) -> Reading | None:
    """The intent of a reply, or None when it asks for nothing we act on."""
    text = (body or "").strip()
    if not text:
        return None
    word = re.sub(r"[\s.!?,;:]+$", "", text).upper()
    if word in OPT_OUT_KEYWORDS:
        return Reading(Intent.OPT_OUT, word, "keyword")
    if word in OPT_IN_KEYWORDS:
        return Reading(Intent.OPT_IN, word, "keyword")
    if word in HELP_KEYWORDS:
        return Reading(Intent.HELP, word, "keyword")
    if len(text.split()) <= MAX_PLAIN_WORDS and PLAIN_REVOCATION.search(text):
        return Reading(Intent.OPT_OUT, None, "plain_language")
    return None
