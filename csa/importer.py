"""Import the AI CLIs' own transcripts as csa sessions (`csa import claude|codex|gemini|opencode`).

    >>> report = import_sessions("codex", cd="/home/me/proj")     # this project's codex sessions
    >>> report.created, report.updated, report.events
    (3, 1, 412)
    >>> import_sessions("claude", all_projects=True, dry_run=True).sessions[0]["action"]
    'create'

Each session a tool ran on its own (outside csa) becomes one csa session in the project of
its working directory: `tools.<tool>.provider_session_id` is the tool's id, so
`csa run --session <ULID>` resumes the tool's own conversation. The transcript holds
normalized, redacted `imported` events:

    {"type": "imported", "role": "user" | "assistant" | "tool_call" | "tool_result" | "system",
     "text": ..., "source": "claude", "source_ts": <original timestamp>,
     "name": <tool name, for tool_call>, "is_error": bool, "usage": {...}, "model": ..., "id": ...}

and `state.extra["digest"]` summarises them (csa.digest). Provider-native sub-agents
(claude sidechains, opencode child sessions) become child csa sessions.

Re-running is idempotent: `<project state dir>/import/cursors.json` remembers, per source,
how far it was read (size, mtime_ns, byte offset, csa session id, provider id). A source
that grew gets only its new lines, appended to the same session. The same record is kept in
each session's `state.extra["import"]`, so a lost cursor file never duplicates a session.

One reader class per tool (`Reader` subclasses, registered in READERS): `discover()` finds
the tool's sessions cheaply, `read()` normalizes what is new since the cursor.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from csa.errors import CsaError, SessionLocked, SessionNotFound, UsageError

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

def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"… [cut {len(text) - limit} chars]"


def _is_context(text: str) -> bool:
    return not text.strip() or _CONTEXT_RE.match(text) is not None


def _parse_ts(value: Any) -> datetime | None:
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


def _iso(dt: datetime | None) -> str | None:
    from csa.state import iso_ms

    return iso_ms(dt)


def _json_text(value: Any, limit: int) -> str:
    if isinstance(value, str):
        return _cut(value, limit)
    try:
        return _cut(orjson.dumps(value).decode(), limit)
    except TypeError:
        return _cut(str(value), limit)


def _flatten(content: Any) -> str:
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
    return _json_text(content, MAX_TOOL_TEXT)


def _ints(d: Any, mapping: dict[str, str]) -> dict[str, int]:
    """{our key: d[their key]} for the int values present (usage blocks)."""
    if not isinstance(d, dict):
        return {}
    out = {}
    for ours, theirs in mapping.items():
        v = d.get(theirs)
        if isinstance(v, int) and not isinstance(v, bool):
            out[ours] = v
    return out


def _drop_none(obj: Any) -> Any:
    # TOML has no null: the import record goes into state.toml.
    if isinstance(obj, dict):
        return {k: _drop_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_drop_none(v) for v in obj if v is not None]
    return obj


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    # Record discriminators are strings; anything else is just an unknown record.
    return value if isinstance(value, str) else None


def _loads(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        # orjson refuses integers beyond 64 bits and lone surrogates; the stdlib does not.
        import json

        try:
            return json.loads(raw)
        except (ValueError, RecursionError):
            return _BAD


_BAD = object()


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
        dt = _parse_ts(ts)
        if dt is not None:
            if self.started is None or dt < self.started:
                self.started = dt
            if self.last is None or dt > self.last:
                self.last = dt
        return dt

    def add(self, role: str, text: str, *, ts: Any = None, source: str, **extra: Any) -> dict:
        """Append one normalized event (the transcript writer redacts it later)."""
        dt = self.touch(ts)
        limit = MAX_TEXT if role in ("user", "assistant") else MAX_TOOL_TEXT
        ev: dict[str, Any] = {"role": role, "text": _cut(text or "", limit), "source": source}
        if dt is not None:
            ev["source_ts"] = ts if isinstance(ts, str) else _iso(dt)
        for k, v in extra.items():
            if v is not None and v is not False and v != {}:
                ev[k] = v
        self.events.append(ev)
        return ev

    def note_unknown(self, what: str, ts: Any, source: str) -> None:
        """Keep a record this reader does not understand as a short system note."""
        self.unknown += 1
        self.add("system", _cut(f"unrecognized {source} record: {what}", MAX_UNKNOWN_TEXT),
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


def _jsonl(path: Path, offset: int, line_no: int, parsed: Parsed) -> Iterator[tuple[int, dict]]:
    """Objects of a JSONL file from byte `offset`; bad lines are counted in `parsed.bad`.

    Sets parsed.cursor["offset"/"lines"] to what was consumed. An incomplete last line
    (the tool is still writing it) is left for the next run, unless it already parses.
    """
    pos = offset
    with open(path, "rb") as f:
        f.seek(offset)
        for raw in f:
            if not raw.endswith(b"\n"):
                obj = _loads(raw)
                if isinstance(obj, dict):  # complete, just no final newline
                    pos += len(raw)
                    line_no += 1
                    parsed.cursor["offset"], parsed.cursor["lines"] = pos, line_no
                    yield line_no, obj
                elif raw.strip():
                    parsed.pending_tail = True
                break
            pos += len(raw)
            line_no += 1
            if raw.strip():
                obj = _loads(raw)
                if obj is _BAD:
                    parsed.bad.append((str(path), line_no, "invalid JSON"))
                elif not isinstance(obj, dict):
                    parsed.bad.append((str(path), line_no, "not a JSON object"))
                else:
                    parsed.cursor["offset"], parsed.cursor["lines"] = pos, line_no
                    yield line_no, obj
            parsed.cursor["offset"], parsed.cursor["lines"] = pos, line_no
    parsed.cursor["offset"], parsed.cursor["lines"] = pos, line_no


def _head_objects(path: Path, limit: int = HEAD_BYTES) -> Iterator[dict]:
    """The first complete JSON objects of a JSONL file (within `limit` bytes)."""
    try:
        with open(path, "rb") as f:
            read = 0
            for raw in f:
                read += len(raw)
                obj = _loads(raw)
                if isinstance(obj, dict):
                    yield obj
                if read > limit:
                    return
    except OSError:
        return


def _mtime(p: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(p.stat().st_mtime, UTC)
    except OSError:
        return None


def _files(paths: Iterable[Path], patterns: tuple[str, ...]) -> list[Path]:
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
_CLAUDE_META = frozenset({
    "queue-operation", "attachment", "atis-latch", "api-request-shape", "api-request-blob",
    "api-request", "last-prompt", "mode", "tools-used", "summary", "file-history-snapshot",
    "custom-title", "agent-name", "pr-link", "progress",
})


_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class ClaudeReader(Reader):
    """claude-code 2.1: one JSONL per session; sub-agents in `<session id>/subagents/
    agent-<agentId>.jsonl` (+ `.meta.json`), older versions: `agent-<id>.jsonl` beside
    the session or `isSidechain: true` lines inside it."""

    name, tool = "claude", "claude-code"

    def default_paths(self) -> list[Path]:
        root = os.environ.get("CLAUDE_CONFIG_DIR") or os.path.join(Path.home(), ".claude")
        return [Path(root) / "projects"]

    def discover(self, paths: list[Path], here: Path | None) -> Iterator[Source]:
        # Project dirs are named after the cwd as claude saw it (symlinks unresolved), so
        # the cwd is read from each file rather than guessed from its dir name.
        mains, agents = [], []
        for f in _files(paths, ("*.jsonl",)):
            if f.name.startswith("agent-"):
                agents.append(f)
            elif _UUID_RE.fullmatch(f.stem) and f.parent.name != "subagents":
                mains.append(f)  # other JSONL (workflow journals...) is not a session
        for f in mains:
            yield self._source(f, None, None)
        for f in agents:
            agent_id = f.stem[len("agent-"):]
            if f.parent.name == "subagents":
                sid: str | None = f.parent.parent.name
                parent = f.parent.parent.parent / f"{sid}.jsonl"
            else:  # legacy layout: agent-<id>.jsonl beside the session, sessionId inside
                sid = next((o["sessionId"] for o in _head_objects(f, 256 * 1024)
                            if isinstance(o.get("sessionId"), str)), None)
                parent = f.parent / f"{sid}.jsonl" if sid else None
            if parent is not None:
                yield self._source(f, str(parent), agent_id, sid)

    def _source(self, f: Path, parent_key: str | None, agent_id: str | None,
                parent_sid: str | None = None) -> Source:
        # A sub-agent has no id of its own that `claude --resume` accepts: it is known by
        # its parent's session id plus its agent id.
        src = Source(key=str(f), path=str(f), files=[f], mtime=_mtime(f),
                     parent_key=parent_key, agent_id=agent_id,
                     provider_id=parent_sid if agent_id else f.stem)
        for o in _head_objects(f, 256 * 1024):
            if isinstance(o.get("cwd"), str):
                src.cwd = o["cwd"]
                if agent_id is None and isinstance(o.get("sessionId"), str):
                    src.provider_id = o["sessionId"]
                break
        meta = f.with_name(f.stem + ".meta.json")
        if agent_id is not None and meta.is_file():
            try:
                m = orjson.loads(meta.read_bytes())
                src.meta["agent"] = m if isinstance(m, dict) else {}
            except (OSError, orjson.JSONDecodeError):
                pass
        return src

    def read(self, src: Source, entry: dict) -> Parsed:
        p = Parsed(provider_id=src.provider_id, cwd=src.cwd)
        state = dict(entry.get("state") or {})
        agent = src.meta.get("agent") or {}
        p.agent_meta = {k: agent[k] for k in ("agentType", "description", "model", "spawnDepth")
                        if isinstance(agent.get(k), str | int)}
        if isinstance(agent.get("model"), str):
            p.model = agent["model"]
        offset, lines = int(entry.get("offset") or 0), int(entry.get("lines") or 0)
        for _n, d in _jsonl(src.files[0], offset, lines, p):
            target, tstate = p, state
            if d.get("isSidechain") is True and src.agent_id is None:
                agent, target = self._sidechain(p, d, state)
                tstate = state.setdefault("agents", {}).setdefault(agent, {})
            self._line(target, d, tstate)
        p.cursor["state"] = state
        return p

    def _sidechain(self, p: Parsed, d: dict, state: dict) -> tuple[str, Parsed]:
        # In-file sidechain lines (older claude): one child per agentId; without one, a
        # chain that starts at parentUuid null is a new agent, later lines join the last.
        agent = d.get("agentId")
        if not isinstance(agent, str) or not agent:
            if d.get("parentUuid") is None or not state.get("sidechain"):
                agent = f"sidechain-{d.get('uuid') or len(p.children)}"
            else:
                agent = state["sidechain"]
        state["sidechain"] = agent
        child = p.children.get(agent)
        if child is None:
            child = p.children[agent] = Parsed(provider_id=p.provider_id, cwd=p.cwd)
        return agent, child

    def _line(self, p: Parsed, d: dict, state: dict) -> None:
        t = _str(d.get("type"))
        ts = d.get("timestamp")
        if isinstance(d.get("cwd"), str) and not p.cwd:
            p.cwd = d["cwd"]
        if isinstance(d.get("gitBranch"), str) and d["gitBranch"] not in ("", "HEAD"):
            p.git_branch = d["gitBranch"]
        if t == "user":
            self._user(p, d, ts)
        elif t == "assistant":
            self._assistant(p, d, ts, state)
        elif t == "system":
            text = d.get("content") if isinstance(d.get("content"), str) else \
                f"system: {d.get('subtype') or 'event'}"
            p.add("system", _cut(text, MAX_CONTEXT_TEXT), ts=ts, source=self.name,
                  is_error=d.get("level") == "error", subtype=d.get("subtype"))
        elif t == "cost-state":
            cost = d.get("totalCostUSD")
            if isinstance(cost, int | float) and not isinstance(cost, bool):
                p.cost_usd = float(cost)
        elif t in _CLAUDE_META:
            if t == "summary" and isinstance(d.get("summary"), str):
                p.title = d["summary"]
            p.ignored += 1
            p.touch(ts)
        else:
            p.note_unknown(f"type={t!r}", ts, self.name)

    def _user(self, p: Parsed, d: dict, ts: Any) -> None:
        msg = d.get("message") if isinstance(d.get("message"), dict) else {}
        content = msg.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if not isinstance(blocks, list):
            p.note_unknown("user record without content", ts, self.name)
            return
        said, context = [], []
        result = d.get("toolUseResult") if isinstance(d.get("toolUseResult"), dict) else {}
        for b in blocks:
            if not isinstance(b, dict):
                continue
            bt = b.get("type")
            if bt == "text" and isinstance(b.get("text"), str):
                (context if _is_context(b["text"]) else said).append(b["text"])
            elif bt == "tool_result":
                p.add("tool_result", _flatten(b.get("content")), ts=ts, source=self.name,
                      id=b.get("tool_use_id"), is_error=bool(b.get("is_error")),
                      agent_id=result.get("agentId"))
            elif bt:
                said.append(f"[{bt}]")
        meta = bool(d.get("isMeta") or d.get("isCompactSummary"))
        if said and not meta:
            p.add("user", "\n".join(said), ts=ts, source=self.name, id=d.get("uuid"))
        elif said or context:
            p.add("system", _cut("\n".join(said + context), MAX_CONTEXT_TEXT), ts=ts,
                  source=self.name, id=d.get("uuid"))
        else:
            p.touch(ts)

    def _assistant(self, p: Parsed, d: dict, ts: Any, state: dict) -> None:
        msg = d.get("message") if isinstance(d.get("message"), dict) else {}
        mid = msg.get("id")
        model = msg.get("model") if msg.get("model") != "<synthetic>" else None
        if isinstance(model, str):
            p.model = model
        # claude writes one line per content block, each repeating the message's usage:
        # count it once per message id.
        usage = None
        if mid is None or mid != state.get("last_msg_id"):
            usage = _ints(msg.get("usage"), {
                "input_tokens": "input_tokens", "output_tokens": "output_tokens",
                "cache_read_input_tokens": "cache_read_input_tokens",
                "cache_creation_input_tokens": "cache_creation_input_tokens"}) or None
            state["last_msg_id"] = mid
        if usage is None and state.get("pending_usage"):
            usage = state.pop("pending_usage")
        err = bool(d.get("isApiErrorMessage") or d.get("error"))
        content = msg.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        first = None
        for b in blocks if isinstance(blocks, list) else []:
            if not isinstance(b, dict):
                continue
            bt = b.get("type")
            if bt == "text" and isinstance(b.get("text"), str):
                ev = p.add("assistant", b["text"], ts=ts, source=self.name, model=model, id=mid,
                           is_error=err)
            elif bt in ("tool_use", "server_tool_use"):
                ev = p.add("tool_call", _json_text(b.get("input"), MAX_TOOL_TEXT), ts=ts,
                           source=self.name, name=str(b.get("name") or "tool"), id=b.get("id"))
            elif bt in ("thinking", "redacted_thinking"):
                continue  # private reasoning: not part of the dialogue
            else:
                ev = p.add("system", f"[assistant {bt} block]", ts=ts, source=self.name)
            first = first or ev
        if first is None:
            p.touch(ts)
            if usage:
                state["pending_usage"] = usage  # thinking-only line: the next block gets it
        elif usage:
            first["usage"] = usage


# ---------------------------------------------------------------------------------------
# codex: $CODEX_HOME/sessions/YYYY/MM/DD/rollout-<ts>-<thread id>.jsonl
# ---------------------------------------------------------------------------------------

_UUID_TAIL = re.compile(r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")
# event_msg payloads that repeat response items or are bookkeeping.
_CODEX_QUIET_EVENTS = frozenset({
    "task_started", "task_complete", "item_completed", "item_started", "user_message",
    "agent_message", "agent_reasoning", "agent_reasoning_raw_content", "thread_settings_applied",
    "exec_command_begin", "exec_command_end", "patch_apply_begin", "patch_apply_end",
    "mcp_tool_call_begin", "mcp_tool_call_end", "web_search_begin", "web_search_end",
    "turn_diff", "plan_update", "entered_review_mode", "exited_review_mode", "context_compacted",
    "agent_message_delta", "agent_reasoning_delta", "session_configured", "background_event",
    "agent_reasoning_section_break", "get_history_entry_response", "mcp_list_tools_response",
    "list_custom_prompts_response", "shutdown_complete", "view_image_tool_call",
    "exec_command_output_delta", "reasoning_content_delta", "item_updated",
})


def _find_key(obj: Any, key: str, depth: int = 0) -> Any:
    if depth > 6:
        return None
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        for v in obj.values():
            found = _find_key(v, key, depth + 1)
            if found is not None:
                return found
    return None


class CodexReader(Reader):
    """codex 0.169 rollout files: `session_meta` first, then `response_item`s (the
    dialogue), `event_msg`s (token counts, errors) and `turn_context`s (model, cwd)."""

    name, tool = "codex", "codex"

    def default_paths(self) -> list[Path]:
        home = os.environ.get("CODEX_HOME") or os.path.join(Path.home(), ".codex")
        return [Path(home) / "sessions"]

    def discover(self, paths: list[Path], here: Path | None) -> Iterator[Source]:
        subs: list[Source] = []
        by_thread: dict[str, str] = {}
        for f in _files(paths, ("rollout-*.jsonl",)):
            src = Source(key=str(f), path=str(f), files=[f], mtime=_mtime(f))
            m = _UUID_TAIL.search(f.stem)
            src.provider_id = m.group(1) if m else None
            for o in _head_objects(f):
                if o.get("type") == "session_meta" and isinstance(o.get("payload"), dict):
                    pl = o["payload"]
                    src.provider_id = pl.get("id") or pl.get("session_id") or src.provider_id
                    src.cwd = pl.get("cwd") if isinstance(pl.get("cwd"), str) else None
                    # A thread spawned as a sub-agent names its parent thread.
                    parent = _find_key(pl.get("source"), "parent_thread_id")
                    if isinstance(parent, str):
                        src.meta["parent_thread_id"] = parent
                break
            if src.provider_id:
                by_thread[src.provider_id] = src.key
            if src.meta.get("parent_thread_id"):
                subs.append(src)
            else:
                yield src
        for src in subs:  # after every parent; a thread whose parent is absent is a root
            src.parent_key = by_thread.get(src.meta["parent_thread_id"])
            yield src

    def read(self, src: Source, entry: dict) -> Parsed:
        p = Parsed(provider_id=src.provider_id, cwd=src.cwd)
        state = dict(entry.get("state") or {})
        offset, lines = int(entry.get("offset") or 0), int(entry.get("lines") or 0)
        for _n, d in _jsonl(src.files[0], offset, lines, p):
            self._line(p, d, state)
        p.cursor["state"] = state
        return p

    def _line(self, p: Parsed, d: dict, state: dict) -> None:
        t = _str(d.get("type"))
        ts = d.get("timestamp")
        pl = d.get("payload") if isinstance(d.get("payload"), dict) else {}
        if t == "session_meta":
            p.touch(pl.get("timestamp") or ts)
            p.provider_id = p.provider_id or pl.get("id")
            if isinstance(pl.get("cwd"), str):
                p.cwd = p.cwd or pl["cwd"]
            git = pl.get("git") if isinstance(pl.get("git"), dict) else {}
            if isinstance(git.get("branch"), str):
                p.git_branch = git["branch"]
            p.ignored += 1
        elif t == "turn_context":
            if isinstance(pl.get("model"), str):
                p.model = pl["model"]
            if isinstance(pl.get("cwd"), str) and not p.cwd:
                p.cwd = pl["cwd"]
            p.ignored += 1
            p.touch(ts)
        elif t == "response_item":
            self._item(p, pl, ts)
        elif t == "event_msg":
            self._event(p, pl, ts, state)
        elif t == "compacted":
            p.add("system", "context compacted", ts=ts, source=self.name)
        elif t in ("world_state", "token_usage_record"):
            p.ignored += 1
            p.touch(ts)
        else:
            p.note_unknown(f"type={t!r}", ts, self.name)

    def _item(self, p: Parsed, pl: dict, ts: Any) -> None:
        it = _str(pl.get("type"))
        if it == "message":
            role = pl.get("role")
            text = _flatten(pl.get("content"))
            if role == "user":
                if _is_context(text):
                    p.add("system", _cut(text, MAX_CONTEXT_TEXT), ts=ts, source=self.name)
                else:
                    p.add("user", text, ts=ts, source=self.name, id=pl.get("id"))
            elif role == "assistant":
                p.add("assistant", text, ts=ts, source=self.name, id=pl.get("id"),
                      model=p.model)
            else:  # developer / system prompts: large and the same every time
                p.ignored += 1
                p.touch(ts)
        elif it in ("function_call", "custom_tool_call", "local_shell_call", "web_search_call",
                    "tool_search_call"):
            name = pl.get("name") or {"local_shell_call": "shell",
                                      "web_search_call": "web_search"}.get(it, it)
            args = pl.get("arguments", pl.get("input", pl.get("action")))
            p.add("tool_call", _json_text(args, MAX_TOOL_TEXT), ts=ts, source=self.name,
                  name=str(name), id=pl.get("call_id") or pl.get("id"))
        elif it in ("function_call_output", "custom_tool_call_output", "tool_search_output"):
            out = pl.get("output")
            text, is_error = out, False
            if isinstance(out, dict):
                text = out.get("content") or out.get("output") or out
                is_error = out.get("success") is False
            elif isinstance(out, str) and out.startswith("{"):
                meta = _loads(out.encode())
                if isinstance(meta, dict):
                    code = _find_key(meta.get("metadata"), "exit_code")
                    is_error = isinstance(code, int) and code != 0
                    text = meta.get("output", out)
            p.add("tool_result", _flatten(text), ts=ts, source=self.name,
                  id=pl.get("call_id"), is_error=is_error)
        elif it in ("reasoning", "ghost_snapshot"):
            p.ignored += 1
            p.touch(ts)
        else:
            p.note_unknown(f"response_item type={it!r}", ts, self.name)

    def _event(self, p: Parsed, pl: dict, ts: Any, state: dict) -> None:
        et = _str(pl.get("type"))
        if et == "token_count":
            info = pl.get("info") if isinstance(pl.get("info"), dict) else {}
            total = _ints(info.get("total_token_usage"), {
                "input_tokens": "input_tokens", "cached_input_tokens": "cached_input_tokens",
                "output_tokens": "output_tokens", "reasoning_tokens": "reasoning_output_tokens"})
            # The thread's running total, repeated on rate-limit updates: count differences.
            before = state.get("total") or {}
            delta = {k: v - int(before.get(k, 0)) for k, v in total.items()
                     if v - int(before.get(k, 0)) > 0}
            if total:
                state["total"] = total
            p.attach_usage(delta, ts, self.name)
            p.touch(ts)
        elif et in ("error", "stream_error"):
            p.add("system", str(pl.get("message") or et), ts=ts, source=self.name,
                  is_error=True)
        elif et == "warning":
            p.add("system", _cut(str(pl.get("message") or et), MAX_CONTEXT_TEXT), ts=ts,
                  source=self.name)
        elif et == "turn_aborted":
            p.add("system", f"turn aborted: {pl.get('reason') or 'interrupted'}", ts=ts,
                  source=self.name, is_error=True)
        elif et in _CODEX_QUIET_EVENTS:
            p.ignored += 1
            p.touch(ts)
        else:
            p.note_unknown(f"event_msg type={et!r}", ts, self.name)


# ---------------------------------------------------------------------------------------
# gemini-cli: ~/.gemini/tmp/<project slug>/chats/session-<minute>-<uuid8>.jsonl (or .json)
# ---------------------------------------------------------------------------------------

class GeminiReader(Reader):
    """gemini-cli 0.61: a header line (`sessionId`, `projectHash`, `startTime`), message
    lines, and `{"$set": {...}}` updates (a resume replays the history through one). A
    resume in a later minute writes a stub file with the same sessionId: files are merged
    by sessionId and messages deduplicated by id. Older versions: one `.json` object."""

    name, tool = "gemini", "gemini-cli"
    dedupe_by_id = True

    def default_paths(self) -> list[Path]:
        return [Path.home() / ".gemini" / "tmp"]

    def discover(self, paths: list[Path], here: Path | None) -> Iterator[Source]:
        groups: dict[str, list[tuple[Path, dict]]] = {}
        for f in _files(paths, ("session-*.json", "session-*.jsonl")):
            head = self._header(f)
            sid = head.get("sessionId")
            if not isinstance(sid, str):
                sid = f"file:{f}"  # no header: read it on its own
            groups.setdefault(sid, []).append((f, head))
        for sid, items in groups.items():
            items.sort(key=lambda fh: fh[0].name)
            first, head = items[0]
            src = Source(key=str(first), path=str(first), files=[f for f, _ in items],
                         provider_id=None if sid.startswith("file:") else sid)
            src.mtime = max((m for m in (_mtime(f) for f, _ in items) if m), default=None)
            src.cwd = self._cwd(first, head, here)
            src.meta["kind"] = head.get("kind")
            yield src

    @staticmethod
    def _header(f: Path) -> dict:
        if f.suffix == ".json":
            try:
                d = orjson.loads(f.read_bytes())
            except (OSError, orjson.JSONDecodeError):
                return {}
            return d if isinstance(d, dict) else {}
        return next(_head_objects(f, 64 * 1024), {})

    @staticmethod
    def _cwd(f: Path, head: dict, here: Path | None) -> str | None:
        """The project dir: `<slug>/.project_root`, `projects.json`, or the projectHash."""
        slug_dir = f.parent.parent if f.parent.name == "chats" else f.parent
        try:
            text = (slug_dir / ".project_root").read_text().strip()
            if text:
                return text
        except OSError:
            pass
        try:
            mapping = orjson.loads((slug_dir.parent.parent / "projects.json").read_bytes())
            for path, slug in (mapping.get("projects") or {}).items():
                if slug == slug_dir.name:
                    return path
        except (OSError, orjson.JSONDecodeError, AttributeError):
            pass
        # projectHash is sha256 of the project path: recognizes this project at least.
        h = head.get("projectHash")
        for cand in filter(None, (here, Path(os.getcwd()) if os.path.isdir(".") else None)):
            if h and hashlib.sha256(str(cand).encode()).hexdigest() == h:
                return str(cand)
        return None

    def read(self, src: Source, entry: dict) -> Parsed:
        p = Parsed(provider_id=src.provider_id, cwd=src.cwd)
        seen = set(entry.get("seen") or [])
        files_cur = dict(entry.get("files") or {})
        out_files = {}
        for f in src.files:
            cur = files_cur.get(str(f)) or {}
            if f.suffix == ".json":
                self._json_file(p, f, seen)
                out_files[str(f)] = {"offset": 0, "lines": 0}
                continue
            sub = Parsed()
            for _n, d in _jsonl(f, int(cur.get("offset") or 0), int(cur.get("lines") or 0),
                                sub):
                self._record(p, d, seen)
            p.bad.extend(sub.bad)
            p.pending_tail = p.pending_tail or sub.pending_tail
            out_files[str(f)] = {"offset": sub.cursor.get("offset", int(cur.get("offset") or 0)),
                                 "lines": sub.cursor.get("lines", int(cur.get("lines") or 0))}
        p.cursor["files"] = out_files
        p.cursor["seen"] = sorted(seen)
        if not p.cwd:
            p.cwd = self._cwd_from_context(p)
        return p

    def _json_file(self, p: Parsed, f: Path, seen: set) -> None:
        try:
            d = orjson.loads(f.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            p.bad.append((str(f), 1, "invalid JSON"))
            return
        if not isinstance(d, dict):
            p.bad.append((str(f), 1, "not a JSON object"))
            return
        self._record(p, d, seen)

    def _record(self, p: Parsed, d: dict, seen: set) -> None:
        if "$set" in d and isinstance(d["$set"], dict):
            d = d["$set"]
        elif "type" in d and ("id" in d or "content" in d):
            self._message(p, d, seen)
            return
        if isinstance(d.get("sessionId"), str):
            p.provider_id = p.provider_id or d["sessionId"]
        for k in ("startTime", "lastUpdated"):
            p.touch(d.get(k))
        msgs = d.get("messages")
        if isinstance(msgs, list):
            for m in msgs:
                if isinstance(m, dict):
                    self._message(p, m, seen)
        known = {"sessionId", "projectHash", "startTime", "lastUpdated", "kind", "messages",
                 "summary", "directories"}
        if not (set(d) - known) or "messages" in d or "sessionId" in d:
            p.ignored += 1
        else:
            p.note_unknown(f"keys {sorted(d)[:5]}", d.get("lastUpdated"), self.name)

    def _message(self, p: Parsed, m: dict, seen: set) -> None:
        mid = m.get("id")
        if not isinstance(mid, str):
            mid = hashlib.sha256(orjson.dumps(m, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]
        if mid in seen:
            return  # replayed history on a resume, or a stub file's copy
        seen.add(mid)
        ts, mt = m.get("timestamp"), m.get("type")
        text = _flatten(m.get("content"))
        if mt == "user":
            if _is_context(text):
                p.add("system", _cut(text, MAX_CONTEXT_TEXT), ts=ts, source=self.name, id=mid)
            else:
                p.add("user", text, ts=ts, source=self.name, id=mid)
        elif mt in ("gemini", "model", "assistant"):
            model = m.get("model") if isinstance(m.get("model"), str) else None
            p.model = model or p.model
            usage = _ints(m.get("tokens"), {"input_tokens": "input", "output_tokens": "output",
                                            "cached_input_tokens": "cached",
                                            "reasoning_tokens": "thoughts"})
            first = None
            if text:
                first = p.add("assistant", text, ts=ts, source=self.name, id=mid, model=model)
            for call in _list(m.get("toolCalls")):
                if not isinstance(call, dict):
                    continue
                ev = p.add("tool_call", _json_text(call.get("args"), MAX_TOOL_TEXT), ts=ts,
                           source=self.name, name=str(call.get("name") or "tool"),
                           id=call.get("id"))
                first = first or ev
                if call.get("result") is not None or call.get("status") in ("error", "cancelled"):
                    res = call.get("resultDisplay") if isinstance(call.get("resultDisplay"), str) \
                        else self._result_text(call.get("result"))
                    p.add("tool_result", res or str(call.get("status") or ""), ts=ts,
                          source=self.name, id=call.get("id"),
                          is_error=call.get("status") in ("error", "cancelled"))
            if first is None:
                first = p.add("assistant", "", ts=ts, source=self.name, id=mid, model=model)
            if usage:
                first["usage"] = usage
        elif mt in ("info", "warning", "error"):
            p.add("system", _cut(text, MAX_CONTEXT_TEXT), ts=ts, source=self.name, id=mid,
                  is_error=mt == "error")
        else:
            p.note_unknown(f"message type={mt!r}", ts, self.name)

    @staticmethod
    def _result_text(result: Any) -> str:
        # functionResponse parts: [{"functionResponse": {"response": {"output": ...}}}]
        if isinstance(result, list):
            out = []
            for r in result:
                resp = r.get("functionResponse", {}).get("response") if isinstance(r, dict) \
                    else None
                out.append(_json_text(resp if resp is not None else r, MAX_TOOL_TEXT))
            return "\n".join(out)
        return _flatten(result)

    @staticmethod
    def _cwd_from_context(p: Parsed) -> str | None:
        # The session-context preamble lists the workspace directories.
        for ev in p.events:
            m = re.search(r"Workspace Directories:\*\*\s*\n\s*-\s*(/[^\n]+)", ev["text"])
            if m:
                return m.group(1).strip()
        return None


# ---------------------------------------------------------------------------------------
# opencode: SQLite $XDG_DATA_HOME/opencode/opencode.db, or `opencode export <id>` JSON
# ---------------------------------------------------------------------------------------

class OpenCodeReader(Reader):
    """opencode 1.18 keeps sessions in SQLite. Sessions are listed from the database
    (read-only; child sessions name their parent) or `opencode session list --format json`;
    each changed session is read as `opencode export <id>` JSON, built from the same rows
    (`session`, `message`, `part`) when the database is readable, else by running the
    binary. With --path, export JSON files (or a database) are read."""

    name, tool = "opencode", "opencode"

    def __init__(self) -> None:
        self._binary: str | None | bool = False  # False: not looked up yet

    def default_paths(self) -> list[Path]:
        data = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
        return [Path(data) / "opencode" / "opencode.db"]

    def binary(self) -> str | None:
        if self._binary is False:
            from csa.config import load_config

            try:
                configured = load_config().tool("opencode").binary
            except CsaError:
                configured = None
            wanted = os.path.expanduser(configured) if configured else "opencode"
            self._binary = shutil.which(wanted)
        return self._binary  # type: ignore[return-value]

    def discover(self, paths: list[Path], here: Path | None) -> Iterator[Source]:
        explicit = bool(paths) and paths != self.default_paths()
        dbs, exports = [], []
        for f in _files(paths, ("*.json", "opencode.db")):
            (dbs if f.suffix == ".db" else exports).append(f)
        for f in exports:
            src = self._export_source(f)
            if src is not None:
                yield src
        rows: list[dict] = []
        for db in dbs:
            rows.extend(self._db_rows(db))
        if not dbs and not explicit and self.binary():
            rows = self._cli_rows()
        # Parents first, so a child session can be attached to its parent's csa session.
        rows.sort(key=lambda r: (r.get("parent_id") is not None, r.get("created") or 0))
        by_id = {r["id"]: r for r in rows}
        for r in rows:
            key = f"{r['db']}#{r['id']}" if r.get("db") else f"opencode:{r['id']}"
            parent = by_id.get(r.get("parent_id") or "")
            src = Source(key=key, path=key, provider_id=r["id"], cwd=r.get("directory"),
                         updated_ms=r.get("updated"), meta={"row": r},
                         mtime=_parse_ts(r.get("updated")))
            if parent is not None:
                src.parent_key = (f"{parent['db']}#{parent['id']}" if parent.get("db")
                                  else f"opencode:{parent['id']}")
            yield src

    def _export_source(self, f: Path) -> Source | None:
        try:
            d = orjson.loads(f.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return Source(key=str(f), path=str(f), files=[f], mtime=_mtime(f),
                          meta={"broken": "invalid JSON"})
        info = d.get("info") if isinstance(d, dict) else None
        if not isinstance(info, dict) or not isinstance(info.get("id"), str):
            return None  # some other JSON file in the directory
        t = info.get("time") if isinstance(info.get("time"), dict) else {}
        return Source(key=str(f), path=str(f), files=[f], provider_id=info["id"],
                      cwd=info.get("directory"), mtime=_mtime(f),
                      meta={"export": d, "updated": t.get("updated")})

    @staticmethod
    def _connect(db: Path):
        import sqlite3
        from urllib.parse import quote

        return sqlite3.connect(f"file:{quote(str(db))}?mode=ro", uri=True, timeout=5)

    def _db_rows(self, db: Path) -> list[dict]:
        import sqlite3

        try:
            con = self._connect(db)
            try:
                cur = con.execute("SELECT id, parent_id, directory, title, time_created, "
                                  "time_updated FROM session")
                return [{"id": i, "parent_id": pid, "directory": d, "title": t, "created": c,
                         "updated": u, "db": str(db)} for i, pid, d, t, c, u in cur]
            finally:
                con.close()
        except sqlite3.Error:
            if self.binary():
                return self._cli_rows()
            return []

    def _cli_rows(self) -> list[dict]:
        out = self._run(["session", "list", "--format", "json"])
        rows = []
        for r in out if isinstance(out, list) else []:
            if isinstance(r, dict) and isinstance(r.get("id"), str):
                rows.append({"id": r["id"], "parent_id": r.get("parentID"),
                             "directory": r.get("directory"), "title": r.get("title"),
                             "created": r.get("created"), "updated": r.get("updated")})
        return rows

    def _run(self, args: list[str]) -> Any:
        import subprocess

        binary = self.binary()
        if not binary:
            return None
        from csa.config import load_config

        env = dict(os.environ)
        try:
            env.update(load_config().tool("opencode").env)
        except CsaError:
            pass
        try:
            proc = subprocess.run([binary, *args], capture_output=True, stdin=subprocess.DEVNULL,
                                  timeout=120, env=env)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if proc.returncode != 0:
            return None
        obj = _loads(proc.stdout)
        return None if obj is _BAD else obj

    def _db_export(self, db: str, sid: str) -> dict | None:
        """The `opencode export` object, from the rows it is made of."""
        import sqlite3

        try:
            con = self._connect(Path(db))
            try:
                row = con.execute("SELECT id, parent_id, directory, title, time_created, "
                                  "time_updated, cost, tokens_input, tokens_output, model "
                                  "FROM session WHERE id = ?", (sid,)).fetchone()
                if row is None:
                    return None
                msgs = con.execute("SELECT id, data FROM message WHERE session_id = ? "
                                   "ORDER BY time_created, id", (sid,)).fetchall()
                parts = con.execute("SELECT id, message_id, data FROM part WHERE session_id = ? "
                                    "ORDER BY time_created, id", (sid,)).fetchall()
            finally:
                con.close()
        except sqlite3.Error:
            return None
        by_msg: dict[str, list] = {}
        for pid, mid, data in parts:
            obj = _loads(data.encode() if isinstance(data, str) else data)
            if isinstance(obj, dict):
                by_msg.setdefault(mid, []).append({**obj, "id": pid, "sessionID": sid,
                                               "messageID": mid})
        messages = []
        for mid, data in msgs:
            obj = _loads(data.encode() if isinstance(data, str) else data)
            if isinstance(obj, dict):
                messages.append({"info": {**obj, "id": mid, "sessionID": sid},
                                 "parts": by_msg.get(mid, [])})
        model = _loads(row[9].encode()) if isinstance(row[9], str) else None
        info = {"id": row[0], "parentID": row[1], "directory": row[2], "title": row[3],
                "time": {"created": row[4], "updated": row[5]}, "cost": row[6],
                "tokens": {"input": row[7], "output": row[8]},
                "model": model if isinstance(model, dict) else None}
        return {"info": info, "messages": messages}

    def read(self, src: Source, entry: dict) -> Parsed:
        p = Parsed(provider_id=src.provider_id, cwd=src.cwd)
        if src.meta.get("broken"):
            p.bad.append((src.path, 1, src.meta["broken"]))
            p.problem = f"{src.path}: {src.meta['broken']}"
            return p
        data = src.meta.get("export")
        row = src.meta.get("row") or {}
        if data is None and row.get("db"):
            data = self._db_export(row["db"], row["id"])
        if data is None:
            data = self._run(["export", str(src.provider_id)])
        if not isinstance(data, dict):
            p.problem = f"opencode session {src.provider_id}: could not be read"
            return p
        self._session(p, data, entry)
        updated = src.updated_ms if src.updated_ms is not None else src.meta.get("updated")
        if updated is not None:
            p.cursor["updated"] = updated
        return p

    def _session(self, p: Parsed, data: dict, entry: dict) -> None:
        info = data.get("info") if isinstance(data.get("info"), dict) else {}
        p.provider_id = p.provider_id or info.get("id")
        p.cwd = p.cwd or info.get("directory")
        p.title = info.get("title") if isinstance(info.get("title"), str) else None
        t = info.get("time") if isinstance(info.get("time"), dict) else {}
        p.touch(t.get("created"))
        cost = info.get("cost")
        if isinstance(cost, int | float) and not isinstance(cost, bool):
            p.cost_usd = float(cost)
        model = info.get("model") if isinstance(info.get("model"), dict) else {}
        if model.get("id"):
            p.model = "/".join(str(x) for x in (model.get("providerID"), model.get("id")) if x)
        msgs = [m for m in _list(data.get("messages")) if isinstance(m, dict)
                and isinstance(m.get("info"), dict)]
        # Messages come in id order (opencode ids ascend with time): resume after the
        # last one imported; a message still being written waits for the next run.
        last_id = entry.get("last_id")
        start = 0
        if last_id:
            ids_ = [m["info"].get("id") for m in msgs]
            if last_id in ids_:
                start = ids_.index(last_id) + 1
            else:  # history rewritten (revert): everything newer than the last one seen
                start = next((i for i, x in enumerate(ids_) if str(x) > last_id), len(msgs))
        p.cursor["last_id"] = last_id
        for m in msgs[start:]:
            mi = m["info"]
            complete = mi.get("role") != "assistant" or bool(
                (mi.get("time") or {}).get("completed") or mi.get("finish") or mi.get("error"))
            if not complete:
                p.pending_tail = True
                break
            self._message(p, mi, [x for x in _list(m.get("parts")) if isinstance(x, dict)])
            p.cursor["last_id"] = mi.get("id")
        p.touch(t.get("updated"))

    def _message(self, p: Parsed, mi: dict, parts: list[dict]) -> None:
        role = mi.get("role")
        t = mi.get("time") if isinstance(mi.get("time"), dict) else {}
        ts = t.get("created")
        if role == "user":
            said, ctx = [], []
            for part in parts:
                pt = part.get("type")
                if pt == "text" and isinstance(part.get("text"), str):
                    (ctx if part.get("synthetic") else said).append(part["text"])
                elif pt == "file":
                    said.append(f"[file {part.get('filename') or part.get('url') or ''}]".strip())
                elif pt:
                    ctx.append(f"[{pt}]")
            if said:
                p.add("user", "\n".join(said), ts=ts, source=self.name, id=mi.get("id"))
            if ctx:
                p.add("system", _cut("\n".join(ctx), MAX_CONTEXT_TEXT), ts=ts,
                      source=self.name, id=mi.get("id"))
            return
        if role != "assistant":
            p.note_unknown(f"message role={role!r}", ts, self.name)
            return
        model = "/".join(str(x) for x in (mi.get("providerID"), mi.get("modelID")) if x) or None
        p.model = model or p.model
        for part in parts:
            pt = part.get("type")
            pts = (part.get("time") or {}).get("start") if isinstance(part.get("time"), dict) \
                else None
            if pt == "text" and isinstance(part.get("text"), str):
                p.add("assistant", part["text"], ts=pts or ts, source=self.name,
                      id=mi.get("id"), model=model)
            elif pt == "tool":
                st = part.get("state") if isinstance(part.get("state"), dict) else {}
                p.add("tool_call", _json_text(st.get("input"), MAX_TOOL_TEXT), ts=pts or ts,
                      source=self.name, name=str(part.get("tool") or "tool"),
                      id=part.get("callID"))
                if st.get("status") in ("completed", "error"):
                    out = st.get("output") if st.get("status") == "completed" else st.get("error")
                    p.add("tool_result", _flatten(out), ts=(st.get("time") or {}).get("end")
                          if isinstance(st.get("time"), dict) else ts, source=self.name,
                          id=part.get("callID"), is_error=st.get("status") == "error")
            elif pt == "step-finish":
                tok = part.get("tokens") if isinstance(part.get("tokens"), dict) else {}
                usage = _ints(tok, {"input_tokens": "input", "output_tokens": "output",
                                    "reasoning_tokens": "reasoning"})
                usage.update(_ints(tok.get("cache"), {"cached_input_tokens": "read"}))
                p.attach_usage({k: v for k, v in usage.items() if v}, ts, self.name)
            elif pt in ("step-start", "reasoning", "snapshot", "patch"):
                continue
            elif pt in ("compaction", "agent", "subtask", "retry"):
                p.add("system", f"[{pt}]", ts=ts, source=self.name)
            else:
                p.note_unknown(f"part type={pt!r}", ts, self.name)
        err = mi.get("error")
        if err:
            msg = err.get("data", {}).get("message") if isinstance(err, dict) and \
                isinstance(err.get("data"), dict) else None
            name = err.get("name") if isinstance(err, dict) else None
            p.add("system", str(msg or name or err), ts=t.get("completed") or ts,
                  source=self.name, is_error=True)
        p.touch(t.get("completed"))


READERS: dict[str, type[Reader]] = {
    "claude": ClaudeReader, "codex": CodexReader, "gemini": GeminiReader,
    "opencode": OpenCodeReader,
}
# csa's own tool names work too.
ALIASES = {"claude-code": "claude", "gemini-cli": "gemini"}


def get_reader(name: str) -> Reader:
    key = ALIASES.get(name, name)
    if key not in READERS:
        raise UsageError(f"unknown source {name!r}: choose from {', '.join(READERS)}")
    return READERS[key]()


# ---------------------------------------------------------------------------------------
# The import run
# ---------------------------------------------------------------------------------------

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


class _Project:
    """One csa project touched by the run: its store, cursors, import lock, session index."""

    def __init__(self, store, dry_run: bool):
        self.store = store
        self.dry_run = dry_run
        self.path = store.dir / "import" / "cursors.json"
        self.cursors: dict[str, dict] = self._load()
        self.dirty = False
        self._unsynced = False
        self._lock_fd: int | None = None
        self._index: dict[str, tuple[str, dict | None]] | None = None

    def _load(self) -> dict:
        try:
            d = orjson.loads(self.path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return {}
        src = d.get("sources") if isinstance(d, dict) else None
        return {k: v for k, v in src.items() if isinstance(v, dict)} \
            if isinstance(src, dict) else {}

    def lock(self) -> bool:
        """Serialize imports into this project (two runs must not both create a session).
        True when the lock was taken just now (the cursors were reloaded)."""
        if self._lock_fd is not None or self.dry_run:
            return False
        import fcntl
        import time

        from csa.fsutil import ensure_dir

        self.store.ensure()
        ensure_dir(self.path.parent)
        fd = os.open(self.path.parent / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + 30
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise CsaError(f"another csa import into {self.store.root} is still running; "
                                   "try again when it has finished") from None
                time.sleep(0.1)
        self._lock_fd = fd
        self.cursors = self._load()  # what the run before us saved
        self._index = None
        return True

    def index(self) -> dict[str, tuple[str, dict | None]]:
        """import key / "<tool>:<provider id>" -> (session id, import record or None)."""
        if self._index is None:
            idx: dict[str, tuple[str, dict | None]] = {}
            for sid in self.store.ids():
                try:
                    st = self.store.read_state(sid)
                except CsaError:
                    continue
                imp = st.extra.get("import")
                if isinstance(imp, dict) and isinstance(imp.get("key"), str):
                    idx[imp["key"]] = (sid, imp)
                for tool, ts in st.tools.items():
                    for pid in (ts.provider_session_id, *ts.previous_provider_session_ids):
                        if pid:
                            idx.setdefault(f"{tool}:{pid}", (sid, None))
            self._index = idx
        return self._index

    def remember(self, key: str, sid: str, record: dict | None) -> None:
        if self._index is not None:
            self._index[key] = (sid, record)

    def save(self, *, durable: bool) -> None:
        """Write cursors.json (0600, atomic). Cheap saves between sources, a durable one
        at the end: a cursor lost in a crash is rebuilt from the sessions' state.toml."""
        if self.dry_run or not (self.dirty or (durable and self._unsynced)):
            return
        from csa.fsutil import atomic_write, ensure_dir

        ensure_dir(self.path.parent)
        data = {"version": CURSOR_VERSION, "sources": self.cursors}
        atomic_write(self.path, orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n",
                     durable=durable)
        self.dirty = False
        self._unsynced = not durable

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None


