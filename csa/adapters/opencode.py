"""opencode (`opencode run`): JSON events with `sessionID`, `-s ID`, rollover compaction.

    opencode run --format json --auto [-m provider/model] [-s ses_...] PROMPT

Every line carries `sessionID`; `text` parts carry the answer; `step_finish` parts
carry tokens and cost (summed over the steps of a turn). The prompt goes through
stdin: opencode 1.18 wraps an argv prompt containing spaces in quotes before it
reaches the model, but reads stdin verbatim.
"""

from __future__ import annotations

from csa.adapters.base import Adapter, TurnOutcome, TurnSpec


class OpenCode(Adapter):
    name = "opencode"
    binary = "opencode"
    package = "opencode-ai"
    stdin_prompt = True
    always_stdin = True

    def new_argv(self, t: TurnSpec) -> list[str]:
        argv = [t.binary, "run", "--format", "json", "--auto"]
        if t.model:
            argv += ["-m", t.model]
        argv += t.extra_args
        if t.provider_session_id:
            argv += ["-s", t.provider_session_id]
        return argv if t.prompt_via_stdin else argv + [self.safe_prompt(t.prompt)]

    resume_argv = new_argv

    def observe(self, event: dict, turn: TurnOutcome) -> None:
        sid = event.get("sessionID")
        if isinstance(sid, str) and sid:
            turn.provider_session_id = sid
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
            err = event.get("error") or {}
            turn.errors.append(str(err.get("message") if isinstance(err, dict) else err))
