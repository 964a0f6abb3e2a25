"""gemini-cli (`gemini`): stream-json output, `--resume UUID`, rollover compaction.

    gemini -p PROMPT -o stream-json --yolo [-m MODEL] [--resume UUID | --session-id UUID]

`init` carries `session_id`; assistant `message` lines (often `delta: true`) carry
the answer; `result` carries status and token stats. `/compress` in print mode is
sent to the model as an ordinary prompt, so csa compacts by rollover.

Session ids are UUIDs. Failures end with a `result` whose `status` is "error" and whose
`error.message` holds the API error, e.g. `[API Error: Resource has been exhausted (e.g.
check quota).]` (429 RESOURCE_EXHAUSTED) or `You have exhausted your capacity on this model.
Your quota will reset after 2h52m39s.` (TerminalQuotaError); exit 41 is an auth failure.
The texts matched below are listed with their sources in tools/REALCLI_NOTES.md.
"""

from __future__ import annotations

from csa.tools.base import UUID_RE, Tool, TurnOutcome, TurnSpec


class GeminiCli(Tool):
    name = "gemini-cli"
    binary = "gemini"
    package = "@google/gemini-cli"
    family = "google"
    id_pattern = UUID_RE
    importer = "csa.tools.gemini_cli.importer:GeminiReader"
    # Numbers only next to "status"/"code": gemini's stderr carries stack traces whose
    # line:column numbers could be anything.
    failure_patterns = (
        ("auth", r"api key not valid|API_KEY_INVALID|invalid auth method|UNAUTHENTICATED|"
                 r"PERMISSION_DENIED|(status|code)\W{0,3}40[13]\b|FatalAuthenticationError"),
        ("quota", r"TerminalQuotaError|exhausted your (daily )?(quota|capacity)|"
                  r"quota will reset|PerDay|insufficient_quota"),
        ("overloaded", r"MODEL_CAPACITY_EXHAUSTED|no capacity available|model is overloaded|"
                       r"\bUNAVAILABLE\b|(status|code)\W{0,3}5(03|29)\b|overloaded"),
        ("rate_limit", r"RESOURCE_EXHAUSTED|resource (has been )?exhausted|rateLimitExceeded|"
                       r"(status|code)\W{0,3}429\b|too many requests|RetryableQuotaError|"
                       r"rate.?limit"),
    )
    exit_codes = {41: "auth"}
    retry_line = r"^Attempt \d+ failed with status \d+\. Retrying"
    chosen_ids = True  # gemini 0.61: `--session-id UUID` starts a new session with that id

    def new_argv(self, t: TurnSpec) -> list[str]:
        argv = [t.binary, "-p", self.safe_prompt(t.prompt), "-o", "stream-json", "--yolo"]
        if t.model:
            argv += ["-m", t.model]
        argv += t.extra_args
        if t.provider_session_id:
            argv += ["--resume", self.check_id(t.provider_session_id)]
        elif t.new_session_id:
            argv += ["--session-id", self.check_id(t.new_session_id)]
        return argv

    resume_argv = new_argv

    def has_conversation(self, pid: str, cwd: str) -> bool | None:
        # gemini 0.61 names a chat file session-<YYYY-MM-DDTHH-MM>-<id[:8]>.json[l] under
        # ~/.gemini/tmp/<project>/chats/ and keeps the full id in its header.
        import glob
        import os

        pattern = os.path.expanduser(
            f"~/.gemini/tmp/*/chats/session-*-{self.check_id(pid)[:8]}.json*")
        return any(pid.encode() in _head(f) for f in glob.glob(pattern))

    def observe(self, event: dict, turn: TurnOutcome) -> None:
        kind = event.get("type")
        if kind == "init":
            if event.get("session_id"):
                self.take_id(turn, event["session_id"])
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

    def render(self, event: dict) -> str:
        kind = event.get("type")
        if kind == "message":
            return f"{event.get('role')}: {event.get('content') or ''}"
        if kind == "result" and event.get("status") not in (None, "success"):
            err = event.get("error")
            return str(err.get("message") if isinstance(err, dict) else err or "")
        return ""


def _head(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(4096)
    except OSError:
        return b""
