"""Claude Code hooks (`csa hooks run`) and `csa hooks install` into Claude's settings."""

from __future__ import annotations

import json
import subprocess

import pytest

from csa.claude_hooks import wants_continue
from runkit import csa, fake_env, session_id_from


@pytest.fixture
def env(tmp_path, project):
    e = fake_env(tmp_path)
    e.pop("CLAUDE_CONFIG_DIR", None)
    return e


def hook(env, cwd, payload, event=None):
    raw = payload if isinstance(payload, str) else json.dumps(payload)
    res = csa("hooks", "run", *([event] if event else []), env=env, cwd=cwd, input=raw)
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    return res


@pytest.fixture
def journaled(env, project):
    """A csa session of `project` with a journal: goal, steps, key context, a decision."""
    res = csa("run", "--tool", "codex", "--goal", "fix the sweep race", "work", env=env,
              cwd=project)
    sid = session_id_from(res.stderr)
    for args in (["--next", "reproduce"], ["--next", "implement the fix"],
                 ["--done", "reproduce"], ["--context", "lock order: watcher first"],
                 ["--progress", "root cause found in sweeper.go:245"]):
        assert csa("session", "note", "-s", sid, *args, env=env,
                   cwd=project).returncode == 0
    return sid


def compactions(env, project, sid):
    res = csa("session", "journal", "-s", sid, "--tldr", "--json", env=env, cwd=project)
    return json.loads(res.stdout)["compaction_count"]


def test_pre_compact_counts_the_compaction_and_prints_the_tldr(env, project, journaled):
    assert compactions(env, project, journaled) == 0
    payload = {"hook_event_name": "PreCompact", "session_id": "c0ffee", "cwd": str(project),
               "trigger": "auto", "custom_instructions": ""}
    out = hook(env, project, payload).stdout
    assert "compaction #1" in out and "**Objective**: fix the sweep race" in out
    assert "**Progress**: 1/2 steps complete" in out
    assert "**Current**: implement the fix (step 2)" in out
    assert "Key context: lock order: watcher first" in out and "Next: implement the fix" in out
    assert compactions(env, project, journaled) == 1
    out = hook(env, project, payload, event="pre-compact").stdout
    assert "compaction #2" in out and "**Compactions**: 2" in out
    assert compactions(env, project, journaled) == 2


def test_user_prompt_submit_injects_only_on_continue(env, project, journaled):
    base = {"hook_event_name": "UserPromptSubmit", "cwd": str(project), "session_id": "x"}
    out = hook(env, project, {**base, "prompt": "continue where we left off"}).stdout
    assert journaled in out and "**Objective**: fix the sweep race" in out
    assert "Key context: lock order: watcher first" in out
    assert hook(env, project, {**base, "prompt": "rename foo to bar in utils.py"}).stdout == ""
    assert compactions(env, project, journaled) == 0  # only PreCompact counts


@pytest.mark.parametrize("prompt", [
    "continue", "Continue.", "continue where we left off", "ok, let's continue",
    "Where were we?", "where did we leave off", "resume", "please resume the session",
    "carry on", "keep going", "let's pick up where we left off yesterday",
    "what were we working on?", "catch me up", "Continue from where we stopped",
])
def test_continue_intent_is_recognised(prompt):
    assert wants_continue(prompt)


@pytest.mark.parametrize("prompt", [
    "", "fix the failing test in test_parser.py", "continue to use tabs in this file",
    "don't continue, start over", "keep the old API", "where is the config loaded?",
    "resume parsing after the header in read_file", "what is left off the list of features?",
    "continue " + "word " * 40, "go on and delete everything in /tmp",
])
def test_other_prompts_are_not_continue(prompt):
    assert not wants_continue(prompt)


def test_session_start_works_outside_csa(env, project, tmp_path, journaled):
    assert "CSA_SESSION_ID" not in env
    sub = project / "src"
    sub.mkdir()
    payload = {"hook_event_name": "SessionStart", "source": "startup", "cwd": str(sub),
               "session_id": "not-a-csa-conversation"}
    out = hook(env, tmp_path, payload).stdout  # the input's cwd names the project
    assert f"active session journal {journaled}" in out
    assert "**Progress**: 1/2 steps complete" in out and "**Blocker**: None" in out
    assert f"csa session journal -s {journaled}" in out
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert hook(env, elsewhere, {**payload, "cwd": str(elsewhere)}).stdout == ""


