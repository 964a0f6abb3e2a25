"""TOML text for the files csa writes whole (state.toml, result.toml, usage stats), via tomlkit.

    >>> dumps({"a": 1, "when": datetime(2026, 11, 21, tzinfo=UTC), "t": {"x": "y"}})
    'a = 1\\nwhen = 2026-11-21T00:00:00.000Z\\n\\n[t]\\nx = "y"\\n'

tomlkit does the writing (quoting, escapes, tables, arrays of tables). What this adds is
csa's house form, the same in every file: None values are left out, datetimes are RFC 3339
UTC with milliseconds and a `Z`, and text that cannot be UTF-8 (lone surrogates, from
undecodable tool output) is replaced rather than making the file unwritable. Reading stays
on the stdlib `tomllib`. tomlkit is imported on first use (see docs/performance.md for its
import and per-document cost).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def dumps(doc: dict[str, Any]) -> str:
    """TOML text for `doc`; None values are left out; dicts become [tables]."""
    import tomlkit

    return tomlkit.dumps(_plain(doc))


def _plain(d: dict) -> dict:
    return {str(k): _value(v) for k, v in d.items() if v is not None}


def _value(v: Any) -> Any:
    if isinstance(v, dict):
        return _plain(v)
    if isinstance(v, list | tuple):
        return [_value(x) for x in v if x is not None]
    if isinstance(v, str):
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates, from undecodable bytes
            return v.encode("utf-8", "replace").decode("utf-8")
        return v
    if isinstance(v, datetime):
        return _datetime(v)
    return v


def _datetime(dt: datetime):
    from tomlkit.items import DateTime, Trivia

    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    dt = dt.astimezone(UTC)
    ms = dt.microsecond // 1000
    raw = dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms:03d}Z"
    return DateTime(dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, ms * 1000, UTC,
                    Trivia(), raw=raw)
