"""One model reply in each provider's wire format: a text answer or one tool call.

``reply(api, body, model, part, stream)`` returns ``(content type, payload)`` for
the Anthropic Messages, OpenAI Responses, OpenAI Chat Completions and Gemini APIs,
streamed (text/event-stream, the event sequence each SDK expects) or as one JSON
object. ``part`` is a ``Text`` or a ``Call``; a call ends the model's turn the way
each API says "run this tool and send me its result" (``stop_reason: tool_use``,
a ``function_call`` output item, ``finish_reason: tool_calls``, a ``functionCall``
part).

Example::

    ctype, payload = reply("chat", {"model": "m"}, "m", Text("hi"), stream=False)
    ctype, payload = reply("anthropic", body, "claude-x",
                           Call.new("anthropic", "Bash", {"command": "ls"}), stream=True)
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

__all__ = ["INPUT_TOKENS", "OUTPUT_TOKENS", "Call", "Text", "reply", "sse"]

INPUT_TOKENS = 10
OUTPUT_TOKENS = 5


@dataclass(frozen=True)
class Text:
    """A plain text answer. Example: ``Text("MOCK-REPLY #1 (user turns seen: 1)")``"""

    text: str


@dataclass(frozen=True)
class Call:
    """One tool call: the id the CLI echoes back with the result, the tool, its arguments.

    Example: ``Call.new("responses", "exec_command", {"cmd": "ls"}).call_id -> "call_mock_..."``
    """

    call_id: str
    name: str
    args: dict[str, Any]

    @classmethod
    def new(cls, api: str, name: str, args: dict[str, Any]) -> Call:
        # Anthropic ids look like toolu_..., the OpenAI ones call_...; the CLIs only echo them.
        prefix = "toolu_mock_" if api == "anthropic" else "call_mock_"
        return cls(prefix + uuid.uuid4().hex[:24], name, dict(args))


def sse(events: list[tuple[str | None, Any]]) -> bytes:
    """Frame (event name, payload) pairs as one text/event-stream body.

    Example: ``sse([(None, "[DONE]")]) -> b"data: [DONE]\\n\\n"``
    """
    out = []
    for name, data in events:
        payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
        out.append((f"event: {name}\n" if name else "") + f"data: {payload}\n\n")
    return "".join(out).encode()


def _anthropic(body: dict, part: Text | Call, stream: bool) -> tuple[str, bytes]:
    usage = {
        "input_tokens": INPUT_TOKENS,
        "output_tokens": OUTPUT_TOKENS,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }
    if isinstance(part, Call):
        block: dict[str, Any] = {"type": "tool_use", "id": part.call_id, "name": part.name,
                                 "input": part.args}
        stop = "tool_use"
    else:
        block, stop = {"type": "text", "text": part.text}, "end_turn"
    message = {
        "id": f"msg_mock_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model") or "claude-mock",
        "content": [block],
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": usage,
    }
    if not stream:
        return "application/json", json.dumps(message).encode()
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    if isinstance(part, Call):
        # The input arrives as JSON text deltas; the start block carries an empty input.
        first = {**block, "input": {}}
        delta = {"type": "input_json_delta", "partial_json": json.dumps(part.args)}
    else:
        first = {"type": "text", "text": ""}
        delta = {"type": "text_delta", "text": part.text}
    events = [
        {"type": "message_start", "message": start},
        {"type": "content_block_start", "index": 0, "content_block": first},
        {"type": "content_block_delta", "index": 0, "delta": delta},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
         "usage": {"output_tokens": OUTPUT_TOKENS}},
        {"type": "message_stop"},
    ]
    return "text/event-stream", sse([(e["type"], e) for e in events])


def _responses(body: dict, part: Text | Call, stream: bool) -> tuple[str, bytes]:
    if isinstance(part, Call):
        item: dict[str, Any] = {
            "id": f"fc_mock_{uuid.uuid4().hex[:24]}",
            "type": "function_call",
            "status": "completed",
            "call_id": part.call_id,
            "name": part.name,
            "arguments": json.dumps(part.args),
        }
    else:
        item = {
            "id": f"msg_mock_{uuid.uuid4().hex[:24]}",
            "type": "message",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": part.text, "annotations": []}],
        }
    base = {
        "id": f"resp_mock_{uuid.uuid4().hex[:24]}",
        "object": "response",
        "created_at": int(time.time()),
        "model": body.get("model") or "gpt-mock",
    }
    done = {
        **base,
        "status": "completed",
        "output": [item],
        "usage": {
            "input_tokens": INPUT_TOKENS,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": OUTPUT_TOKENS,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS,
        },
    }
    if not stream:
        return "application/json", json.dumps(done).encode()
    events = [
        {"type": "response.created", "response": {**base, "status": "in_progress", "output": []}},
        {"type": "response.output_item.done", "output_index": 0, "item": item},
        {"type": "response.completed", "response": done},
    ]
    return "text/event-stream", sse(
        [(e["type"], {**e, "sequence_number": i}) for i, e in enumerate(events)]
    )


def _chat(body: dict, part: Text | Call, stream: bool) -> tuple[str, bytes]:
    base = {
        "id": f"chatcmpl-mock-{uuid.uuid4().hex[:20]}",
        "created": int(time.time()),
        "model": body.get("model") or "chat-mock",
    }
    usage = {
        "prompt_tokens": INPUT_TOKENS,
        "completion_tokens": OUTPUT_TOKENS,
        "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS,
    }
    if isinstance(part, Call):
        call = {"id": part.call_id, "type": "function",
                "function": {"name": part.name, "arguments": json.dumps(part.args)}}
        message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": [call]}
        finish = "tool_calls"
    else:
        message, finish = {"role": "assistant", "content": part.text}, "stop"
    if not stream:
        msg = {**base, "object": "chat.completion",
               "choices": [{"index": 0, "message": message, "finish_reason": finish}],
               "usage": usage}
        return "application/json", json.dumps(msg).encode()
    chunk = {**base, "object": "chat.completion.chunk"}
    if isinstance(part, Call):
        # Streamed tool calls carry an index; the finish reason comes in a last, empty delta.
        delta = {"role": "assistant", "tool_calls": [{**call, "index": 0}]}
        chunks = [
            {**chunk, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
            {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}],
             "usage": usage},
        ]
    else:
        chunks = [{**chunk, "choices": [{"index": 0, "delta": message, "finish_reason": finish}],
                   "usage": usage}]
    return "text/event-stream", sse([*((None, c) for c in chunks), (None, "[DONE]")])


def _gemini(model: str, part: Text | Call, stream: bool) -> tuple[str, bytes]:
    if isinstance(part, Call):
        piece: dict[str, Any] = {"functionCall": {"id": part.call_id, "name": part.name,
                                                  "args": part.args}}
    else:
        piece = {"text": part.text}
    obj = {
        "candidates": [
            {"content": {"role": "model", "parts": [piece]}, "finishReason": "STOP", "index": 0}
        ],
        "usageMetadata": {
            "promptTokenCount": INPUT_TOKENS,
            "candidatesTokenCount": OUTPUT_TOKENS,
            "totalTokenCount": INPUT_TOKENS + OUTPUT_TOKENS,
        },
        "modelVersion": model,
        "responseId": f"mock-{uuid.uuid4().hex[:16]}",
    }
    if not stream:
        return "application/json", json.dumps(obj).encode()
    return "text/event-stream", sse([(None, obj)])


def reply(api: str, body: dict, model: str | None, part: Text | Call,
          stream: bool) -> tuple[str, bytes]:
    """The (content type, payload) of one model reply of ``api``.

    Example: ``reply("gemini", {}, "gemini-x", Text("hi"), False)[0] -> "application/json"``
    """
    if api == "anthropic":
        return _anthropic(body, part, stream)
    if api == "responses":
        return _responses(body, part, stream)
    if api == "chat":
        return _chat(body, part, stream)
    return _gemini(model or "gemini-mock", part, stream)
