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
    """TOML text for `doc`; None values are left out; dicts become [tables].

    The text is tomlkit's for the whole document, made as tomlkit's text for its
    top-level values followed by each top-level table's own, blank-line separated (the
    same bytes; tests/test_tomldoc.py checks this), so that a table unchanged since an
    earlier call in this process is not rendered again: `csa run` saves state.toml four
    times in a turn, mostly with one table changed, at ~25 us of tomlkit per value."""
    import tomlkit

    plain = _plain(doc)
    tables = [k for k, v in plain.items() if isinstance(v, dict)]
    if not tables or any(_table_array(v) for v in plain.values()):
        return tomlkit.dumps(plain)
    values = {k: v for k, v in plain.items() if not isinstance(v, dict)}
    parts = [tomlkit.dumps(values)] if values else []
    parts += [_table(k, plain[k]) for k in tables]
    return "\n".join(parts)


_TABLES: dict[tuple[str, str], str] = {}  # (key, repr of its plain value) -> its text
_TABLES_KEPT = 64


def _table(key: str, value: dict) -> str:
    import tomlkit

    memo = (key, repr(value))  # repr tells 1, 1.0 and True apart, and keeps key order
    text = _TABLES.get(memo)
    if text is None:
        if len(_TABLES) >= _TABLES_KEPT:
            _TABLES.clear()
        text = _TABLES[memo] = tomlkit.dumps({key: value})
    return text


def _table_array(v: Any) -> bool:
    return isinstance(v, list) and any(isinstance(x, dict) for x in v)


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
