"""Issue 17: `csa run --worktree [BRANCH]`, `csa session diff`, and removal that never loses
a worktree's work."""

from __future__ import annotations

import json
from pathlib import Path

from runkit import GIT_ID, csa, fake_env, git, read_log, state_of


def _run(tmp_path, repo, *args, shell="", **extra):
    log = tmp_path / "calls.jsonl"
    env = fake_env(tmp_path, FAKE_LOG=str(log), FAKE_SHELL=shell, **GIT_ID, **extra)
    res = csa("run", "--tool", "codex", "--json", *args, env=env, cwd=repo)
    return res, env, read_log(log)


def test_a_worktree_run_leaves_the_main_checkout_untouched(tmp_path, repo, state_dir):
    head = git(repo, "rev-parse", "HEAD")
    res, env, calls = _run(tmp_path, repo, "edit things", "--worktree",
                           shell="echo changed > a.txt && echo new > n.txt && git add n.txt "
                                 "&& git commit -qm 'add n' && echo more >> n.txt")
    assert res.returncode == 0, res.stderr
    sid = json.loads(res.stdout)["session_id"]
    wt = state_of(state_dir, repo, sid)["worktree"]
    path = Path(wt["path"])
    assert path == repo.parent / f"{repo.name}.csa-worktrees" / sid
    assert wt["branch"] == f"csa/{sid}" and wt["base"] == head
    assert calls[0]["cwd"] == str(path) and calls[0]["env"]["CSA_WORKTREE"] == str(path)
    assert calls[0]["env"]["CSA_PROJECT_ROOT"] == str(repo)
    # The main checkout: same HEAD, same files, nothing to commit.
    assert git(repo, "rev-parse", "HEAD") == head
    assert (repo / "a.txt").read_text() == "a\n" and not (repo / "n.txt").exists()
    assert git(repo, "status", "--porcelain") == ""
    assert (path / "a.txt").read_text() == "changed\n"
    # diff: committed and uncommitted work against the base.
    diff = csa("session", "diff", "-s", sid, env=env, cwd=repo)
    assert diff.returncode == 0, diff.stderr
    assert "+changed" in diff.stdout and "+new" in diff.stdout and "+more" in diff.stdout
    stat = csa("session", "diff", "-s", sid, "--stat", env=env, cwd=repo).stdout
    assert "a.txt" in stat and "n.txt" in stat
    assert "worktree" in csa("session", "show", "-s", sid, env=env, cwd=repo).stdout
    # A resume (without --worktree) runs in the session's worktree again.
    log = tmp_path / "resume.jsonl"
    again = csa("run", "-s", sid, "more", env={**env, "FAKE_LOG": str(log), "FAKE_SHELL": ""},
                cwd=repo)
    assert again.returncode == 0, again.stderr
    assert read_log(log)[0]["cwd"] == str(path)


def test_children_inherit_the_worktree_unless_they_ask_for_their_own(tmp_path, repo, state_dir):
    res, _env, calls = _run(tmp_path, repo, "parent", "--worktree=feature/x",
                            FAKE_NESTED="--tool claude child ||| --tool gemini grandchild "
                                        "--worktree")
    assert res.returncode == 0, res.stderr
    parent, child, grandchild = calls
    path = parent["cwd"]
    assert path.endswith(json.loads(res.stdout)["session_id"])
    assert child["cwd"] == path and child["env"]["CSA_WORKTREE"] == path
    csid = child["env"]["CSA_SESSION_ID"]
    assert state_of(state_dir, repo, csid)["worktree"] == {"path": path, "inherited": True}
    # The grandchild asked for its own: another worktree, started from the child's HEAD.
    gsid = grandchild["env"]["CSA_SESSION_ID"]
    own = state_of(state_dir, repo, gsid)["worktree"]
    assert grandchild["cwd"] == own["path"] != path and own["branch"] == f"csa/{gsid}"
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert git(Path(path), "rev-parse", "--abbrev-ref", "HEAD") == "feature/x"


def test_delete_and_clean_never_drop_uncommitted_or_unmerged_work(tmp_path, repo, state_dir):
    res, env, _ = _run(tmp_path, repo, "work", "--worktree", shell="echo wip > a.txt")
    sid = json.loads(res.stdout)["session_id"]
    path = Path(state_of(state_dir, repo, sid)["worktree"]["path"])
    # Uncommitted: refused, even with --force; the session and the worktree stay.
    for args in (["session", "delete", "-s", sid], ["session", "delete", "-s", sid, "--force"]):
        out = csa(*args, env=env, cwd=repo)
        assert out.returncode == 1 and out.stderr.count("\n") == 1, out.stderr
        assert "uncommitted changes" in out.stderr and f"Session {sid} kept" in out.stderr
    cleaned = csa("session", "clean", "--days", "0", env=env, cwd=repo)
    assert cleaned.returncode == 0 and f"kept {sid}: its worktree" in cleaned.stdout + \
        cleaned.stderr
    assert path.is_dir() and state_of(state_dir, repo, sid)
    # Committed on its branch only: still unmerged work.
    git(path, "commit", "-qam", "wip")
    out = csa("session", "delete", "-s", sid, env=env, cwd=repo)
    assert out.returncode == 1 and "1 commit(s) on csa/" in out.stderr
    dry = csa("session", "clean", "--days", "0", "--dry-run", env=env, cwd=repo)
    assert sid not in dry.stdout.split("kept")[0]
    # Merged into main: the session goes, with its worktree and the branch csa made.
    git(repo, "merge", "-q", f"csa/{sid}")
    out = csa("session", "delete", "-s", sid, env=env, cwd=repo)
    assert out.returncode == 0, out.stderr
    assert not path.exists() and f"csa/{sid}" not in git(repo, "branch", "--list")


def test_worktree_refusals_are_one_line_and_write_nothing(tmp_path, project):
    env = fake_env(tmp_path)
    out = csa("run", "--worktree", "--", "hi", env=env, cwd=project)  # not a git repository
    assert out.returncode == 2 and "needs a git repository" in out.stderr
    git(project, "init", "-q", "-b", "main")
    out = csa("run", "--worktree", "--", "hi", env=env, cwd=project)
    assert out.returncode == 2 and "needs a commit" in out.stderr
    (project / "f").write_text("f")
    git(project, "add", "f")
    git(project, "commit", "-qm", "c")
    out = csa("run", "--worktree", "fix the bug", env=env, cwd=project, input="")
    assert out.returncode == 2 and "took 'fix the bug' as the branch name" in out.stderr
    out = csa("run", "--worktree=main", "hi", env=env, cwd=project)
    assert out.returncode == 2 and "already checked out" in out.stderr
    listing = csa("session", "list", "--json", env=env, cwd=project)
    assert json.loads(listing.stdout) == []
    assert not (project.parent / f"{project.name}.csa-worktrees").exists()


def test_detached_runs_keep_worktree_and_failover(tmp_path, repo, state_dir):
    env = fake_env(tmp_path, FAKE_API_ERROR="claude:rate_limit", **GIT_ID)
    res = csa("run", "--detach", "--tool", "claude", "--failover", "codex", "--worktree=",
              "in the background", env=env, cwd=repo)
    assert res.returncode == 0, res.stderr
    sid = res.stdout.strip()
    assert csa("session", "wait", "-s", sid, env=env, cwd=repo).returncode == 0
    st = state_of(state_dir, repo, sid)
    assert st["worktree"]["branch"] == f"csa/{sid}" and st["failover"][0]["to"] == "codex"
