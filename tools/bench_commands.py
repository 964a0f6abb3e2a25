#!/usr/bin/env python3
"""Whole start-up-bound commands (`--help`, `session list` with all rows and `--limit 20`,
`--tree --limit 20`, `show -s PREFIX`) at N sessions, interleaved across checkouts with a floor in every round.

    python tools/bench_commands.py --sessions 100000 --code /work/main --code .
    python tools/bench_commands.py --sessions 10000 --rounds 9     # this checkout only

Each round runs `python -S -c pass` (the floor), then every command once per checkout,
in turn, so the load is shared alike. All checkouts read one synthetic project (its
summary index is built once, by the first checkout; its schema is the same). Prints the
median wall time of each command, its median excess over the same round's floor and its
median CPU time (user + system, which moves far less with the load), plus the load
average before and after.
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
sys.path.insert(0, str(REPO / "tools"))
from bench import _synth_project, csa_cmd, process_usage, wall  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--code", action="append", help="checkout(s) to run csa from (default: this)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="csa-bench-cmds-"))
    try:
        return _run(tmp, [str(Path(c).resolve()) for c in args.code or [str(REPO)]],
                    args.sessions, args.rounds)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _run(tmp: Path, codes: list[str], sessions: int, rounds: int) -> int:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CSA_", "PYTHON"))}
    base.update(HOME=str(tmp / "home"), CSA_STATE_DIR=str(tmp / "state"))
    project = _synth_project(tmp, base, "proj", sessions, 3600)
    envs = {c: {**base, "PYTHONPATH": c} for c in codes}
    wall([*csa_cmd(), "session", "list", "--limit", "1"], envs[codes[0]], project)  # the index
    from csa.store import Store

    target = sorted(Store(Path(base["CSA_STATE_DIR"]), project).ids())[sessions // 2]
    commands = {"--help": ["--help"], "list (all rows)": ["session", "list"],
                "list --limit 20": ["session", "list", "--limit", "20"],
                "list --tree --limit 20": ["session", "list", "--tree", "--limit", "20"],
                "show -s PREFIX": ["session", "show", "-s", target[:16].lower()]}
    floor_argv = [sys.executable, "-S", "-c", "pass"]
    for c in codes:  # warm bytecode and page caches
        for argv in commands.values():
            wall([*csa_cmd(), *argv], envs[c], project)
    got: dict[str, list[tuple[float, float, float]]] = {}
    load0 = os.getloadavg()
    for _ in range(rounds):
        floor, cpu, _rss = process_usage(floor_argv, base, project)
        got.setdefault("python -S -c pass (floor)", []).append((floor, 0.0, cpu))
        for name, argv in commands.items():
            for c in codes:
                t, cpu, _rss = process_usage([*csa_cmd(), *argv], envs[c], project)
                got.setdefault(f"{name} ({c})", []).append((t, t - floor, cpu))
    load1 = os.getloadavg()
    print(f"{sessions} sessions; load average {load0[0]:.1f} before, {load1[0]:.1f} after; "
          f"{rounds} rounds")
    print(f"{'what':60} {'wall med':>9} {'wall min':>9} {'- floor':>9} {'CPU med':>9}")
    for name, vals in got.items():
        ws = [v[0] * 1000 for v in vals]
        print(f"{name:60} {statistics.median(ws):9.1f} {min(ws):9.1f} "
              f"{statistics.median(v[1] * 1000 for v in vals):9.1f} "
              f"{statistics.median(v[2] * 1000 for v in vals):9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
