"""Scripted shell tool calls for the mock LLM: "when the prompt says X, run Y, then answer Z".

A script is a list of rules (JSON objects, or ``Rule``)::

    [{"when": "spawn a child", "shell": "\\"$CSA_BIN\\" run --tool codex hi",
      "then": "child said: {output}"}]

A request whose newest user turn contains ``when`` and that offers the CLI's
shell tool gets a reply that calls that tool with ``shell`` as its command:
claude-code ``Bash`` {command}, codex ``exec_command`` {cmd}, opencode ``bash``
{command}, gemini-cli ``run_shell_command`` {command}. The CLI runs it and sends
the result in its next request; that follow-up gets ``then`` as the final text
(``{output}`` becomes the tool's output, the CLI's own wrapping included). A rule with an ``error`` key instead
(``{"error": "rate_limit", "apis": ["gemini"], "when": "..."}``) answers matching model
requests with that API failure in the provider's format (tools/mock_errors.py). A rule
with a ``hold`` key (``{"hold": 30, "when": "..."}``) makes the mock wait that many
seconds before it answers a matching model request, a turn still in flight that a
test can cancel (``MockLLM.holds`` lists the holds begun). Rules
are matched in order; ``args`` adds tool arguments (e.g. ``{"login": false}`` for
codex), ``apis`` limits a rule to some of ``anthropic``, ``responses``, ``chat``,
``gemini``. The follow-up is recognised from the request alone (the last model
entry is a shell call of a rule, and its result comes after it), so it works
whichever mock process or thread answered the call.

Example::

    rules = load_rules([{"when": "list", "shell": "ls", "then": "done: {output}"}])
    decide(rules, "chat", body, latest_user_text("chat", body))
    # -> ("call", Call(...)) | ("final", ("done: a.txt", "a.txt")) | None
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mock_turns import entries
from mock_wire import Call

__all__ = ["COMMAND_ARG", "SHELL_TOOLS", "ErrorRule", "HoldRule", "Rule", "decide",
           "load_rules", "offered_tools", "pending_result", "scripted_error", "scripted_hold"]

# The shell tool each CLI offers, by the API it speaks, and its command argument.
SHELL_TOOLS = {"anthropic": "Bash", "responses": "exec_command", "chat": "bash",
               "gemini": "run_shell_command"}
COMMAND_ARG = {"anthropic": "command", "responses": "cmd", "chat": "command",
               "gemini": "command"}
# codex's exec_command returns after yield_time_ms with "still running" (the model
# must then poll with write_stdin, which the mock does not do): wait the maximum.
DEFAULT_ARGS: dict[str, dict[str, Any]] = {
    "anthropic": {"description": "Run a command"},
    "responses": {"yield_time_ms": 30000},
    "gemini": {"description": "Run a command"},
}


@dataclass(frozen=True)
class Rule:
    """One scripted exchange. Example: ``Rule(when="go", shell="echo hi", then="ok {output}")``"""

    when: str
    shell: str
    then: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    apis: tuple[str, ...] = ()

    def applies_to(self, api: str) -> bool:
        return not self.apis or api in self.apis

    def call_args(self, api: str) -> dict[str, Any]:
        return {**DEFAULT_ARGS.get(api, {}), COMMAND_ARG[api]: self.shell, **self.args}

    def final_text(self, output: str) -> str | None:
        return None if self.then is None else self.then.replace("{output}", output)


@dataclass(frozen=True)
class ErrorRule:
    """A scripted API failure (tools/mock_errors.py): ``{"error": "rate_limit", "apis":
    ["gemini"], "when": "optional prompt text"}`` answers matching model requests with it."""

    error: str
    when: str = ""
    apis: tuple[str, ...] = ()

    def applies_to(self, api: str) -> bool:
        return not self.apis or api in self.apis


@dataclass(frozen=True)
class HoldRule:
    """A held reply: ``{"hold": 30, "when": "optional prompt text", "apis": [...]}`` makes
    the mock wait ``hold`` seconds before answering a matching model request."""

    hold: float
    when: str = ""
    apis: tuple[str, ...] = ()

    def applies_to(self, api: str) -> bool:
        return not self.apis or api in self.apis


def _hold_rule(obj: dict) -> HoldRule:
    unknown = set(obj) - {"hold", "when", "apis"}
    hold = obj["hold"]
    if unknown or isinstance(hold, bool) or not isinstance(hold, int | float) or hold < 0 \
            or not isinstance(obj.get("when", ""), str):
        raise ValueError(f"a hold rule is {{'hold': seconds, 'when'?, 'apis'?}}, got {obj!r}")
    bad = set(obj.get("apis") or ()) - set(SHELL_TOOLS)
    if bad:
        raise ValueError(f"unknown apis {sorted(bad)} in script rule; use {sorted(SHELL_TOOLS)}")
    return HoldRule(float(hold), obj.get("when", ""), tuple(obj.get("apis") or ()))


def scripted_hold(rules: list, api: str, prompt: str) -> float:
    """Seconds the first matching hold rule asks the mock to wait (0: none)."""
    for rule in rules:
        if isinstance(rule, HoldRule) and rule.applies_to(api) and rule.when in prompt:
            return rule.hold
    return 0.0


def _error_rule(obj: dict) -> ErrorRule:
    from mock_errors import KINDS

    unknown = set(obj) - {"error", "when", "apis"}
    if unknown or obj["error"] not in KINDS or not isinstance(obj.get("when", ""), str):
        raise ValueError(f"an error rule is {{'error': one of {KINDS}, 'when'?, 'apis'?}}, "
                         f"got {obj!r}")
    bad = set(obj.get("apis") or ()) - set(SHELL_TOOLS)
    if bad:
        raise ValueError(f"unknown apis {sorted(bad)} in script rule; use {sorted(SHELL_TOOLS)}")
    return ErrorRule(obj["error"], obj.get("when", ""), tuple(obj.get("apis") or ()))


def scripted_error(rules: list, api: str, prompt: str) -> str | None:
    """The error kind the first matching error rule asks for this request, or None."""
    for rule in rules:
        if isinstance(rule, ErrorRule) and rule.applies_to(api) and rule.when in prompt:
            return rule.error
    return None


def _rule(obj: Any) -> Rule | ErrorRule | HoldRule:
    if isinstance(obj, Rule | ErrorRule | HoldRule):
        return obj
    if isinstance(obj, dict) and "error" in obj:
        return _error_rule(obj)
    if isinstance(obj, dict) and "hold" in obj:
        return _hold_rule(obj)
    if not isinstance(obj, dict) or not isinstance(obj.get("when"), str) \
            or not isinstance(obj.get("shell"), str):
        raise ValueError(f"a script rule needs string 'when' and 'shell', got {obj!r}")
    unknown = set(obj) - {"when", "shell", "then", "args", "apis"}
    if unknown:
        raise ValueError(f"unknown keys in script rule: {sorted(unknown)}")
    apis = obj.get("apis") or ()
    bad = set(apis) - set(SHELL_TOOLS)
    if bad:
        raise ValueError(f"unknown apis {sorted(bad)} in script rule; use {sorted(SHELL_TOOLS)}")
    return Rule(obj["when"], obj["shell"], obj.get("then"), dict(obj.get("args") or {}),
                tuple(apis))


def load_rules(source: Any) -> list[Rule]:
    """Rules from a list (of dicts or Rules), JSON text, or a path to a JSON file.

    Example: ``load_rules('[{"when": "a", "shell": "true"}]')[0].shell -> "true"``
    """
    if source is None:
        return []
    if isinstance(source, Path | os.PathLike):
        source = Path(source).read_text(encoding="utf-8")
    if isinstance(source, str):
        source = json.loads(source)
    if isinstance(source, dict):
        source = [source]
    if not isinstance(source, list):
        raise ValueError(f"a script is a list of rules, got {type(source).__name__}")
    return [_rule(r) for r in source]


def offered_tools(api: str, body: Any) -> set[str]:
    """The names of the tools a request lets the model call.

    Example: ``offered_tools("chat", {"tools": [{"function": {"name": "bash"}}]}) -> {"bash"}``
    """
    names: set[str] = set()
    tools = body.get("tools") if isinstance(body, dict) else None
    for tool in tools if isinstance(tools, list) else []:
        if not isinstance(tool, dict):
            continue
        if api == "gemini":
            decls = tool.get("functionDeclarations") or tool.get("function_declarations") or []
            names.update(d.get("name") for d in decls if isinstance(d, dict))
        elif api == "chat":
            names.add((tool.get("function") or {}).get("name"))
        else:
            names.add(tool.get("name"))
    names.discard(None)
    return names


def _output_text(value: Any) -> str:
    """A tool result's text: a string, a list of text blocks, or (gemini) a response object."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(b.get("text", "") for b in value if isinstance(b, dict))
    if isinstance(value, dict) and isinstance(value.get("output"), str):
        return value["output"]
    return json.dumps(value)


