"""Issue 17: commits made in the project during a turn are attributed to the session; the
prepare-commit-msg hook's `Csa-Session:` trailer ties later commits to it too."""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
from pathlib import Path

import pytest

from runkit import REPO, csa, fake_env, transcript

HOOK_DIR = REPO / "contrib" / "git-hooks"
GIT_ID = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
          "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}


def git(cwd: Path, *args: str, env: dict | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env={**os.environ, **GIT_ID, **(env or {})}).stdout.strip()


@pytest.fixture
def repo(project) -> Path:
    git(project, "init", "-q", "-b", "main")
    (project / "a.txt").write_text("a\n")
    git(project, "add", "a.txt")
    git(project, "commit", "-qm", "initial")
    return project


def _state(state_dir: Path, project: Path, sid: str) -> dict:
    path = state_dir / str(project).lstrip("/") / "sessions" / sid / "state.toml"
    return tomllib.loads(path.read_text())


def test_a_commit_made_by_the_tool_during_a_turn_is_attributed(tmp_path, repo, state_dir):
    # The agent commits on main, and on a side branch it leaves again: both are its work.
    shell = ("echo b > b.txt && git add b.txt && git commit -qm 'add b' && "
             "git checkout -qb side && echo c > c.txt && git add c.txt && "
             "git commit -qm 'side work' && git checkout -q main")
    env = fake_env(tmp_path, FAKE_SHELL=shell, **GIT_ID)
    before = git(repo, "rev-parse", "HEAD")
    res = csa("run", "--tool", "codex", "--json", "commit something", env=env, cwd=repo)
    assert res.returncode == 0, res.stderr
    sid = json.loads(res.stdout)["session_id"]
    made = {git(repo, "rev-parse", "main"): "add b", git(repo, "rev-parse", "side"): "side work"}
    commits = _state(state_dir, repo, sid)["commits"]
    assert {c["sha"]: c["subject"] for c in commits} == made
    assert all(c["turn"] == 1 and c["tool"] == "codex" for c in commits)
    assert before not in {c["sha"] for c in commits}  # not the commit from before the turn
    event = next(e for e in transcript(state_dir, repo, sid) if e["type"] == "commits")
    assert event["head_before"] == before and len(event["commits"]) == 2
    shown = csa("session", "show", "-s", sid, env=env, cwd=repo).stdout
    assert "add b (turn 1, codex)" in shown and "side work (turn 1, codex)" in shown
    log = csa("session", "log", "-s", sid, env=env, cwd=repo)
    assert "Project commits made by this session:" in log.stdout and "add b" in log.stdout
    as_json = json.loads(csa("session", "log", "-s", sid, "--json", env=env, cwd=repo).stdout)
    assert {e["sha"] for e in as_json if e.get("project_commit")} == set(made)
    # A second turn that commits nothing adds nothing.
    env2 = fake_env(tmp_path, **GIT_ID)
    assert csa("run", "-s", sid, "again", env=env2, cwd=repo).returncode == 0
    assert len(_state(state_dir, repo, sid)["commits"]) == 2


def test_commits_made_by_others_outside_the_turn_are_not_attributed(tmp_path, repo, state_dir):
    env = fake_env(tmp_path, **GIT_ID)
    res = csa("run", "--tool", "claude", "--json", "hi", env=env, cwd=repo)
    sid = json.loads(res.stdout)["session_id"]
    (repo / "x.txt").write_text("x")
    git(repo, "add", "x.txt")
    git(repo, "commit", "-qm", "someone else")
    assert "commits" not in _state(state_dir, repo, sid)
    assert "someone else" not in csa("session", "show", "-s", sid, env=env, cwd=repo).stdout


def test_trailer_marked_commits_are_found(tmp_path, repo, state_dir):
    git(repo, "config", "core.hooksPath", str(HOOK_DIR))
    env = fake_env(tmp_path, **GIT_ID)
    sid = json.loads(csa("run", "--json", "hi", env=env, cwd=repo).stdout)["session_id"]
    # Later, from the agent's shell (CSA_SESSION_ID set), outside any turn.
    (repo / "later.txt").write_text("later")
    git(repo, "add", "later.txt")
    git(repo, "commit", "-qm", "follow-up fix", env={"CSA_SESSION_ID": sid})
    assert f"Csa-Session: {sid}" in git(repo, "log", "-1", "--format=%B")
    git(repo, "commit", "-q", "--amend", "--no-edit", env={"CSA_SESSION_ID": sid})
    assert git(repo, "log", "-1", "--format=%B").count("Csa-Session:") == 1
    # Without CSA_SESSION_ID the hook adds nothing.
    git(repo, "commit", "-q", "--allow-empty", "-m", "plain")
    assert "Csa-Session" not in git(repo, "log", "-1", "--format=%B")
    shown = csa("session", "show", "-s", sid, env=env, cwd=repo).stdout
    assert "follow-up fix (Csa-Session trailer)" in shown and "plain" not in shown
