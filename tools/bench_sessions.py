#!/usr/bin/env python3
"""Benchmark session listing and prefix resolution against the start-up floor.

    python tools/bench_sessions.py                  # 10,000 sessions, 100,000 dirs
    python tools/bench_sessions.py --sessions 2000 --dirs 20000 --repeat 5

Reports medians (ms) of, each in a fresh process:
  python -c pass                       the floor: interpreter start-up
  csa --help                           target <= 2.5x the floor
  csa session list       (N sessions)  target <= 300 ms (warm cache; cold also shown)
  csa session list --tree
and in-process: prefix resolution over M session dirs (target <= 100 ms).
Everything lives in a temp dir; nothing touches your real state.
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
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from csa import ids  # noqa: E402
from csa.state import SessionState, ToolState  # noqa: E402

CSA = [sys.executable, "-m", "csa"]
TRANSCRIPT = b"".join(
    b'{"v":1,"seq":%d,"ts":"2026-11-21T10:00:00.000Z","type":"stdout","text":"line %d of '
    b'a synthetic turn"}\n' % (i, i) for i in range(40))


def synth_sessions(sessions_dir: Path, n: int, project: str, full: bool = False) -> list[str]:
    """Write n realistic state.toml files quickly (one template, no fsync); with `full`,
    also what a session csa ran has beside it: a transcript, output/result.toml and the
    lock files (clean and delete free all of them)."""
    sessions_dir.mkdir(parents=True, exist_ok=True)
    base = datetime.now(UTC) - timedelta(days=30)
    made: list[str] = []
    parent = None
    template = None
    for i in range(n):
        sid = ids.new_ulid(now_ms=int((base + timedelta(seconds=i * 60)).timestamp() * 1000))
        if template is None:
            st = SessionState.new("SIDSIDSIDSIDSIDSIDSIDSIDSI", description="DESC",
                                  project_path=project, git_branch="main", git_head="0" * 40)
            st.tools["codex"] = ToolState(provider_session_id="PROVIDER", last_exit_code=0,
                                          last_action_summary="did some work", turn_count=2,
                                          updated_at=datetime.now(UTC),
                                          tokens={"input_tokens": 1200, "output_tokens": 300})
            st.parent_session_id = "PARENTPARENTPARENTPARENTPA"
            st.depth = 1
            template = st.to_toml()
        text = template.replace("SIDSIDSIDSIDSIDSIDSIDSIDSI", sid).replace(
            "DESC", f"synthetic session {i}: refactor module {i % 97}")
        if i % 10 == 0 or parent is None:
            text = text.replace('parent_session_id = "PARENTPARENTPARENTPARENTPA"\n', "")
            text = text.replace("depth = 1", "depth = 0")
            parent = sid
        else:
            text = text.replace("PARENTPARENTPARENTPARENTPA", parent)
        d = sessions_dir / sid
        (d / "locks").mkdir(parents=True)
        (d / "state.toml").write_text(text)
        if full:
            (d / "locks" / "session.lock").touch()
            (d / "locks" / "codex.lock").touch()
            (d / "output").mkdir()
            (d / "output" / "result.toml").write_text('exit_code = 0\nfinal_text = "done"\n')
            (d / "transcript.jsonl").write_bytes(TRANSCRIPT)
        made.append(sid)
    return made


def timed(argv: list[str], env: dict, cwd: Path) -> float:
    t = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True)
    return (time.perf_counter() - t) * 1000


def median_of(fn, repeat: int) -> float:
    return statistics.median(fn() for _ in range(repeat))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=10_000)
    ap.add_argument("--dirs", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=9)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="csa-bench-"))
    try:
        project = tmp / "proj"
        project.mkdir()
        env = dict(os.environ, CSA_STATE_DIR=str(tmp / "state"), HOME=str(tmp),
                   XDG_CONFIG_HOME=str(tmp / "cfg"))
        env.pop("CSA_SESSION_ID", None)
        pdir = tmp / "state" / str(project).lstrip("/")
        print(f"creating {args.sessions} sessions ...", file=sys.stderr)
        synth_sessions(pdir / "sessions", args.sessions, str(project))
        (pdir / "project.toml").write_text(f'project_path = "{project}"\n')
        # Make the files older than the cache's racy window.
        old = time.time() - 3600
        for d in (pdir / "sessions").iterdir():
            os.utime(d / "state.toml", (old, old))

        rows = []
        floor = median_of(lambda: timed([sys.executable, "-c", "pass"], env, project),
                          args.repeat)
        rows.append(("python -c pass (floor)", floor, None, None))
        helpt = median_of(lambda: timed([*CSA, "--help"], env, project), args.repeat)
        rows.append(("csa --help", helpt, helpt / floor, "<= 2.5x floor"))

        shutil.rmtree(pdir / "cache", ignore_errors=True)
        cold = timed([*CSA, "session", "list"], env, project)
        rows.append((f"csa session list, {args.sessions} (cold cache, once)", cold, cold / floor,
                     None))
        warm = median_of(lambda: timed([*CSA, "session", "list"], env, project), args.repeat)
        rows.append((f"csa session list, {args.sessions}", warm, warm / floor, "<= 300 ms"))
        tree = median_of(lambda: timed([*CSA, "session", "list", "--tree"], env, project),
                         args.repeat)
        rows.append((f"csa session list --tree, {args.sessions}", tree, tree / floor,
                     "<= 300 ms"))
        js = median_of(lambda: timed([*CSA, "session", "list", "--json"], env, project),
                       args.repeat)
        rows.append((f"csa session list --json, {args.sessions}", js, js / floor, None))

        # Prefix resolution over many dirs (names only matter for resolution).
        print(f"creating {args.dirs} session dirs ...", file=sys.stderr)
        rdir = tmp / "resolve" / "sessions"
        rdir.mkdir(parents=True)
        t0 = int(time.time() * 1000)
        names = [ids.new_ulid(now_ms=t0 - i * 7) for i in range(args.dirs)]
        for n in names:
            os.mkdir(rdir / n)
        from csa.store import Store

        store = Store(tmp / "resolve-base", project)
        store.sessions_dir = rdir
        target = names[len(names) // 2]
        prefix = target[:16]  # distinct ms per id: 16 chars are unique

        def resolve_once() -> float:
            t = time.perf_counter()
            assert store.resolve(prefix).id == target
            return (time.perf_counter() - t) * 1000

        res = median_of(resolve_once, args.repeat)
        rows.append((f"prefix resolution, {args.dirs} dirs (in-process)", res, None,
                     "<= 100 ms"))

        width = max(len(r[0]) for r in rows)
        print(f"{'measurement'.ljust(width)}  median ms   x floor  target")
        for name, ms, ratio, target_txt in rows:
            print(f"{name.ljust(width)}  {ms:9.1f}  {'' if ratio is None else f'{ratio:7.2f}'}"
                  f"{'' if ratio is not None else '       '}  {target_txt or ''}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
