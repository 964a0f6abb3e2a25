#!/usr/bin/env python3
"""What each package of csa's stack costs: its import, and one use of it, next to the floors.

    python tools/bench_imports.py            # about 30 s
    python tools/bench_imports.py --runs 21  # steadier medians
    python tools/bench_imports.py --clock cpu  # CPU time: usable on a busy machine

Import cost: the median wall time of `python -c "import X"` minus that of `python -c pass`
(fresh processes, bytecode cached), and the same on top of csa's CLI entry already loaded
(`import csa.cli; import X` minus `import csa.cli`), which is what a command that needs X
pays. Floors from the same run: `python -S -c pass` (no site hooks) and `python -c pass`.
Per-use cost: the in-process median of one typical use (a new session id, one state.toml
document, acquiring and releasing a lock, one process-tree RSS sample, ...).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# (label, module to import)
PACKAGES = [("python-ulid", "ulid"), ("tomlkit", "tomlkit"), ("filelock", "filelock"),
            ("psutil", "psutil"), ("GitPython", "git"), ("orjson", "orjson"),
            ("click", "click"), ("csa CLI entry", "csa.cli")]


CLOCK = {"name": "wall"}


def _once(argv: list[str], env: dict) -> float:
    """Seconds one fresh process takes: wall time, or with --clock cpu its user+system CPU
    time (what a quiet machine's wall time would be, measurable on a busy one)."""
    t = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{argv} failed")
    if CLOCK["name"] == "cpu":
        return usage.ru_utime + usage.ru_stime
    return time.perf_counter() - t


def wall_ms(argv: list[str], env: dict, runs: int) -> float:
    """Median wall time of a fresh process, in ms (after one warm-up run)."""
    _once(argv, env)
    return statistics.median(_once(argv, env) for _ in range(runs)) * 1000


def extra_ms(argv: list[str], base: list[str], env: dict, runs: int) -> tuple[float, float]:
    """What `argv` costs over `base`, in ms: (median, min) of paired differences (pairs
    run back to back, so a burst of load on a shared machine hits both sides; the min is
    what a quiet machine would show)."""
    _once(argv, env)
    _once(base, env)
    diffs = [_once(argv, env) - _once(base, env) for _ in range(runs)]
    return statistics.median(diffs) * 1000, min(diffs) * 1000


def per_use_ms(fn, n: int = 200) -> float:
    """Median of `n` calls of `fn`, in ms (one warm-up call first)."""
    fn()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def uses(tmp: Path) -> dict[str, tuple[str, float]]:
    """label -> (what one use is, its median cost in ms)."""
    from datetime import UTC, datetime

    import git
    import orjson

    from csa import ids, procs
    from csa.cli import cli
    from csa.mutex import file_lock
    from csa.state import RunRecord, SessionState, ToolState

    state = SessionState.new(ids.new_ulid(), description="Auth refactor", project_path="/p")
    state.tools["codex"] = ToolState(provider_session_id="p-1", last_action_summary="done",
                                     updated_at=datetime.now(UTC), tokens={"input": 10})
    state.run = RunRecord(status="running", tool="codex", pid=1, started_at=datetime.now(UTC))
    lock = file_lock(tmp / "bench.lock", timeout=0)

    def lock_cycle() -> None:
        lock.acquire()
        lock.release()

    repo = git.Repo.init(tmp / "repo")
    repo.index.commit("first")
    event = {"v": 1, "seq": 7, "type": "event", "event": {"type": "item.completed",
                                                         "item": {"text": "x" * 200}}}
    me = os.getpid()
    return {
        "python-ulid": ("a new session id", per_use_ms(ids.new_ulid)),
        "tomlkit": ("one state.toml document", per_use_ms(state.to_toml)),
        "filelock": ("acquire + release a lock", per_use_ms(lock_cycle)),
        "psutil": ("one process-tree RSS sample", per_use_ms(lambda: procs.tree_rss(me))),
        "GitPython": ("read HEAD's commit of a repo", per_use_ms(
            lambda: git.Repo(tmp / "repo").head.commit.hexsha, n=50)),
        "orjson": ("dump one transcript event", per_use_ms(lambda: orjson.dumps(event))),
        "click": ("parse `csa session list --json`", per_use_ms(
            lambda: cli.make_context("csa", ["session", "list", "--json"],
                                     resilient_parsing=True))),
    }


def measure(runs: int, env: dict) -> list[tuple[str, str, str, str, str]]:
    """Rows: (package, import alone, import on top of csa.cli, per use, what a use is)."""
    py = sys.executable
    floor_s = wall_ms([py, "-S", "-c", "pass"], env, runs)
    floor = wall_ms([py, "-c", "pass"], env, runs)
    rows = [("python -S -c pass (floor)", f"{floor_s:.1f} ms", "", "", ""),
            ("python -c pass (floor)", f"{floor:.1f} ms", f"{floor / floor_s:.2f}x -S", "", "")]
    with tempfile.TemporaryDirectory(prefix="csa-bench-imp-") as tmp:
        per_use = uses(Path(tmp))
    for label, module in PACKAGES:
        alone, alone_min = extra_ms([py, "-c", f"import {module}"], [py, "-c", "pass"], env,
                                    runs)
        if module == "csa.cli":
            ontop = ""
            what, use = "csa --help (whole process)", wall_ms([py, "-m", "csa", "--help"],
                                                             env, runs)
        else:
            extra, extra_min = extra_ms([py, "-c", f"import csa.cli; import {module}"],
                                        [py, "-c", "import csa.cli"], env, runs)
            ontop = f"{extra:.1f} ms (min {extra_min:.1f})"
            what, use = per_use[label]
        rows.append((label, f"{alone:.1f} ms (min {alone_min:.1f}; "
                            f"{(alone + floor) / floor:.2f}x floor)", ontop,
                     f"{use:.3f} ms", what))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="cpu: the processes' CPU time instead of wall time (a busy machine)")
    args = ap.parse_args()
    CLOCK["name"] = args.clock
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(REPO)
    print("| package | import alone (minus python -c pass) | on top of csa.cli | per use | "
          "one use |\n|---|---|---|---|---|")
    for r in measure(args.runs, env):
        print("| " + " | ".join(r) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
