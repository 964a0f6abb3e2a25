"""Serializing transcript records: JSON that never raises on odd data, and timestamps.

    >>> _dumps({"text": "\ud800 lone surrogate", "n": 2**70})   # never raises
    b'{"text":"\xef\xbf\xbd lone surrogate","n":"1180591620717411303424"}'
    >>> _ts(1763734659.059)
    b'2025-11-21T14:17:39.059Z'

Split from :mod:`csa.transcript` (which re-exports these names for the renderer).
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from csa.jsonl import loads

_OPTS = orjson.OPT_NON_STR_KEYS
_MAX_DEPTH = 200  # orjson refuses to serialize deeper than 255 levels


def _fix_text(s: str) -> str:
    # Pairs of surrogates become the real character, lone ones U+FFFD:
    # orjson (rightly) refuses to write either as UTF-8.
    return s.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _default(obj: Any) -> Any:
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return bytes(obj).decode("utf-8", "replace")
    if isinstance(obj, (set, frozenset)):
        return list(obj)
    try:
        return str(obj)
    except Exception:
        return f"<unprintable {type(obj).__name__}>"


def _sanitize(obj: Any, depth: int = 0) -> Any:
    if depth > _MAX_DEPTH:
        return "[too deeply nested]"
    if isinstance(obj, str):
        return _fix_text(obj)
    if isinstance(obj, bool) or obj is None or isinstance(obj, float):
        return obj
    if isinstance(obj, int):
        return obj if -(2**63) <= obj < 2**64 else str(obj)
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if isinstance(k, str):
                k = _fix_text(k)
            elif not (isinstance(k, (int, float, bool)) or k is None):
                k = _fix_text(str(k))
            out[k] = _sanitize(v, depth + 1)
        return out
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [_sanitize(v, depth + 1) for v in obj]
    return _sanitize(_default(obj), depth + 1)


def _dumps(obj: Any) -> bytes:
    try:
        return orjson.dumps(obj, default=_default, option=_OPTS)
    except TypeError:  # orjson.JSONEncodeError: surrogates, big ints, depth, odd keys
        return orjson.dumps(_sanitize(obj), default=_default, option=_OPTS)


def _parse_object(line: str) -> dict | None:
    """The line as a JSON object, or None (not JSON, or not an object)."""
    obj = loads(line)
    return obj if isinstance(obj, dict) else None


# (second, "YYYY-MM-DDTHH:MM:SS") and (millisecond, full stamp); each replaced
# as one tuple so concurrent writers never see half an update.
_ts_sec: tuple[int, bytes] = (-1, b"")
_ts_ms: tuple[int, bytes] = (-1, b"")


def _ts(t: float) -> bytes:
    """RFC 3339 UTC with milliseconds (2026-11-21T14:17:39.059Z), cached per ms."""
    global _ts_sec, _ts_ms
    ms = int(t * 1000)
    cached = _ts_ms
    if cached[0] == ms:
        return cached[1]
    sec, frac = divmod(ms, 1000)
    prefix = _ts_sec
    if prefix[0] != sec:
        prefix = (sec, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)).encode("ascii"))
        _ts_sec = prefix
    stamp = b"%b.%03dZ" % (prefix[1], frac)
    _ts_ms = (ms, stamp)
    return stamp
