"""`csa batch --executor ray` on a real multi-node Ray cluster on this machine.

One module-wide cluster (ray.cluster_utils.Cluster): a head and two more nodes, one CPU
each, the custom resource csa-codex on two of them (codex's limit: 2 cluster-wide). Its
workers inherit the environment the cluster was started with: the module's state dir,
HOME (config) and the fake CLIs on PATH; `csa batch` runs as a process with the same
environment and RAY_ADDRESS.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from pathlib import Path

import pytest

from tests.batchkit import logging_tool, max_concurrent, write_tasks
from tests.runkit import csa, fake_env, spawn, transcript, wait_for

try:
    from ray.cluster_utils import Cluster
except ImportError:
    if os.environ.get("CSA_REQUIRE_RAY"):  # CI installs the extra: a missing Ray fails
        raise
    pytest.skip("Ray is not installed: pip install -e '.[ray]'", allow_module_level=True)

pytestmark = pytest.mark.ray
NODE = {"num_cpus": 1, "object_store_memory": 80 << 20}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """(cluster, env, root): the cluster, the environment of its workers, a scratch dir."""
    root = tmp_path_factory.mktemp("ray-world")
    home = root / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CSA_STATE_DIR", str(root / "state"))
        env = fake_env(root, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
                       XDG_STATE_HOME=str(home / ".state"), XDG_CACHE_HOME=str(home / ".cache"),
                       XDG_DATA_HOME=str(home / ".share"), GIT_CONFIG_NOSYSTEM="1")
    env.pop("RAY_ADDRESS", None)
    (home / ".config" / "csa").mkdir(parents=True)
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        cluster = Cluster(initialize_head=True, head_node_args={
            **NODE, "resources": {"csa-codex": 1}, "include_dashboard": False})
    add_node(cluster, env, resources={"csa-codex": 1})
    add_node(cluster, env)
    env["RAY_ADDRESS"] = cluster.address
    yield cluster, env, root
    cluster.shutdown()


def add_node(cluster, env: dict, **kw):
    """A node whose workers see the module's environment (they inherit it)."""
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            if k != "RAY_ADDRESS":
                mp.setenv(k, v)
        node = cluster.add_node(**{**NODE, **kw})
        cluster.wait_for_nodes()
    return node


def kill_node(cluster, node) -> set[int]:
    """What a node's death does: its raylet and every process under it (Ray's workers,
    their `csa run`s and tools) end at once. Removing the node alone kills the raylet
    only; its workers would outlive it for a while and could still report a result."""
    import psutil

    raylet = psutil.Process(node.all_processes["raylet"][0].process.pid)
    tree = raylet.children(recursive=True)
    cluster.remove_node(node, allow_graceful=False)
    for proc in tree:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    return {proc.pid for proc in tree}


def config(root: Path, text: str) -> None:
    (root / "home" / ".config" / "csa" / "config.toml").write_text(text)


def project(root: Path, name: str) -> Path:
    p = root / name
    p.mkdir()
    return p


def batch(*args: str, env: dict, cwd: Path, timeout: float = 600):
    return csa("batch", *args, "--executor", "ray", "--json", env=env, cwd=cwd, timeout=timeout)


def children(env: dict, cwd: Path, batch_id: str) -> list[dict]:
    rows = json.loads(csa("session", "list", "--json", env=env, cwd=cwd).stdout)
    return [r for r in rows if r.get("parent_session_id") == batch_id]


def state(env: dict, cwd: Path, sid: str) -> dict:
    import tomllib

    path = Path(env["CSA_STATE_DIR"]) / str(cwd).lstrip("/") / "sessions" / sid / "state.toml"
    return tomllib.loads(path.read_text())


def attempts(env: dict, cwd: Path, sid: str) -> list[dict]:
    return state(env, cwd, sid).get("ray_attempts", [])


def test_sixty_tasks_spread_over_the_nodes(world):
    cluster, env, root = world
    config(root, "")
    proj = project(root, "sixty")
    tasks = write_tasks(proj / "tasks.jsonl", 60)
    res = batch(str(tasks), "--tool", "claude", env=env, cwd=proj)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["counts"] == {"ok": 60}
    kids = children(env, proj, out["batch_session_id"])
    assert len(kids) == 60
    nodes = {t["node"]["node_id"] for t in out["tasks"]}
    assert len(nodes) > 1, nodes
    first = attempts(env, proj, kids[0]["id"])
    assert first and first[0]["hostname"] and first[0]["node_id"] in nodes
    # list --tree and top show it as a local batch: one batch session, 60 children under it
    tree = csa("session", "list", "--tree", env=env, cwd=proj).stdout.splitlines()
    assert tree[1].split()[-2:] == ["batch", "tasks.jsonl"]
    assert sum(ln.lstrip().startswith(("├─", "└─")) for ln in tree) == 60
    top = csa("top", "--once", env=env, cwd=proj)
    assert top.returncode == 0 and out["batch_session_id"][:10] in top.stdout, top.stderr
    again = batch(str(tasks), "--tool", "claude", env=env, cwd=proj)
    assert json.loads(again.stdout)["counts"] == {"skipped": 60}


