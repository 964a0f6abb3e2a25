"""What every importer shares: the Source/Parsed records, the Reader interface, and
the small parsing helpers (timestamps, text flattening, tolerant JSONL reading).

    class MyToolReader(Reader):
        source, tool = "mytool", "mytool"
        def discover(self, paths): ...   # cheap: find sessions, their cwd and id
        def read(self, src, cursor): ... # normalize what is new since the cursor
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from csa import catalogue
from csa.jsonl import BAD as BAD_LINE  # noqa: F401 - re-exported for the importers
from csa.jsonl import JsonlReader
from csa.jsonl import loads as loads_lenient  # noqa: F401 - re-exported for the importers

CURSOR_VERSION = 1
MAX_TEXT = 100_000          # user / assistant text kept per event
MAX_TOOL_TEXT = 20_000      # tool input / output per event: file dumps would dwarf the dialogue
MAX_CONTEXT_TEXT = 2_000    # injected context (system reminders, environment blocks)
MAX_UNKNOWN_TEXT = 300      # the short note kept for a record this reader does not know
MAX_BAD_SHOWN = 50          # bad-line locations kept in a report
HEAD_BYTES = 1 << 20        # how far discover() reads into a file to learn its cwd and id

# Text the CLIs put into user-role messages that is context, not something the user typed
# (same list as tools/mock_llm.py, verified against the real CLIs).
_CONTEXT_RE = re.compile(
    r"""^\s*(?:<system-reminder>|<local-command-caveat>|<local-command-stdout>
      |<local-command-stderr>|Caveat:\ The\ messages\ below\ were\ generated\ by\ the\ user
      |<environment_context>|<user_instructions>|<user_shell_command>|<turn_aborted>|<skill>
      |\#\ AGENTS\.md\ instructions\ for|<INSTRUCTIONS>|<session_context>
      |This\ is\ the\ Gemini\ CLI\.\ We\ are\ setting\ up\ the\ context)""",
    re.VERBOSE,
)


# ---------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------

def cut_text(text: str, limit: int, redactor: Any = None) -> str:
    """text cut to limit characters, with a note of how much was cut.

    With a redactor: redacted first, then cut (a secret across the cut is gone whole).
    Without one (the writer redacts later) the cut never leaves the head of a token or
    value that the rules would no longer recognise (see csa.redact.safe_cut).

    >>> cut_text("abc def", 4)
    'abc … [cut 3 chars]'
    """
    if redactor is not None:
        red = redactor.text(text)
        if len(red) <= limit:
            return red
        head = redactor.cut(red, limit)
        return head + f"… [cut {len(red) - len(head)} chars]"
    if len(text) <= limit:
        return text
    from csa.redact import safe_cut

    head = safe_cut(text, limit)
    return head + f"… [cut {len(text) - len(head)} chars]"


def final_event(ev: dict, redactor: Any) -> dict:
    """An `imported` event as written: its text redacted, then cut to the role's limit.

    :meth:`Parsed.add` keeps up to ``SLACK`` times the limit (a memory bound); the
    real cut happens here, after redaction, so no secret straddles it.
    """
    limit = ev.pop("_limit", None)
    text = ev.get("text")
    if limit is None or not isinstance(text, str) or len(text) <= limit:
        return ev  # nothing to cut: the writer redacts it (in batches)
    return {**ev, "text": cut_text(text, limit, redactor)}


SLACK = 4


def is_context(text: str) -> bool:
    return not text.strip() or _CONTEXT_RE.match(text) is not None


def parse_ts(value: Any) -> datetime | None:
    """An RFC 3339 string or epoch milliseconds as an aware UTC datetime; None if neither."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        secs = value / 1000 if value > 10**11 else value  # ms (opencode) or s
        try:
            return datetime.fromtimestamp(secs, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    return None


def iso_ts(dt: datetime | None) -> str | None:
    from csa.state import iso_ms

    return iso_ms(dt)


def json_text(value: Any, limit: int) -> str:
    if isinstance(value, str):
        return cut_text(value, limit)
    try:
        return cut_text(orjson.dumps(value).decode(), limit)
    except TypeError:
        return cut_text(str(value), limit)


def flatten(content: Any) -> str:
    """Text of a tool result / message content: a string, or blocks with `text`."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for b in content:
            if isinstance(b, str):
                parts.append(b)
            elif isinstance(b, dict):
                if isinstance(b.get("text"), str):
                    parts.append(b["text"])
                elif b.get("type"):
                    parts.append(f"[{b['type']}]")
        return "\n".join(parts)
    if content is None:
        return ""
    return json_text(content, MAX_TOOL_TEXT)


def int_fields(d: Any, mapping: dict[str, str]) -> dict[str, int]:
    """{our key: d[their key]} for the int values present (usage blocks)."""
    if not isinstance(d, dict):
        return {}
    out = {}
    for ours, theirs in mapping.items():
        v = d.get(theirs)
        if isinstance(v, int) and not isinstance(v, bool):
            out[ours] = v
    return out


def drop_none(obj: Any) -> Any:
    # TOML has no null: the import record goes into state.toml.
    if isinstance(obj, dict):
        return {k: drop_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [drop_none(v) for v in obj if v is not None]
    return obj


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str | None:
    # Record discriminators are strings; anything else is just an unknown record.
    return value if isinstance(value, str) else None




# ---------------------------------------------------------------------------------------
# What readers produce
# ---------------------------------------------------------------------------------------

@dataclass
class Source:
    """One provider session as discovered (cheap: no full read yet)."""

    key: str                                    # cursor key: the file path, or "<db>#<id>"
    path: str                                   # shown to people
    files: list[Path] = field(default_factory=list)
    provider_id: str | None = None
    cwd: str | None = None
    mtime: datetime | None = None               # last write: a cheap upper bound for --since
    updated_ms: int | None = None               # opencode: the session's own updated time
    parent_key: str | None = None               # a sub-agent: its parent's source key
    agent_id: str | None = None
    meta: dict = field(default_factory=dict)    # reader-specific

    def signature(self) -> dict:
        """What changes when the source has something new."""
        if self.updated_ms is not None:
            return {"updated": self.updated_ms}
        out = {}
        for p in self.files:
            try:
                st = p.stat()
            except OSError:
                continue
            out[str(p)] = [st.st_size, st.st_mtime_ns]
        return {"files": out}


@dataclass
class Parsed:
    """What a reader found in a source since its cursor."""

    provider_id: str | None = None
    cwd: str | None = None
    started: datetime | None = None
    last: datetime | None = None
    model: str | None = None
    git_branch: str | None = None
    cost_usd: float | None = None               # the provider's own running total, if it keeps one
    title: str | None = None
    events: list[dict] = field(default_factory=list)
    children: dict[str, Parsed] = field(default_factory=dict)  # in-file sub-agents by agent id
    agent_meta: dict = field(default_factory=dict)
    cursor: dict = field(default_factory=dict)  # reader position to persist
    bad: list[tuple[str, int, str]] = field(default_factory=list)  # (path, line, reason)
    ignored: int = 0                            # known records with nothing conversational
    unknown: int = 0                            # records kept as a short system note
    pending_tail: bool = False                  # an incomplete last line, left for next time
    problem: str | None = None                  # the source could not be read at all

    def touch(self, ts: Any) -> datetime | None:
        dt = parse_ts(ts)
        if dt is not None:
            if self.started is None or dt < self.started:
                self.started = dt
            if self.last is None or dt > self.last:
                self.last = dt
        return dt

    def add(self, role: str, text: str, *, ts: Any = None, source: str, **extra: Any) -> dict:
        """Append one `imported` event (the transcript writer redacts it later)."""
        dt = self.touch(ts)
        limit = MAX_TEXT if role in ("user", "assistant") else MAX_TOOL_TEXT
        source_ts = None if dt is None else ts if isinstance(ts, str) else iso_ts(dt)
        ev = catalogue.imported(role, cut_text(text or "", SLACK * limit), source=source,
                                source_ts=source_ts, **extra)
        ev["_limit"] = limit  # cut after redaction, when written (final_event)
        self.events.append(ev)
        return ev

    def note_unknown(self, what: str, ts: Any, source: str) -> None:
        """Keep a record this reader does not understand as a short system note."""
        self.unknown += 1
        self.add("system", cut_text(f"unrecognized {source} record: {what}", MAX_UNKNOWN_TEXT),
                 ts=ts, source=source, unknown=True)

    def attach_usage(self, usage: dict, ts: Any, source: str) -> None:
        """Token usage reported after the reply: onto the last model event read in this pass,
        else (the reply was imported in an earlier run) as its own system event."""
        if not usage:
            return
        for ev in reversed(self.events):
            if ev["role"] in ("assistant", "tool_call"):
                merged = dict(ev.get("usage") or {})
                for k, v in usage.items():
                    merged[k] = merged.get(k, 0) + v
                ev["usage"] = merged
                return
            if ev["role"] == "user":
                break
        self.add("system", "token usage", ts=ts, source=source, usage=usage)


def jsonl_objects(path: Path, offset: int, line_no: int, parsed: Parsed) -> Iterator[tuple[int, dict]]:
    """Objects of a JSONL file from byte `offset`; bad lines are counted in `parsed.bad`.

    Sets parsed.cursor["offset"/"lines"] to what was consumed. An incomplete last line
    (the tool is still writing it) is left for the next run, unless it already parses.
    """
    def bad(no: int, reason: str) -> None:
        parsed.bad.append((str(path), no, reason))

    reader = JsonlReader(path, offset=offset, line_no=line_no, foreign=True, on_bad=bad)
    parsed.cursor["offset"], parsed.cursor["lines"] = offset, line_no
    for obj in reader:
        parsed.cursor["offset"], parsed.cursor["lines"] = reader.offset, reader.line_no
        yield reader.line_no, obj
    parsed.cursor["offset"], parsed.cursor["lines"] = reader.offset, reader.line_no
    parsed.pending_tail = parsed.pending_tail or reader.pending


def head_objects(path: Path, limit: int = HEAD_BYTES) -> Iterator[dict]:
    """The first complete JSON objects of a JSONL file (the lines starting within `limit`
    bytes)."""
    try:
        yield from JsonlReader(path, foreign=True, limit=limit)
    except OSError:
        return


def file_mtime(p: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(p.stat().st_mtime, UTC)
    except OSError:
        return None


def source_files(paths: Iterable[Path], patterns: tuple[str, ...]) -> list[Path]:
    """Files given directly, plus files matching `patterns` (recursive) under given dirs."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            for pat in patterns:
                out.extend(q for q in p.rglob(pat) if q.is_file())
        elif p.is_file():
            out.append(p)
    seen: set[Path] = set()
    uniq = []
    for p in out:
        rp = p.absolute()
        if rp not in seen:
            seen.add(rp)
            uniq.append(rp)
    return sorted(uniq)


# ---------------------------------------------------------------------------------------
# The reader interface
# ---------------------------------------------------------------------------------------

class Reader:
    """One tool's store. Subclasses set the names and implement discover() and read()."""

    name = ""            # the CLI argument: claude, codex, gemini, opencode
    tool = ""            # csa's tool name: claude-code, codex, gemini-cli, opencode
    dedupe_by_id = False  # read() needs the ids of events already imported (entry["seen"])

    def default_paths(self) -> list[Path]:
        raise NotImplementedError

    def discover(self, paths: list[Path], here: Path | None) -> Iterator[Source]:
        """Sources under `paths`, parents before their sub-agents. `here`, when given, is
        the only project wanted: a reader may skip sources that surely belong elsewhere."""
        raise NotImplementedError

    def read(self, src: Source, entry: dict) -> Parsed:
        """Normalize what is new in `src` since the cursor `entry` ({} the first time)."""
        raise NotImplementedError


# ---------------------------------------------------------------------------------------
# claude-code: ~/.claude/projects/<mangled cwd>/<session id>.jsonl
# ---------------------------------------------------------------------------------------

# Records claude 2.1 writes that carry nothing conversational (request shapes, prompt
# snapshots, queue bookkeeping, context attachments...).
