"""Configuration: built-in defaults < global file < project file, with provenance.

    >>> cfg = load_config(project_root=Path("/home/me/proj"))
    >>> cfg.get("max_recursion_depth"), cfg.source("max_recursion_depth")
    (5, 'default')
    >>> cfg.tool("codex").binary
    'codex'

Global: `$XDG_CONFIG_HOME/csa/config.toml`; project: `<project>/.csa/config.toml`.
Tables merge key by key (a project can change one tool's model and keep the
global binary path); every value remembers which file it came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from csa.errors import ConfigError
from csa.paths import config_home

DEFAULTS: dict[str, Any] = {
    "default_tool": "claude-code",
    "max_recursion_depth": 5,
    # Warn (or refuse) a run when available memory is below the tool's P95 peak + margin.
    "memory_policy": "warn",
    "memory_margin_mb": 256,
    "checkpoint_on_turn_end": False,
    "with_journal": False,
    "index_on_turn_end": True,
    "events": {"max_bytes": 1_048_576, "keep": 3, "max_age_days": 90},
    "gc": {"retire_after_days": 0, "orphan_dir_age_s": 3600},
    # While a tool is silent, what it printed reaches the transcript within this many seconds.
    "transcript": {"flush_interval": 1.0},
    # `is-alive`/`list`: a running turn whose tool printed nothing for this long is stalled.
    "stall_after": 300,
    "tools": {},
    # --tool auto: the first installed tool of another family, in this order (issue 17).
    "auto_order": ["claude-code", "codex", "gemini-cli", "opencode"],
    # Tools a turn moves on to after a rate-limit, quota or overload failure (in order).
    "failover": [],
    # A tool that keeps retrying a rate limit itself (gemini, opencode) is stopped after
    # this many failed attempts when the turn has a tool to fail over to.
    "failover_retries": 2,
    # ACP transport (csa.acp): permission policy (unset: requests are denied, recorded as
    # unanswered) and how long an agent may take to answer `initialize`.
    "acp": {"init_timeout": 60},
}

# Per-tool keys and their types; unknown keys are an error so typos do not pass silently.
TOOL_KEYS: dict[str, type | tuple] = {
    "binary": str,
    "args": list,
    "env": dict,
    "model": str,
    "max_concurrent": int,
    "family": str,
    "transport": str,  # headless | acp (csa.acp)
    "command": list,  # an ACP agent's command line
    "permissions": str,  # overrides acp.permissions for this tool
}
# Values of the string keys above, and of acp.permissions.
TRANSPORTS = ("headless", "acp")
PERMISSIONS = ("allow", "deny", "allow-read")

# Keys of the [events] and [gc] tables: (type, smallest, largest allowed value).
NESTED_KEYS: dict[str, dict[str, tuple[type | tuple, float, float]]] = {
    "events": {"max_bytes": (int, 0, 2**62), "keep": (int, 0, 1000),
               "max_age_days": ((int, float), 0, 1e6)},
    "gc": {"retire_after_days": ((int, float), 0, 1e6), "orphan_dir_age_s": ((int, float), 0, 1e12)},
    "transcript": {"flush_interval": ((int, float), 0.01, 3600)},
    "acp": {"init_timeout": ((int, float), 0.1, 3600),
            "permissions": (str, 0, 0)},  # checked by _validate_acp
    # csa.retention (0: no cap / no age limit) and csa sweep (docs/retention.md)
    "retention": {"max_bytes": (int, 0, 2**62), "hard_cap_bytes": (int, 0, 2**62),
                  "raw_max_age_days": ((int, float), 0, 1e6),
                  "analyze_max_s": ((int, float), 0, 1e6)},
    "sweep": {"import": (list, 0, 0)},
}

TOP_TYPES: dict[str, type | tuple] = {
    "default_tool": str,
    "max_recursion_depth": int,
    "memory_policy": str,
    "memory_margin_mb": int,
    "checkpoint_on_turn_end": bool,
    "with_journal": bool,
    "index_on_turn_end": bool,
    "events": dict,
    "gc": dict,
    "transcript": dict,
    "retention": dict,
    "sweep": dict,
    "stall_after": (int, float),
    "tools": dict,
    "auto_order": list,
    "failover": list,
    "failover_retries": int,
    "acp": dict,
}


@dataclass
class ToolConfig:
    name: str
    binary: str | None = None
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    model: str | None = None
    max_concurrent: int | None = None
    family: str | None = None  # overrides the tool's model family (--tool auto)
    transport: str | None = None  # headless | acp (None: the tool's default)
    command: list[str] = field(default_factory=list)  # an ACP agent's command line
    permissions: str | None = None  # acp permission policy for this tool


@dataclass
class Config:
    values: dict[str, Any]
    sources: dict[str, str]
    files: list[Path]

    def get(self, key: str, default: Any = None) -> Any:
        """A dotted key: `get("events.max_bytes")`."""
        node: Any = self.values
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return default
            node = node[part]
        return node

    def source(self, key: str) -> str:
        return self.sources.get(key, "default")

    def tool(self, name: str) -> ToolConfig:
        """A tool's section; `[tools.claude]` counts for claude-code (csa.tools.ALIASES),
        the section under the tool's own name winning key by key."""
        from csa.tools import aliases_of, canonical

        name = canonical(name)
        raw: dict = {}
        for key in (*aliases_of(name), name):
            raw.update(self.get(f"tools.{key}", {}) or {})
        return ToolConfig(
            name=name,
            binary=raw.get("binary"),
            args=[str(a) for a in raw.get("args", [])],
            env={str(k): str(v) for k, v in raw.get("env", {}).items()},
            model=raw.get("model"),
            max_concurrent=raw.get("max_concurrent"),
            family=raw.get("family"),
            transport=raw.get("transport"),
            command=[str(a) for a in raw.get("command", [])],
            permissions=raw.get("permissions"),
        )

    def flat(self) -> list[tuple[str, Any, str]]:
        """(dotted key, value, source) for every leaf, sorted: what `config show` prints."""
        out: list[tuple[str, Any, str]] = []

        def walk(prefix: str, node: Any) -> None:
            if isinstance(node, Mapping) and node:
                for k in sorted(node):
                    walk(f"{prefix}.{k}" if prefix else k, node[k])
            else:
                out.append((prefix, node, self.source(prefix)))

        walk("", self.values)
        return out


