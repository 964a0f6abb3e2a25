"""A session's transcript read as a conversation: turns of prompt, tool calls and answer.

    >>> turns = conversation(session.read_transcript())
    >>> turns[0]["prompt"], turns[0]["answer"], turns[0]["tool_calls"][0]["name"]
    ('fix the tests', 'Done: 3 tests fixed.', 'Bash')

Everything comes from the transcript, which csa redacted before writing it. A turn is
a dict: `ts`, `tool`, `purpose`, `prompt`, `tool_calls` (`name`, `input`, `output`),
`answer` (the tool's final text), `texts` (assistant text seen), `status`,
`exit_code`, `duration_s`, `tokens`, `cost_usd`, `ended_at`, `errors`. Messages
imported from a tool's own store become turns too (a user message opens one, the
assistant's answer it). Compactions are kept as turns with purpose `compaction`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

MAX_FIELD = 4000  # characters of one tool call's input or output kept in an export


def conversation(events: Iterable[dict]) -> list[dict]:
    """The turns of a transcript, oldest first (see the module docstring)."""
    turns: list[dict] = []
    for ev in events:
        kind = ev.get("type") if isinstance(ev, dict) else None
        if kind == "prompt":
            turns.append(_turn(ev.get("ts"), ev.get("tool"), ev.get("purpose") or "run",
                               _s(ev.get("text"))))
        elif kind == "imported":
            _imported(turns, ev)
        elif kind == "compaction":
            t = _turn(ev.get("ts"), ev.get("tool"), "compaction", "")
            t["answer"] = _s(ev.get("message"))
            turns.append(t)
        elif not turns:
            continue
        elif kind == "event" and isinstance(ev.get("event"), dict):
            _tool_event(turns[-1], ev["event"])
        elif kind == "turn_end":
            _end(turns[-1], ev)
    return turns


def _turn(ts: Any, tool: Any, purpose: str, prompt: str) -> dict:
    return {"ts": ts, "tool": tool, "purpose": purpose, "prompt": prompt, "tool_calls": [],
            "texts": [], "answer": None, "status": None, "exit_code": None,
            "duration_s": None, "tokens": {}, "cost_usd": None, "ended_at": None,
            "errors": []}


def _end(turn: dict, ev: dict) -> None:
    turn.update(status=ev.get("status"), exit_code=ev.get("exit_code"),
                duration_s=ev.get("duration_s"), cost_usd=ev.get("cost_usd"),
                ended_at=ev.get("ts"), errors=[_s(e) for e in ev.get("errors") or []])
    if isinstance(ev.get("tokens"), dict):
        turn["tokens"] = {k: v for k, v in ev["tokens"].items() if isinstance(v, int)}
    if isinstance(ev.get("final_text"), str):
        turn["answer"] = ev["final_text"]


def _imported(turns: list[dict], ev: dict) -> None:
    role, text = ev.get("role"), _s(ev.get("text"))
    ts = ev.get("source_ts") or ev.get("ts")
    if role == "user" or not turns:
        turns.append(_turn(ts, ev.get("source"), "imported", text if role == "user" else ""))
        if role == "user":
            return
    turn = turns[-1]
    if role in ("tool", "tool_use", "tool_call"):
        turn["tool_calls"].append(_call(ev.get("name") or role, text, None))
    elif role == "tool_result":
        _add_output(turn, text)
    elif text:
        turn["answer"] = (turn["answer"] + "\n\n" + text) if turn["answer"] else text


def _tool_event(turn: dict, e: dict) -> None:
    """Tool calls and assistant text in one event of any of the four tools."""
    kind = e.get("type")
    if kind == "acp":  # any tool over ACP (csa.acp.events)
        _acp_event(turn, e)
    elif kind == "assistant":  # claude
        for block in (e.get("message") or {}).get("content") or []:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_use":
                turn["tool_calls"].append(_call(block.get("name"), block.get("input"), None))
            elif block.get("type") == "text":
                turn["texts"].append(_s(block.get("text")))
    elif kind == "user":  # claude: tool results come back as user content
        for block in (e.get("message") or {}).get("content") or []:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                _add_output(turn, block.get("content"))
    elif kind == "item.completed" and isinstance(e.get("item"), dict):  # codex
        item = e["item"]
        if item.get("type") == "agent_message":
            turn["texts"].append(_s(item.get("text")))
        elif item.get("type") in ("command_execution", "function_call", "mcp_tool_call",
                                  "file_change", "web_search"):
            turn["tool_calls"].append(_call(
                item.get("type"), item.get("command") or item.get("arguments") or
                item.get("changes") or item.get("query"), item.get("aggregated_output")))
    elif kind == "tool_use":  # gemini (tool_name) and opencode (part.tool)
        part = e.get("part") if isinstance(e.get("part"), dict) else {}
        state = part.get("state") if isinstance(part.get("state"), dict) else {}
        turn["tool_calls"].append(_call(
            e.get("tool_name") or part.get("tool"), e.get("parameters") or state.get("input"),
            state.get("output")))
    elif kind == "tool_result":  # gemini
        _add_output(turn, e.get("output") or e.get("error"))
    elif kind == "message" and e.get("role") == "assistant":  # gemini
        turn["texts"].append(_s(e.get("content")))
    elif kind == "text" and isinstance(e.get("part"), dict):  # opencode
        turn["texts"].append(_s(e["part"].get("text")))


def _acp_event(turn: dict, e: dict) -> None:
    """An ACP session/update: message chunks, tool calls and their results."""
    upd = e.get("update") if e.get("method") == "session/update" else None
    if not isinstance(upd, dict):
        return
    kind, content = upd.get("sessionUpdate"), upd.get("content")
    if kind == "agent_message_chunk" and isinstance(content, dict):
        turn["texts"].append(_s(content.get("text")))
    elif kind == "tool_call":
        turn["tool_calls"].append(_call(upd.get("title") or upd.get("kind"),
                                        upd.get("rawInput"), None))
    elif kind == "tool_call_update" and upd.get("status") in ("completed", "failed"):
        out = upd.get("rawOutput")
        if out is None and isinstance(content, list):
            out = [c.get("content") for c in content if isinstance(c, dict)]
        _add_output(turn, out)


def _call(name: Any, input_: Any, output: Any) -> dict:
    return {"name": _s(name) or "tool", "input": _text(input_), "output": _text(output)}


def _add_output(turn: dict, output: Any) -> None:
    text = _text(output)
    for call in reversed(turn["tool_calls"]):
        if call["output"] is None:
            call["output"] = text
            return
    if text:
        turn["tool_calls"].append(_call("tool result", None, text))


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):  # content blocks
        value = "\n".join(_s(b.get("text")) if isinstance(b, dict) else _s(b) for b in value)
    if not isinstance(value, str):
        try:
            value = orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
        except TypeError:
            value = str(value)
    return value if len(value) <= MAX_FIELD else value[:MAX_FIELD] + "\n[... cut]"


def _s(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))
