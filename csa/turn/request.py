"""What a caller asks of csa: a `csa run` request, and the options of one turn.

    >>> req = RunRequest(prompt="analyze the auth module", tool="codex", timeout=600)
    >>> req.validate()                       # flag conflicts
    >>> req.check_for(get_tool("codex"))     # prompt size and NUL characters for that tool
    >>> req.turn_options().purpose
    'run'

`RunRequest` is the user's input to `csa run` (session choice included);
`TurnOptions` is what one turn needs once its session is taken, whoever asks
(`csa run`, or compaction running its summary and seed turns).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from csa.errors import UsageError
from csa.tools.base import ARGV_PROMPT_LIMIT, Tool


def announce_on_stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def too_long(tool: Tool, prompt: str) -> str:
    return (f"prompt is {len(prompt.encode())} bytes; {tool.name} only takes a prompt as "
            f"an argument (at most {ARGV_PROMPT_LIMIT} bytes)")


class TurnOptions:
    """How to run one turn on a session that is already taken.

    `purpose` is "run" for user turns; "compact", "rollover-summary" and "rollover-seed"
    for compaction. A plain class, not a dataclass: building one costs every run ~1 ms.
    """

    def __init__(self, prompt: str, *, model: str | None = None, purpose: str = "run",
                 timeout: float | None = None, idle_timeout: float | None = None,
                 with_journal: bool | None = None, native_compact: bool = False,
                 fresh_provider_session: bool = False, quiet: bool = False,
                 announce: Callable[[str], None] = announce_on_stderr):
        self.prompt = prompt
        self.model = model
        self.purpose = purpose
        self.timeout = timeout
        self.idle_timeout = idle_timeout
        self.with_journal = with_journal  # None: the config's `with_journal`
        self.native_compact = native_compact  # the tool's own compaction argv
        self.fresh_provider_session = fresh_provider_session  # not the tool's conversation
        self.quiet = quiet
        self.announce = announce
        self.tool_reason: str | None = None  # why the tool was chosen (--tool auto, failover)
        self.give_up_retries: int | None = None  # stop a tool retrying a rate limit (failover)
        self.failover_history: list[dict] = []  # switches made earlier in this turn
        self.journal_start: dict | None = None  # run --goal/--task: {goal, tasks}

    def say(self, msg: str) -> None:
        """A progress line for the user (stderr), unless quiet."""
        if not self.quiet:
            self.announce(msg)


@dataclass
class RunRequest:
    """The input of `csa run`: the prompt, which tool and session, and the turn's limits."""

    prompt: str
    tool: str | None = None
    model: str | None = None
    description: str | None = None
    cd: str | None = None
    session: str | None = None
    last: bool = False
    name: str | None = None  # a new session's name (csa.names)
    ephemeral: bool = False
    timeout: float | None = None
    idle_timeout: float | None = None
    wait_slot: bool | float = False  # True: wait forever; a number: that many seconds
    failover: list[str] | None = None  # --failover (None: config `failover`)
    worktree: str | None = None  # --worktree: "" (a new csa/<ULID> branch) or BRANCH
    with_journal: bool | None = None
    goal: str | None = None  # --goal/--task: start the session journal (csa.journal_life)
    tasks: list[str] = field(default_factory=list)
    quiet: bool = False
    transport: str | None = None  # --transport: headless | acp (None: config, session)
    announce: Callable[[str], None] = field(default=announce_on_stderr)

    def validate(self) -> None:
        """Refuse flag combinations and values no tool can take (exit 2)."""
        if self.ephemeral and (self.session or self.last):
            raise UsageError("--ephemeral cannot be combined with --session or --last")
        if self.session and self.last:
            raise UsageError("--session and --last cannot be combined")
        if self.ephemeral and (self.goal is not None or self.tasks):
            raise UsageError("--goal/--task start a session journal; an --ephemeral run "
                             "keeps none")
        if self.name is not None:
            from csa.names import check_name

            if self.session or self.last or self.ephemeral:
                raise UsageError("--name names a new session; to rename one use: "
                                 "csa session rename -s ID NAME")
            check_name(self.name)

    def check_for(self, tool: Tool) -> None:
        """Refuse a prompt or model the chosen tool cannot be given (exit 2)."""
        if len(self.prompt.encode()) > ARGV_PROMPT_LIMIT and not tool.stdin_prompt:
            raise UsageError(too_long(tool, self.prompt))
        if "\x00" in self.prompt and not tool.stdin_prompt:
            raise UsageError(f"The prompt contains a NUL character; {tool.name} takes its "
                             "prompt only as an argument, which cannot hold one")
        if "\x00" in (self.model or ""):
            raise UsageError("--model contains a NUL character")

    def turn_options(self) -> TurnOptions:
        opts = TurnOptions(prompt=self.prompt, model=self.model, timeout=self.timeout,
                           idle_timeout=self.idle_timeout, with_journal=self.with_journal,
                           quiet=self.quiet, announce=self.announce)
        if self.goal is not None or self.tasks:
            opts.journal_start = {"goal": self.goal, "tasks": list(self.tasks)}
        return opts
