"""Deterministic randomness for the synthetic practices.

Every generated thing (an enterprise, a patient, one location's day of appointments) draws
from its own stream, seeded by a hash of the sandbox seed, the credential and the thing's
key. So a patient or a day can be produced alone, in any order, and is the same on every run
with the same seed, without generating anything else first.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def stable_seed(*parts: object) -> int:
    """A 64-bit integer determined by ``parts`` (stable across runs, unlike ``hash``)."""
    text = "\x1f".join(str(part) for part in parts)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def seeded_random(*parts: object) -> random.Random:
    """A ``random.Random`` whose stream is determined by ``parts``."""
    return random.Random(stable_seed(*parts))


class BitDraws:
    """A cheap stream of small random draws cut from a hash digest.

    Seeding a ``random.Random`` costs more than a 64-byte BLAKE2b digest, and a patient needs
    only a few dozen draws, so patients are generated from one of these.
    """

    def __init__(self, *parts: object) -> None:
        self._key = "\x1f".join(str(part) for part in parts).encode()
        self._round = 0
        self._bits = 0
        self._left = 0

    def _refill(self) -> None:
        digest = hashlib.blake2b(self._key + self._round.to_bytes(4, "big"), digest_size=64)
        self._round += 1
        self._bits = int.from_bytes(digest.digest(), "big")
        self._left = 512

    def below(self, n: int) -> int:
        """A draw in ``range(n)`` (``n`` up to 2**24; the modulo bias is irrelevant here)."""
        if self._left < 32:
            self._refill()
        value = self._bits & 0xFFFFFFFF
        self._bits >>= 32
        self._left -= 32
        return value % n

    def chance(self, probability: float) -> bool:
        """True with the given probability (resolution 1/10000)."""
        return self.below(10_000) < probability * 10_000

    def pick(self, items: Sequence[T]) -> T:
        """One element of ``items``."""
        return items[self.below(len(items))]