def test_session_start_prefers_csa_session_id_then_newest_open_journal(env, project,
                                                                       journaled):
    res = csa("run", "--tool", "codex", "--goal", "second goal", "other", env=env,
              cwd=project)
    second = session_id_from(res.stderr)
    payload = {"hook_event_name": "SessionStart", "cwd": str(project)}
    assert f"journal {second}" in hook(env, project, payload).stdout  # newest
    inside = {**env, "CSA_SESSION_ID": journaled}
    assert f"journal {journaled}" in hook(inside, project, payload).stdout
    csa("session", "note", "-s", second, "--complete", env=env, cwd=project)
    assert f"journal {journaled}" in hook(env, project, payload).stdout  # closed: skipped
    # Claude's own session id names the csa session that ran (or imported) it
    res = csa("run", "--tool", "claude-code", "--goal", "claude's goal", "hi", env=env,
              cwd=project)
    third = session_id_from(res.stderr)
    show = json.loads(csa("session", "show", "-s", third, "--json", env=env,
                          cwd=project).stdout)
    provider = show["tools"]["claude-code"]["provider_session_id"]
    csa("session", "note", "-s", journaled, "--progress", "touched last", env=env,
        cwd=project)
    assert f"journal {journaled}" in hook(env, project, payload).stdout
    out = hook(env, project, {**payload, "session_id": provider}).stdout
    assert f"journal {third}" in out and "claude's goal" in out


@pytest.mark.parametrize("raw", ["", "not json", "[1, 2]", '{"hook_event_name": "Nope"}',
                                 '{"hook_event_name": "SessionStart", "cwd": "/no/such/dir"}',
                                 '{"hook_event_name": "PreCompact", "cwd": 7}'])
def test_bad_input_prints_nothing_and_exits_0(env, project, journaled, raw):
    res = hook(env, project, raw)
    assert res.stdout == "" or raw.endswith("7}")  # cwd 7: ignored, the cwd's journal
    assert len(res.stderr.strip().splitlines()) <= 1


def settings_with_other_hooks(path):
    data = {"model": "opus", "hooks": {
        "PreCompact": [{"matcher": "manual", "hooks": [{"type": "command",
                                                        "command": "backup.sh"}]}],
        "PostToolUse": [{"matcher": "Edit", "hooks": [{"type": "command",
                                                       "command": "fmt.sh"}]}]}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=4))
    return data


def test_install_merges_keeps_a_backup_and_is_idempotent(env, project, tmp_path):
    cfg = tmp_path / "claude-cfg"
    env = {**env, "CLAUDE_CONFIG_DIR": str(cfg)}
    settings = cfg / "settings.json"
    before = settings_with_other_hooks(settings)
    old_text = settings.read_text()
    res = csa("hooks", "install", "--claude", "--dry-run", "--json", env=env, cwd=project)
    assert json.loads(res.stdout)["added"] == ["PreCompact", "SessionStart", "UserPromptSubmit"]
    assert settings.read_text() == old_text and len(list(cfg.iterdir())) == 1
    res = csa("hooks", "install", "--json", env=env, cwd=project)
    report = json.loads(res.stdout)
    assert res.returncode == 0 and report["backup"]
    assert open(report["backup"]).read() == old_text
    data = json.loads(settings.read_text())
    assert data["model"] == "opus" and data["hooks"]["PostToolUse"] == \
        before["hooks"]["PostToolUse"]
    pre = data["hooks"]["PreCompact"]
    assert pre[0] == before["hooks"]["PreCompact"][0] and len(pre) == 2
    assert "hooks run pre-compact" in pre[1]["hooks"][0]["command"]
    for event in ("SessionStart", "UserPromptSubmit"):
        assert len(data["hooks"][event]) == 1
    installed = settings.read_text()
    res = csa("hooks", "install", "--json", env=env, cwd=project)
    again = json.loads(res.stdout)
    assert again["added"] == [] and again["backup"] is None
    assert settings.read_text() == installed and len(list(cfg.iterdir())) == 2
    res = csa("hooks", "uninstall", "--json", env=env, cwd=project)
    assert json.loads(res.stdout)["removed"] == ["PreCompact", "SessionStart",
                                                  "UserPromptSubmit"]
    assert json.loads(settings.read_text()) == before


def test_installed_command_runs_the_hook(env, project, journaled, tmp_path):
    env = {**env, "CLAUDE_CONFIG_DIR": str(tmp_path / "cfg")}
    assert csa("hooks", "install", env=env, cwd=project).returncode == 0
    data = json.loads((tmp_path / "cfg" / "settings.json").read_text())
    command = data["hooks"]["UserPromptSubmit"][0]["hooks"][0]["command"]
    payload = json.dumps({"hook_event_name": "UserPromptSubmit", "cwd": str(project),
                          "prompt": "where were we?"})
    res = subprocess.run(["sh", "-c", command], input=payload, env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "fix the sweep race" in res.stdout, res.stderr


def test_install_refuses_malformed_settings_in_one_line(env, project, tmp_path):
    home_settings = tmp_path / "home" / ".claude" / "settings.json"
    home_settings.parent.mkdir(parents=True)
    home_settings.write_text('{"hooks": {"PreCompact": [}')
    res = csa("hooks", "install", env=env, cwd=project)
    assert res.returncode == 1 and len(res.stderr.strip().splitlines()) == 1
    assert "not valid JSON" in res.stderr and "rerun csa hooks install" in res.stderr
    assert home_settings.read_text() == '{"hooks": {"PreCompact": [}'
    home_settings.write_text('{"hooks": {"PreCompact": {}}}')
    res = csa("hooks", "install", env=env, cwd=project)
    assert res.returncode == 1 and "must map event names to lists" in res.stderr