def _is_model(api: str, entry: Any) -> bool:
    if not isinstance(entry, dict):
        return False
    if api == "gemini":
        return entry.get("role") == "model"
    if api == "responses":
        kind = str(entry.get("type", "message"))
        role = entry.get("role")
        return role not in ("user", "developer", "system") and not kind.endswith("_output")
    return entry.get("role") == "assistant"


def _calls(api: str, entry: dict) -> list[tuple[str | None, str, dict]]:
    """(call id, tool name, arguments) of the tool calls in one model entry."""
    out: list[tuple[str | None, str, dict]] = []
    if api == "responses":
        if entry.get("type") == "function_call":
            out.append((entry.get("call_id"), entry.get("name"), _json_args(entry.get("arguments"))))
    elif api == "chat":
        for c in entry.get("tool_calls") or []:
            fn = c.get("function") or {}
            out.append((c.get("id"), fn.get("name"), _json_args(fn.get("arguments"))))
    else:
        key = "parts" if api == "gemini" else "content"
        blocks = entry.get(key) if isinstance(entry.get(key), list) else []
        for b in blocks:
            if api == "gemini" and isinstance(b.get("functionCall"), dict):
                fc = b["functionCall"]
                out.append((fc.get("id"), fc.get("name"), fc.get("args") or {}))
            elif api == "anthropic" and b.get("type") == "tool_use":
                out.append((b.get("id"), b.get("name"), b.get("input") or {}))
    return out


