"""How many conversational user turns a request carries, and what the newest one says.

Shared by tools/mock_llm.py (the ``(user turns seen: k)`` in every reply) and its
tool-call scripting (a rule fires when the newest user turn contains its text).
The entries are ``messages`` (anthropic, chat), ``input`` items (responses) or
``contents`` (gemini); see REALCLI_NOTES.md for what each real CLI sends.

Example::

    count_user_turns("chat", {"messages": [{"role": "user", "content": "hi"}]})   # 1
    latest_user_text("chat", {"messages": [{"role": "user", "content": "hi"}]})   # "hi"
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["count_user_turns", "entries", "latest_user_text"]

# Text blocks the CLIs inject into user-role messages that are context, not a
# turn the user typed. A user message made only of these is not a turn.
# claude-code: <system-reminder> (CLAUDE.md, date, skills), local-command
# caveats/stdout around slash commands. codex: environment context, AGENTS.md
# and user-instructions blocks. gemini-cli: its session-context preamble.
_CONTEXT_TEXT = re.compile(
    r"""^\s*(?:
        <system-reminder>
      | <local-command-caveat>
      | <local-command-stdout>
      | <local-command-stderr>
      | <command-name>
      | Caveat:\ The\ messages\ below\ were\ generated\ by\ the\ user
      | <environment_context>
      | <user_instructions>
      | <user_shell_command>
      | <turn_aborted>
      | <skill>
      | \#\ AGENTS\.md\ instructions\ for
      | <INSTRUCTIONS>
      | This\ is\ the\ Gemini\ CLI\.\ We\ are\ setting\ up\ the\ context
      | <session_context>
    )""",
    re.VERBOSE,
)


def _is_context_text(text: str) -> bool:
    """Whether an injected text block is CLI context rather than user input.

    Example: ``_is_context_text("<system-reminder>x</system-reminder>") -> True``
    """
    return bool(_CONTEXT_TEXT.match(text)) or not text.strip()


def _texts(content: Any, text_types: tuple[str, ...]) -> list[str] | None:
    """The text pieces of a message ``content`` (string or list of typed blocks).

    Returns None when the content has no text at all (e.g. only tool results),
    so callers can tell "no text" from "only context text".

    Example: ``_texts([{"type": "text", "text": "hi"}], ("text",)) -> ["hi"]``
    """
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list):
        return None
    out = [
        b["text"]
        for b in content
        if isinstance(b, dict) and b.get("type") in text_types and isinstance(b.get("text"), str)
    ]
    return out or None


def _gemini_texts(entry: dict) -> list[str] | None:
    """The text parts of a gemini content that are not model thoughts (None: no text)."""
    parts = entry.get("parts") or []
    texts = [p["text"] for p in parts
             if isinstance(p, dict) and isinstance(p.get("text"), str) and not p.get("thought")]
    return texts or None


def _is_turn(texts: list[str] | None) -> bool:
    """A user message is a turn when it has some text that is not injected context."""
    return texts is not None and any(not _is_context_text(t) for t in texts)


def _classify_entry(api: str, entry: Any) -> str:
    """Classify one conversation entry as ``"turn"``, ``"model"`` or ``"other"``.

    ``turn``: a user message with typed text that is not injected context.
    ``model``: something the model produced (ends a run of user messages).
    ``other``: system/developer prompts, tool results, context-only user
    messages; they neither start nor end a turn.

    Example: ``_classify_entry("chat", {"role": "assistant", "content": "x"}) -> "model"``
    """
    if not isinstance(entry, dict):
        return "other"
    role = entry.get("role")
    if api == "gemini":
        role = role or "user"
        if role == "model":
            return "model"
        if role != "user":
            return "other"
        return "turn" if _is_turn(_gemini_texts(entry)) else "other"
    if api == "responses":
        kind = entry.get("type", "message")
        if role == "user" and kind == "message":
            texts = _texts(entry.get("content"), ("input_text", "text"))
            return "turn" if _is_turn(texts) else "other"
        if role in ("user", "developer", "system") or str(kind).endswith("_output"):
            return "other"
        # Assistant messages, reasoning and tool calls are all model output.
        return "model"
    # anthropic and chat share the role/content shape.
    if role == "user":
        return "turn" if _is_turn(_texts(entry.get("content"), ("text",))) else "other"
    return "model" if role == "assistant" else "other"


def count_user_turns(api: str, body: Any) -> int:
    """Count the conversational user turns in a request body of the given API.

    The entries are ``messages`` (anthropic, chat), ``input`` items
    (responses) or ``contents`` (gemini). A user entry is a turn candidate
    when it carries text (text / input_text blocks, text parts) that is not
    context a CLI injects (system reminders, slash-command caveats, codex's
    environment context and AGENTS.md, gemini's session context): so
    tool_result / function_call_output / functionResponse-only messages do
    not count. Consecutive candidates with no model output between them count
    once, because CLIs split one prompt into several user messages (opencode's
    title request sends "Generate a title..." and the prompt separately).

    Example: ``count_user_turns("chat", {"messages": [{"role": "user", "content": "hi"}]}) -> 1``
    """
    if not isinstance(body, dict):
        return 0
    if api == "responses" and isinstance(body.get("input"), str):
        return 1
    n, in_turn = 0, False
    for entry in entries(api, body):
        kind = _classify_entry(api, entry)
        if kind == "turn" and not in_turn:
            n += 1
            in_turn = True
        elif kind == "model":
            in_turn = False
    return n


def entries(api: str, body: Any) -> list[Any]:
    """The conversation entries of a request body (empty when it has none).

    Example: ``entries("gemini", {"contents": [{"role": "user"}]}) -> [{"role": "user"}]``
    """
    if not isinstance(body, dict):
        return []
    key = {"anthropic": "messages", "chat": "messages", "responses": "input", "gemini": "contents"}
    found = body.get(key.get(api, ""))
    return found if isinstance(found, list) else []


def _entry_texts(api: str, entry: dict) -> list[str]:
    """The non-context text pieces of one user entry."""
    if api == "gemini":
        texts = _gemini_texts(entry) or []
    else:
        types = ("input_text", "text") if api == "responses" else ("text",)
        texts = _texts(entry.get("content"), types) or []
    return [t for t in texts if not _is_context_text(t)]


def latest_user_text(api: str, body: Any) -> str:
    """The text the user typed in the newest turn of a request (context blocks left out).

    claude-code puts a ``role: "system"`` entry after it and tool results follow
    it, so this looks back past anything that is not a turn.

    Example: ``latest_user_text("responses", {"input": "hello"}) -> "hello"``
    """
    if api == "responses" and isinstance(body, dict) and isinstance(body.get("input"), str):
        return body["input"]
    for entry in reversed(entries(api, body)):
        if _classify_entry(api, entry) == "turn":
            return "\n".join(_entry_texts(api, entry))
    return ""
