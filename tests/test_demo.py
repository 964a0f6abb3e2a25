"""`csa demo`: the README's first command runs a small agent tree offline, no API key."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from runkit import CSA, REPO


def _demo(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CSA_", "FAKE_"))}
    # No fake or real AI CLI on PATH, no API key: the demo brings its own agent.
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if "fake_clis" not in p)
    env["PYTHONPATH"] = str(REPO)
    env["TMPDIR"] = str(tmp_path)
    return subprocess.run([*CSA, "demo", *args], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, stdin=subprocess.DEVNULL)


def test_demo_runs_an_agent_tree_offline_and_leaves_nothing(tmp_path):
    home = tmp_path / "home"
    before = sorted(p.name for p in home.rglob("*"))
    res = _demo(tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    tree = out[out.index("$ csa session list --tree"):out.index("$ csa session search")]
    rows = [x for x in tree.splitlines() if re.match(r"^(\S+ )?01", x.lstrip("├└─ "))]
    parent = [x for x in rows if x.startswith("01")]
    children = [x for x in rows if x.startswith(("├─", "└─"))]
    assert len(parent) == 1 and "claude-code" in parent[0] and " 2 " in parent[0]
    assert len(children) == 2
    assert {"codex", "claude-code"} == {x.split()[3] for x in children}
    assert re.search(r"\$ csa run -s [0-9a-z]{10} ", out)  # a resume by prefix
    assert "You first asked me: 'Plan the parser work" in out  # it remembered
    search = out[out.index("$ csa session search parser"):]
    assert "[parser]" in search
    assert sorted(p.name for p in home.rglob("*")) == before  # your HOME is not touched
    assert not list(tmp_path.glob("csa-demo-*"))  # the temp dir is gone


def test_demo_state_dir_keeps_the_sessions(tmp_path):
    state = tmp_path / "demo-state"
    res = _demo(tmp_path, "--state-dir", str(state))
    assert res.returncode == 0, res.stderr
    env = {**os.environ, "CSA_STATE_DIR": str(state), "PYTHONPATH": str(REPO)}
    listed = subprocess.run([sys.executable, "-m", "csa", "session", "list", "--json",
                             "--all-projects"], env=env, capture_output=True, text=True,
                            cwd=tmp_path)
    rows = json.loads(listed.stdout or "[]")
    assert len(rows) == 3 and sum(1 for r in rows if r["parent_session_id"]) == 2, listed.stderr
