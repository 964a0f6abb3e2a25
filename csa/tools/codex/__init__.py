"""codex (`codex exec`): JSONL events, `exec resume THREAD_ID`, rollover compaction.

    codex exec --json --skip-git-repo-check --dangerously-bypass-approvals-and-sandbox \
        -c allow_login_shell=false PROMPT
    codex exec resume --json ... THREAD_ID PROMPT
    codex exec --json ... --ephemeral PROMPT                 (csa run --ephemeral)

`thread.started` carries the provider id; `item.completed` with an `agent_message`
item carries the answer; `turn.completed` carries usage — on a resumed thread, the
running total of the thread (csa turns it into per-turn figures). `/compact` in
exec mode is an ordinary prompt, so csa compacts by rollover.

Thread ids are UUIDs (v7). Failures arrive as `{"type":"error","message":...}` and
`{"type":"turn.failed","error":{"message":...}}`, e.g. `exceeded retry limit, last status:
429 Too Many Requests, request id: ...`; the texts matched below are listed with their
sources in tools/REALCLI_NOTES.md ("Failure messages").

`allow_login_shell=false`: codex's shell tool (`exec_command`) otherwise runs
`bash -lc`, whose /etc/profile resets PATH, so the agent loses the PATH csa gave it
(a csa in a virtualenv becomes `command not found`). With it the command runs in a
plain `bash -c`, and a model that asks for `login: true` is told login shells are
disabled. `tools.codex.args = ["-c", "allow_login_shell=true"]` restores the login
shell (the last `-c` wins).
"""

from __future__ import annotations

from csa.tools.base import UUID_RE, Tool, TurnOutcome, TurnSpec

FLAGS = ["--json", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox",
         "-c", "allow_login_shell=false"]


class Codex(Tool):
    name = "codex"
    binary = "codex"
    package = "@openai/codex"
    family = "openai"
    id_pattern = UUID_RE
    importer = "csa.tools.codex.importer:CodexReader"
    failure_patterns = (
        ("auth", r"status 40[13] (unauthorized|forbidden)|invalid_api_key|incorrect api key|"
                 r"auth error|access token could not be refreshed|refresh token|"
                 r"please (log|sign) in|missing env var"),
        ("quota", r"usage.?limit|insufficient_quota|quota exceeded|exceeded your current quota|"
                  r"check your plan and billing"),
        ("overloaded", r"at capacity|server_is_overloaded|slow_down|overloaded|"
                       r"status 5(03|29)\b"),
        ("rate_limit", r"status:? 429\b|429 too many requests|rate_limit_exceeded|"
                       r"rate limit reached|rate.?limit"),
    )
    stdin_prompt = True
    cumulative_usage = True

    def _tail(self, t: TurnSpec) -> list[str]:
        argv = list(FLAGS)
        if t.ephemeral:
            argv.append("--ephemeral")  # no rollout file (csa run --ephemeral)
        if t.model:
            argv += ["-m", t.model]
        return argv + t.extra_args

    def _prompt(self, t: TurnSpec) -> str:
        # "-" makes codex read the prompt from stdin.
        return "-" if t.prompt_via_stdin else self.safe_prompt(t.prompt)

    def new_argv(self, t: TurnSpec) -> list[str]:
        return [t.binary, "exec", *self._tail(t), self._prompt(t)]

    def resume_argv(self, t: TurnSpec) -> list[str]:
        return [t.binary, "exec", "resume", *self._tail(t),
                self.check_id(t.provider_session_id), self._prompt(t)]

    native_fork = True

    def fork_argv(self, t: TurnSpec) -> list[str]:
        # codex exec fork ... THREAD_ID PROMPT: a new thread starting from THREAD_ID's.
        return [t.binary, "exec", "fork", *self._tail(t), self.check_id(t.fork_from),
                self._prompt(t)]

    def observe(self, event: dict, turn: TurnOutcome) -> None:
        kind = event.get("type")
        if kind == "thread.started":
            self.take_id(turn, event.get("thread_id"))
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

    def retry_event_text(self, event: dict) -> str | None:
        # `{"type":"error","message":"Reconnecting... 1/5 (unexpected status 429 ...)"}`
        message = event.get("message")
        if event.get("type") == "error" and isinstance(message, str) \
                and message.startswith("Reconnecting..."):
            return message
        return None

    def render(self, event: dict) -> str:
        kind = event.get("type")
        if kind == "item.completed":
            item = event.get("item") or {}
            text = item.get("text") or item.get("command") or item.get("message")
            return f"{item.get('type')}: {text or ''}"
        if kind in ("turn.failed", "error"):
            err = event.get("error") or event.get("message")
            return str(err.get("message") if isinstance(err, dict) else err or "")
        return ""
