"""`--tool auto`: a tool of another model family than the parent's, so agents review each other.

    >>> pick(cfg, environ={"CSA_TOOL": "claude-code", "CSA_SESSION_ID": "01JH..."})
    AutoChoice(tool='codex', reason='--tool auto: codex (openai), another family than the
               parent's claude-code (anthropic, from CSA_TOOL)')

The parent's tool is `CSA_TOOL` (set by csa for every tool it runs), else the first AI
tool found among csa's ancestor processes (an agent started outside csa). Families:
claude-code → anthropic, codex → openai, gemini-cli → google, opencode → the provider of
its configured model (`tools.opencode.model`, else the `model` of its own config);
`tools.<tool>.family` overrides any of them. The choice is the first installed tool of
config `auto_order` whose family differs; a root run (no parent tool) gets the first
installed one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from csa.config import Config
from csa.errors import CsaError, ToolMissing, UsageError
from csa.tools import BUILTIN, canonical, get_tool

# opencode's model is "provider/model": the provider names the family.
PROVIDER_FAMILIES = {"anthropic": "anthropic", "openai": "openai", "azure": "openai",
                     "google": "google", "google-vertex": "google", "gemini": "google",
                     "google-vertex-anthropic": "anthropic", "amazon-bedrock": ""}
# ...and where the provider says nothing (a gateway), the model's name does.
MODEL_FAMILIES = (("claude", "anthropic"), ("gpt", "openai"), ("codex", "openai"),
                  ("o3", "openai"), ("o4", "openai"), ("gemini", "google"))


@dataclass
class AutoChoice:
    tool: str
    binary: str
    reason: str
    parent_tool: str | None = None


def family_of(name: str, cfg: Config, environ: Mapping[str, str] | None = None) -> str:
    """The model family of tool `name` ("anthropic", "openai", "google", ...)."""
    name = canonical(name)
    tcfg = cfg.tool(name)
    if tcfg.family:
        return tcfg.family.strip().lower()
    try:
        own = get_tool(name).family
    except UsageError:
        own = ""
    if own:
        return own
    model = tcfg.model or _opencode_model(tcfg.env, os.environ if environ is None else environ)
    return model_family(model) if model else name  # unknown: a family of its own


def model_family(model: str) -> str:
    """The family of a "provider/model" name: `anthropic/claude-sonnet-5` → anthropic."""
    provider, _, rest = model.strip().lower().partition("/")
    if rest and PROVIDER_FAMILIES.get(provider):
        return PROVIDER_FAMILIES[provider]
    for word, family in MODEL_FAMILIES:
        if word in (rest or provider):
            return family
    return provider if rest else model.lower()


def _opencode_model(tool_env: Mapping[str, str], environ: Mapping[str, str]) -> str | None:
    """opencode's configured model: OPENCODE_CONFIG_CONTENT (csa's tool env first), else its
    global config file."""
    sources = [tool_env.get("OPENCODE_CONFIG_CONTENT"), environ.get("OPENCODE_CONFIG_CONTENT")]
    home = tool_env.get("XDG_CONFIG_HOME") or environ.get("XDG_CONFIG_HOME") or \
        os.path.join(os.path.expanduser("~"), ".config")
    for fname in ("opencode.json", "config.json"):
        try:
            sources.append((Path(home) / "opencode" / fname).read_text(encoding="utf-8"))
        except OSError:
            continue
    for text in sources:
        try:
            model = json.loads(text).get("model") if text else None
        except (ValueError, AttributeError):
            continue
        if isinstance(model, str) and model.strip():
            return model
    return None


def parent_tool(environ: Mapping[str, str]) -> tuple[str | None, str]:
    """(the parent's tool, how it was found): CSA_TOOL, else an ancestor process."""
    name = (environ.get("CSA_TOOL") or "").strip()
    if name:
        return canonical(name), "from CSA_TOOL"
    from csa.procs import ancestors

    for pid, pname, argv in ancestors():
        found = tool_of_process(pname, argv)
        if found:
            return found, f"parent process {pid} ({pname})"
    return None, ""


def tool_of_process(pname: str, argv: list[str]) -> str | None:
    """The built-in tool a process is: its name or its first argv words (node scripts)."""
    words = [pname, *argv[:2]]
    for name in BUILTIN:
        tool = get_tool(name)
        for word in words:
            base = os.path.basename(word or "")
            if base == tool.binary or (tool.package and f"/{tool.package}/" in word):
                return name
    return None


def pick(cfg: Config, environ: Mapping[str, str] | None = None) -> AutoChoice:
    """The tool `--tool auto` runs; raises CsaError when no tool fits."""
    from csa.turn.choose import pick_tool, resolve_binary

    environ = os.environ if environ is None else environ
    parent, how = parent_tool(environ)
    order = [canonical(n) for n in cfg.get("auto_order") or list(BUILTIN)]
    avoid = family_of(parent, cfg, environ) if parent else None
    installed = []
    for name in dict.fromkeys(order):
        try:
            binary = resolve_binary(pick_tool(name, cfg), cfg)  # an ACP agent too
        except (ToolMissing, UsageError):
            continue
        installed.append(name)
        family = family_of(name, cfg, environ)
        if avoid is None:
            return AutoChoice(name, binary, f"--tool auto: {name} ({family}), the first "
                              "installed tool of auto_order (no parent tool)")
        if family != avoid:
            return AutoChoice(name, binary, f"--tool auto: {name} ({family}), another family "
                              f"than the parent's {parent} ({avoid}, {how})", parent)
    if not installed:
        raise CsaError(f"--tool auto: none of auto_order ({', '.join(order)}) is installed; "
                       "install one or set tools.<tool>.binary")
    raise CsaError(f"--tool auto: every installed tool ({', '.join(installed)}) is of the "
                   f"parent's family ({avoid}, {parent}); install a tool of another family or "
                   "set auto_order / tools.<tool>.family")
