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


def import_digest(events: list[dict], cost_usd: float | None) -> dict:
    """csa.digest over the transcript, plus an outcome guess and the provider's cost."""
    from csa.digest import digest_events

    d = digest_events(events)
    d["outcome"] = outcome_of(events)
    d["source"] = "import"
    if cost_usd is not None:
        d["cost_usd"] = round(float(cost_usd), 9)
    return d


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
    out["cost_usd"] = new.get("cost_usd") if new.get("cost_usd") else old.get("cost_usd", 0.0)
    out["source"] = "import"
    return out
