"""What an import records: the report it returns, the import record kept in state.toml,
and the digest of imported events.

    >>> Report(source="codex", tool="codex", dry_run=True).summary()
    'Import from codex: would create 0 session(s), update 0, import 0 event(s), 0 unchanged'
"""

from __future__ import annotations

from dataclasses import dataclass, field

from csa.importers.base import drop_none


@dataclass
class Report:
    source: str
    tool: str
    dry_run: bool
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    events: int = 0
    bad_lines: int = 0
    sessions: list[dict] = field(default_factory=list)     # created / updated (or would be)
    skipped_sources: list[dict] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)           # "path:line: reason"
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"source": self.source, "tool": self.tool, "dry_run": self.dry_run,
                "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "skipped": self.skipped, "events": self.events, "bad_lines": self.bad_lines,
                "sessions": self.sessions, "skipped_sources": self.skipped_sources,
                "bad": self.bad, "problems": self.problems}

    def summary(self) -> str:
        if self.dry_run:
            parts = [f"would create {self.created} session(s)", f"update {self.updated}",
                     f"import {self.events} event(s)"]
        else:
            parts = [f"{self.created} session(s) created", f"{self.updated} updated",
                     f"{self.events} event(s) imported"]
        parts.append(f"{self.unchanged} unchanged")
        if self.skipped:
            parts.append(f"{self.skipped} skipped")
        if self.bad_lines:
            parts.append(f"{self.bad_lines} corrupt line(s) skipped")
        return f"Import from {self.source}: " + ", ".join(parts)


def state_record(record: dict) -> dict:
    # `seen` (gemini message ids) can be long: it stays in cursors.json and is rebuilt
    # from the transcript when that file is lost.
    rec = {k: v for k, v in record.items() if k not in ("seen", "children", "in_file")}
    return drop_none(rec)


def import_digest(events: list[dict], cost_usd: float | None, *, tool: str | None = None,
                  model: str | None = None) -> dict:
    """csa.digest over the transcript, plus an outcome guess and the cost: the provider's
    own running total when it keeps one, else the events' tokens priced per model
    (csa.cost; `cost_source` says which, `cost_usd` is absent when a price is unknown)."""
    from csa.digest import digest_events

    d = digest_events(events)
    d["outcome"] = outcome_of(events)
    d["source"] = "import"
    if cost_usd is not None:
        d["cost_usd"], d["cost_source"] = round(float(cost_usd), 9), "provider"
    elif tool is not None:
        from csa.cost import session_cost

        priced = session_cost({tool: model_tokens(events, model)})
        d.pop("cost_usd", None)
        if priced is not None:
            d["cost_usd"], d["cost_source"] = round(priced, 9), "priced"
    return d


def model_tokens(events: list[dict], model: str | None) -> dict[str, dict[str, int]]:
    """Token usage of imported events by model (an event without one: the last model seen,
    else the session's)."""
    from csa.cost import UNKNOWN_MODEL

    out: dict[str, dict[str, int]] = {}
    current = None
    for ev in events:
        if isinstance(ev.get("model"), str) and ev["model"]:
            current = ev["model"]
        usage = ev.get("usage")
        if not isinstance(usage, dict):
            continue
        mine = out.setdefault(current or model or UNKNOWN_MODEL, {})
        for k, v in usage.items():
            if isinstance(v, int) and not isinstance(v, bool):
                mine[k] = mine.get(k, 0) + v
    return out


def apply_compactions(state, digest: dict) -> None:
    """The tool's own compactions found in its store, as `[context_status]` records them."""
    n = int(digest.get("compactions") or 0)
    if n <= state.compaction_count:
        return
    from csa.importers.base import parse_ts

    state.compaction_count, state.is_compacted = n, True
    stamps = [m.get("ts") for m in digest.get("markers") or [] if m.get("kind") == "compaction"]
    when = parse_ts(stamps[-1]) if stamps else None
    state.last_compacted_at = when or state.last_compacted_at or state.last_accessed


def outcome_of(events: list[dict]) -> str:
    """success: the last exchange got a reply; failed: it ended on an error;
    abandoned: the last prompt got no reply at all."""
    last_user = max((i for i, e in enumerate(events) if e.get("role") == "user"), default=-1)
    tail = [e for e in events[last_user + 1:]
            if (e.get("type") == "imported" and e.get("role") != "system") or e.get("is_error")]
    if last_user < 0 and not tail:
        return "unknown"
    if not tail:
        return "abandoned"
    if tail[-1].get("is_error"):
        return "failed"
    return "success"


def merge_digest(old: dict, new: dict) -> dict:
    """A digest kept after gc evicted the transcript, with new imported events folded in."""
    from csa.digest import new_digest

    out = {**new_digest(), **old}
    out["turns"] = int(old.get("turns", 0)) + int(new.get("turns", 0))
    tokens = dict(old.get("tokens") or {})
    for k, v in (new.get("tokens") or {}).items():
        tokens[k] = int(tokens.get(k, 0)) + int(v)
    out["tokens"] = tokens
    calls = dict(old.get("tool_calls") or {})
    for k, v in (new.get("tool_calls") or {}).items():
        calls[k] = int(calls.get(k, 0)) + int(v)
    out["tool_calls"] = calls
    out["errors"] = int(old.get("errors", 0)) + int(new.get("errors", 0))
    out["outcome"] = new.get("outcome", out.get("outcome"))
    if new.get("cost_source") == "priced":  # priced for the new events only: add them
        out["cost_usd"] = round(float(old.get("cost_usd") or 0) + new["cost_usd"], 9)
    elif new.get("cost_usd"):  # the provider's running total
        out["cost_usd"] = new["cost_usd"]
    for key in ("compactions", "retries", "interventions"):
        out[key] = int(old.get(key) or 0) + int(new.get(key) or 0)
    from csa.digest_marks import MAX_MARKERS

    out["markers"] = (list(old.get("markers") or []) + list(new.get("markers") or []))[
        :MAX_MARKERS]
    out["snippets"] = {**(old.get("snippets") or {}), **(new.get("snippets") or {})}
    if "first_prompt" in (old.get("snippets") or {}):
        out["snippets"]["first_prompt"] = old["snippets"]["first_prompt"]
    out["analyzed_at"] = new.get("analyzed_at")
    out["source"] = "import"
    return out


def add_tokens(old, new: dict) -> dict:
    """Per-model token counts of an evicted session plus those of its new events."""
    out = {m: dict(t) for m, t in (old or {}).items() if isinstance(t, dict)}
    for m, tokens in new.items():
        mine = out.setdefault(m, {})
        for k, v in tokens.items():
            mine[k] = int(mine.get(k, 0)) + v
    return out
