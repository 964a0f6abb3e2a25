"""The session journal through the CLI: goal and tasks, steps with a progress fraction and
a CURRENT marker, blockers cleared, Key Context through compaction, pause and close with
the archive, views by section."""

from __future__ import annotations

import json

import pytest

from runkit import csa, fake_env, session_id_from, transcript


@pytest.fixture
def env(tmp_path, project):
    return fake_env(tmp_path)


def run(env, project, *args):
    res = csa("run", *args, env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    return session_id_from(res.stderr)


def note(env, project, sid, *args, rc=0):
    res = csa("session", "note", "-s", sid, *args, env=env, cwd=project)
    assert res.returncode == rc, res.stderr
    return res


def view(env, project, sid, *args):
    res = csa("session", "journal", "-s", sid, *args, "--json", env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_run_goal_and_tasks_start_the_journal(env, project):
    sid = run(env, project, "--tool", "codex", "--goal", "fix the sweep race", "--task",
              "T-1,T-2", "--task", "T-3", "--with-journal", "reproduce it")
    ctx = view(env, project, sid, "--context")
    assert ctx["section"] == "context" and ctx["goal"] == "fix the sweep race"
    assert ctx["task_ids"] == ["T-1", "T-2", "T-3"]
    prompt = [e for e in transcript(env_state(env), project, sid) if e["type"] == "prompt"][0]
    assert "**Objective**: fix the sweep race" in prompt["text"]  # the journal opened the turn
    note(env, project, sid, "--goal", "fix it for good", "--task", "T-1", "--task", "T-9")
    ctx = view(env, project, sid, "--context")
    assert ctx["goal"] == "fix it for good" and ctx["task_ids"] == ["T-1", "T-2", "T-3", "T-9"]
    res = csa("run", "--ephemeral", "--goal", "x", "y", env=env, cwd=project)
    assert res.returncode == 2 and "--ephemeral" in res.stderr
    res = csa("run", "--detach", "--tool", "codex", "--goal", "in the background", "--task",
              "B-1", "z", env=env, cwd=project)
    bg = res.stdout.strip()
    assert res.returncode == 0 and csa("session", "wait", "-s", bg, env=env,
                                       cwd=project).returncode == 0, res.stderr
    ctx = view(env, project, bg, "--context")
    assert (ctx["goal"], ctx["task_ids"]) == ("in the background", ["B-1"])


def test_steps_progress_fraction_current_marker_and_done(env, project):
    sid = run(env, project, "--tool", "codex", "work")
    for step in ("reproduce the bug", "identify root cause", "implement the fix",
                 "add regression test"):
        note(env, project, sid, "--next", step)
    note(env, project, sid, "--done", "Reproduce the bug")   # names an open step
    note(env, project, sid, "--done", "wrote the design note")  # not a planned step
    note(env, project, sid, "--current", "implement")
    p = view(env, project, sid, "--progress")
    assert (p["done"], p["total"], p["current"], p["step"]) == (2, 5, "implement the fix", 3)
    assert [s["text"] for s in p["open"]] == ["implement the fix", "identify root cause",
                                              "add regression test"]
    assert [s["text"] for s in p["completed"]] == ["reproduce the bug", "wrote the design note"]
    nxt = view(env, project, sid, "--next")["next"]
    assert "reproduce the bug" not in [s["text"] for s in nxt]  # --done updated Next Steps
    human = csa("session", "journal", "-s", sid, "--progress", env=env, cwd=project).stdout
    assert "Progress: 2/5 steps complete" in human
    assert "- [ ] implement the fix <- CURRENT" in human and "- [x] reproduce the bug" in human
    text = csa("session", "journal", "-s", sid, env=env, cwd=project).stdout
    assert "**Progress**: 2/5 steps complete" in text
    assert "**Current**: implement the fix (step 3)" in text
    assert "implement the fix <- CURRENT" in text
    note(env, project, sid, "--done", "implement the fix")
    p = view(env, project, sid, "--progress")
    assert (p["done"], p["total"], p["current"]) == (3, 5, "identify root cause")


def test_blockers_are_cleared_one_or_all(env, project):
    sid = run(env, project, "--tool", "codex", "work")
    note(env, project, sid, "--blocker", "waiting on API docs")
    note(env, project, sid, "--blocker", "CI is red")
    note(env, project, sid, "--clear-blocker", "ci is red")
    b = view(env, project, sid, "--blockers")
    assert [e["text"] for e in b["open"]] == ["waiting on API docs"]
    assert [e["text"] for e in b["cleared"]] == ["CI is red"]
    assert "**Blocker**: waiting on API docs" in "\n".join(view(env, project, sid, "--tldr")["tldr"])
    res = note(env, project, sid, "--clear-blocker", "no such thing", rc=1)
    assert len(res.stderr.strip().splitlines()) == 1 and "--blockers" in res.stderr
    note(env, project, sid, "--clear-blocker")
    assert view(env, project, sid, "--blockers")["open"] == []
    assert "**Blocker**: None" in view(env, project, sid, "--tldr")["tldr"]


def test_pause_resume_complete_writes_the_archive(env, project, state_dir):
    sid = run(env, project, "--tool", "codex", "--goal", "ship the parser", "--task", "P-7",
              "work")
    note(env, project, sid, "--next", "write the lexer")
    note(env, project, sid, "--done", "write the lexer")
    note(env, project, sid, "--decision", "PEG grammar", "--rationale", "error messages")
    paused = json.loads(note(env, project, sid, "--pause", "--reason", "urgent bug elsewhere",
                             "--json").stdout)
    cps = json.loads(csa("session", "checkpoints", "-s", sid, "--json", env=env,
                         cwd=project).stdout)
    assert paused["checkpoint"] and [c["commit"] for c in cps] == [paused["checkpoint"]]
    t = view(env, project, sid, "--tldr")
    assert t["status"] == "paused" and any("urgent bug elsewhere" in x for x in t["tldr"])
    note(env, project, sid, "--resume")
    assert view(env, project, sid, "--tldr")["status"] == "active"
    res = note(env, project, sid, "--complete")
    assert "Session Completed" in res.stdout and "Progress: 1/1 steps" in res.stdout
    assert "Linked task P-7: completed" in res.stdout and "Decisions made: 1" in res.stdout
    archive = state_dir / str(project).lstrip("/") / "sessions" / sid / "output" / \
        "journal-archive.md"
    text = archive.read_text()
    assert "PEG grammar" in text and "## Session Completed" in text
    assert 'status: "completed"' in text
    res = note(env, project, sid, "--progress", "more", rc=1)
    assert "--resume" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    listed = json.loads(csa("session", "journal", "--list", "--json", env=env,
                            cwd=project).stdout)
    assert [(r["session_id"], r["status"], r["done"], r["total"]) for r in listed] == \
        [(sid, "completed", 1, 1)]


def test_abandon_needs_a_reason_and_records_it(env, project, state_dir):
    sid = run(env, project, "--tool", "codex", "work")
    res = note(env, project, sid, "--abandon", rc=2)
    assert "--reason" in res.stderr
    res = csa("session", "note", "-s", sid, "--abandon", "--reason", "requirements changed",
              "--json", env=env, cwd=project)
    out = json.loads(res.stdout)
    assert out["status"] == "abandoned" and out["reason"] == "requirements changed"
    assert "Reason: requirements changed" in open(out["archive"]).read()


BAD_NOTES = [["--progress", "a", "--next", "b"], ["--progress", "a", "--rationale", "r"],
             ["--progress", "a", "--reason", "r"], ["--goal", "g", "--pause"], [],
             ["--pause", "--complete"], ["--context", "  "]]


def test_note_refuses_mixed_or_missing_actions(env, project):
    sid = run(env, project, "--tool", "codex", "work")
    for args in BAD_NOTES:
        res = note(env, project, sid, *args, rc=2)
        assert len(res.stderr.strip().splitlines()) == 1, args


@pytest.mark.parametrize("tool,method", [("claude-code", "native"), ("codex", "rollover")])
def test_key_context_is_carried_through_compaction(env, project, tool, method):
    sid = run(env, project, "--tool", tool, "first turn with some words")
    run(env, project, "-s", sid, "second turn with more words")
    note(env, project, sid, "--context", "lock order: watcher before sweeper")
    note(env, project, sid, "--next", "add the regression test")
    res = csa("session", "compress", "-s", sid, "--json", env=env, cwd=project)
    assert res.returncode == 0 and json.loads(res.stdout)["method"] == method, res.stderr
    prompts = [e["text"] for e in transcript(env_state(env), project, sid)
               if e["type"] == "prompt"]
    sent = prompts[-1]  # /compact's instructions, or the rollover's seed
    assert "Key context: lock order: watcher before sweeper" in sent
    assert "add the regression test" in sent
    summary = csa("session", "journal", "-s", sid, "--summary", env=env, cwd=project).stdout
    assert "Key context: lock order: watcher before sweeper" in summary


def test_every_view_has_json(env, project):
    sid = run(env, project, "--tool", "codex", "work")
    note(env, project, sid, "--discovery", "the index is per project")
    note(env, project, sid, "--decision", "keep it", "--rationale", "cheap")
    for section in ("tldr", "context", "progress", "decisions", "discoveries", "blockers",
                    "next"):
        out = view(env, project, sid, f"--{section}")
        assert out["session_id"] == sid and out["section"] == section
    assert view(env, project, sid, "--discoveries")["discoveries"][0]["text"] == \
        "the index is per project"
    assert "Rationale: cheap" in view(env, project, sid, "--decisions")["decisions"][0]["text"]
    whole = view(env, project, sid)
    assert whole["meta"]["updated_at"] and whole["tldr"][-2].startswith("**Blocker**")
    assert whole["progress"]["total"] == 0 and "entries" in whole
    other = run(env, project, "--tool", "codex", "no journal here")
    res = csa("session", "journal", "-s", other, "--progress", env=env, cwd=project)
    assert res.returncode == 2 and "--goal" in res.stderr


def env_state(env):
    from pathlib import Path

    return Path(env["CSA_STATE_DIR"])