def global_config_path() -> Path:
    return config_home() / "config.toml"


def project_config_path(project_root: Path) -> Path:
    return project_root / ".csa" / "config.toml"


def _read(path: Path, kind: str = "config") -> tuple[dict, bytes]:
    from csa.safeio import read_bytes

    try:
        data = read_bytes(path, kind)
    except FileNotFoundError:
        return {}, b""
    except OSError as e:  # also csa.safeio.UnsafeFile, whose message names the file
        raise ConfigError(f"cannot read config {path}: {e.strerror}" if e.strerror
                          else str(e)) from e
    import tomllib  # only when there is a file: most runs have no project config

    try:
        return tomllib.loads(data.decode("utf-8")), data
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"invalid config {path}: {e}; fix or remove the file") from e
    except RecursionError as e:  # tomllib recurses per nesting level
        raise ConfigError(f"invalid config {path}: nested too deeply; fix or remove the file"
                          ) from e


def validate(d: dict, where: str) -> None:
    """Raise ConfigError("<where>: <what is wrong>") unless `d` fits the schema above."""
    def bad(key: str, want: type | tuple) -> ConfigError:
        names = want.__name__ if isinstance(want, type) else "/".join(t.__name__ for t in want)
        return ConfigError(f"{where}: '{key}' must be {names}")

    for key, value in d.items():
        want = TOP_TYPES.get(key)
        if want is None:
            raise ConfigError(f"{where}: unknown key '{key}'")
        if not isinstance(value, want) or (isinstance(value, bool) and want is int):
            raise bad(key, want)
    _validate_acp(d, where)
    for table, keys in NESTED_KEYS.items():
        for key, value in d.get(table, {}).items():
            if key not in keys:
                raise ConfigError(f"{where}: unknown key '{table}.{key}' "
                                  f"(known: {', '.join(keys)})")
            want, low, high = keys[key]
            if want is str:
                continue  # a choice: _validate_acp
            if not isinstance(value, want) or isinstance(value, bool):
                raise bad(f"{table}.{key}", want)
            if not isinstance(value, list) and not low <= value <= high:  # refuses nan
                raise ConfigError(f"{where}: '{table}.{key}' must be between "
                                  f"{low:g} and {high:g}")
    for name, tool in d.get("tools", {}).items():
        if not isinstance(tool, dict):
            raise bad(f"tools.{name}", dict)
        for key, value in tool.items():
            want = TOOL_KEYS.get(key)
            if want is None:
                raise ConfigError(f"{where}: unknown key 'tools.{name}.{key}' "
                                  f"(known: {', '.join(TOOL_KEYS)})")
            if not isinstance(value, want) or (isinstance(value, bool) and want is int):
                raise bad(f"tools.{name}.{key}", want)
            if key in ("transport", "permissions", "command"):
                _check_choice(where, f"tools.{name}.{key}", value)
            if key == "max_concurrent" and value < 0:
                raise ConfigError(f"{where}: 'tools.{name}.max_concurrent' must "
                                  "be >= 0 (0: no limit)")
            if _has_nul(value):  # could never reach the tool's argv or environment
                raise ConfigError(f"{where}: 'tools.{name}.{key}' contains a NUL "
                                  "character")
    if d.get("memory_policy") not in (None, "warn", "refuse", "off"):
        raise ConfigError(f"{where}: 'memory_policy' must be warn, refuse or off")
    if isinstance(d.get("max_recursion_depth"), int) and d["max_recursion_depth"] < 0:
        raise ConfigError(f"{where}: 'max_recursion_depth' must be >= 0")
    for key in ("auto_order", "failover"):
        if any(not isinstance(v, str) or not v.strip() for v in d.get(key, [])):
            raise ConfigError(f"{where}: '{key}' must be a list of tool names")
    if isinstance(d.get("failover_retries"), int) and d["failover_retries"] < 1:
        raise ConfigError(f"{where}: 'failover_retries' must be >= 1")
    if "stall_after" in d and (isinstance(d["stall_after"], bool)
                               or not 0 < d["stall_after"] < 1e12):  # also refuses nan
        raise ConfigError(f"{where}: 'stall_after' must be a number of seconds above 0")