def _project_of(cwd: str) -> Path:
    """The csa project of a recorded cwd: its git top-level, else the dir (which may be
    gone by now: the path is still a fine project key)."""
    from csa.paths import git_toplevel

    here = Path(os.path.realpath(cwd))
    return git_toplevel(here) or here


def import_sessions(source: str, *, cd: str | None = None, paths: Iterable[str] = (),
                    since: str | None = None, dry_run: bool = False,
                    all_projects: bool = False) -> Report:
    """Import `source`'s sessions (see the module docstring); returns the report."""
    return _Run(get_reader(source), cd=cd, paths=[Path(p).expanduser() for p in paths],
                since=since, dry_run=dry_run, all_projects=all_projects).run()


class _Run:
    def __init__(self, reader: Reader, *, cd, paths, since, dry_run, all_projects):
        from csa.paths import project_root, state_base
        from csa.timeutil import parse_since

        self.reader = reader
        self.here = project_root(cd)
        self.base = state_base()
        self.paths = paths or reader.default_paths()
        self.since = parse_since(since) if since else None
        self.dry_run = dry_run
        self.all_projects = all_projects
        self.report = Report(source=reader.name, tool=reader.tool, dry_run=dry_run)
        self.projects: dict[Path, _Project] = {}
        # source key -> (project, csa session id or None when only planned, depth)
        self.done: dict[str, tuple[_Project, str | None, int]] = {}

    def project(self, root: Path) -> _Project:
        from csa.store import Store

        if root not in self.projects:
            proj = self.projects[root] = _Project(Store(self.base, root), self.dry_run)
            # Locked before its cursors are consulted, so a concurrent import cannot slip a
            # session in between our check and our create. A project with no state dir yet
            # is locked (and created) only when something is imported into it.
            if proj.store.dir.is_dir():
                proj.lock()
        return self.projects[root]

    def run(self) -> Report:
        try:
            for src in self.reader.discover(self.paths, None if self.all_projects else self.here):
                try:
                    self.one(src)
                except (SessionLocked, SessionNotFound) as e:
                    self.skip(src, str(e))
                except (OSError, CsaError) as e:
                    msg = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
                    self.report.problems.append(f"{src.path}: {msg}")
                except Exception as e:  # noqa: BLE001 - one odd source must not stop the rest
                    if os.environ.get("CSA_DEBUG"):
                        raise
                    self.report.problems.append(
                        f"{src.path}: not imported ({type(e).__name__}: {e}); "
                        "set CSA_DEBUG=1 for a traceback")
                # After every source: an interrupted run keeps what it did.
                for proj in self.projects.values():
                    proj.save(durable=False)
            for proj in self.projects.values():
                proj.save(durable=True)
        finally:
            for proj in self.projects.values():
                proj.close()
        return self.report

    def skip(self, src: Source, reason: str) -> None:
        self.report.skipped += 1
        self.report.skipped_sources.append({"path": src.path, "reason": reason,
                                            "provider_session_id": src.provider_id,
                                            "agent_id": src.agent_id})

    def one(self, src: Source) -> None:
        sig = src.signature()  # before reading: lines written meanwhile are read next time
        parent = None
        if src.parent_key is not None:
            parent = self.done.get(src.parent_key)
            if parent is None:
                # A sub-agent follows its parent: imported when (and where) the parent is.
                return
            if parent[1] is None and not self.dry_run:
                return
        first = None
        if parent is not None:
            proj = parent[0]
        else:
            cwd = src.cwd
            if cwd is None:  # learn it from the content (gemini without a project marker)
                first = self.reader.read(src, {})
                cwd = first.cwd
            if not cwd:
                if self.all_projects:
                    self.skip(src, "no working directory recorded")
                return
            root = _project_of(cwd)
            if not self.all_projects and root != self.here:
                return  # another project's session
            proj = self.project(root)
        key = self.import_key(src)
        entry = proj.cursors.get(src.key)
        if entry is not None and not _exists(proj, entry.get("session_id")):
            entry = None  # its session was deleted: import afresh
        if entry is not None and entry.get("sig") == sig:
            self.report.unchanged += 1
            self.done[src.key] = (proj, entry["session_id"], _depth(proj, entry["session_id"]))
            return
        if self.since is not None and entry is None and src.mtime is not None \
                and src.mtime < self.since:
            self.skip(src, "no activity since --since")
            return
        sid = entry.get("session_id") if entry is not None else None
        if entry is None:
            found = proj.index().get(key)
            if found is not None:
                sid, record = found
                if record is None:  # a session `csa run` made: csa has this conversation
                    self.skip(src, f"already a csa session ({sid})")
                    self.done[src.key] = (proj, sid, _depth(proj, sid))
                    if not self.dry_run:  # remember how far the source goes, import nothing
                        parsed = self.reader.read(src, {})
                        rec = self.record(src, parsed, None, key, sig)
                        self.save_entry(proj, src, {**rec, "native": True}, sid)
                    return
                entry = dict(record)  # the cursor file was lost: state.toml has the cursor
                if self.reader.dedupe_by_id:
                    entry["seen"] = _seen_ids(proj, sid)
        parsed = first if first is not None and entry is None else \
            self.reader.read(src, entry or {})
        for path, line, reason in parsed.bad:
            self.report.bad_lines += 1
            if len(self.report.bad) < MAX_BAD_SHOWN:
                self.report.bad.append(f"{path}:{line}: {reason}")
        if parsed.problem:
            self.report.problems.append(parsed.problem)
            return
        last = parsed.last or src.mtime
        if sid is None and self.since is not None and last is not None and last < self.since:
            self.skip(src, "no activity since --since")
            return
        depth = parent[2] + 1 if parent else 0
        parent_sid = parent[1] if parent else None
        record = self.record(src, parsed, entry, key, sig)
        if sid is None:
            sid = self.create(proj, src, parsed, record, parent_sid, depth)
        else:
            self.append(proj, src, parsed, record, sid)
        self.done[src.key] = (proj, sid, depth)
        for agent_id, child in parsed.children.items():
            self.sidechain(proj, src, agent_id, child, sid, depth + 1, entry)

    # -- helpers -------------------------------------------------------------------------

    def import_key(self, src: Source) -> str:
        """What identifies a source session across runs (and in state.extra["import"])."""
        tool = self.reader.tool
        if src.agent_id is not None:
            return f"{tool}:{src.provider_id}:agent:{src.agent_id}"
        return f"{tool}:{src.provider_id or src.key}"

    def record(self, src: Source, parsed: Parsed, entry: dict | None, key: str,
               sig: dict) -> dict:
        """The cursor entry after this read (also kept, minus `seen`, in state.toml)."""
        from csa.state import utcnow

        rec = dict(entry or {})
        rec.update({"source": self.reader.name, "key": key, "path": src.path,
                    "provider_session_id": src.provider_id or parsed.provider_id,
                    "agent_id": src.agent_id, "agent_type": parsed.agent_meta.get("agentType"),
                    "cwd": parsed.cwd or src.cwd, "sig": sig,
                    "imported_at": _iso(utcnow())})
        rec.update(parsed.cursor)
        first = (sig.get("files") or {}).get(str(src.files[0])) if src.files else None
        if first:
            rec["size"], rec["mtime_ns"] = first
        return rec

    def sidechain(self, proj: _Project, src: Source, agent_id: str, child: Parsed,
                  parent_sid: str | None, depth: int, entry: dict | None) -> None:
        """In-file sidechain lines: a child session keyed by (parent id, agent id)."""
        if parent_sid is None and not self.dry_run:
            return
        csrc = Source(key=f"{src.key}#agent-{agent_id}", path=src.path,
                      provider_id=src.provider_id, cwd=src.cwd, agent_id=agent_id,
                      parent_key=src.key)
        key = self.import_key(csrc)
        sid = ((entry or {}).get("children") or {}).get(agent_id)
        if not _exists(proj, sid):
            found = proj.index().get(key)
            sid = found[0] if found else None
        rec = {"source": self.reader.name, "key": key, "path": src.path,
               "provider_session_id": src.provider_id, "agent_id": agent_id,
               "cwd": child.cwd or src.cwd, "in_file": True}
        if sid is None:
            sid = self.create(proj, csrc, child, rec, parent_sid, depth)
        else:
            self.append(proj, csrc, child, rec, sid)
        if sid and not self.dry_run and src.key in proj.cursors:
            proj.cursors[src.key].setdefault("children", {})[agent_id] = sid
            proj.dirty = True

    def describe(self, parsed: Parsed, src: Source) -> str:
        from csa.redact import redact

        first = next((e["text"] for e in parsed.events if e["role"] == "user" and
                      e["text"].strip()), None)
        if first is None:
            first = parsed.agent_meta.get("description") or parsed.title or \
                f"{self.reader.name} session {str(src.provider_id or '')[:8]}".strip()
        # Redact the whole text before cutting: a secret cut in half no longer matches.
        text = " ".join(redact(str(first)).split())
        return text if len(text) <= 80 else text[:79] + "…"

    def tool_state(self, ts, src: Source, parsed: Parsed, digest: dict) -> None:
        from csa.redact import redact

        if src.agent_id is None:  # a claude sub-agent cannot be resumed on its own
            ts.provider_session_id = ts.provider_session_id or src.provider_id or \
                parsed.provider_id
        if parsed.model:
            ts.model = parsed.model
        if parsed.last:
            ts.updated_at = parsed.last if ts.updated_at is None else \
                max(ts.updated_at, parsed.last)
        ts.turn_count = int(digest.get("turns", 0))
        ts.tokens = {k: v for k, v in (digest.get("tokens") or {}).items()
                     if isinstance(v, int) and not isinstance(v, bool)}
        if digest.get("cost_usd"):
            ts.cost_usd = float(digest["cost_usd"])
        last = next((e["text"] for e in reversed(parsed.events) if e["role"] == "assistant"
                     and e["text"].strip()), None)
        if last:
            text = " ".join(redact(last).split())
            ts.last_action_summary = text if len(text) <= 200 else text[:199] + "…"

    def plan(self, action: str, sid: str | None, src: Source, parsed: Parsed, proj: _Project,
             parent_sid: str | None, description: str | None = None) -> None:
        n = len(parsed.events)
        self.report.events += n
        if action == "create":
            self.report.created += 1
        else:
            self.report.updated += 1
        self.report.sessions.append({
            "action": action, "session_id": sid, "tool": self.reader.tool,
            "provider_session_id": src.provider_id or parsed.provider_id,
            "agent_id": src.agent_id, "parent_session_id": parent_sid,
            "project": str(proj.store.root), "path": src.path, "events": n,
            "description": description, "started": _iso(parsed.started),
            "last_activity": _iso(parsed.last), "bad_lines": len(parsed.bad)})

    def create(self, proj: _Project, src: Source, parsed: Parsed, record: dict,
               parent_sid: str | None, depth: int) -> str | None:
        description = self.describe(parsed, src)
        if self.dry_run:
            self.plan("create", None, src, parsed, proj, parent_sid, description)
            return None
        from csa.state import ToolState, utcnow
        from csa.transcript import TranscriptWriter, read_events

        if proj.lock():
            # Another import may have taken this source while we were not locked yet.
            done = proj.cursors.get(src.key)
            if done is not None and _exists(proj, done.get("session_id")) \
                    and not record.get("in_file"):
                self.report.unchanged += 1
                return done["session_id"]
        store = proj.store
        started = parsed.started or src.mtime or utcnow()

        def build(tmp, state) -> None:
            # Filled before the session appears: it is never seen half-imported.
            with TranscriptWriter(tmp / "transcript.jsonl") as tw:
                for ev in parsed.events:
                    tw.append("imported", **ev)
                last_seq = tw.next_seq - 1
            digest = _digest(list(read_events(tmp / "transcript.jsonl")), parsed.cost_usd)
            state.created_at = started
            state.last_accessed = parsed.last or started
            state.turn_count = int(digest.get("turns", 0))
            ts = state.tools[self.reader.tool] = ToolState()
            self.tool_state(ts, src, parsed, digest)
            state.extra["digest"] = digest
            record.update({"session_id": state.meta_session_id, "last_seq": last_seq,
                           "events": len(parsed.events)})
            state.extra["import"] = _state_record(record)

        # The ULID carries the source's start time, so imports sort among real sessions.
        state, _ = store.create(description=description, parent_session_id=parent_sid,
                                depth=depth, git_branch=parsed.git_branch,
                                now_ms=int(started.timestamp() * 1000), build=build)
        sid = state.meta_session_id
        self.save_entry(proj, src, record, sid)
        self.plan("create", sid, src, parsed, proj, parent_sid, description)
        return sid

    def append(self, proj: _Project, src: Source, parsed: Parsed, record: dict,
               sid: str) -> None:
        """New events of a known source, appended to its session (seq continues)."""
        if not parsed.events:
            self.report.unchanged += 1
            if not self.dry_run:
                proj.lock()
                self.save_entry(proj, src, {**record, "session_id": sid}, sid)
            return
        if self.dry_run:
            self.plan("update", sid, src, parsed, proj, None)
            return
        from csa.lock import SessionLock
        from csa.state import ToolState
        from csa.transcript import TranscriptWriter, read_events

        proj.lock()
        store = proj.store
        sdir = store.session_dir(sid)
        with SessionLock(sdir, sid, reason="import", grace=0):
            state = store.read_state(sid)
            if state.run is not None or record.get("native"):
                # `csa run` has continued this conversation: its turns are in csa's own
                # transcript already, so the tool's new lines are consumed, not re-imported.
                self.save_entry(proj, src, {**record, "session_id": sid}, sid)
                self.skip(src, f"continued with csa run in session {sid}")
                return
            path = sdir / "transcript.jsonl"
            with TranscriptWriter(path) as tw:
                for ev in parsed.events:
                    tw.append("imported", **ev)
                last_seq = tw.next_seq - 1
            ts = state.tools.setdefault(self.reader.tool, ToolState())
            old = state.extra.get("digest") if isinstance(state.extra.get("digest"), dict) \
                else {}
            cost = parsed.cost_usd if parsed.cost_usd is not None else (
                ts.cost_usd if ts.cost_usd is not None else old.get("cost_usd"))
            if "evicted" in state.extra:
                # gc kept only the digest: fold the new events into it.
                new = [{"type": "imported", **e} for e in parsed.events]
                digest = _merge_digest(old, _digest(new, cost))
            else:
                digest = _digest(list(read_events(path)), cost)
            state.extra["digest"] = digest
            if parsed.last and parsed.last > state.last_accessed:
                state.last_accessed = parsed.last
            state.turn_count = int(digest.get("turns", 0))
            self.tool_state(ts, src, parsed, digest)
            prev = state.extra.get("import") if isinstance(state.extra.get("import"), dict) \
                else {}
            record.update({"session_id": sid, "last_seq": last_seq,
                           "events": int(prev.get("events") or 0) + len(parsed.events)})
            state.extra["import"] = _state_record(record)
            store.save(state)
        self.save_entry(proj, src, record, sid)
        self.plan("update", sid, src, parsed, proj, state.parent_session_id)

    def save_entry(self, proj: _Project, src: Source, record: dict, sid: str) -> None:
        proj.remember(record.get("key") or src.key, sid, _state_record(record))
        if record.get("in_file"):
            return  # an in-file sidechain: tracked in its parent's entry (`children`)
        entry = dict(record)
        entry["session_id"] = sid
        old = proj.cursors.get(src.key) or {}
        if "children" in old:
            entry["children"] = {**old["children"], **(entry.get("children") or {})}
        proj.cursors[src.key] = entry
        proj.dirty = True


