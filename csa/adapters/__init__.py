"""The adapter registry: tool name -> adapter class. Adding a tool = one module + one line.

    >>> get_adapter("codex").binary
    'codex'
"""

from __future__ import annotations

import importlib

from csa.adapters.base import Adapter
from csa.errors import UsageError

# tool name -> "module:Class"; modules are imported only when the tool is used.
REGISTRY: dict[str, str] = {
    "claude-code": "csa.adapters.claude_code:ClaudeCode",
    "codex": "csa.adapters.codex:Codex",
    "gemini-cli": "csa.adapters.gemini_cli:GeminiCli",
    "opencode": "csa.adapters.opencode:OpenCode",
}

TOOL_NAMES = tuple(REGISTRY)


def get_adapter(name: str) -> Adapter:
    spec = REGISTRY.get(name)
    if spec is None:
        raise UsageError(f"unknown tool {name!r}: choose from {', '.join(TOOL_NAMES)}")
    module, cls = spec.split(":")
    return getattr(importlib.import_module(module), cls)()
