#!/usr/bin/env python3
"""`csa run` overhead as CPU time (and wall), interleaved with its floors, for one or more
checkouts: on a busy machine CPU time moves far less with the load than wall time.

    python tools/bench_run_cpu.py --runs 15                       # this checkout
    python tools/bench_run_cpu.py --code /work/main --code .      # before and after, interleaved

Each round runs, back to back: `python -S -c pass`, `python -c pass`, the bare fake codex
answering at once, then `csa run -q --tool codex hello` (a new session) for each checkout.
CPU time is user + system of the process and its reaped children (wait4), so a run's
figure includes the fake tool it wrapped; the overhead is run minus bare tool, per round.
Prints medians (and minima) of the rounds, and the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FAKE_BIN = REPO / "tools" / "fake_clis" / "bin"
sys.path.insert(0, str(REPO / "tools"))
from bench import csa_cmd, process_usage  # noqa: E402


def measure(argv: list[str], env: dict, cwd: Path) -> tuple[float, float]:
    """(wall ms, CPU ms of the process and its reaped children)."""
    wall, cpu, _rss = process_usage(argv, env, cwd)
    return wall * 1000, cpu * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--code", action="append", help="checkout(s) to run csa from (default: this)")
    args = ap.parse_args()
    codes = [str(Path(c).resolve()) for c in (args.code or [str(REPO)])]
    tmp = Path(tempfile.mkdtemp(prefix="csa-bench-runcpu-"))
    try:
        return _run(tmp, codes, args.runs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _run(tmp: Path, codes: list[str], runs: int) -> int:
    project = tmp / "proj"
    project.mkdir()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CSA_", "PYTHON"))}
    base.update(HOME=str(tmp / "home"), PATH=f"{FAKE_BIN}{os.pathsep}{base.get('PATH', '')}")
    envs = {c: {**base, "CSA_STATE_DIR": str(tmp / f"state{i}"), "PYTHONPATH": c}
            for i, c in enumerate(codes)}
    bare = [str(FAKE_BIN / "codex"), "exec", "--json", "--skip-git-repo-check",
            "--dangerously-bypass-approvals-and-sandbox", "hello"]
    floors = {"python -S -c pass": [sys.executable, "-S", "-c", "pass"],
              "python -c pass": [sys.executable, "-c", "pass"], "bare fake codex": bare}
    run = [*csa_cmd(), "run", "-q", "--tool", "codex", "hello"]  # as bench.py runs it
    for c in codes:  # warm bytecode and page caches
        for _ in range(2):
            measure(run, envs[c], project)
    got: dict[str, list[tuple[float, float]]] = {}
    load0 = os.getloadavg()
    for _ in range(runs):
        for name, argv in floors.items():
            got.setdefault(name, []).append(measure(argv, base, project))
        b = got["bare fake codex"][-1]
        for c in codes:
            w, cpu = measure(run, envs[c], project)
            got.setdefault(f"csa run ({c})", []).append((w, cpu))
            got.setdefault(f"overhead ({c})", []).append((w - b[0], cpu - b[1]))
    load1 = os.getloadavg()
    print(f"load average {load0[0]:.1f} before, {load1[0]:.1f} after; {runs} rounds")
    print(f"{'what':60} {'wall med':>9} {'wall min':>9} {'CPU med':>9} {'CPU min':>9}")
    for name, vals in got.items():
        ws, cs = [v[0] for v in vals], [v[1] for v in vals]
        print(f"{name:60} {statistics.median(ws):9.1f} {min(ws):9.1f} "
              f"{statistics.median(cs):9.1f} {min(cs):9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
