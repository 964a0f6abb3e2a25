"""gemini-cli (`gemini`): stream-json output, `--resume UUID`, rollover compaction.

    gemini -p PROMPT -o stream-json --yolo [-m MODEL] [--resume UUID]

`init` carries `session_id`; assistant `message` lines (often `delta: true`) carry
the answer; `result` carries status and token stats. `/compress` in print mode is
sent to the model as an ordinary prompt, so csa compacts by rollover.
"""

from __future__ import annotations

from csa.adapters.base import Adapter, TurnOutcome, TurnSpec


class GeminiCli(Adapter):
    name = "gemini-cli"
    binary = "gemini"
    package = "@google/gemini-cli"

    def new_argv(self, t: TurnSpec) -> list[str]:
        argv = [t.binary, "-p", self.safe_prompt(t.prompt), "-o", "stream-json", "--yolo"]
        if t.model:
            argv += ["-m", t.model]
        argv += t.extra_args
        if t.provider_session_id:
            argv += ["--resume", t.provider_session_id]
        return argv

    resume_argv = new_argv

    def observe(self, event: dict, turn: TurnOutcome) -> None:
        kind = event.get("type")
        if kind == "init":
            if isinstance(event.get("session_id"), str):
                turn.provider_session_id = event["session_id"]
            if isinstance(event.get("model"), str):
                turn.model = event["model"]
        elif kind == "message":
            if event.get("role") == "assistant" and isinstance(event.get("content"), str):
                turn.texts.append(event["content"])
        elif kind == "tool_use":
            turn.count_tool(event.get("tool_name") or event.get("name"))
        elif kind == "error":
            turn.errors.append(str(event.get("message") or "error"))
        elif kind == "result":
            if event.get("status") not in (None, "success"):
                turn.is_error = True
                err = event.get("error")
                turn.errors.append(str(err.get("message") if isinstance(err, dict) else
                                       err or event.get("status")))
            stats = event.get("stats") or {}
            if isinstance(stats, dict):
                turn.add_tokens(
                    input_tokens=stats.get("input_tokens"),
                    output_tokens=stats.get("output_tokens"),
                    cached_input_tokens=stats.get("cached"),
                    total_tokens=stats.get("total_tokens"),
                )
