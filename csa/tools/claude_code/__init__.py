"""claude-code (`claude`): stream-json print mode, `--resume ID`, native `/compact`.

    claude -p PROMPT --output-format stream-json --verbose --dangerously-skip-permissions
    claude -p PROMPT ... --resume 6e18d744-aa3e-4066-8a51-26240fe01126
    claude -p PROMPT ... --no-session-persistence            (csa run --ephemeral)
    claude -p PROMPT ... --session-id 6e18d744-aa3e-4066-8a51-26240fe01126   (new, id chosen by csa)

Every line carries `session_id`; the last line is `{"type":"result",...}` with the
answer in `result`, cost and usage. `usage` is per turn but `total_cost_usd` is the
running total of the claude session (it is reloaded on --resume). As root the tool refuses
`--dangerously-skip-permissions` unless IS_SANDBOX=1 is set (see docs/configuration.md).

Conversation ids are UUIDs. Failures: on an API error the last line is a `result` with
`is_error: true` and the message in `result`, e.g. `API Error: 529 {"type":"error","error":
{"type":"overloaded_error","message":"Overloaded"}}`; the texts matched below are listed with
their sources in tools/REALCLI_NOTES.md ("Failure messages").
"""

from __future__ import annotations

from dataclasses import replace

from csa.tools.base import UUID_RE, Tool, TurnOutcome, TurnSpec


