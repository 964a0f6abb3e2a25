"""The tool interface: how csa drives one AI CLI, reads what it prints and judges its failures.

    class MyTool(Tool):
        name, binary, package, family = "mytool", "mytool", "@acme/mytool", "acme"
        id_pattern = r"[0-9a-f]{32}"                 # the tool's conversation ids, exactly
        failure_patterns = (("rate_limit", r"429|rate.?limit"),)
        def new_argv(self, t): return [t.binary, "run", "--json", *t.extra_args, t.prompt]
        def resume_argv(self, t): return [t.binary, "run", "--json", "--resume",
                                          t.provider_session_id, t.prompt]
        def observe(self, event, turn): ...   # fill turn.provider_session_id, texts, tokens

The turn pipeline calls `argv(spec)` (or `compact_argv(spec)`), feeds every stdout JSON
object to `observe(event, outcome)`, and on failure asks `classify(events, stderr, exit_code)`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from csa.errors import CsaError

# Above this size a prompt goes through stdin (where the tool reads it), since a
# single argv string is limited to 128 KiB on Linux.
ARGV_PROMPT_LIMIT = 100_000

# What classify() answers. Failover (issue 17) moves on for the first three.
FAILURE_KINDS = ("rate_limit", "quota", "overloaded", "auth", "other")
FAILOVER_KINDS = FAILURE_KINDS[:3]

UUID_RE = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


def new_uuid4() -> str:
    """A random (version 4) UUID string; not through `uuid`, whose import costs ~4 ms."""
    import os

    b = bytearray(os.urandom(16))
    b[6], b[8] = (b[6] & 0x0F) | 0x40, (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class InvalidProviderId(CsaError):
    """A conversation id that is not in the tool's own format (never put on argv)."""


@dataclass
class TurnSpec:
    """What a turn asks of the tool."""

    binary: str
    prompt: str
    model: str | None = None
    extra_args: list[str] = field(default_factory=list)
    provider_session_id: str | None = None  # set when resuming
    prompt_via_stdin: bool = False
    ephemeral: bool = False  # --ephemeral: the tool's own persistence off, where it has a switch
    fork_from: str | None = None  # start a copy of this conversation (Tool.fork_argv)
    # A new conversation's id chosen by csa (tools with `chosen_ids`), passed to the tool.
    new_session_id: str | None = None


@dataclass
class TurnOutcome:
    """What the tool module gathers from the tool's events during one turn."""

    provider_session_id: str | None = None
    texts: list[str] = field(default_factory=list)
    final_text: str | None = None
    tokens: dict[str, int] = field(default_factory=dict)
    cost_usd: float | None = None
    model: str | None = None
    is_error: bool = False
    errors: list[str] = field(default_factory=list)
    compact_result: str | None = None  # "success" | "failed" (native compaction)
    compact_error: str | None = None
    # The tool compacted its own context in this turn (claude's `compact_boundary`): one
    # {"trigger": "manual" | "auto", "pre_tokens": N} per boundary (csa.turn.compaction).
    compactions: list[dict] = field(default_factory=list)
    retries: list[str] = field(default_factory=list)  # the tool's own retry events (texts)
    tool_calls: dict[str, int] = field(default_factory=dict)
    last_tool: str | None = None  # the latest tool call's name (the live status line)
    events: int = 0
    thread_tokens: dict[str, int] | None = None  # provider's running totals (cumulative tools)
    thread_cost: float | None = None

    def text(self) -> str:
        """The turn's final answer: the tool's own result, else the assistant text seen."""
        if self.final_text is not None:
            return self.final_text
        return "".join(self.texts).strip()

    def add_tokens(self, **counts: Any) -> None:
        for key, value in counts.items():
            if isinstance(value, int) and not isinstance(value, bool):
                self.tokens[key] = self.tokens.get(key, 0) + value

    def count_tool(self, name: str | None) -> None:
        if name:
            self.tool_calls[name] = self.tool_calls.get(name, 0) + 1
            self.last_tool = name


