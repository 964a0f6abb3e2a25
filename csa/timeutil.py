"""Human time inputs: `2d`, `36h`, `1w`, `90m`, or an ISO date, and "3m ago" output.

    >>> parse_duration("36h").total_seconds()
    129600.0
    >>> parse_since("2026-11-01").isoformat()
    '2026-11-01T00:00:00+00:00'
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from csa.errors import UsageError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)


def _seconds(text: str) -> float:
    m = _DURATION.match(text or "")
    if not m:
        raise UsageError(f"invalid duration {text!r}: use a number with s, m, h, d or w (e.g. 2d)")
    return float(m.group(1)) * _UNITS[(m.group(2) or "s").lower()]


def parse_duration(text: str) -> timedelta:
    try:
        return timedelta(seconds=_seconds(text))
    except OverflowError:  # more than ~2.7 million years, or a number too big for a float
        raise UsageError(f"invalid duration {text!r}: too long") from None


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """A point in time: a duration back from now (`2d`) or an ISO date/time (UTC if naive)."""
    now = now or datetime.now(UTC)
    if _DURATION.match(text or ""):
        try:
            return now - timedelta(seconds=_seconds(text))
        except OverflowError:  # further back than datetime goes: since the beginning
            return datetime.min.replace(tzinfo=UTC)
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise UsageError(f"invalid time {text!r}: use a duration like 2d or a date like "
                         "2026-11-01") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def ago(iso: str | None, now: datetime | None = None) -> str:
    """`iso` (RFC 3339) as a short relative time: `42s ago`, `3h ago`, `5d ago`."""
    if not iso:
        return "-"
    try:
        dt = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    secs = int(((now or datetime.now(UTC)) - dt).total_seconds())
    if secs < 0:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size:
            return f"{secs // size}{unit} ago"
    return f"{secs}s ago"


def stamp(iso: str) -> str:
    """Any RFC 3339 time in the one format csa shows (UTC, milliseconds, `Z`); text that is
    not a time is given back as it is.

        >>> stamp("2026-12-03T05:02:43+01:00")
        '2026-12-03T04:02:43.000Z'
    """
    from csa.state import iso_ms

    try:
        dt = datetime.fromisoformat(iso.strip().replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return iso
    return iso_ms(dt if dt.tzinfo else dt.replace(tzinfo=UTC)) or iso
