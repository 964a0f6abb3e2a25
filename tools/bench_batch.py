#!/usr/bin/env python3
"""Benchmark `csa batch`: per-task overhead of the ray executor vs the local one, and
throughput with 1, 2 and 3 local Ray nodes (issue 20).

    python3 tools/bench_batch.py                      # 200 instant fake tasks each
    python3 tools/bench_batch.py --tasks 50 --nodes 1 2

Every task is an instant fake codex turn (tools/fake_clis), so what is measured is csa's
cost per task: the `csa run` process, the session, and the executor's own overhead.
Ray clusters are ray.cluster_utils.Cluster nodes on this machine, one CPU each (small
object stores), shut down after each measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FAKE_BIN = REPO / "tools" / "fake_clis" / "bin"
NODE = {"num_cpus": 1, "object_store_memory": 80 << 20}


def environment(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CSA_", "FAKE_", "RAY_"))}
    home = tmp / "home"
    env.update(HOME=str(home), CSA_STATE_DIR=str(tmp / "state"), PYTHONPATH=str(REPO),
               XDG_CONFIG_HOME=str(home / ".config"), XDG_CACHE_HOME=str(home / ".cache"),
               FAKE_CLI_HOME=str(tmp / "fake-home"), PATH=f"{FAKE_BIN}:{env['PATH']}")
    return env


def task_file(project: Path, n: int) -> Path:
    project.mkdir(parents=True)
    path = project / "tasks.jsonl"
    path.write_text("".join(json.dumps({"prompt": f"instant task {i}"}) + "\n"
                            for i in range(n)))
    return path


def run_batch(tmp: Path, name: str, n: int, env: dict, *args: str) -> float:
    """Wall seconds of one `csa batch` of n new tasks (all must succeed)."""
    project = tmp / name
    tasks = task_file(project, n)
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "csa", "batch", str(tasks), "--tool", "codex",
                          "--quiet", "--json", *args], env=env, cwd=project,
                         capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        sys.exit(f"{name}: csa batch failed ({res.returncode}): {res.stderr.strip()[-300:]}")
    assert json.loads(res.stdout)["counts"] == {"ok": n}, res.stdout[:300]
    return wall


def with_cluster(nodes: int, env: dict, fn):
    from ray.cluster_utils import Cluster

    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # the nodes' workers inherit it
    try:
        cluster = Cluster(initialize_head=True,
                          head_node_args={**NODE, "include_dashboard": False})
        for _ in range(nodes - 1):
            cluster.add_node(**NODE)
        cluster.wait_for_nodes()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    try:
        return fn({**env, "RAY_ADDRESS": cluster.address})
    finally:
        cluster.shutdown()


def row(label: str, n: int, wall: float) -> None:
    print(f"| {label} | {n} | {wall:.1f} s | {1000 * wall / n:.0f} ms | {n / wall:.2f} |",
          flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--nodes", type=int, nargs="*", default=[1, 2, 3])
    args = ap.parse_args()
    n = args.tasks
    with tempfile.TemporaryDirectory(prefix="csa-bench-batch-") as d:
        tmp = Path(d)
        env = environment(tmp)
        print(f"load average at start: {os.getloadavg()[0]:.1f}; {os.cpu_count()} CPUs")
        print("| executor | tasks | wall | per task | tasks/s |\n| --- | --- | --- | --- | --- |")
        row("local, --parallel 1", n, run_batch(tmp, "local-1", n, env, "-j", "1"))
        row("local, --parallel 3", n, run_batch(tmp, "local-3", n, env, "-j", "3"))
        for k in args.nodes:
            row(f"ray, {k} node{'s' if k > 1 else ''} (1 CPU each)", n, with_cluster(
                k, env, lambda e, k=k: run_batch(tmp, f"ray-{k}", n, e, "--executor", "ray")))
        print(f"load average at end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