class Tool:
    """One AI CLI. Subclasses set the class attributes and new_argv/resume_argv/observe."""

    name: str = ""
    binary: str = ""
    package: str = ""  # npm package (or other install hint)
    family: str = ""   # model family (anthropic, openai, google...): who reviews whom
    # "native": the tool compacts in non-interactive mode (compact_argv);
    # "rollover": csa asks for a summary and seeds a fresh provider session with it.
    compaction: str = "rollover"
    stdin_prompt: bool = False  # the tool reads the prompt from stdin when not in argv
    always_stdin: bool = False  # send every prompt through stdin (argv would alter it)
    # Token usage / cost in the tool's events is a running total for the provider session,
    # not per turn: csa keeps the last total and records the difference.
    cumulative_usage: bool = False
    cumulative_cost: bool = False
    # The exact shape of the tool's conversation ids (a regex that must match all of it).
    # Empty: any id without whitespace that does not start with "-".
    id_pattern: str = ""
    # (kind, regex) searched in the turn's error texts and stderr; the first match wins,
    # so specific patterns (a 429 that means quota) come before general ones.
    failure_patterns: tuple[tuple[str, str], ...] = ()
    exit_codes: dict[int, str] = {}  # exit status -> failure kind, where the tool has one
    # A stderr line (regex) saying one model request failed and the tool will retry it by
    # itself (gemini and opencode retry a 429 for minutes): failover stops the tool after
    # a few of them. Retry *events* are the tool's retry_event_text().
    retry_line: str = ""
    # "module:Class" of the tool's importers.base.Reader (its own on-disk store), or "".
    importer: str = ""
    # The tool takes a caller-chosen id for a new conversation (claude and gemini
    # `--session-id UUID`): csa chooses it and records it before the spawn.
    chosen_ids: bool = False

    # -- argv --------------------------------------------------------------------------

    def new_argv(self, t: TurnSpec) -> list[str]:
        raise NotImplementedError

    def resume_argv(self, t: TurnSpec) -> list[str]:
        raise NotImplementedError

    def argv(self, t: TurnSpec) -> list[str]:
        if t.fork_from is not None:
            self.check_id(t.fork_from)
            return self.fork_argv(t)
        if t.provider_session_id is None:
            return self.new_argv(t)
        self.check_id(t.provider_session_id)
        return self.resume_argv(t)

    def compact_argv(self, t: TurnSpec) -> list[str]:
        raise NotImplementedError(f"{self.name} has no non-interactive compaction")

    # True: fork_argv starts a copy of conversation `t.fork_from` under a new id, which the
    # tool prints like a new one (csa session fork); False: csa seeds a new conversation.
    native_fork: bool = False

    def fork_argv(self, t: TurnSpec) -> list[str]:
        raise NotImplementedError(f"{self.name} cannot fork a conversation")

    def env(self) -> dict[str, str]:
        """Extra environment the tool needs from csa (config env comes on top)."""
        return {}

    def version_argv(self, binary: str) -> list[str]:
        return [binary, "--version"]

    @staticmethod
    def safe_prompt(prompt: str) -> str:
        # A prompt starting with '-' would be read as an option by every CLI parser.
        return " " + prompt if prompt.startswith("-") else prompt

    # -- provider ids ------------------------------------------------------------------

    def choose_id(self) -> str | None:
        """A new conversation id for the tool to use (None: the tool picks its own)."""
        if not self.chosen_ids:
            return None
        return new_uuid4()

    def has_conversation(self, pid: str, cwd: str) -> bool | None:
        """Whether the tool stored conversation `pid` (run in `cwd`); None: cannot tell.

        Asked about a chosen id csa never saw the tool print (csa died first): a stored
        one is resumed, else the id is passed again for a new conversation."""
        return None

    def valid_id(self, pid: Any) -> bool:
        """True if `pid` has the exact shape of this tool's conversation ids."""
        if not isinstance(pid, str) or not pid or pid.startswith("-"):
            return False
        if self.id_pattern:
            return re.fullmatch(self.id_pattern, pid) is not None
        return re.fullmatch(r"[^\s\x00-\x1f]{1,200}", pid) is not None

    def check_id(self, pid: Any) -> str:
        """`pid` if valid, else InvalidProviderId: an id from a file csa did not write
        (an import, a hand-edited state.toml) never reaches argv as an option."""
        if not self.valid_id(pid):
            shown = repr(pid)[:80]
            raise InvalidProviderId(
                f"{shown} is not a valid {self.name} conversation id; refusing to pass it to "
                f"{self.binary} (start a new session, or import the conversation again)")
        return pid

    def take_id(self, turn: TurnOutcome, pid: Any) -> None:
        """Record the provider id seen in an event, if it has the tool's id format."""
        if self.valid_id(pid):
            turn.provider_session_id = pid
        elif isinstance(pid, str) and pid:
            note = f"ignored a provider id not in {self.name}'s format: {pid[:60]!r}"
            if note not in turn.errors:
                turn.errors.append(note)

    # -- events ------------------------------------------------------------------------

    def observe(self, event: dict, turn: TurnOutcome) -> None:
        """Update `turn` from one parsed stdout event (JSON object)."""
        raise NotImplementedError

    def take_event(self, event: dict, turn: TurnOutcome) -> None:
        """observe() plus what every tool's events say alike: its own retries."""
        self.observe(event, turn)
        text = self.retry_event_text(event)
        if text is not None:
            turn.retries.append(text)

    def render(self, event: dict) -> str:
        """One stdout event as a short line for people ("" when it has nothing to show)."""
        return ""

    # -- failures ----------------------------------------------------------------------

    def error_texts(self, events: Iterable[dict]) -> list[str]:
        """The error messages in a turn's events, as observe() understands them."""
        turn = TurnOutcome()
        for ev in events:
            if isinstance(ev, dict):
                try:
                    self.observe(ev, turn)
                except Exception:  # noqa: BLE001 - a damaged event must not stop the rest
                    continue
        texts = list(turn.errors)
        if turn.is_error and turn.text():
            texts.append(turn.text())
        return texts

    def classify(self, events: Iterable[dict] = (), stderr: str = "",
                 exit_code: int | None = None) -> str:
        """Why a turn failed: rate_limit, quota, overloaded, auth or other.

        >>> get_tool("codex").classify([{"type": "error", "message":
        ...     "exceeded retry limit, last status: 429 Too Many Requests"}], "", 1)
        'rate_limit'
        """
        kind = self.match_kind("\n".join([*self.error_texts(events), stderr or ""]))
        if kind is None and exit_code is not None:
            kind = self.exit_codes.get(exit_code)
        return kind or "other"

    def match_kind(self, text: str) -> str | None:
        """The first failure kind whose pattern is found in `text` (None: no pattern)."""
        for kind, pattern in self.failure_patterns:
            if re.search(pattern, text, re.IGNORECASE):
                return kind
        return None

    def retry_event_text(self, event: dict) -> str | None:
        """The error of a stdout event that reports a failed attempt the tool will retry."""
        return None

    def retry_kind(self, *, event: dict | None = None, line: str | None = None) -> str | None:
        """rate_limit, quota or overloaded when this event or stderr line reports a failed
        attempt of that kind that the tool retries by itself; else None.

        >>> get_tool("gemini-cli").retry_kind(line="Attempt 1 failed with status 429. "
        ...                                   "Retrying with backoff...")
        'rate_limit'
        """
        if line is not None:
            text = line if self.retry_line and re.search(self.retry_line, line) else None
        else:
            text = self.retry_event_text(event) if isinstance(event, dict) else None
        kind = self.match_kind(text) if text else None
        return kind if kind in FAILOVER_KINDS else None

    # -- import ------------------------------------------------------------------------

    def reader(self):
        """The tool's importer (a csa.importers.base.Reader), or None if it has none."""
        if not self.importer:
            return None
        import importlib

        module, cls = self.importer.split(":")
        return getattr(importlib.import_module(module), cls)()
