"""Helpers for the `csa batch` tests: task files, a logging tool wrapper, reading the tree."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.runkit import FAKE_BIN, csa

# A tool binary that logs its start and stop (pid, ns clock) around the fake codex: the
# tests read the log to count concurrent runs.
WRAPPER = """#!/bin/sh
echo "start $$ $(date +%s%N)" >> "{log}"
"{fake}" "$@"
rc=$?
echo "stop $$ $(date +%s%N)" >> "{log}"
exit $rc
"""


def write_tasks(path: Path, n: int, **extra) -> Path:
    with path.open("w") as f:
        for i in range(1, n + 1):
            f.write(json.dumps({"prompt": f"task number {i}", "name": f"t{i}", **extra}) + "\n")
    return path


def global_config(text: str) -> None:
    cfg = Path(os.environ["XDG_CONFIG_HOME"]) / "csa" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(text)


def logging_tool(tmp: Path, log: Path, tool: str = "codex") -> Path:
    """A wrapper for the fake `tool` that logs start/stop lines to `log`."""
    script = tmp / f"logged-{tool}"
    script.write_text(WRAPPER.format(log=log, fake=FAKE_BIN / tool))
    script.chmod(0o755)
    return script


def max_concurrent(log: Path) -> int:
    """The most runs that were between their start and stop at once."""
    events = []
    for line in log.read_text().splitlines():
        kind, _pid, ns = line.split()
        events.append((int(ns), 0 if kind == "stop" else 1))
    cur = peak = 0
    for _ns, up in sorted(events):
        cur += 1 if up else -1
        peak = max(peak, cur)
    return peak


def batch_rows(env: dict, cwd: Path) -> tuple[dict, list[dict]]:
    """(the batch session's row, its children's rows) from `csa session list --json`."""
    rows = json.loads(csa("session", "list", "--json", env=env, cwd=cwd).stdout)
    batches = [r for r in rows if r["description"].startswith("batch ")]
    assert len(batches) == 1, batches
    kids = [r for r in rows if r.get("parent_session_id") == batches[0]["id"]]
    return batches[0], kids
