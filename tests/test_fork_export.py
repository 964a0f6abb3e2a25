"""`csa session fork` and `csa session export` through the real `csa` executable and the
fake CLIs, for each of the four tools (issue 16)."""

from __future__ import annotations

import json
import tomllib

import pytest

from runkit import csa, fake_env, read_log, session_id_from, sessions

TOOLS = ["claude-code", "codex", "gemini-cli", "opencode"]
# How each tool's native fork shows on its argv (gemini-cli has none: seeded).
FORK_ARGV = {"claude-code": ["--resume", "--fork-session"], "codex": ["exec", "fork"],
             "opencode": ["-s", "--fork"], "gemini-cli": None}


@pytest.fixture
def env(tmp_path, project):
    return fake_env(tmp_path, FAKE_LOG=str(tmp_path / "fake.log"))


def state(state_dir, project, sid) -> dict:
    path = state_dir / str(project).lstrip("/") / "sessions" / sid / "state.toml"
    return tomllib.loads(path.read_text())


def run_ok(*args, env, project):
    res = csa(*args, env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    return res


@pytest.mark.parametrize("tool", TOOLS)
def test_fork_native_where_possible_original_untouched(tool, env, project, state_dir,
                                                       tmp_path):
    parent = session_id_from(run_ok("run", "--tool", "codex", "parent", env=env,
                                    project=project).stderr)
    child_env = {**env, "CSA_SESSION_ID": parent, "CSA_DEPTH": "1"}
    res = csa("run", "--tool", tool, "--name", "orig", "remember the word kumquat",
              env=child_env, cwd=project)
    assert res.returncode == 0, res.stderr
    orig = session_id_from(res.stderr)
    before = state(state_dir, project, orig)
    res = run_ok("session", "fork", "-s", "orig", "--name", "alt", "what was the word?",
                 env=env, project=project)
    native = FORK_ARGV[tool] is not None
    # natively the fork's conversation holds the original's turn; seeded, the prompt does
    assert f"user turns seen: {2 if native else 1}" in res.stdout
    fork = state(state_dir, project, session_id_from(res.stderr.split("fork ", 1)[1]))
    assert fork["genealogy"]["forked_from"] == orig and fork["name"] == "alt"
    # a sibling: same parent and depth as the original
    assert fork["genealogy"].get("parent_session_id") == parent
    assert fork["genealogy"]["depth"] == before["genealogy"]["depth"] == 1
    orig_pid = before["tools"][tool]["provider_session_id"]
    fork_pid = fork["tools"][tool]["provider_session_id"]
    assert fork_pid and fork_pid != orig_pid
    after = state(state_dir, project, orig)
    assert after["turn_count"] == before["turn_count"] == 1
    assert after["tools"][tool]["provider_session_id"] == orig_pid
    calls = [c["argv"] for c in read_log(tmp_path / "fake.log") if "argv" in c]
    fork_call = next(a for a in calls if any("what was the word" in x for x in a))
    if FORK_ARGV[tool]:
        assert all(flag in fork_call for flag in FORK_ARGV[tool]), fork_call
        assert orig_pid in fork_call
    else:  # seeded: a fresh conversation whose prompt carries the original's
        assert "--resume" not in fork_call
        assert any("kumquat" in x for x in fork_call)
    # the fork resumes on its own: its conversation goes on, the original's does not
    res = run_ok("run", "-s", "alt", "and again", env=env, project=project)
    assert f"user turns seen: {3 if native else 2}" in res.stdout
    assert state(state_dir, project, session_id_from(res.stderr))["tools"][tool][
        "provider_session_id"] == fork_pid
    res = run_ok("run", "-s", "orig", "original goes on", env=env, project=project)
    assert "user turns seen: 2" in res.stdout
    tree = run_ok("session", "list", "--tree", env=env, project=project).stdout
    assert f"(fork of {orig[:8]}" in tree


def test_fork_without_prompt_forks_on_first_run(env, project, state_dir):
    run_ok("run", "--tool", "claude-code", "--name", "base-1", "one", env=env, project=project)
    res = run_ok("session", "fork", "--last", "--json", env=env, project=project)
    fork = json.loads(res.stdout)["session_id"]
    assert state(state_dir, project, fork)["turn_count"] == 0
    res = run_ok("run", "-s", fork, "two", env=env, project=project)
    assert "user turns seen: 2" in res.stdout


def test_fork_with_another_tool_is_seeded(env, project, state_dir):
    run_ok("run", "--tool", "claude-code", "--name", "base-1", "the colour is teal", env=env,
           project=project)
    res = run_ok("session", "fork", "-s", "base-1", "--tool", "codex", "which colour?", env=env,
                 project=project)
    assert "user turns seen: 1" in res.stdout  # a new codex conversation...
    md = run_ok("session", "export", "--last", env=env, project=project).stdout
    assert "teal" in md and "which colour?" in md  # ...whose first prompt carries the original


def test_fork_errors_are_one_line(env, project):
    res = csa("session", "fork", "-s", "nope-1", "x", env=env, cwd=project)
    assert res.returncode == 1 and len(res.stderr.strip().splitlines()) == 1
    run_ok("run", "--tool", "codex", "--name", "taken-1", "x", env=env, project=project)
    res = csa("session", "fork", "-s", "taken-1", "--name", "taken-1", "x", env=env, cwd=project)
    assert res.returncode == 1 and "already used" in res.stderr
    assert len(sessions(env, project)) == 1


SECRET = "sk-ant-api03-" + "Qx7" * 20 + "AA"


@pytest.mark.parametrize("tool", TOOLS)
def test_export_three_formats_no_secret(tool, env, project, tmp_path):
    senv = {**env, "FAKE_SECRET": SECRET}
    sid = session_id_from(run_ok("run", "--tool", tool, f"first prompt {SECRET} <b>&", env=senv,
                                 project=project).stderr)
    run_ok("run", "-s", sid, "second prompt", env=senv, project=project)
    md = run_ok("session", "export", "-s", sid, env=env, project=project).stdout
    assert "first prompt" in md and "second prompt" in md
    assert "FAKE-REPLY (user turns seen: 2) second prompt" in md
    assert "**Prompt**" in md and "**Answer**" in md and "tokens" in md
    out = tmp_path / "s.html"
    run_ok("session", "export", "--last", "--format", "html", "-o", str(out), env=env,
           project=project)
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and "second prompt" in page
    assert "&lt;b&gt;&amp;" in page and "<b>&" not in page  # escaped
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    jl = run_ok("session", "export", "-s", sid, "--format", "jsonl", env=env,
                project=project).stdout
    events = [json.loads(line) for line in jl.splitlines()]
    assert events[0]["type"] == "session" and events[0]["id"] == sid
    assert [e["text"] for e in events if e.get("type") == "prompt"][1] == "second prompt"
    for text in (md, page, jl):
        assert SECRET not in text and SECRET[:30] not in text


def test_export_tree_includes_descendants(env, project):
    parent = session_id_from(run_ok("run", "--tool", "codex", "parent prompt", env=env,
                                    project=project).stderr)
    child_env = {**env, "CSA_SESSION_ID": parent, "CSA_DEPTH": "1"}
    res = csa("run", "--tool", "gemini-cli", "child prompt", env=child_env, cwd=project)
    assert res.returncode == 0, res.stderr
    alone = run_ok("session", "export", "-s", parent, env=env, project=project).stdout
    assert "child prompt" not in alone
    for fmt in ("md", "html", "jsonl"):
        both = run_ok("session", "export", "-s", parent, "--tree", "--format", fmt, env=env,
                      project=project).stdout
        assert "parent prompt" in both and "child prompt" in both, fmt


TOOL_EVENTS = [  # the shapes each real CLI prints for a shell call and its result
    [{"type": "assistant", "message": {"content": [
        {"type": "tool_use", "name": "Bash", "input": {"command": "ls -la"}}]}},
     {"type": "user", "message": {"content": [{"type": "tool_result", "content": "a.txt"}]}}],
    [{"type": "item.completed", "item": {"type": "command_execution", "command": "ls -la",
                                         "aggregated_output": "a.txt"}}],
    [{"type": "tool_use", "tool_name": "run_shell_command", "parameters": {"command": "ls -la"}},
     {"type": "tool_result", "output": "a.txt"}],
    [{"type": "tool_use", "part": {"tool": "bash", "state": {"input": {"command": "ls -la"},
                                                              "output": "a.txt"}}}],
]


@pytest.mark.parametrize("events", TOOL_EVENTS)
def test_export_folds_tool_calls(events):
    from csa.conversation import conversation
    from csa.export import _md_turn

    evs = [{"type": "prompt", "ts": "2026-12-03T00:00:00.000Z", "tool": "x", "text": "list"},
           *({"type": "event", "event": e} for e in events),
           {"type": "turn_end", "final_text": "one file", "status": "finished", "exit_code": 0,
            "tokens": {"input_tokens": 3}}]
    (turn,) = conversation(evs)
    assert turn["tool_calls"][0]["output"] == "a.txt" and "ls -la" in turn["tool_calls"][0]["input"]
    md = "\n".join(_md_turn(1, turn, 2))
    assert "<details><summary>Tool calls (1)</summary>" in md and "a.txt" in md
    assert "one file" in md and "input_tokens 3" in md


def test_fork_first_turn_failing_forks_again(env, project, state_dir):
    import os
    from pathlib import Path

    run_ok("run", "--tool", "claude-code", "--name", "src-1", "one", env=env, project=project)
    cfg = Path(os.environ["XDG_CONFIG_HOME"]) / "csa" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text('[tools.claude-code]\nargs = ["--no-such-flag"]\n')  # fails before an id
    res = csa("session", "fork", "-s", "src-1", "--name", "fk-1", "two", env=env, cwd=project)
    assert res.returncode == 1 and "unknown option" in res.stderr
    cfg.unlink()
    res = run_ok("run", "-s", "fk-1", "three", env=env, project=project)
    assert "user turns seen: 2" in res.stdout  # forked from src-1's conversation after all
