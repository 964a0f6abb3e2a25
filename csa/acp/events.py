"""The ACP messages a turn records, as JSON objects the relay reads like a tool's stdout.

    >>> line = dumps(update({"sessionUpdate": "agent_message_chunk",
    ...                      "content": {"type": "text", "text": "hi"}}))
    >>> observe(orjson.loads(line), outcome)            # outcome.texts == ["hi"]
    >>> render({"type": "acp", "method": "session/prompt", "stopReason": "end_turn"})
    'session/prompt: end_turn'

Every object is `{"type": "acp", "method": M, ...}` with the wire's own field names
(camelCase, as the SDK dumps them by alias). The transcript holds each one as
`{"type": "event", "stream": "stdout", "event": {...}}` like any tool event:

    initialize                  agent (name, version), protocolVersion, capabilities
    session/new | session/load  sessionId (load: replayed = history updates not re-recorded)
    session/update              update: the agent's SessionUpdate (message chunks, tool
                                calls, plans, usage_update ...)
    session/request_permission  toolCall, options, policy, answer (the optionId chosen or
                                "cancelled"), outcome: allowed | denied | unanswered
    session/cancel              reason (timeout, interrupted, ...)
    session/prompt              stopReason, usage (the turn's tokens, when the agent sends them)
    error                       message (a failed request, the agent gone)
    warning                     message (e.g. --model not offered by the agent)
"""

from __future__ import annotations

from typing import Any

import orjson

KIND = "acp"

# PromptResponse.usage (camelCase) -> csa's token names (as the headless tools use them).
USAGE_KEYS = {"inputTokens": "input_tokens", "outputTokens": "output_tokens",
              "cachedReadTokens": "cached_input_tokens",
              "cachedWriteTokens": "cache_creation_input_tokens",
              "thoughtTokens": "reasoning_tokens"}


def event(method: str, **fields: Any) -> dict:
    return {"type": KIND, "method": method, **{k: v for k, v in fields.items()
                                               if v is not None}}


def update(data: dict) -> dict:
    return event("session/update", update=data)


def dumps(obj: dict) -> bytes:
    """One event line (what the client thread writes for the relay)."""
    return orjson.dumps(obj, default=str) + b"\n"


def is_acp(ev: Any) -> bool:
    return isinstance(ev, dict) and ev.get("type") == KIND


def observe(ev: dict, outcome, take_id=None) -> None:
    """Fill a csa.tools.base.TurnOutcome from one recorded ACP event. `take_id(outcome,
    pid)` records the session id (the tool's check of its shape)."""
    method = ev.get("method")
    if method in ("session/new", "session/load"):
        sid = ev.get("sessionId")
        if take_id is not None:
            take_id(outcome, sid)
        elif isinstance(sid, str):
            outcome.provider_session_id = sid
    elif method == "session/update":
        _observe_update(ev.get("update"), outcome)
    elif method == "session/prompt":
        usage = ev.get("usage")
        if isinstance(usage, dict):
            outcome.add_tokens(**{USAGE_KEYS[k]: v for k, v in usage.items() if k in USAGE_KEYS})
        if ev.get("stopReason") == "refusal":
            outcome.errors.append("the agent refused the prompt (stopReason refusal)")
    elif method == "error":
        outcome.is_error = True
        outcome.errors.append(str(ev.get("message") or "ACP error"))


def _observe_update(upd: Any, outcome) -> None:
    if not isinstance(upd, dict):
        return
    kind = upd.get("sessionUpdate")
    if kind == "agent_message_chunk":
        content = upd.get("content")
        if isinstance(content, dict) and isinstance(content.get("text"), str):
            outcome.texts.append(content["text"])
    elif kind == "tool_call":
        name = upd.get("title") or upd.get("kind") or "tool"
        outcome.count_tool(str(name)[:80])
    elif kind == "usage_update":
        cost = upd.get("cost")
        if isinstance(cost, dict) and isinstance(cost.get("amount"), int | float) \
                and not isinstance(cost.get("amount"), bool):
            outcome.cost_usd = float(cost["amount"])  # the session's running total


def render(ev: dict) -> str:
    """One recorded ACP event as a short line for people ("" when it shows nothing)."""
    method = ev.get("method")
    if method == "session/update":
        upd = ev.get("update") if isinstance(ev.get("update"), dict) else {}
        kind = upd.get("sessionUpdate")
        content = upd.get("content")
        if isinstance(content, dict) and isinstance(content.get("text"), str):
            who = {"agent_message_chunk": "agent", "agent_thought_chunk": "thought",
                   "user_message_chunk": "user"}.get(kind, kind)
            return f"{who}: {content['text']}"
        if kind in ("tool_call", "tool_call_update"):
            title = upd.get("title") or upd.get("kind") or ""
            return f"{kind} {upd.get('toolCallId', '')} {title} {upd.get('status') or ''}".strip()
        return str(kind or "")
    if method == "session/request_permission":
        call = ev.get("toolCall") if isinstance(ev.get("toolCall"), dict) else {}
        return (f"permission {call.get('title') or call.get('kind') or ''}: "
                f"{ev.get('outcome')} ({ev.get('answer')}, policy {ev.get('policy')})")
    if method == "session/prompt":
        return f"session/prompt: {ev.get('stopReason')}"
    if method in ("session/new", "session/load"):
        return f"{method} {ev.get('sessionId')}"
    if method == "initialize":
        agent = ev.get("agent") if isinstance(ev.get("agent"), dict) else {}
        return f"initialize {agent.get('name', '?')} {agent.get('version', '')}".strip()
    if method in ("error", "warning", "session/cancel"):
        return f"{method}: {ev.get('message') or ev.get('reason') or ''}"
    return str(method or "")
