"""codex's own store: `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*-<thread id>.jsonl`.

    >>> CodexReader().discover([])
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
    loads_lenient,
    source_files,
)

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
        for f in source_files(paths, ("rollout-*.jsonl",)):
            src = Source(key=str(f), path=str(f), files=[f], mtime=file_mtime(f))
            m = _UUID_TAIL.search(f.stem)
            src.provider_id = m.group(1) if m else None
            for o in head_objects(f):
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
        for _n, d in jsonl_objects(src.files[0], offset, lines, p):
            self._line(p, d, state)
        p.cursor["state"] = state
        return p

    def _line(self, p: Parsed, d: dict, state: dict) -> None:
        t = as_str(d.get("type"))
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
            p.add("system", "context compacted", ts=ts, source=self.name,
                  subtype="compact_boundary")
        elif t in ("world_state", "token_usage_record"):
            p.ignored += 1
            p.touch(ts)
        else:
            p.note_unknown(f"type={t!r}", ts, self.name)

    def _item(self, p: Parsed, pl: dict, ts: Any) -> None:
        it = as_str(pl.get("type"))
        if it == "message":
            role = pl.get("role")
            text = flatten(pl.get("content"))
            if role == "user":
                if is_context(text):
                    p.add("system", cut_text(text, MAX_CONTEXT_TEXT), ts=ts, source=self.name)
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
            p.add("tool_call", json_text(args, MAX_TOOL_TEXT), ts=ts, source=self.name,
                  name=str(name), id=pl.get("call_id") or pl.get("id"))
        elif it in ("function_call_output", "custom_tool_call_output", "tool_search_output"):
            out = pl.get("output")
            text, is_error = out, False
            if isinstance(out, dict):
                text = out.get("content") or out.get("output") or out
                is_error = out.get("success") is False
            elif isinstance(out, str) and out.startswith("{"):
                meta = loads_lenient(out.encode())
                if isinstance(meta, dict):
                    code = _find_key(meta.get("metadata"), "exit_code")
                    is_error = isinstance(code, int) and code != 0
                    text = meta.get("output", out)
            p.add("tool_result", flatten(text), ts=ts, source=self.name,
                  id=pl.get("call_id"), is_error=is_error)
        elif it in ("reasoning", "ghost_snapshot"):
            p.ignored += 1
            p.touch(ts)
        else:
            p.note_unknown(f"response_item type={it!r}", ts, self.name)

    def _event(self, p: Parsed, pl: dict, ts: Any, state: dict) -> None:
        et = as_str(pl.get("type"))
        if et == "token_count":
            info = pl.get("info") if isinstance(pl.get("info"), dict) else {}
            total = int_fields(info.get("total_token_usage"), {
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
            p.add("system", cut_text(str(pl.get("message") or et), MAX_CONTEXT_TEXT), ts=ts,
                  source=self.name)
        elif et == "turn_aborted":
            p.add("system", f"turn aborted: {pl.get('reason') or 'interrupted'}", ts=ts,
                  source=self.name, is_error=True, subtype="turn_aborted")
        elif et in _CODEX_QUIET_EVENTS:
            p.ignored += 1
            p.touch(ts)
        else:
            p.note_unknown(f"event_msg type={et!r}", ts, self.name)


# ---------------------------------------------------------------------------------------
# gemini-cli: ~/.gemini/tmp/<project slug>/chats/session-<minute>-<uuid8>.jsonl (or .json)
# ---------------------------------------------------------------------------------------

