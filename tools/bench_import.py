#!/usr/bin/env python3
"""Benchmark `csa import claude` on a synthetic Claude Code store of a given size.

    python tools/bench_import.py --mb 1024        # the issue's size (goal: <= 60 s)
    python tools/bench_import.py --mb 64

The store is built from the captured real-CLI fixture (tests/fixtures/import/claude-code):
each session file is that file (its metadata lines: attachments, request shapes, ...)
with a fresh session id and this benchmark's project as cwd, followed by user and
assistant turns until it is 4 MiB. Floor: `orjson.loads` of every line of the same
files (reading and parsing, nothing else). Everything lives in a temp dir.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO / "tests" / "fixtures" / "import" / "claude-code" / \
    "13ef8887-8528-4750-bc34-b2dd5382249c.jsonl"
PER_FILE = 4 * 2**20
WORDS = ("the parser fails on nested quotes so we refactor the tokenizer and add tests for "
         "the cache invalidation path then run the suite again and fix the flaky timeout").split()


def _turn(rng: random.Random, sid: str, cwd: str, role: str, n: int) -> bytes:
    text = " ".join(rng.choices(WORDS, k=300)) + f" step {n}"
    content = text if role == "user" else [{"type": "text", "text": text}]
    rec = {"parentUuid": None, "isSidechain": False, "type": role,
           "message": {"role": role, "content": content}, "uuid": str(uuid.uuid4()),
           "timestamp": f"2026-11-21T14:{n // 60 % 60:02d}:{n % 60:02d}.000Z",
           "cwd": cwd, "sessionId": sid, "version": "2.1.330", "gitBranch": "main"}
    return orjson.dumps(rec) + b"\n"


def build_store(root: Path, project: Path, mb: int) -> tuple[Path, int]:
    """A `projects/` dir of about `mb` MiB for `project`; (its path, total bytes)."""
    head = FIXTURE.read_bytes()
    old_sid = FIXTURE.stem
    old_cwd = orjson.loads(head.splitlines()[2])["cwd"].encode()
    out = root / "projects" / str(project).replace("/", "-")
    out.mkdir(parents=True)
    rng = random.Random(15)
    total = 0
    for _ in range(max(1, mb * 2**20 // PER_FILE)):
        sid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        parts = [head.replace(old_sid.encode(), sid.encode()).replace(old_cwd,
                                                                      str(project).encode())]
        size, n = len(parts[0]), 0
        while size < PER_FILE:
            line = _turn(rng, sid, str(project), ("user", "assistant")[n % 2], n)
            parts.append(line)
            size += len(line)
            n += 1
        (out / f"{sid}.jsonl").write_bytes(b"".join(parts))
        total += size
    return root / "projects", total


def parse_floor(store: Path) -> tuple[float, float]:
    """(wall, CPU) seconds to read and orjson-parse every line of every file."""
    t, c = time.perf_counter(), time.process_time()
    for path in store.rglob("*.jsonl"):
        with open(path, "rb") as f:
            for line in f:
                orjson.loads(line)
    return time.perf_counter() - t, time.process_time() - c


def measure(mb: int, env: dict, csa: list[str]) -> dict:
    """Build a store of `mb` MiB, import it with `csa import claude`; times and sizes."""
    tmp = Path(tempfile.mkdtemp(prefix="csa-bench-import-"))
    try:
        project = tmp / "proj"
        project.mkdir()
        store, total = build_store(tmp / "claude", project, mb)
        floor = parse_floor(store)
        run_env = dict(env, CLAUDE_CONFIG_DIR=str(tmp / "claude"),
                       CSA_STATE_DIR=str(tmp / "state"))
        t = time.perf_counter()
        proc = subprocess.Popen([*csa, "import", "claude", "--json"], env=run_env, cwd=project,
                                stdout=subprocess.PIPE)
        out = proc.stdout.read()
        _, status, ru = os.wait4(proc.pid, 0)
        took = time.perf_counter() - t
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"csa import claude exited {os.waitstatus_to_exitcode(status)}")
        report = orjson.loads(out)
        return {"mb": total / 2**20, "seconds": took, "cpu_s": ru.ru_utime + ru.ru_stime,
                "floor_s": floor[0], "floor_cpu_s": floor[1],
                "created": report.get("created"), "events": report.get("events")}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=64)
    args = ap.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSA_")}
    env["PYTHONPATH"] = str(REPO)
    load = os.getloadavg()[0]
    r = measure(args.mb, env, [sys.executable, "-m", "csa"])
    mb = r["mb"]
    print(f"csa import claude, {mb:.0f} MB ({r['created']} sessions, {r['events']} events), "
          f"load {load:.1f} -> {os.getloadavg()[0]:.1f}:\n"
          f"  wall {r['seconds']:.1f} s = {mb / r['seconds']:.1f} MB/s; CPU {r['cpu_s']:.1f} s = "
          f"{mb / r['cpu_s']:.1f} MB/s ({1024 * r['cpu_s'] / mb:.0f} s of CPU per GB)\n"
          f"  floor, orjson.loads of every line: wall {mb / r['floor_s']:.0f} MB/s, CPU "
          f"{mb / r['floor_cpu_s']:.0f} MB/s; ratio (CPU) {r['floor_cpu_s'] / r['cpu_s']:.2f}x "
          f"of the floor's rate\n  goal: <= 60 s at 1 GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
