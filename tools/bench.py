#!/usr/bin/env python3
"""Every csa benchmark in one run, as medians next to floors measured in the same run.

    python tools/bench.py                 # quick: smaller corpora (about 2 minutes)
    python tools/bench.py --full          # the issue sizes: 10,000 sessions, 100,000 dirs,
                                          # 100 MB relay, 1 GB search corpus
    python tools/bench.py --only imports,run  # the stack's import costs and the run
                                              # overhead: under a minute
    python tools/bench.py --only run,list # a subset: imports, run, relay, list, prefix,
                                          # transcript, clean, forget, search, import
    python tools/bench.py --only forget --code /path/to/other/checkout   # before/after

Floors: `python -c pass` (interpreter start-up), the bare fake tool (what `csa run`
wraps), `cat` of the same bytes (I/O), plain orjson dumps (serialization). Each row
gives the median, the ratio to its floor and the target. Everything runs in a temp
dir with its own CSA_STATE_DIR and HOME; the machine's real state is not touched.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tools"))

FAKE_BIN = REPO / "tools" / "fake_clis" / "bin"
ROWS: list[tuple[str, str, str, str, str]] = []


def csa_cmd() -> list[str]:
    """The installed console script when it sits next to this interpreter, else -m csa."""
    script = Path(sys.executable).parent / "csa"
    return [str(script)] if script.exists() else [sys.executable, "-m", "csa"]


def row(section: str, name: str, value: str, ratio: str = "", target: str = "") -> None:
    ROWS.append((section, name, value, ratio, target))
    print(f"  {name}: {value} {ratio} {target}".rstrip(), file=sys.stderr, flush=True)


def wall(argv, env, cwd, stdout=subprocess.DEVNULL) -> float:
    t = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, stdout=stdout, stderr=subprocess.DEVNULL,
                   stdin=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def process_usage(argv, env, cwd) -> tuple[float, float, int]:
    """(wall s, CPU s, peak RSS bytes) of one process and its reaped children, via wait4;
    SystemExit when it fails. CPU time is what a quiet machine's wall time would be."""
    t = time.perf_counter()
    p = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, argv))} exited {p.returncode}")
    return time.perf_counter() - t, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def wall_rss(argv, env, cwd) -> tuple[float, int]:
    """Wall time and peak RSS (bytes) of one process."""
    wall, _cpu, rss = process_usage(argv, env, cwd)
    return wall, rss


def ms(x: float) -> str:
    return f"{x * 1000:.1f} ms"


