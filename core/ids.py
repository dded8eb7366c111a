"""ULIDs, as Spinnaker uses for execution and stage ids.

Inside a workflow, ids must be deterministic, so the caller passes the time and a random source
(``workflow.now()`` and ``workflow.random()``); outside, :func:`new_ulid` uses the system's.
"""

from __future__ import annotations

import random
import secrets
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32


def ulid(timestamp_ms: int, randomness: int) -> str:
    """A 26-character ULID from a 48-bit millisecond timestamp and 80 random bits."""
    value = ((timestamp_ms & ((1 << 48) - 1)) << 80) | (randomness & ((1 << 80) - 1))
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def ulid_from(timestamp_ms: int, rng: random.Random) -> str:
    return ulid(timestamp_ms, rng.getrandbits(80))


def new_ulid() -> str:
    return ulid(int(time.time() * 1000), secrets.randbits(80))


def is_ulid(text: str) -> bool:
    return len(text) == 26 and all(c in _ALPHABET for c in text.upper()) and text[0] in "01234567"
