"""The adapter interface: how csa drives one AI CLI and reads what it prints.

    class MyTool(Adapter):
        name, binary, package = "mytool", "mytool", "@acme/mytool"
        compaction = "rollover"
        def new_argv(self, t): return [t.binary, "run", "--json", *t.extra_args, t.prompt]
        def resume_argv(self, t): ...
        def observe(self, event, turn): ...   # fill turn.provider_session_id, texts, tokens

A new tool is one module in csa/adapters/ plus one line in csa/adapters/__init__.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Above this size a prompt goes through stdin (where the tool reads it), since a
# single argv string is limited to 128 KiB on Linux.
ARGV_PROMPT_LIMIT = 100_000


@dataclass
class TurnSpec:
    """What a turn asks of the tool."""

    binary: str
    prompt: str
    model: str | None = None
    extra_args: list[str] = field(default_factory=list)
    provider_session_id: str | None = None  # set when resuming
    prompt_via_stdin: bool = False


@dataclass
class TurnOutcome:
    """What the adapter gathers from the tool's events during one turn."""

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
    tool_calls: dict[str, int] = field(default_factory=dict)
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


class Adapter:
    """One AI CLI. Subclasses set the class attributes and the three methods."""

    name: str = ""
    binary: str = ""
    package: str = ""  # npm package, for install hints
    # "native": the tool compacts in non-interactive mode (compact_argv);
    # "rollover": csa asks for a summary and seeds a fresh provider session with it.
    compaction: str = "rollover"
    stdin_prompt: bool = False  # the tool reads the prompt from stdin when not in argv
    always_stdin: bool = False  # send every prompt through stdin (argv would alter it)
    # Token usage / cost in the tool's events is a running total for the provider session,
    # not per turn: csa keeps the last total and records the difference.
    cumulative_usage: bool = False
    cumulative_cost: bool = False

    def new_argv(self, t: TurnSpec) -> list[str]:
        raise NotImplementedError

    def resume_argv(self, t: TurnSpec) -> list[str]:
        raise NotImplementedError

    def argv(self, t: TurnSpec) -> list[str]:
        return self.resume_argv(t) if t.provider_session_id else self.new_argv(t)

    def compact_argv(self, t: TurnSpec) -> list[str]:
        raise NotImplementedError(f"{self.name} has no non-interactive compaction")

    def observe(self, event: dict, turn: TurnOutcome) -> None:
        """Update `turn` from one parsed stdout event (JSON object)."""
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        """Extra environment the tool needs from csa (config env comes on top)."""
        return {}

    def version_argv(self, binary: str) -> list[str]:
        return [binary, "--version"]

    @staticmethod
    def safe_prompt(prompt: str) -> str:
        # A prompt starting with '-' would be read as an option by every CLI parser.
        return " " + prompt if prompt.startswith("-") else prompt
