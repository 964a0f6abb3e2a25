"""A batch file: JSONL, one task per line, checked whole before anything runs.

    >>> tasks = read_tasks(Path("tasks.jsonl"))
    >>> tasks[0].line, tasks[0].prompt, tasks[0].key
    (1, 'add type hints to src/util.py', '5d41402abc4b2a76:0')

A line is a JSON object: `prompt` (required), optional `tool`, `name`, `model`, `cd`.
Blank lines are skipped. A task's key is the hash of its line's content (plus which
occurrence of that content it is), so a re-run recognises the tasks it already ran
even when lines were added, removed or moved.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from csa.errors import CsaError, UsageError

KEYS = ("prompt", "tool", "name", "model", "cd")


@dataclass(frozen=True)
class Task:
    """One line of a batch file, checked."""

    line: int
    key: str
    prompt: str
    tool: str | None = None
    name: str | None = None
    model: str | None = None
    cd: str | None = None  # absolute


def read_tasks(path: Path) -> list[Task]:
    """Every task of `path`; a bad line raises UsageError naming `path:LINE` (exit 2)."""
    import orjson

    try:
        data = path.read_bytes()
    except OSError as e:
        raise UsageError(f"Cannot read the batch file {path}: {e.strerror or e}") from None
    tasks: list[Task] = []
    seen: dict[str, int] = {}
    for n, raw in enumerate(data.splitlines(), 1):
        if not raw.strip():
            continue
        where = f"{path}:{n}"
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as e:
            raise UsageError(f"{where}: not a JSON object ({e.args[0].split(':')[0]}); "
                             'each line is one task: {"prompt": "..."}') from None
        digest = hashlib.sha256(raw.strip()).hexdigest()[:16]
        seen[digest] = seen.get(digest, -1) + 1
        tasks.append(_task(obj, where, n, f"{digest}:{seen[digest]}"))
    if not tasks:
        raise UsageError(f"{path}: no tasks (one JSON object per line, with a \"prompt\")")
    return tasks


def _task(obj: object, where: str, line: int, key: str) -> Task:
    if not isinstance(obj, dict):
        raise UsageError(f'{where}: a task is a JSON object, like {{"prompt": "..."}}')
    unknown = sorted(set(obj) - set(KEYS))
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0]!r} (a task has: {', '.join(KEYS)})")
    for k in KEYS:
        if k in obj and not (isinstance(obj[k], str) and obj[k].strip()):
            raise UsageError(f"{where}: {k!r} must be a non-empty string")
        if "\x00" in obj.get(k, ""):
            raise UsageError(f"{where}: {k!r} contains a NUL character")
    if "prompt" not in obj:
        raise UsageError(f'{where}: no "prompt"')
    tool = obj.get("tool")
    if tool is not None:
        from csa.tools import get_tool

        try:
            tool = get_tool(tool).name
        except CsaError as e:
            raise UsageError(f"{where}: {e.message}") from None
    cd = obj.get("cd")
    if cd is not None:
        cd = os.path.abspath(os.path.expanduser(cd))
        if not os.path.isdir(cd):
            raise UsageError(f"{where}: cd {obj['cd']!r} is not a directory")
    return Task(line=line, key=key, prompt=obj["prompt"], tool=tool, name=obj.get("name"),
                model=obj.get("model"), cd=cd)
