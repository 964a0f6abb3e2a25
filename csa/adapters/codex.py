"""codex (`codex exec`): JSONL events, `exec resume THREAD_ID`, rollover compaction.

    codex exec --json --skip-git-repo-check --dangerously-bypass-approvals-and-sandbox PROMPT
    codex exec resume --json ... THREAD_ID PROMPT

`thread.started` carries the provider id; `item.completed` with an `agent_message`
item carries the answer; `turn.completed` carries usage — on a resumed thread, the
running total of the thread (csa turns it into per-turn figures). `/compact` in
exec mode is an ordinary prompt, so csa compacts by rollover.
"""

from __future__ import annotations

from csa.adapters.base import Adapter, TurnOutcome, TurnSpec

FLAGS = ["--json", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox"]


class Codex(Adapter):
    name = "codex"
    binary = "codex"
    package = "@openai/codex"
    stdin_prompt = True
    cumulative_usage = True

    def _tail(self, t: TurnSpec) -> list[str]:
        argv = list(FLAGS)
        if t.model:
            argv += ["-m", t.model]
        return argv + t.extra_args

    def _prompt(self, t: TurnSpec) -> str:
        # "-" makes codex read the prompt from stdin.
        return "-" if t.prompt_via_stdin else self.safe_prompt(t.prompt)

    def new_argv(self, t: TurnSpec) -> list[str]:
        return [t.binary, "exec", *self._tail(t), self._prompt(t)]

    def resume_argv(self, t: TurnSpec) -> list[str]:
        return [t.binary, "exec", "resume", *self._tail(t), t.provider_session_id or "",
                self._prompt(t)]

    def observe(self, event: dict, turn: TurnOutcome) -> None:
        kind = event.get("type")
        if kind == "thread.started" and isinstance(event.get("thread_id"), str):
            turn.provider_session_id = event["thread_id"]
        elif kind == "item.completed":
            item = event.get("item") or {}
            if not isinstance(item, dict):
                return
            itype = item.get("type")
            if itype == "agent_message" and isinstance(item.get("text"), str):
                turn.texts.append(item["text"])
                turn.final_text = item["text"]
            elif itype == "error":
                turn.errors.append(str(item.get("message") or item.get("text") or "error"))
            elif itype in ("command_execution", "file_change", "mcp_tool_call", "web_search"):
                turn.count_tool(itype)
        elif kind == "turn.completed":
            usage = event.get("usage") or {}
            if isinstance(usage, dict):
                turn.add_tokens(
                    input_tokens=usage.get("input_tokens"),
                    cached_input_tokens=usage.get("cached_input_tokens"),
                    output_tokens=usage.get("output_tokens"),
                    reasoning_tokens=usage.get("reasoning_output_tokens"),
                )
        elif kind in ("turn.failed", "error"):
            turn.is_error = True
            err = event.get("error") or event.get("message")
            if isinstance(err, dict):
                err = err.get("message")
            turn.errors.append(str(err or kind))