def test_the_per_tool_limit_holds_cluster_wide(world):
    cluster, env, root = world
    log = root / "codex-runs.log"
    config(root, f'[tools.codex]\nbinary = "{logging_tool(root, log)}"\nmax_concurrent = 2\n'
                 'env = { FAKE_SLEEP = "1.5" }\n')
    proj = project(root, "limit")
    tasks = write_tasks(proj / "tasks.jsonl", 12)
    res = batch(str(tasks), "--tool", "codex", env=env, cwd=proj)
    assert res.returncode == 0, res.stderr
    assert len(log.read_text().splitlines()) == 24
    assert max_concurrent(log) <= 2  # 3 CPUs in the cluster, csa-codex: 2


def test_a_node_removed_mid_batch_loses_no_task(world):
    cluster, env, root = world
    config(root, '[tools.claude-code]\nenv = { FAKE_SLEEP = "4" }\n')  # the workers' config
    extra = add_node(cluster, env, num_cpus=2)
    proj = project(root, "removal")
    tasks = write_tasks(proj / "tasks.jsonl", 10)
    proc = spawn("batch", str(tasks), "--tool", "claude", "--executor", "ray", "--json",
                 env=env, cwd=proj)

    def running_on_extra():  # a turn under way on the extra node
        rows = json.loads(csa("session", "list", "--json", env=env, cwd=proj).stdout)
        found = []
        for r in rows:
            st = state(env, proj, r["id"]) if r.get("parent_session_id") else {}
            tried = st.get("ray_attempts", [])
            if tried and tried[-1]["node_id"] == extra.node_id and \
                    st.get("run", {}).get("status") == "running":
                found.append(r["id"])
        return found

    victims = wait_for(running_on_extra, timeout=120, every=0.5)
    pids = {state(env, proj, sid)["run"]["pid"] for sid in victims}
    assert pids & kill_node(cluster, extra)  # a turn under way there died with it
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    report = json.loads(out)
    assert report["counts"] == {"ok": 10}
    kids = children(env, proj, report["batch_session_id"])
    assert len(kids) == 10 and len({k["description"] for k in kids}) == 10
    for kid in kids:
        seqs = [e["seq"] for e in transcript(Path(env["CSA_STATE_DIR"]), proj, kid["id"])]
        assert seqs == list(range(len(seqs))), (kid["id"], seqs)
    retried = attempts(env, proj, victims[0])
    assert len(retried) >= 2 and retried[0]["node_id"] == extra.node_id
    assert retried[1]["after"] == "died"


def test_a_state_dir_the_workers_do_not_see_fails_early(world, tmp_path):
    cluster, env, root = world
    proj = project(root, "invisible")
    tasks = write_tasks(proj / "tasks.jsonl", 3)
    elsewhere = {**env, "CSA_STATE_DIR": str(tmp_path / "not-shared")}
    res = batch(str(tasks), "--tool", "claude", env=elsewhere, cwd=proj, timeout=300)
    assert res.returncode == 1 and res.stdout == ""
    # The last line is csa's (before it, Ray may report the node an earlier test removed).
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("Ray node ") and "Traceback" not in res.stderr
    assert "is not the one csa batch uses" in last and last.endswith("see docs/ray.md")
    assert json.loads(csa("session", "list", "--json", env=elsewhere, cwd=proj).stdout) == []


def test_ctrl_c_cancels_the_queued_ray_tasks_and_a_rerun_continues(world):
    cluster, env, root = world
    config(root, '[tools.claude-code]\nenv = { FAKE_SLEEP = "30" }\n')  # the workers' config
    proj = project(root, "cancel")
    tasks = write_tasks(proj / "tasks.jsonl", 8)
    proc = spawn("batch", str(tasks), "--tool", "claude", "--executor", "ray", "--json",
                 env=env, cwd=proj)

    def a_turn_running():
        rows = json.loads(csa("session", "list", "--json", env=env, cwd=proj).stdout)
        return [r for r in rows if r.get("parent_session_id") and r["status"] == "running"]

    wait_for(a_turn_running, timeout=120, every=0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    report = json.loads(out)
    assert report["interrupted"] and sum(report["counts"].values()) == 8
    assert report["counts"].get("not run", 0) >= 1, report["counts"]  # queued: cancelled
    rows = json.loads(csa("session", "list", "--json", env=env, cwd=proj).stdout)
    assert all(r["status"] != "running" for r in rows)
    config(root, "")
    res = batch(str(tasks), "--tool", "claude", env=env, cwd=proj)
    assert res.returncode == 0, res.stderr
    again = json.loads(res.stdout)
    assert again["counts"].get("ok", 0) + again["counts"].get("skipped", 0) == 8
    assert len(children(env, proj, report["batch_session_id"])) == 8