def _validate_acp(d: dict, where: str) -> None:
    acp = d.get("acp")
    if isinstance(acp, dict) and "permissions" in acp:
        _check_choice(where, "acp.permissions", acp["permissions"])


def _check_choice(where: str, key: str, value: Any) -> None:
    """transport, permissions: one of their values; command: a non-empty list of words."""
    if key.endswith("command"):
        if not value or not all(isinstance(v, str) and v for v in value):
            raise ConfigError(f"{where}: '{key}' must be a non-empty list of strings, "
                              "e.g. [\"goose\", \"acp\"]")
        return
    choices = TRANSPORTS if key.endswith("transport") else PERMISSIONS
    if value not in choices:
        raise ConfigError(f"{where}: '{key}' must be one of {', '.join(choices)}")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


def _merge(into: dict, new: Mapping, sources: dict, origin: str, prefix: str = "") -> None:
    for key, value in new.items():
        dotted = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value, sources, origin, dotted)
        elif isinstance(value, Mapping):
            into[key] = {}
            _merge(into[key], value, sources, origin, dotted)
        else:
            into[key] = value
            sources[dotted] = origin


def load_config(project_root: Path | None = None) -> Config:
    import copy

    values = copy.deepcopy(DEFAULTS)
    sources: dict[str, str] = {}
    files: list[Path] = []
    paths = [global_config_path()]
    if project_root is not None:
        paths.append(project_config_path(project_root))
    for path in paths:
        d, data = _read(path, "config-global" if path == paths[0] else "config")
        if d:
            validate(d, f"invalid config {path}")
            if path != paths[0]:  # a project's file comes with the repository
                from csa.trust import strip_untrusted

                strip_untrusted(d, path, data)
            _merge(values, d, sources, str(path))
            files.append(path)
    return Config(values=values, sources=sources, files=files)


def problems(cfg: Config) -> list[str]:
    """What a valid-looking config still gets wrong (`config show` and `doctor` report it):
    a default_tool no tool answers to.

        >>> problems(load_config(root))
        ["default_tool 'bogus' (in /home/me/.config/csa/config.toml): unknown tool ..."]
    """
    from csa.errors import UsageError
    from csa.tools import check_name

    out = []
    name = cfg.get("default_tool")
    if isinstance(name, str) and not cfg.tool(name).command:  # an ACP agent (csa.acp)
        try:
            check_name(name, "default_tool")
        except UsageError as e:
            where = cfg.source("default_tool")
            out.append(f"default_tool {name!r} (in {where}): {e.message}; fix it with: "
                       "csa config set default_tool codex")
    return out

