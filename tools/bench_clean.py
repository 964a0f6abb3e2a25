#!/usr/bin/env python3
"""`csa session clean --days 0` of N full sessions, next to its floor, for one or more
checkouts, interleaved.

    python tools/bench_clean.py --sessions 10000 --runs 5
    python tools/bench_clean.py --code /work/main --code .     # before and after

Each round copies one template store (sessions with a transcript, a result and lock files,
as csa leaves them; built once), lists it in full so the summary index matches the copy,
then times the clean (wall and CPU of the process, from wait4). The floor of a round is
a bare Python loop that renames every session dir of a fresh copy into another dir (the
one metadata write per session that any removal which frees the space later needs).
Prints medians and minima of the rounds and the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))
from bench import process_usage  # noqa: E402

FLOOR = """
import os, sys
src, dst = sys.argv[1], sys.argv[2]
os.mkdir(dst)
for name in os.listdir(src):
    os.rename(os.path.join(src, name), os.path.join(dst, name))
"""


def timed(argv: list[str], env: dict, cwd: Path) -> tuple[float, float]:
    """(wall s, CPU s of the process and its reaped children)."""
    wall, cpu, _rss = process_usage(argv, env, cwd)
    return wall, cpu


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--code", action="append", help="checkout(s) to run csa from (default: this)")
    args = ap.parse_args()
    codes = [str(Path(c).resolve()) for c in (args.code or [str(REPO)])]
    tmp = Path(tempfile.mkdtemp(prefix="csa-bench-clean-"))
    try:
        return _run(tmp, codes, args.sessions, args.runs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _run(tmp: Path, codes: list[str], n: int, runs: int) -> int:
    from bench_sessions import synth_sessions

    tpl, work = tmp / "template", tmp / "work"
    project = work / "proj"  # the same path in every copy: the state dir names it
    pdir = tpl / "state" / str(project).lstrip("/")
    synth_sessions(pdir / "sessions", n, str(project), full=True)
    (pdir / "project.toml").write_text(f'project_path = "{project}"\n')
    (tpl / "proj").mkdir()
    old = time.time() - 40 * 86400
    for d in (pdir / "sessions").iterdir():
        os.utime(d / "state.toml", (old, old))
    sessions = work / "state" / str(project).lstrip("/") / "sessions"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CSA_", "PYTHON"))}
    base.update(CSA_STATE_DIR=str(work / "state"), HOME=str(tmp / "home"))
    got: dict[str, list[tuple[float, float]]] = {}
    load0 = os.getloadavg()
    for _ in range(runs):
        for code in codes:
            env = dict(base, PYTHONPATH=code)
            _fresh_copy(tpl, work)
            subprocess.run([sys.executable, "-m", "csa", "session", "list"], env=env,
                           cwd=project, stdout=subprocess.DEVNULL, check=True)
            got.setdefault(f"csa session clean --days 0 ({code})", []).append(
                timed([sys.executable, "-m", "csa", "session", "clean", "--days", "0"], env,
                      project))
            left = [x for x in os.listdir(sessions) if len(x) == 26]
            assert not left, f"{len(left)} sessions left"
            t = time.perf_counter()  # the detached reclaimer: let it finish before going on
            while os.listdir(sessions.parent / "trash") and time.perf_counter() - t < 600:
                time.sleep(0.2)
            got.setdefault(f"  then the detached reclaim ({code}), wall", []).append(
                (time.perf_counter() - t, 0.0))
        _fresh_copy(tpl, work)
        got.setdefault("floor: rename every session dir (bare Python)", []).append(
            timed([sys.executable, "-c", FLOOR, str(sessions), str(tmp / "moved")], base, tmp))
        shutil.rmtree(tmp / "moved")
    load1 = os.getloadavg()
    print(f"{n} sessions, {runs} rounds; load average {load0[0]:.1f} before, {load1[0]:.1f} after")
    for name, vals in got.items():
        ws, cs = [v[0] for v in vals], [v[1] for v in vals]
        print(f"  {name:70} wall median {statistics.median(ws):6.2f} s (min {min(ws):6.2f})"
              f"  CPU median {statistics.median(cs):5.2f} s (min {min(cs):5.2f})")
    return 0


def _fresh_copy(tpl: Path, work: Path) -> None:
    shutil.rmtree(work, ignore_errors=True)
    subprocess.run(["cp", "-a", str(tpl), str(work)], check=True)


if __name__ == "__main__":
    sys.exit(main())
