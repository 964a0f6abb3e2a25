#!/usr/bin/env python3
"""Time from a silent tool's output to disk, and to `csa session logs --follow`.

Each trial runs `csa run --tool codex` on a stand-in codex (a shell script set as
`tools.codex.binary`) that prints `thread.started`, is silent for 1.5 s, prints one more
event, then is silent for --sleep seconds. The lag is the time from csa reading a line
(its transcript `ts`) to the line being readable in transcript.jsonl (polled every 10 ms).
The first line often goes out with the prompt's own timer flush; the later one goes out
at once when the last write is an interval old, else by the timer (0.9 of
`transcript.flush_interval`, 1 s): its max is the timer path. Trials run one after another; the
median and the max of each are printed (issue 12's closing note).

Example::

    python tools/bench_liveness.py                 # 10 trials
    python tools/bench_liveness.py --trials 20 --sleep 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FAKE_BIN = REPO / "tools" / "fake_clis" / "bin"


TOOL = """#!/bin/sh
echo '{"type":"thread.started","thread_id":"0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"}'
sleep 1.5
echo '{"type":"turn.started"}'
sleep %s
echo '{"type":"turn.completed","usage":{"input_tokens":1,"output_tokens":1}}'
"""
KINDS = ("thread.started", "turn.started")


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CSA_", "FAKE_"))}
    env.update(CSA_STATE_DIR=str(tmp / "state"), HOME=str(tmp / "home"),
               XDG_CONFIG_HOME=str(tmp / "home" / ".config"),
               XDG_CACHE_HOME=str(tmp / "home" / ".cache"), FAKE_CLI_HOME=str(tmp / "fake"),
               PATH=f"{FAKE_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
               PYTHONPATH=str(REPO))
    (tmp / "home").mkdir(exist_ok=True)
    return env


def one_trial(tmp: Path, sleep: float) -> list[float]:
    """Seconds from csa reading each of the tool's two first lines to it being on disk."""
    tmp.mkdir(parents=True, exist_ok=True)
    env = _env(tmp)
    tool = tmp / "codex"
    tool.write_text(TOOL % sleep)
    tool.chmod(0o755)
    cfg = tmp / "home" / ".config" / "csa"
    cfg.mkdir(parents=True)
    (cfg / "config.toml").write_text(f'[tools.codex]\nbinary = "{tool}"\n')
    proj = tmp / "proj"
    proj.mkdir(exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "csa", "run", "--tool", "codex", "hi"],
                            env=env, cwd=proj, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        sid = proc.stderr.readline().split("session ", 1)[1].split()[0]
        path = tmp / "state" / str(proj).lstrip("/") / "sessions" / sid / "transcript.jsonl"
        lags: dict[str, float] = {}
        deadline = time.time() + sleep + 15
        while len(lags) < len(KINDS) and time.time() < deadline:
            seen = time.time()
            try:
                for raw in path.read_bytes().splitlines():
                    ev = json.loads(raw)
                    kind = ev.get("event", {}).get("type") if ev["type"] == "event" else None
                    if kind in KINDS and kind not in lags:
                        ts = datetime.fromisoformat(ev["ts"].replace("Z", "+00:00"))
                        lags[kind] = seen - ts.timestamp()
            except FileNotFoundError:
                pass
            time.sleep(0.01)
        if len(lags) < len(KINDS):
            raise RuntimeError(f"only {sorted(lags)} reached the transcript")
        return [lags[k] for k in KINDS]
    finally:
        proc.communicate(timeout=sleep + 30)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--sleep", type=float, default=5.0, help="the tool's silence (seconds)")
    args = ap.parse_args(argv)
    runs = []
    with tempfile.TemporaryDirectory(prefix="csa-bench-liveness-") as d:
        for i in range(args.trials):
            runs.append(one_trial(Path(d) / f"t{i}", args.sleep))
    for j, what in enumerate(("first line (goes with the prompt's flush)",
                              "a later line (at once, or the timer)")):
        lags = [r[j] for r in runs]
        print(f"silent tool, {what} -> transcript.jsonl, {len(lags)} trials: "
              f"median {statistics.median(lags):.3f} s, max {max(lags):.3f} s, "
              f"min {min(lags):.3f} s")
    print(f"(load average {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