class ClaudeCode(Tool):
    name = "claude-code"
    binary = "claude"
    package = "@anthropic-ai/claude-code"
    family = "anthropic"
    id_pattern = UUID_RE
    importer = "csa.tools.claude_code.importer:ClaudeReader"
    failure_patterns = (
        ("auth", r"authentication_(error|failed)|invalid (x-)?api.?key|please run /login|"
                 r"oauth token (has )?(expired|revoked)|API Error:? 40[13]|permission_error|"
                 r"API error status 40[13]"),
        ("quota", r"usage limit reached|you.ve hit your limit|hit your limit for claude|"
                  r"limit will reset|credit balance is too low|grace_daily_limit_reached|"
                  r"billing_error"),
        ("overloaded", r"overloaded_error|API Error:? \(?529|\b529 overloaded|"
                       r"repeated 529|\boverloaded\b|API error status 5(29|03)"),
        ("rate_limit", r"rate_limit_error|API Error:? \(?429|request rejected \(429\)|"
                       r"rate.?limited|exceed your account's rate limit|API error status 429"),
    )
    compaction = "native"
    stdin_prompt = True
    cumulative_cost = True
    chosen_ids = True

    def has_conversation(self, pid: str, cwd: str) -> bool | None:
        # claude keeps <config dir>/projects/<cwd, each non-alphanumeric char as '-'>/<id>.jsonl
        import os
        import re

        base = os.environ.get("CLAUDE_CONFIG_DIR") or os.path.expanduser("~/.claude")
        return os.path.isfile(os.path.join(base, "projects", re.sub(r"[^A-Za-z0-9]", "-", cwd),
                                           f"{self.check_id(pid)}.jsonl"))

    def _argv(self, t: TurnSpec, prompt: str | None) -> list[str]:
        argv = [t.binary, "-p"]
        if prompt is not None and not t.prompt_via_stdin:
            argv.append(self.safe_prompt(prompt))
        argv += ["--output-format", "stream-json", "--verbose", "--dangerously-skip-permissions"]
        if t.ephemeral:
            argv.append("--no-session-persistence")  # (print mode only; csa always prints)
        if t.model:
            argv += ["--model", t.model]
        argv += t.extra_args
        if t.provider_session_id:
            argv += ["--resume", t.provider_session_id]
        elif t.new_session_id:
            argv += ["--session-id", self.check_id(t.new_session_id)]
        return argv

    def new_argv(self, t: TurnSpec) -> list[str]:
        return self._argv(t, t.prompt)

    def resume_argv(self, t: TurnSpec) -> list[str]:
        return self._argv(t, t.prompt)

    native_fork = True

    def fork_argv(self, t: TurnSpec) -> list[str]:
        # claude -p P --resume X --fork-session: X's history under a new session id.
        return [*self._argv(replace(t, provider_session_id=t.fork_from), t.prompt),
                "--fork-session"]

    def compact_argv(self, t: TurnSpec) -> list[str]:
        self.check_id(t.provider_session_id)
        # `/compact <instructions>` (compress passes the journal to keep), else bare
        return self._argv(t, t.prompt if t.prompt.startswith("/compact") else "/compact")

    def observe(self, event: dict, turn: TurnOutcome) -> None:
        if event.get("session_id"):
            self.take_id(turn, event["session_id"])
        kind = event.get("type")
        if kind == "assistant":
            message = event.get("message") or {}
            if isinstance(message, dict):
                turn.model = message.get("model") or turn.model
                for block in message.get("content") or []:
                    if not isinstance(block, dict):
                        continue
                    if block.get("type") == "text" and isinstance(block.get("text"), str):
                        turn.texts.append(block["text"])
                    elif block.get("type") == "tool_use":
                        turn.count_tool(block.get("name"))
        elif kind == "result":
            if isinstance(event.get("result"), str):
                turn.final_text = event["result"]
            turn.is_error = bool(event.get("is_error")) or turn.is_error
            if event.get("is_error") and event.get("subtype") not in (None, "success"):
                turn.errors.append(str(event.get("subtype")))
            status = event.get("api_error_status")  # claude 2.1: the HTTP status of a failure
            if isinstance(status, int) and not isinstance(status, bool):
                turn.errors.append(f"API error status {status}")
            usage = event.get("usage") or {}
            if isinstance(usage, dict):
                turn.add_tokens(
                    input_tokens=usage.get("input_tokens"),
                    output_tokens=usage.get("output_tokens"),
                    cache_read_input_tokens=usage.get("cache_read_input_tokens"),
                    cache_creation_input_tokens=usage.get("cache_creation_input_tokens"),
                )
            cost = event.get("total_cost_usd")
            if isinstance(cost, int | float) and not isinstance(cost, bool):
                turn.cost_usd = (turn.cost_usd or 0.0) + float(cost)
        elif kind == "system":
            if event.get("subtype") == "init" and isinstance(event.get("model"), str):
                turn.model = event["model"]
            if "compact_result" in event:
                turn.compact_result = event.get("compact_result")
                turn.compact_error = event.get("compact_error")
            if event.get("subtype") == "compact_boundary":  # `/compact`, or auto-compaction
                meta = event.get("compact_metadata")
                meta = meta if isinstance(meta, dict) else {}
                trigger = meta.get("trigger") if meta.get("trigger") in ("manual", "auto") \
                    else "auto"
                pre = meta.get("pre_tokens")
                turn.compactions.append({"trigger": trigger, "pre_tokens": pre if isinstance(
                    pre, int) and not isinstance(pre, bool) else None})

    def error_texts(self, events) -> list[str]:
        # While claude retries it prints `{"type":"system","subtype":"api_retry",
        # "error_status":529,"error":"overloaded",...}`: a turn stopped mid-retry (timeout)
        # is classified by the last status it saw.
        events = list(events)
        texts = super().error_texts(events)
        retries = [e for e in events if isinstance(e, dict) and e.get("type") == "system"
                   and e.get("subtype") == "api_retry"]
        if retries and isinstance(retries[-1].get("error_status"), int):
            texts.append(f"API error status {retries[-1]['error_status']}")
        return texts

    def retry_event_text(self, event: dict) -> str | None:
        if event.get("type") == "system" and event.get("subtype") == "api_retry":
            return f"API error status {event.get('error_status')} {event.get('error') or ''}"
        return None

    def render(self, event: dict) -> str:
        kind = event.get("type")
        if kind == "assistant":
            parts = (event.get("message") or {}).get("content") or []
            return " ".join(p.get("text", f"<{p.get('type')}>") for p in parts
                            if isinstance(p, dict))
        if kind == "result":
            return str(event.get("result") or "")
        return ""
