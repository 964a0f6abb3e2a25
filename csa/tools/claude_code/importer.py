"""claude-code's own store: `~/.claude/projects/<cwd>/<id>.jsonl`, with sub-agent
sidechains (`<id>/subagents/agent-*.jsonl`, or `isSidechain` lines in older versions).

    >>> ClaudeReader().discover([])      # the default store
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from csa.importers.base import (
    MAX_CONTEXT_TEXT,
    MAX_TOOL_TEXT,
    Parsed,
    Reader,
    Source,
    as_str,
    cut_text,
    file_mtime,
    flatten,
    head_objects,
    int_fields,
    is_context,
    json_text,
    jsonl_objects,
    source_files,
)
from csa.safeio import read_bytes

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
        for f in source_files(paths, ("*.jsonl",)):
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
                sid = next((o["sessionId"] for o in head_objects(f, 256 * 1024)
                            if isinstance(o.get("sessionId"), str)), None)
                parent = f.parent / f"{sid}.jsonl" if sid else None
            if parent is not None:
                yield self._source(f, str(parent), agent_id, sid)

    def _source(self, f: Path, parent_key: str | None, agent_id: str | None,
                parent_sid: str | None = None) -> Source:
        # A sub-agent has no id of its own that `claude --resume` accepts: it is known by
        # its parent's session id plus its agent id.
        src = Source(key=str(f), path=str(f), files=[f], mtime=file_mtime(f),
                     parent_key=parent_key, agent_id=agent_id,
                     provider_id=parent_sid if agent_id else f.stem)
        for o in head_objects(f, 256 * 1024):
            if isinstance(o.get("cwd"), str):
                src.cwd = o["cwd"]
                if agent_id is None and isinstance(o.get("sessionId"), str):
                    src.provider_id = o["sessionId"]
                break
        meta = f.with_name(f.stem + ".meta.json")
        if agent_id is not None and meta.is_file():
            try:
                m = orjson.loads(read_bytes(meta, "import-file"))
                src.meta["agent"] = m if isinstance(m, dict) else {}
            except (OSError, orjson.JSONDecodeError):
                pass
        return src

    def read(self, src: Source, entry: dict) -> Parsed:
        p = Parsed(provider_id=src.provider_id, cwd=src.cwd)
        self._alias: dict[str, str | None] = {}  # uuid of a line that left no event -> parent
        state = dict(entry.get("state") or {})
        agent = src.meta.get("agent") or {}
        p.agent_meta = {k: agent[k] for k in ("agentType", "description", "model", "spawnDepth")
                        if isinstance(agent.get(k), str | int)}
        if isinstance(agent.get("model"), str):
            p.model = agent["model"]
        offset, lines = int(entry.get("offset") or 0), int(entry.get("lines") or 0)
        for _n, d in jsonl_objects(src.files[0], offset, lines, p):
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
        first = len(p.events)
        self._record(p, d, state)
        _link(p.events[first:], d, self._alias)

    def _record(self, p: Parsed, d: dict, state: dict) -> None:
        t = as_str(d.get("type"))
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
            p.add("system", cut_text(text, MAX_CONTEXT_TEXT), ts=ts, source=self.name,
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
                (context if is_context(b["text"]) else said).append(b["text"])
            elif bt == "tool_result":
                p.add("tool_result", flatten(b.get("content")), ts=ts, source=self.name,
                      id=b.get("tool_use_id"), is_error=bool(b.get("is_error")),
                      agent_id=result.get("agentId"))
            elif bt:
                said.append(f"[{bt}]")
        meta = bool(d.get("isMeta") or d.get("isCompactSummary"))
        if said and not meta:
            p.add("user", "\n".join(said), ts=ts, source=self.name, id=d.get("uuid"))
        elif said or context:
            p.add("system", cut_text("\n".join(said + context), MAX_CONTEXT_TEXT), ts=ts,
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
            usage = int_fields(msg.get("usage"), {
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
                ev = p.add("tool_call", json_text(b.get("input"), MAX_TOOL_TEXT), ts=ts,
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


def _link(new: list[dict], d: dict, alias: dict) -> None:
    """The turn DAG: each event of a line carries the line's `uuid` and `parent_uuid`
    (claude's `parentUuid`, or `logicalParentUuid` across a compaction boundary). A line
    that left no event (thinking, metadata) is skipped over: its children point at its
    nearest ancestor that did."""
    u = d.get("uuid")
    if not isinstance(u, str) or not u:
        return
    parent = d.get("parentUuid") or d.get("logicalParentUuid")
    parent = parent if isinstance(parent, str) and parent else None
    seen: set[str] = set()
    while parent in alias and parent not in seen:
        seen.add(parent)
        parent = alias[parent]
    if not new:
        alias[u] = parent
        return
    for ev in new:
        ev["uuid"] = u
        if parent:
            ev["parent_uuid"] = parent


# ---------------------------------------------------------------------------------------
# codex: $CODEX_HOME/sessions/YYYY/MM/DD/rollout-<ts>-<thread id>.jsonl
# ---------------------------------------------------------------------------------------

