"""What the search index keeps about a session besides its text: its type, the session it
continues, and event times as the source recorded them.

    >>> session_kind(state)              # 'chat', 'agent', 'workflow' or 'imported'
    'chat'
    >>> continued_from(state)            # a fork or a compacted conversation, else None
    {'kind': 'fork', 'session_id': '01JH4Q...'}
    >>> digest_text(state)               # an evicted session's digest snippets, or None
    >>> event_ts({"ts": "2026-12-03T07:00:00.000Z", "source_ts": "2024-01-15T10:30:00Z"})
    '2024-01-15T10:30:00.000Z'

Session types (seed 002): *imported* — read from a tool's own store (`csa import`);
*workflow* — a `csa batch` session or one of its tasks; *agent* — started by another
session (a child: `parent_session_id`); *chat* — a session a person started.
"""

from __future__ import annotations

from datetime import UTC, datetime

KINDS = ("chat", "agent", "workflow", "imported")


def session_kind(state) -> str:
    extra = state.extra
    if isinstance(extra.get("import"), dict):
        return "imported"
    if "batch" in extra or "batch_task" in extra:
        return "workflow"
    if state.parent_session_id:
        return "agent"
    return "chat"


def continued_from(state) -> dict | None:
    """The conversation this session continues: the session it was forked from, or its
    own conversation before a compaction (with the provider id that held it)."""
    from csa.state import iso_ms

    if state.forked_from:
        return {"kind": "fork", "session_id": state.forked_from}
    previous = [pid for t in state.tools.values() for pid in t.previous_provider_session_ids]
    if not (state.compaction_count or state.is_compacted or previous):
        return None
    tool = state.last_tool()
    current = state.tools[tool].provider_session_id if tool in state.tools else None
    return {"kind": "compaction", "session_id": state.meta_session_id,
            "provider_session_id": previous[-1] if previous else current,
            "compactions": state.compaction_count, "at": iso_ms(state.last_compacted_at)}


DIGEST_TEXT_KEYS = ("summary", "snippets", "markers")


def digest_text(state) -> str | None:
    """The searchable text of the digest of a session whose transcript was evicted (its
    snippets and markers, kept in state.toml by csa.digest), else None: while the
    transcript is there, its own rows say more."""
    digest = state.extra.get("digest")
    if "evicted" not in state.extra or not isinstance(digest, dict):
        return None
    out: list[str] = []
    for key in DIGEST_TEXT_KEYS:
        _strings(digest.get(key), out, 0)
    text = "\n".join(dict.fromkeys(s for s in out if s.strip()))
    return text or None


def _strings(obj, out: list[str], depth: int) -> None:
    if isinstance(obj, str):
        out.append(obj)
    elif isinstance(obj, dict) and depth < 4:
        for k, v in obj.items():
            if k not in ("kind", "ts", "at"):
                _strings(v, out, depth + 1)
    elif isinstance(obj, list) and depth < 4:
        for v in obj:
            _strings(v, out, depth + 1)


def event_ts(ev: dict) -> str | None:
    """When the event happened: the source's own time for an imported event (as
    `YYYY-MM-DDTHH:MM:SS.mmmZ`, the form csa's `ts` has), else csa's `ts`."""
    src = ev.get("source_ts")
    if isinstance(src, str) and src:
        norm = _iso(src)
        if norm:
            return norm
    ts = ev.get("ts")
    return ts if isinstance(ts, str) else None


def _iso(text: str) -> str | None:
    from csa.state import iso_ms

    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return iso_ms(dt if dt.tzinfo else dt.replace(tzinfo=UTC))


def until_bound(text: str) -> datetime:
    """`--until`: a duration back from now, a date/time, or a bare date meaning the end
    of that day (`--until 2024-01-15` includes the 15th)."""
    from datetime import timedelta

    from csa.timeutil import parse_since

    dt = parse_since(text)
    stripped = (text or "").strip()
    if len(stripped) == 10 and stripped[4] == "-" and stripped[7] == "-":
        dt = dt + timedelta(days=1) - timedelta(milliseconds=1)
    return dt


def parse_kinds(text: str | None) -> list[str] | None:
    """`--type chat,imported` -> ['chat', 'imported']; an unknown type is a usage error."""
    if not text:
        return None
    from csa.errors import UsageError

    kinds = [k.strip() for k in text.split(",") if k.strip()]
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise UsageError(f"unknown session type {bad[0]!r}: use {', '.join(KINDS)} "
                         "(for transcript event types, use --event-type)")
    return kinds or None


def time_bounds(since: str | None, until: str | None) -> tuple[str | None, str | None]:
    """`--since`/`--until` as the ISO times the index compares with."""
    from csa.state import iso_ms
    from csa.timeutil import parse_since

    return (iso_ms(parse_since(since)) if since else None,
            iso_ms(until_bound(until)) if until else None)


def hit_rows(hits: list[dict], *, all_projects: bool) -> tuple[list[str], list[list[str]]]:
    """The table `csa session search` prints: one row per session."""
    from csa.listing import short_ids

    short = short_ids([h["session_id"] for h in hits]
                      + [h["continued_from"]["session_id"] for h in hits
                         if h.get("continued_from") and h["continued_from"].get("session_id")])
    headers = ["SESSION", "TYPE", "TIME", "TOOL", "MATCH", "CONTINUES"]
    rows = []
    for h in hits:
        link = h.get("continued_from")
        cont = "-" if not link else (f"fork of {short.get(link['session_id'], '?')}"
                                     if link["kind"] == "fork"
                                     else f"compacted ({(link.get('provider_session_id') or '?')[:12]})")
        row = [short[h["session_id"]], h["session_type"] or "-", h["ts"] or "-",
               h["tool"] or "-", " ".join(h["snippet"].split()), cont]
        if all_projects:
            row.insert(1, h["project"])
        rows.append(row)
    if all_projects:
        headers.insert(1, "PROJECT")
    return headers, rows