def _json_args(raw: Any) -> dict:
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _results(api: str, entry: Any) -> list[tuple[str | None, str | None, str]]:
    """(call id, tool name, output text) of the tool results in one entry."""
    if not isinstance(entry, dict):
        return []
    if api == "responses":
        if entry.get("type") == "function_call_output":
            return [(entry.get("call_id"), None, _output_text(entry.get("output")))]
        return []
    if api == "chat":
        if entry.get("role") == "tool":
            return [(entry.get("tool_call_id"), None, _output_text(entry.get("content")))]
        return []
    key = "parts" if api == "gemini" else "content"
    blocks = entry.get(key) if isinstance(entry.get(key), list) else []
    out = []
    for b in blocks:
        if api == "gemini" and isinstance(b, dict) and isinstance(b.get("functionResponse"), dict):
            fr = b["functionResponse"]
            out.append((fr.get("id"), fr.get("name"), _output_text(fr.get("response"))))
        elif api == "anthropic" and isinstance(b, dict) and b.get("type") == "tool_result":
            out.append((b.get("tool_use_id"), None, _output_text(b.get("content"))))
    return out


def pending_result(api: str, body: Any) -> tuple[str, str] | None:
    """(command, output) when a request carries the result of the model's last shell call.

    The last model entry must call the API's shell tool and a later entry must
    hold the result for that call id (gemini-cli may rename ids: there the tool
    name is enough). Anything else, e.g. a new user turn after the answer, is None.

    Example: ``pending_result("chat", body_after_bash_call) -> ("ls", "a.txt\\n")``
    """
    items = entries(api, body)
    last = next((i for i in range(len(items) - 1, -1, -1) if _is_model(api, items[i])), None)
    if last is None:
        return None
    # Responses items are one per call: take every model item since the last non-model one.
    first = last
    while api == "responses" and first > 0 and _is_model(api, items[first - 1]):
        first -= 1
    shell = SHELL_TOOLS.get(api)
    calls = [c for e in items[first:last + 1] for c in _calls(api, e) if c[1] == shell]
    if not calls:
        return None
    call_id, _name, args = calls[-1]
    for entry in items[last + 1:]:
        for rid, rname, output in _results(api, entry):
            if rid == call_id or (api == "gemini" and rname == shell):
                return str(args.get(COMMAND_ARG[api], "")), output
    return None


def decide(rules: list[Rule], api: str, body: Any,
           prompt: str) -> tuple[str, Any] | None:
    """What a scripted mock answers: ``("call", Call)``, ``("final", (text, output))`` or None.

    ``final`` is the follow-up of a scripted call: ``output`` is the tool's result and
    ``text`` the rule's ``then`` (None when it has none: answer as usual). None means
    no rule is involved.

    Example: ``decide(rules, "anthropic", body, "please spawn a child")``
    """
    rules = [r for r in rules if isinstance(r, Rule)]
    if not rules or api not in SHELL_TOOLS:
        return None
    pending = pending_result(api, body)
    if pending is not None:
        command, output = pending
        for rule in rules:
            if rule.applies_to(api) and rule.shell == command:
                return "final", (rule.final_text(output), output)
        return None
    if SHELL_TOOLS[api] not in offered_tools(api, body):
        return None
    for rule in rules:
        if rule.applies_to(api) and rule.when in prompt:
            return "call", Call.new(api, SHELL_TOOLS[api], rule.call_args(api))
    return None
