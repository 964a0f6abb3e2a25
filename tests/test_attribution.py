"""Issue 17: commits made in the project during a turn are attributed to the session; the
prepare-commit-msg hook's `Csa-Session:` trailer ties later commits to it too."""

from __future__ import annotations

import json

from runkit import GIT_ID, REPO, csa, fake_env, git, state_of, transcript

HOOK_DIR = REPO / "contrib" / "git-hooks"


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
    commits = state_of(state_dir, repo, sid)["commits"]
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
    assert len(state_of(state_dir, repo, sid)["commits"]) == 2


def test_commits_made_by_others_outside_the_turn_are_not_attributed(tmp_path, repo, state_dir):
    env = fake_env(tmp_path, **GIT_ID)
    res = csa("run", "--tool", "claude", "--json", "hi", env=env, cwd=repo)
    sid = json.loads(res.stdout)["session_id"]
    (repo / "x.txt").write_text("x")
    git(repo, "add", "x.txt")
    git(repo, "commit", "-qm", "someone else")
    assert "commits" not in state_of(state_dir, repo, sid)
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
    as_json = json.loads(csa("session", "show", "-s", sid, "--json", env=env, cwd=repo).stdout)
    assert [(c["subject"], c["via"]) for c in as_json["project_commits"]] == \
        [("follow-up fix", "trailer")]


def test_only_reflog_lines_written_after_the_mark_count(repo):
    from csa.attribution import Mark, commits_since

    git(repo, "commit", "-q", "--allow-empty", "-m", "just before")  # same second, likely
    mark = Mark.take(repo)
    assert commits_since(mark) == []  # nothing happened yet: no git process either
    git(repo, "checkout", "-qb", "side")
    git(repo, "commit", "-q", "--allow-empty", "-m", "on side")
    git(repo, "checkout", "-q", "main")
    git(repo, "commit", "-q", "--allow-empty", "-m", "on main")
    assert [c["subject"] for c in commits_since(mark)] == ["on main", "on side"]
