"""opencode (`opencode run`): JSON events with `sessionID`, `-s ID`, rollover compaction.

    opencode run --format json --auto [-m provider/model] [-s ses_...] PROMPT

Every line carries `sessionID`; `text` parts carry the answer; `step_finish` parts
carry tokens and cost (summed over the steps of a turn). The prompt goes through
stdin: opencode 1.18 wraps an argv prompt containing spaces in quotes before it
reaches the model, but reads stdin verbatim.

`--print-logs --log-level ERROR` puts each failed model request on stderr (opencode
retries a 429 silently, for minutes): csa sees a rate limit while it is being retried.

Session ids are `ses_` plus 26 letters and digits. A failure is an `error` line whose
`error` is a named error (`{"name": "APIError", "data": {"message": ..., "statusCode": 429}}`);
the texts matched below are listed with their sources in tools/REALCLI_NOTES.md.
"""

from __future__ import annotations

from dataclasses import replace

from csa.tools.base import Tool, TurnOutcome, TurnSpec


class OpenCode(Tool):
    name = "opencode"
    binary = "opencode"
    package = "opencode-ai"
    family = ""  # whichever provider its configured model belongs to
    id_pattern = r"ses_[0-9A-Za-z]{8,64}"
    importer = "csa.tools.opencode.importer:OpenCodeReader"
    failure_patterns = (
        ("auth", r"ProviderAuthError|status 40[13]\b|invalid.?(x-)?api.?key|incorrect api key|"
                 r"authentication_error|unauthorized|api key not valid"),
        ("quota", r"insufficient_quota|exceeded your current quota|usage.?limit|"
                  r"quota (exceeded|will reset)|credit balance is too low"),
        ("overloaded", r"status 5(03|29)\b|overloaded|server_is_overloaded|no capacity"),
        ("rate_limit", r"status 429\b|too many requests|rate.?limit|RESOURCE_EXHAUSTED"),
    )

    # With --print-logs --log-level ERROR, each failed model request is one stderr line:
    # `... level=ERROR ... message="stream error" ... error.error="AI_APICallError: ..."`
    # (opencode retries a 429 silently and for ever otherwise).
    retry_line = r'level=ERROR .*message="stream error"'

    def new_argv(self, t: TurnSpec) -> list[str]:
        argv = [t.binary, "run", "--format", "json", "--auto", "--print-logs",
                "--log-level", "ERROR"]
        if t.model:
            argv += ["-m", t.model]
        argv += t.extra_args
        if t.provider_session_id:
            argv += ["-s", self.check_id(t.provider_session_id)]
        return argv if t.prompt_via_stdin else argv + [self.safe_prompt(t.prompt)]

    resume_argv = new_argv
    native_fork = True

    def fork_argv(self, t: TurnSpec) -> list[str]:
        # opencode run -s ID --fork: a copy of session ID under a new ses_ id.
        argv = self.new_argv(replace(t, provider_session_id=t.fork_from, prompt_via_stdin=True))
        argv.append("--fork")
        return argv if t.prompt_via_stdin else argv + [self.safe_prompt(t.prompt)]

    def observe(self, event: dict, turn: TurnOutcome) -> None:
        if event.get("sessionID"):
            self.take_id(turn, event["sessionID"])
        kind = event.get("type")
        part = event.get("part") or {}
        if not isinstance(part, dict):
            return
        if kind == "step_start":
            # The answer is the text of the last step; earlier steps led up to tool calls.
            turn.texts.clear()
        elif kind == "text" and isinstance(part.get("text"), str):
            turn.texts.append(part["text"])
        elif kind == "tool_use":
            turn.count_tool(part.get("tool"))
        elif kind == "step_finish":
            tokens = part.get("tokens") or {}
            if isinstance(tokens, dict):
                cache = tokens.get("cache") or {}
                turn.add_tokens(
                    input_tokens=tokens.get("input"),
                    output_tokens=tokens.get("output"),
                    reasoning_tokens=tokens.get("reasoning"),
                    cached_input_tokens=cache.get("read") if isinstance(cache, dict) else None,
                )
            cost = part.get("cost")
            if isinstance(cost, int | float) and not isinstance(cost, bool):
                turn.cost_usd = (turn.cost_usd or 0.0) + float(cost)
        elif kind == "error":
            turn.is_error = True
            turn.errors.append(_error_text(event.get("error")))

    def render(self, event: dict) -> str:
        kind = event.get("type")
        if kind == "text":
            return str((event.get("part") or {}).get("text") or "")
        if kind == "tool_use":
            return f"tool {(event.get('part') or {}).get('tool')}"
        if kind == "error":
            return _error_text(event.get("error"))
        return ""


def _error_text(err) -> str:
    """A named error as one line: `APIError: message (status 429)`."""
    if not isinstance(err, dict):
        return str(err or "error")
    data = err.get("data") if isinstance(err.get("data"), dict) else {}
    text = str(data.get("message") or err.get("message") or "error")
    if err.get("name"):
        text = f"{err['name']}: {text}"
    status = data.get("statusCode")
    if isinstance(status, int) and not isinstance(status, bool):
        text += f" (status {status})"
    return text
