"""The AI tools csa drives, by name: one module (or small package) per tool.

    >>> get_tool("codex").binary
    'codex'
    >>> get_tool("claude").name          # aliases: one table, accepted everywhere
    'claude-code'

Add a tool = add one module (built-in) or one package with an entry point (third party).

- Built-in: a package csa/tools/<name>/ whose `Tool` subclass holds everything about the
  tool (argv, event parsing, provider-id format, failure classification, rendering, and
  its importer in `importer.py`), plus one line in BUILTIN below.
- Third party: a package declaring an entry point in group `csa.tools`, in the same
  "module:attr" form, e.g. in its pyproject.toml:

      [project.entry-points."csa.tools"]
      mytool = "csa_mytool:MyTool"

  `attr` is a class with the `csa.tools.base.Tool` interface (or a module with a `TOOL`
  attribute naming one). `csa run --tool mytool` then works like a built-in.

Both kinds go through the same `load()`; built-ins are merely listed here, like simonw/llm
registers its default models through its own plugin hook. Reading the installed packages'
entry points costs ~20 ms (importlib.metadata), so it happens only when a name is neither
built-in nor an alias, and in `csa doctor` (`plugins()`), never on the normal path.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from csa.errors import UsageError
from csa.tools.base import ARGV_PROMPT_LIMIT, Tool, TurnOutcome, TurnSpec

__all__ = ["ARGV_PROMPT_LIMIT", "ALIASES", "BUILTIN", "TOOL_NAMES", "Tool", "TurnOutcome",
           "TurnSpec", "canonical", "get_tool", "is_builtin", "plugins", "render_event"]

GROUP = "csa.tools"

# tool name -> "module:Class" (the form of an entry point's value); imported on first use.
BUILTIN: dict[str, str] = {
    "claude-code": "csa.tools.claude_code:ClaudeCode",
    "codex": "csa.tools.codex:Codex",
    "gemini-cli": "csa.tools.gemini_cli:GeminiCli",
    "opencode": "csa.tools.opencode:OpenCode",
}

# The one alias table: other names people (and the tools' own binaries) use for a tool.
ALIASES: dict[str, str] = {
    "claude": "claude-code",
    "gemini": "gemini-cli",
}

TOOL_NAMES = tuple(BUILTIN)

_loaded: dict[str, type] = {}


def canonical(name: str) -> str:
    """A tool name as csa records it: aliases resolved, case and spaces ignored."""
    key = name.strip().lower()
    return ALIASES.get(key, key)


def aliases_of(name: str) -> list[str]:
    """The aliases that mean `name` (a canonical name)."""
    return [a for a, n in ALIASES.items() if n == name]


def is_builtin(name: str) -> bool:
    return canonical(name) in BUILTIN


def get_tool(name: str) -> Tool:
    """The tool called `name` (or an alias of it); UsageError if no tool has that name."""
    key = canonical(name)
    cls = _loaded.get(key)
    if cls is None:
        spec = BUILTIN.get(key)
        if spec is None:
            ep = _entry_points().get(key)
            if ep is None:
                raise UsageError(f"unknown tool {name!r}: choose from {', '.join(known_names())}"
                                 " (or install a package that provides it)")
            spec = ep.value
        cls = _loaded[key] = load(key, spec)
    return cls()


def render_event(event: dict, tool: str | None = None) -> str:
    """A tool's stdout event as a short line for people ("" if it shows nothing). Without
    the tool's name, the first built-in that recognizes the event's shape renders it."""
    if event.get("type") == "acp":  # any tool over the ACP transport (csa.acp)
        from csa.acp.events import render

        return render(event)
    if tool:
        try:
            return get_tool(tool).render(event)
        except UsageError:
            pass
    for name in BUILTIN:
        text = get_tool(name).render(event)
        if text:
            return text
    return ""


def check_name(name: str, option: str = "--tool") -> str:
    """`name` in csa's spelling if a tool has that name (built-in, alias or installed
    plugin); else UsageError listing the valid names (a filter must not silently match nothing).

        >>> check_name("claude")
        'claude-code'
    """
    key = canonical(name)
    if key in BUILTIN or key in _entry_points():
        return key
    valid = ", ".join([*BUILTIN, *ALIASES, *_entry_points()])
    raise UsageError(f"unknown tool {name!r} for {option}: choose from {valid}")


def known_names() -> list[str]:
    """Built-in names, then aliases (no entry-point scan: for messages and completion)."""
    return [*BUILTIN, *ALIASES]


def load(name: str, spec: str) -> type:
    """Import "module:attr" and check it is a tool class named `name`."""
    import importlib

    module, _, attr = spec.partition(":")
    try:
        obj: Any = importlib.import_module(module.strip())
        for part in filter(None, attr.strip().split(".")):
            obj = getattr(obj, part)
    except Exception as e:  # noqa: BLE001 - a broken plugin is reported, not a traceback
        raise UsageError(f"tool {name!r} ({spec}) could not be loaded: "
                         f"{type(e).__name__}: {e}") from None
    if not isinstance(obj, type):
        obj = getattr(obj, "TOOL", None)
    missing = [m for m in ("argv", "observe", "classify", "valid_id")
               if not callable(getattr(obj, m, None))]
    if not isinstance(obj, type) or missing:
        raise UsageError(f"tool {name!r} ({spec}) is not a tool class"
                         + (f" (missing {', '.join(missing)})" if missing else ""))
    if not getattr(obj, "name", ""):
        obj.name = name
    elif canonical(obj.name) != name:
        raise UsageError(f"tool {name!r} ({spec}) calls itself {obj.name!r}")
    return obj


@lru_cache(maxsize=1)
def _entry_points() -> dict[str, Any]:
    """Entry points in group csa.tools, by canonical name (built-in names cannot be taken)."""
    from importlib.metadata import entry_points

    out: dict[str, Any] = {}
    for ep in entry_points(group=GROUP):
        key = canonical(ep.name)
        if key not in BUILTIN and key not in out:
            out[key] = ep
    return out


def plugins() -> list[dict]:
    """Third-party tools (entry points in group csa.tools) and whether each loads."""
    out = []
    for key, ep in sorted(_entry_points().items()):
        dist = getattr(ep, "dist", None)
        row = {"tool": key, "entry_point": ep.value,
               "package": f"{dist.name} {dist.version}" if dist is not None else None,
               "status": "ok", "error": None}
        try:
            _loaded.setdefault(key, load(key, ep.value))
        except UsageError as e:
            row["status"], row["error"] = "broken", str(e)
        out.append(row)
    return out