def bench_run(tmp: Path, env: dict, pairs: int) -> None:
    project = tmp / "run-proj"
    project.mkdir()
    bare = [str(FAKE_BIN / "codex"), "exec", "--json", "--skip-git-repo-check",
            "--dangerously-bypass-approvals-and-sandbox", "hello"]
    wrapped = [*csa_cmd(), "run", "-q", "--tool", "codex", "hello"]
    floor = statistics.median(wall([sys.executable, "-c", "pass"], env, project)
                              for _ in range(pairs))
    floor_s = _floor(env, project, pairs)
    for _ in range(3):  # warm caches (bytecode, page cache)
        wall(bare, env, project)
        wall(wrapped, env, project)
    bare_t, csa_t, diffs, rss = [], [], [], []
    for _ in range(pairs):
        b = wall(bare, env, project)
        c, r = wall_rss(wrapped, env, project)
        bare_t.append(b)
        csa_t.append(c)
        diffs.append(c - b)
        rss.append(r)
    row("run", "python -S -c pass (floor)", ms(floor_s))
    row("run", "python -c pass (floor: -S plus site, .pth hooks)", ms(floor))
    row("run", "bare fake codex (floor)", ms(statistics.median(bare_t)))
    row("run", f"csa run --tool codex (new session), median of {pairs}",
        ms(statistics.median(csa_t)),
        f"{statistics.median(csa_t) / statistics.median(bare_t):.2f}x bare")
    row("run", "csa run overhead over the bare tool (median of pair differences)",
        ms(statistics.median(diffs)), f"min {ms(min(diffs))}; "
        f"{statistics.median(diffs) / floor_s:.1f}x python -S", "<= 150 ms (issue 15)")
    row("run", "csa run peak RSS (max of csa and its reaped children)",
        f"{max(rss) / 2**20:.1f} MiB", "", "<= 50 MB")
    sid_dir = None
    res = subprocess.run([*csa_cmd(), "session", "list", "--json"], env=env, cwd=project,
                         capture_output=True, text=True, check=True)
    import json

    sid = json.loads(res.stdout)[0]["id"]
    resume = [*csa_cmd(), "run", "-q", "-s", sid, "again"]
    times = [wall(resume, env, project) for _ in range(max(5, pairs // 2))]
    row("run", "csa run --session (resume), median", ms(statistics.median(times)),
        f"{statistics.median(times) / statistics.median(bare_t):.2f}x bare")
    del sid_dir


def bench_relay(tmp: Path, env: dict, mb: int, runs: int) -> None:
    project = tmp / "relay-proj"
    project.mkdir()
    big = dict(env, FAKE_HUGE_MB=str(mb))
    bare = [str(FAKE_BIN / "codex"), "exec", "--json", "--skip-git-repo-check",
            "--dangerously-bypass-approvals-and-sandbox", "hello"]
    out = tmp / "relay.out"
    with open(out, "wb") as f:
        subprocess.run(bare, env=big, cwd=project, stdout=f, check=True,
                       stdin=subprocess.DEVNULL)
    nbytes = out.stat().st_size
    cat = statistics.median(wall(["cat", str(out)], env, project) for _ in range(runs))
    gen = statistics.median(wall(bare, big, project) for _ in range(runs))
    tool = statistics.median(wall([*csa_cmd(), "run", "-q", "--tool", "codex", "hello"], big,
                                  project) for _ in range(runs))
    mbs = nbytes / 2**20
    row("relay", f"cat {mbs:.0f} MB (I/O floor)", f"{mbs / cat:.0f} MB/s")
    row("relay", f"bare fake tool printing {mbs:.0f} MB to /dev/null", f"{mbs / gen:.0f} MB/s")
    row("relay", f"csa run relaying {mbs:.0f} MB (redacted transcript), end to end",
        f"{mbs / tool:.0f} MB/s", f"{gen / tool:.2f}x bare", ">= 50 MB/s")


def _synth_project(tmp: Path, env: dict, name: str, sessions: int, age_s: float,
                   full: bool = False) -> Path:
    """A project with `sessions` realistic sessions, state files `age_s` old (with `full`,
    each with a transcript, a result and lock files, as csa leaves them)."""
    from bench_sessions import synth_sessions

    project = tmp / name
    project.mkdir()
    pdir = Path(env["CSA_STATE_DIR"]) / str(project).lstrip("/")
    synth_sessions(pdir / "sessions", sessions, str(project), full=full)
    (pdir / "project.toml").write_text(f'project_path = "{project}"\n')
    old = time.time() - age_s
    for d in (pdir / "sessions").iterdir():
        os.utime(d / "state.toml", (old, old))
    return project


def _floor(env: dict, cwd: Path, runs: int) -> float:
    """`python -S -c pass`: the interpreter alone, the floor every row is compared to."""
    return statistics.median(wall([sys.executable, "-S", "-c", "pass"], env, cwd)
                             for _ in range(runs))


def paired(argv: list[str], env: dict, cwd: Path, runs: int) -> tuple[float, float, float]:
    """(median of the command, median of `python -S -c pass` run just before each, median
    of the differences): on a loaded machine the floor moves with the load, so each
    measurement gets its own floor."""
    floor_argv = [sys.executable, "-S", "-c", "pass"]
    wall(argv, env, cwd)  # warm the page cache
    pairs = [(wall(floor_argv, env, cwd), wall(argv, env, cwd)) for _ in range(runs)]
    return (statistics.median(c for _, c in pairs), statistics.median(f for f, _ in pairs),
            statistics.median(c - f for f, c in pairs))


def paired_row(section: str, label: str, argv: list[str], env: dict, cwd: Path, runs: int,
               goal: str = "") -> None:
    cmd, floor, diff = paired(argv, env, cwd, runs)
    row(section, label, ms(cmd), f"{cmd / floor:.2f}x floor {ms(floor)}; +{ms(diff)}", goal)


def bench_list_prefix(tmp: Path, env: dict, sessions: int, big: int, runs: int) -> None:
    """Listing at `sessions` (all rows) and at `big` sessions (--limit, --tree, prefix)."""
    from csa.store import Store

    project = _synth_project(tmp, env, "list-proj", sessions, 3600)
    floor = _floor(env, project, runs)
    helpt = statistics.median(wall([*csa_cmd(), "--help"], env, project) for _ in range(runs))
    row("list", "python -S -c pass (floor)", ms(floor))
    row("list", "csa --help", ms(helpt), f"{helpt / floor:.2f}x floor", "<= 2.5x floor")
    cold = wall([*csa_cmd(), "session", "list"], env, project)
    row("list", f"csa session list, {sessions} sessions, index built from the state files "
        "(once)", ms(cold))
    for args, label, goal in ((["session", "list"], "csa session list", "<= 300 ms"),
                              (["session", "list", "--tree"], "csa session list --tree", ""),
                              (["session", "list", "--json"], "csa session list --json", "")):
        paired_row("list", f"{label}, {sessions} sessions", [*csa_cmd(), *args], env, project,
                   runs, goal)
    project = _synth_project(tmp, env, "big-proj", big, 3600)
    cold = wall([*csa_cmd(), "session", "list", "--limit", "1"], env, project)
    row("prefix", f"first listing at {big} sessions: index built (once)", ms(cold))
    base = Path(env["CSA_STATE_DIR"])
    target = sorted(Store(base, project).ids())[big // 2]
    for args, label, goal in (
            (["session", "list", "--limit", "20"], "csa session list --limit 20", "<= 100 ms"),
            (["session", "list", "--tree", "--limit", "20"],
             "csa session list --tree --limit 20 (newest 20 trees)", "<= 150 ms"),
            (["session", "show", "-s", target[:16].lower()],
             "csa session show -s PREFIX (whole command)", "")):
        paired_row("prefix", f"{label}, {big} sessions", [*csa_cmd(), *args], env, project,
                   runs, goal)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        assert Store(base, project).resolve(target[:16].lower()).id == target
        times.append(time.perf_counter() - t)
    row("prefix", f"prefix resolution, {big} sessions (in-process, fresh Store)",
        ms(statistics.median(times)), "", "<= 100 ms")


def bench_transcript(mb: float, runs: int) -> None:
    import bench_transcript as bt

    tmp = Path(tempfile.mkdtemp(prefix="csa-bench-tr-"))
    try:
        r = bt.measure(mb, runs, keep=str(tmp / "t.jsonl"))
        _bench_reader(tmp / "t.jsonl", runs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    row("transcript", "orjson loads+dumps to a file, no redaction (floor)", f"{r['floor']:.0f} MB/s")
    row("transcript", "TranscriptWriter.append_stdout_line with redaction",
        f"{r['writer']:.0f} MB/s", f"{r['writer'] / r['floor']:.2f}x floor", ">= 50 MB/s")
    row("transcript", f"planted secrets on disk ({r['planted']} planted)", str(r["leaked"]), "", "0")
    row("redaction", f"false positives: stdlib lines changed (of {r['fp_lines']})",
        f"{100 * r['fp_changed'] / max(1, r['fp_lines']):.3f}%", "", "<= 0.1%")
    row("redaction", "rule set + gate compile (first redaction in a process)",
        f"{r['compile_ms']:.0f} ms")


def _bench_reader(path: Path, runs: int) -> None:
    """csa.jsonl.JsonlReader (every JSONL read in csa) against a bare line loop."""
    import bench_transcript as bt
    import orjson

    from csa.jsonl import JsonlReader

    size = path.stat().st_size

    def floor() -> None:
        loads, error = orjson.loads, orjson.JSONDecodeError
        with open(path, "rb") as f:
            for line in f:
                try:
                    loads(line)
                except error:
                    pass

    def reader() -> None:
        for _ in JsonlReader(path):
            pass

    f_rate = bt.median_rate(floor, size, runs)
    r_rate = bt.median_rate(reader, size, runs)
    row("transcript", "read a transcript: orjson.loads per line (floor)", f"{f_rate:.0f} MB/s")
    row("transcript", "read a transcript: JsonlReader", f"{r_rate:.0f} MB/s",
        f"{r_rate / f_rate:.2f}x floor", ">= 0.8x floor")


def bench_clean(tmp: Path, env: dict, sessions: int) -> None:
    project = _synth_project(tmp, env, "clean-proj", sessions, 40 * 86400, full=True)
    pdir = Path(env["CSA_STATE_DIR"]) / str(project).lstrip("/")
    # Sessions csa wrote are in the summary index already; these synthetic ones are not.
    cold = wall([*csa_cmd(), "session", "list", "--limit", "1"], env, project)
    row("clean", f"summary index built from {sessions} state files (once)", ms(cold))
    dry = wall([*csa_cmd(), "session", "clean", "--days", "0", "--dry-run"], env, project)
    row("clean", f"csa session clean --days 0 --dry-run, {sessions} sessions", ms(dry))
    real = wall([*csa_cmd(), "session", "clean", "--days", "0"], env, project)
    left = len([n for n in os.listdir(pdir / "sessions") if len(n) == 26])
    row("clean", f"csa session clean --days 0, {sessions} sessions removed", ms(real),
        f"{sessions / real:.0f} sessions/s", f"<= 3 s at 10,000; {left} left")


FORGET_SETUP = """
import sys
from csa.checkpoint import checkpoint
from csa.search import reindex
from csa.store import Store
from csa.paths import state_base
store = Store.open(sys.argv[1])
for session in store.sessions():
    checkpoint(session, note="bench")
reindex(state_base())
"""


def bench_forget(tmp: Path, env: dict, sessions: int) -> None:
    """delete and clean over sessions that each have transcript, index rows and a
    checkpoint (what deleting means gone has to remove)."""
    import orjson
    from bench_sessions import synth_sessions

    project = tmp / "forget-proj"
    project.mkdir()
    pdir = Path(env["CSA_STATE_DIR"]) / str(project).lstrip("/")
    ids = synth_sessions(pdir / "sessions", sessions, str(project))
    (pdir / "project.toml").write_text(f'project_path = "{project}"\n')
    words = "parser flaky test refactor cache index commit branch merge review".split()
    rnd = random.Random(7)
    for sid in ids:
        lines = [orjson.dumps({"v": 1, "seq": i, "ts": "2026-01-01T00:00:00.000Z",
                               "type": "stdout", "text": " ".join(rnd.choices(words, k=40))
                               + f" w{rnd.getrandbits(40):x}"}) for i in range(20)]
        (pdir / "sessions" / sid / "transcript.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", FORGET_SETUP, str(project)], env=env, cwd=project,
                   check=True)
    row("forget", f"setup: {sessions} checkpoints + index", ms(time.perf_counter() - t0))
    old = time.time() - 40 * 86400
    for d in (pdir / "sessions").iterdir():
        if len(d.name) == 26:
            os.utime(d / "state.toml", (old, old))
    one = wall([*csa_cmd(), "session", "delete", "-s", ids[0]], env, project)
    row("forget", f"csa session delete (1 of {sessions}, index + checkpoints)", ms(one))
    real = wall([*csa_cmd(), "session", "clean", "--days", "0"], env, project)
    row("forget", f"csa session clean --days 0, {sessions - 1} sessions with index + checkpoints",
        ms(real), f"{(sessions - 1) / real:.0f} sessions/s")


def bench_search(tmp: Path, env: dict, mb: int, queries: int) -> None:
    """Indexing and queries next to FTS5 alone on the same texts (tools/bench_search.py)."""
    from bench_search import measure, rows

    for name, value, detail, target in rows(measure(mb, queries, str(tmp))):
        row("search", name, value, detail, target)


def bench_import(env: dict, mb: int) -> None:
    """`csa import claude` of a synthetic Claude Code store (tools/bench_import.py)."""
    from bench_import import measure

    r = measure(mb, env, csa_cmd())
    row("import", f"orjson.loads of every line of {r['mb']:.0f} MB (floor)",
        f"{r['mb'] / r['floor_s']:.0f} MB/s")
    row("import", f"csa import claude, {r['mb']:.0f} MB ({r['created']} sessions, "
        f"{r['events']} events)", f"{r['seconds']:.1f} s",
        f"{r['mb'] / r['seconds']:.1f} MB/s; {r['seconds'] / r['floor_s']:.1f}x floor",
        "<= 60 s at 1 GB")


def bench_imports(env: dict, runs: int) -> None:
    """Each package of the named stack: its import (alone, and on top of csa's CLI) and one
    use, next to `python -S -c pass` and `python -c pass` (tools/bench_imports.py)."""
    from bench_imports import measure

    for name, alone, ontop, use, what in measure(runs, env):
        value, _, ratio = alone.partition(" (")
        detail = f"on top of csa.cli {ontop}" if ontop else ""
        if use:
            detail += f"; {what}: {use}"
        row("imports", name, value, ratio.rstrip(")"), detail.lstrip("; "))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="the issue sizes (slow)")
    ap.add_argument("--only",
                    default="imports,run,relay,list,prefix,transcript,clean,forget,search,import")
    ap.add_argument("--code", metavar="DIR", default=str(REPO),
                    help="the csa checkout the csa processes run (default: this one), to "
                         "compare before/after")
    ap.add_argument("--markdown", action="store_true", help="print the table as markdown")
    args = ap.parse_args()
    only = set(args.only.split(","))
    full = args.full
    tmp = Path(tempfile.mkdtemp(prefix="csa-bench-"))
    # PYTHONDONTWRITEBYTECODE (set by some sandboxes) would make every csa process
    # recompile every module: not how an installed csa runs.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CSA_", "FAKE_")) and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(CSA_STATE_DIR=str(tmp / "state"), HOME=str(tmp / "home"),
               XDG_CONFIG_HOME=str(tmp / "home" / ".config"),
               FAKE_CLI_HOME=str(tmp / "fake-home"),
               PATH=f"{FAKE_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
               PYTHONPATH=args.code)  # this checkout's csa, also via an installed script
    (tmp / "home").mkdir()
    try:
        if "imports" in only:
            bench_imports(env, runs=11 if full else 7)
        if "run" in only:
            bench_run(tmp, env, pairs=25 if full else 20)
        if "relay" in only:
            bench_relay(tmp, env, mb=100 if full else 30, runs=3)
        if "list" in only or "prefix" in only:
            bench_list_prefix(tmp, env, sessions=10_000 if full else 3_000,
                              big=100_000 if full else 10_000, runs=9 if full else 5)
        if "transcript" in only:
            bench_transcript(mb=50 if full else 20, runs=5 if full else 3)
        if "clean" in only:
            bench_clean(tmp, env, sessions=10_000 if full else 2_000)
        if "forget" in only:
            bench_forget(tmp, env, sessions=10_000 if full else 1_000)
        if "search" in only:
            bench_search(tmp, env, mb=1024 if full else 128, queries=100)
        if "import" in only:
            bench_import(env, mb=1024 if full else 64)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\ncsa benchmarks — {platform.node()}: {os.cpu_count()} cores, "
          f"{platform.python_implementation()} {platform.python_version()}, "
          f"load {os.getloadavg()[0]:.2f}, {'full' if full else 'quick'} sizes")
    width = max(len(r[1]) for r in ROWS)
    sep = "|" if args.markdown else " "
    if args.markdown:
        print("| area | measurement | median | ratio | target |\n|---|---|---|---|---|")
    for section, name, value, ratio, target in ROWS:
        if args.markdown:
            print(f"| {section} | {name} | {value} | {ratio} | {target} |")
        else:
            print(f"{section:<10}{sep}{name.ljust(width)}{sep} {value:>12} {ratio:>16} "
                  f"{target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
