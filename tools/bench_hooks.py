#!/usr/bin/env python3
"""Latency of csa's Claude Code hooks (`csa hooks run`), each next to its own floor.

    python tools/bench_hooks.py              # 21 runs per event
    python tools/bench_hooks.py --runs 51

Claude Code waits for SessionStart and UserPromptSubmit hooks before it goes on, so
they must be fast. A project with one journaled session (goal, steps, key context) and
199 sessions without a journal is made in a temp dir; each row is the median wall time
and CPU time (user + sys, which barely moves with the load) of `csa hooks run` given that
event's JSON, each paired with `python -c pass` run just before it: the floor any
Python hook pays.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CSA = [sys.executable, "-m", "csa"]


def wall(argv: list[str], env: dict, cwd: Path, stdin: str = "") -> tuple[float, float]:
    """(wall seconds, CPU seconds user+sys) of one run; CPU barely moves with the load."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, input=stdin, text=True, capture_output=True,
                   check=False)
    elapsed = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def setup(tmp: Path) -> tuple[dict, Path]:
    env = {**os.environ, "HOME": str(tmp / "home"), "CSA_STATE_DIR": str(tmp / "state"),
           "PYTHONPATH": str(REPO),
           "PATH": f"{REPO / 'tools' / 'fake_clis' / 'bin'}{os.pathsep}{os.environ['PATH']}",
           "FAKE_CLI_HOME": str(tmp / "fake-home")}
    env.pop("CSA_SESSION_ID", None)
    project = tmp / "proj"
    project.mkdir()
    sys.path.insert(0, str(REPO / "tools"))
    sys.path.insert(0, str(REPO))
    from bench_sessions import synth_sessions  # the synthetic sessions tools/bench.py uses

    pdir = Path(env["CSA_STATE_DIR"]) / str(project).lstrip("/")
    synth_sessions(pdir / "sessions", 199, str(project), full=False)
    subprocess.run([*CSA, "run", "--tool", "codex", "--goal", "bench the hooks", "x"],
                   env=env, cwd=project, capture_output=True, text=True, check=True)
    sid = json.loads(subprocess.run([*CSA, "session", "list", "--json", "--limit", "1"],
                                    env=env, cwd=project, capture_output=True, text=True,
                                    check=True).stdout)[0]["id"]
    for args in (["--next", "step one"], ["--next", "step two"], ["--context", "key fact"]):
        subprocess.run([*CSA, "session", "note", "-s", sid, *args], env=env, cwd=project,
                       check=True, capture_output=True)
    return env, project


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=21)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as t:
        env, project = setup(Path(t))
        base = {"cwd": str(project), "session_id": "bench"}
        cases = {
            "UserPromptSubmit (unrelated prompt)": {**base, "hook_event_name":
                                                    "UserPromptSubmit", "prompt": "fix it"},
            "UserPromptSubmit (continue)": {**base, "hook_event_name": "UserPromptSubmit",
                                            "prompt": "where were we?"},
            "SessionStart": {**base, "hook_event_name": "SessionStart", "source": "startup"},
            "PreCompact": {**base, "hook_event_name": "PreCompact", "trigger": "auto"},
        }
        floor = [sys.executable, "-c", "pass"]
        print(f"load average {os.getloadavg()[0]:.1f}; {args.runs} runs each; 200 sessions")
        for label, payload in cases.items():
            raw = json.dumps(payload)
            wall([*CSA, "hooks", "run"], env, project, raw)  # warm the page cache
            pairs = [(wall(floor, env, project), wall([*CSA, "hooks", "run"], env, project,
                                                        raw)) for _ in range(args.runs)]
            med = [statistics.median(p[i][j] for p in pairs) for i in (1, 0) for j in (0, 1)]
            print(f"{label:<38} wall {med[0] * 1000:5.0f} ms (floor {med[2] * 1000:4.0f})   "
                  f"cpu {med[1] * 1000:4.0f} ms (floor {med[3] * 1000:3.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
