"""AcpTool: a tool driven over ACP — a built-in's ACP command, or any configured agent.

    >>> tool = acp_tool("codex", cfg)            # the built-in's ACP adapter
    >>> tool.argv(spec)
    ['/usr/bin/codex-acp']
    >>> acp_tool("goose", cfg).family            # [tools.goose] command = ["goose", "acp"]
    'goose'

The command is `tools.<name>.command`, else the built-in's default (DEFAULT_COMMANDS).
Its first word is looked up on PATH (`tools.<name>.binary` is the headless binary and
is not used). The tool keeps the built-in's name, family, failure patterns and importer
(the agent keeps its conversations in the same store either way). ACP session ids go to
the agent inside JSON, never on argv, so any id without whitespace is accepted.
"""

from __future__ import annotations

from csa.acp import events
from csa.tools.base import Tool, TurnOutcome, TurnSpec

# Built-in tool -> (ACP command, package that provides it). Verified against the installed
# versions in tools/REALCLI_NOTES.md (gemini-cli 0.61: `--acp`; `--experimental-acp` is
# its deprecated spelling).
DEFAULT_COMMANDS: dict[str, tuple[list[str], str]] = {
    "claude-code": (["claude-agent-acp"], "@zed-industries/claude-agent-acp"),
    "codex": (["codex-acp"], "@zed-industries/codex-acp"),
    "gemini-cli": (["gemini", "--acp"], "@google/gemini-cli"),
    "opencode": (["opencode", "acp"], "opencode-ai"),
}
TRANSPORTS = ("headless", "acp")
# Adapters that bundle their own copy of the CLI they wrap, and the variable that points
# them at another: csa points them at the CLI it would run headless (one version, one
# login, one config for both transports). The user's environment or tools.<t>.env wins.
HEADLESS_BINARY_ENV = {"claude-code": "CLAUDE_CODE_EXECUTABLE"}


class AcpTool(Tool):
    """One ACP agent (see the module docstring)."""

    transport = "acp"
    stdin_prompt = True  # the prompt travels in session/prompt: no argv size limit
    cumulative_cost = True  # usage_update.cost is the session's running total
    compaction = "rollover"

    def __init__(self, name: str, command: list[str], *, family: str = "",
                 package: str = "", base: Tool | None = None, headless: str | None = None):
        self.name = name
        self.headless = headless  # the headless CLI the adapter should run (its path)
        self.command = list(command)
        self.binary = self.command[0]
        self.base = base
        self.package = package or (base.package if base else "")
        self.family = family or (base.family if base else "") or name
        if base is not None:
            self.failure_patterns = base.failure_patterns
            self.importer = base.importer

    def argv(self, t: TurnSpec) -> list[str]:
        return [t.binary, *self.command[1:]]

    new_argv = resume_argv = argv

    def env(self) -> dict[str, str]:
        import os

        env = self.base.env() if self.base is not None else {}
        var = HEADLESS_BINARY_ENV.get(self.name)
        if var and self.headless and var not in os.environ:
            env[var] = self.headless
        return env

    def observe(self, event: dict, turn: TurnOutcome) -> None:
        if events.is_acp(event):
            events.observe(event, turn, self.take_id)

    def render(self, event: dict) -> str:
        return events.render(event) if events.is_acp(event) else ""

    def version_argv(self, binary: str) -> list[str]:
        return [binary, *self.command[1:], "--version"] if self.base is None \
            else [binary, "--version"]


def acp_tool(name: str, cfg) -> AcpTool:
    """The ACP tool called `name` (a built-in or alias, or a `[tools.<name>]` with a
    command); UsageError when there is no command for it."""
    from csa.errors import UsageError
    from csa.tools import canonical, get_tool, is_builtin

    key = canonical(name)
    require_sdk()
    tcfg = cfg.tool(key)
    base = get_tool(key) if is_builtin(key) else None
    command, package = DEFAULT_COMMANDS.get(key, (None, ""))
    command = tcfg.command or command
    if not command:
        raise UsageError(f"tool {name!r} has no ACP command: set tools.{key}.command = "
                         f"[\"agent\", \"acp\"] and tools.{key}.transport = \"acp\" in "
                         "~/.config/csa/config.toml")
    return AcpTool(base.name if base else key, command, family=tcfg.family or "",
                   package=package, base=base, headless=_headless(base, tcfg))


def _headless(base: Tool | None, tcfg) -> str | None:
    """The path of the CLI a built-in runs headless (tools.<t>.binary, else its name on
    PATH), for an adapter that would otherwise run its own bundled copy; None if absent."""
    import os
    import shutil

    if base is None or base.name not in HEADLESS_BINARY_ENV:
        return None
    found = shutil.which(os.path.expanduser(tcfg.binary or base.binary))
    return os.path.realpath(found) if found else None


def require_sdk() -> None:
    """One line, not a traceback, when the SDK is missing (an install older than csa's
    ACP transport)."""
    from importlib.util import find_spec

    if find_spec("acp") is None:
        from csa.errors import CsaError

        raise CsaError("the ACP transport needs the agent-client-protocol package: "
                       "pip install 'agent-client-protocol>=0.12,<0.13' (or reinstall csa)")