def _exists(proj: _Project, sid: Any) -> bool:
    from csa import ids

    return isinstance(sid, str) and ids.is_ulid(sid) and proj.store.exists(sid)


def _depth(proj: _Project, sid: str | None) -> int:
    if not _exists(proj, sid):
        return 0
    try:
        return proj.store.read_state(sid).depth  # type: ignore[arg-type]
    except CsaError:
        return 0


def _seen_ids(proj: _Project, sid: str) -> list[str]:
    """Ids of the events already imported into a session (when the cursor file is lost)."""
    from csa.transcript import read_events

    path = proj.store.session_dir(sid) / "transcript.jsonl"
    try:
        return [e["id"] for e in read_events(path)
                if e.get("type") == "imported" and isinstance(e.get("id"), str)]
    except OSError:
        return []


def _state_record(record: dict) -> dict:
    # `seen` (gemini message ids) can be long: it stays in cursors.json and is rebuilt
    # from the transcript when that file is lost.
    rec = {k: v for k, v in record.items() if k not in ("seen", "children", "in_file")}
    return _drop_none(rec)


def _digest(events: list[dict], cost_usd: float | None) -> dict:
    """csa.digest over the transcript, plus an outcome guess and the provider's cost."""
    from csa.digest import digest_events

    d = digest_events(events)
    d["outcome"] = _outcome(events)
    d["source"] = "import"
    if cost_usd is not None:
        d["cost_usd"] = round(float(cost_usd), 9)
    return d


def _outcome(events: list[dict]) -> str:
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


def _merge_digest(old: dict, new: dict) -> dict:
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
