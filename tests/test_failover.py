"""Issue 17: `--tool auto` (another model family than the parent's) and failover on rate
limits, with the fake CLIs printing each real CLI's failure (tools/fake_clis/fakes/api_errors.py).
"""

from __future__ import annotations

import json

import pytest

from csa.autotool import family_of, model_family, parent_tool, tool_of_process
from csa.config import Config
from csa.tools import get_tool
from runkit import csa, fake_env, read_log, sessions, state_of, transcript

FAMILY = {"claude-code": "anthropic", "codex": "openai", "gemini-cli": "google"}
FAKE = {"claude-code": "claude", "codex": "codex", "gemini-cli": "gemini",
        "opencode": "opencode"}


def _cfg(project, text: str) -> None:
    (project / ".csa").mkdir(exist_ok=True)
    (project / ".csa" / "config.toml").write_text(text)



# -- --tool auto -----------------------------------------------------------------------------

@pytest.mark.parametrize("parent", ["claude-code", "codex", "gemini-cli", "opencode"])
def test_auto_from_each_parent_tool_picks_another_family(parent, tmp_path, project, state_dir):
    # opencode's family comes from its configured model: here an Anthropic one.
    _cfg(project, 'auto_order = ["claude-code", "codex", "gemini-cli", "opencode"]\n'
                  '[tools.opencode]\nmodel = "anthropic/claude-sonnet-5"\n')
    env = fake_env(tmp_path, FAKE_NESTED="--tool auto --json 'review this'")
    res = csa("run", "--tool", parent, "write the code", env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    rows = {r["id"]: r for r in sessions(env, project)}
    child = next(r for r in rows.values() if r.get("parent_session_id"))
    child_state = state_of(state_dir, project, child["id"])
    chosen = next(iter(child_state["tools"]))
    parent_family = FAMILY.get(parent, "anthropic")
    assert chosen != parent and FAMILY.get(chosen, "anthropic") != parent_family
    # The first of auto_order whose family differs from the parent's.
    assert chosen == ("codex" if parent_family == "anthropic" else "claude-code")
    # The choice and its reason: on stderr (the nested csa passes it through) and on record.
    assert f"--tool auto: {chosen}" in res.stderr and f"parent's {parent}" in res.stderr
    events = transcript(state_dir, project, child["id"])
    choice = next(e for e in events if e["type"] == "tool_choice")
    assert choice["tool"] == chosen and choice["parent_tool"] == parent
    assert "CSA_TOOL" in choice["reason"]
    result = csa("session", "result", "-s", child["id"], "--json", env=env, cwd=project)
    assert json.loads(result.stdout)["tool_reason"].startswith(f"--tool auto: {chosen}")


def test_auto_in_a_root_session_takes_the_first_installed(tmp_path, project):
    _cfg(project, 'auto_order = ["gemini-cli", "codex"]\n')
    env = fake_env(tmp_path)
    res = csa("run", "--tool", "auto", "--json", "hi", env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["tool"] == "gemini-cli"
    assert "no parent tool" in res.stderr


def test_auto_refuses_when_only_the_parents_family_is_installed(tmp_path, project):
    _cfg(project, 'auto_order = ["codex", "opencode"]\n[tools.opencode]\nfamily = "openai"\n')
    env = fake_env(tmp_path, CSA_TOOL="codex")
    res = csa("run", "--tool", "auto", "hi", env=env, cwd=project)
    assert res.returncode == 1
    assert res.stderr.count("\n") == 1 and "parent's family (openai" in res.stderr


def test_families_and_parent_detection(monkeypatch):
    cfg = Config(values={"tools": {"gemini-cli": {"family": "Acme"}}}, sources={}, files=[])
    assert family_of("claude", cfg) == "anthropic"
    assert family_of("gemini-cli", cfg) == "acme"  # config overrides the built-in family
    assert model_family("openai/gpt-5.5") == "openai"
    assert model_family("openrouter/anthropic-claude-sonnet") == "anthropic"
    assert model_family("mock/mock-model") == "mock"
    assert tool_of_process("node", ["node", "/x/node_modules/@anthropic-ai/claude-code/cli.js"]
                           ) == "claude-code"
    assert tool_of_process("codex", ["/usr/bin/codex", "exec"]) == "codex"
    assert tool_of_process("bash", ["bash", "-c", "csa run"]) is None
    # Without CSA_TOOL, the parent is found among csa's ancestor processes.
    import csa.procs

    monkeypatch.setattr(csa.procs, "ancestors", lambda: [
        (40, "bash", ["bash"]), (30, "node", ["node", "/opt/bin/gemini", "-p", "x"])])
    assert parent_tool({}) == ("gemini-cli", "parent process 30 (node)")
    assert parent_tool({"CSA_TOOL": "claude"}) == ("claude-code", "from CSA_TOOL")


# -- failover --------------------------------------------------------------------------------

NEXT = {"claude-code": "codex", "codex": "gemini-cli", "gemini-cli": "opencode",
        "opencode": "claude-code"}


@pytest.mark.parametrize("tool", list(NEXT))
def test_rate_limit_fails_over_to_the_next_tool(tool, tmp_path, project, state_dir):
    log = tmp_path / "calls.jsonl"
    env = fake_env(tmp_path, FAKE_API_ERROR=f"{FAKE[tool]}:rate_limit", FAKE_LOG=str(log))
    res = csa("run", "--tool", tool, "--failover", NEXT[tool], "--json", "fix the bug",
              env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    sid = out["session_id"]
    assert out["tool"] == NEXT[tool] and out["exit_code"] == 0
    assert out["tool_reason"] == f"failover: {tool} failed (rate_limit)"
    assert [c["tool"] for c in read_log(log)] == [FAKE[tool], FAKE[NEXT[tool]]]
    # The next tool was seeded with the session and got the same prompt.
    assert "[csa failover]" in out["final_text"] and "fix the bug" in out["final_text"]
    events = transcript(state_dir, project, sid)
    ends = [e for e in events if e["type"] == "turn_end"]
    assert [(e["tool"], e.get("failure")) for e in ends] == [(tool, "rate_limit"),
                                                             (NEXT[tool], None)]
    switch = next(e for e in events if e["type"] == "failover")
    assert (switch["from"], switch["to"], switch["kind"]) == (tool, NEXT[tool], "rate_limit")
    st = state_of(state_dir, project, sid)
    assert [(f["from"], f["to"], f["kind"]) for f in st["failover"]] == \
        [(tool, NEXT[tool], "rate_limit")]
    shown = csa("session", "show", "-s", sid, env=env, cwd=project).stdout
    assert any(line.split()[:2] == ["answered", "by"] and line.endswith(
        f"{NEXT[tool]} (failover: {tool} failed (rate_limit))") for line in shown.splitlines())
    result = csa("session", "result", "-s", sid, env=env, cwd=project).stdout
    assert f"{tool} (rate_limit) -> {NEXT[tool]}" in result


def test_no_loop_when_every_tool_fails(tmp_path, project, state_dir):
    log = tmp_path / "calls.jsonl"
    _cfg(project, 'failover = ["codex", "claude-code", "gemini-cli", "codex"]\n')
    env = fake_env(tmp_path, FAKE_API_ERROR="quota", FAKE_LOG=str(log))
    res = csa("run", "--tool", "claude-code", "--json", "hi", env=env, cwd=project)
    assert res.returncode == 1
    assert [c["tool"] for c in read_log(log)] == ["claude", "codex", "gemini"]  # once each
    assert "every tool failed (claude-code: quota, codex: quota, gemini-cli: quota)" in res.stderr
    st = state_of(state_dir, project, json.loads(res.stdout)["session_id"])
    assert [f["to"] for f in st["failover"]] == ["codex", "gemini-cli"]


def test_a_tool_that_keeps_retrying_is_stopped_and_failed_over(tmp_path, project):
    # gemini retries a 429 for minutes; with a tool to go to, csa stops it after 2 attempts.
    env = fake_env(tmp_path, FAKE_API_ERROR="gemini:rate_limit", FAKE_API_RETRIES="400")
    res = csa("run", "--tool", "gemini-cli", "--failover", "codex", "--json", "hi",
              env=env, cwd=project, timeout=30)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["tool"] == "codex"
    assert "gemini-cli kept retrying a rate_limit failure (2 attempts)" in res.stderr


def test_auth_failures_do_not_fail_over(tmp_path, project):
    log = tmp_path / "calls.jsonl"
    env = fake_env(tmp_path, FAKE_API_ERROR="auth", FAKE_LOG=str(log))
    res = csa("run", "--tool", "codex", "--failover", "claude", "--json", "hi",
              env=env, cwd=project)
    assert res.returncode == 1
    out = json.loads(res.stdout)
    assert out["failure"] == "auth" and out["failover"] == []
    assert [c["tool"] for c in read_log(log)] == ["codex"]


def test_failover_names_are_checked_before_the_run(tmp_path, project):
    env = fake_env(tmp_path)
    res = csa("run", "--failover", "nonesuch", "hi", env=env, cwd=project)
    assert res.returncode == 2 and "unknown tool 'nonesuch'" in res.stderr
    assert sessions(env, project) == []  # nothing was created


@pytest.mark.parametrize(("tool", "kind"), [(t, k) for t in FAKE for k in
                                            ("rate_limit", "quota", "overloaded", "auth")])
def test_each_tool_classifies_the_fakes_failures(tool, kind, tmp_path, project):
    env = fake_env(tmp_path, FAKE_API_ERROR=kind, FAKE_API_RETRIES="1")
    res = csa("run", "--tool", tool, "--json", "hi", env=env, cwd=project)
    assert res.returncode == 1
    assert json.loads(res.stdout)["failure"] == kind, res.stdout
    assert get_tool(tool).name == tool


def test_failover_skips_a_tool_without_a_free_slot(tmp_path, project, state_dir):
    from csa.slots import acquire_slot

    _cfg(project, '[tools.codex]\nmax_concurrent = 1\n')
    env = fake_env(tmp_path, FAKE_API_ERROR="claude:rate_limit")
    held = acquire_slot(state_dir, "codex", 1)  # another codex run holds the only slot
    try:
        res = csa("run", "--tool", "claude", "--failover", "codex,gemini", "--json", "hi",
                  env=env, cwd=project)
    finally:
        held.release()
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["tool"] == "gemini-cli"
    assert "failover: skipping codex" in res.stderr
