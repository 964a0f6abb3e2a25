"""Session ids: ULIDs (26-char Crockford base32) and the prefix rules users type.

    >>> sid = new_ulid()
    >>> len(sid), is_ulid(sid)
    (26, True)
    >>> normalize_prefix("01jh4q")
    '01JH4Q'

ULIDs are generated here rather than through python-ulid because importing that
package costs ~22 ms (it loads importlib.metadata), which every `csa run` would
pay; the tests check that python-ulid parses our ids to the same timestamp.
"""

from __future__ import annotations

import os
import re
import threading
import time

from csa.errors import SessionNotFound

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CROCKFORD_SET = frozenset(CROCKFORD)
ULID_LEN = 26

_lock = threading.Lock()
_last_ms = -1
_last_rand = 0


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_ulid(now_ms: int | None = None) -> str:
    """A fresh ULID; monotonic within this process (same ms → randomness + 1)."""
    global _last_ms, _last_rand
    with _lock:
        ms = int(time.time() * 1000) if now_ms is None else now_ms
        if ms == _last_ms:
            rand = (_last_rand + 1) & ((1 << 80) - 1)
        else:
            rand = int.from_bytes(os.urandom(10), "big")
        _last_ms, _last_rand = ms, rand
    return _encode(ms, 10) + _encode(rand, 16)


_ULID_RE = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")


def is_ulid(text: str) -> bool:
    """True for a canonical (upper-case) 26-char ULID whose timestamp fits 48 bits."""
    return len(text) == ULID_LEN and _ULID_RE.fullmatch(text) is not None


def ulid_timestamp_ms(sid: str) -> int:
    """Milliseconds since the epoch encoded in the first 10 chars of a ULID."""
    value = 0
    for c in sid[:10]:
        value = value * 32 + CROCKFORD.index(c)
    return value


def normalize_prefix(prefix: str) -> str:
    """Upper-case a user-typed prefix and reject anything that is not Crockford base32.

    Rejection happens before any filesystem access, so input such as ``../x`` or
    ``/`` can never name a path.
    """
    p = (prefix or "").strip().upper()
    if not p or len(p) > ULID_LEN or any(c not in _CROCKFORD_SET for c in p):
        raise SessionNotFound(f"No session matches '{prefix}'")
    return p
