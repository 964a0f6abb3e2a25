"""The ACP transport through the real `csa` CLI, with tools/fake_acp_agent.py as the agent.

Each test configures the fake agent as a generic ACP tool (`[tools.fake-acp] command =
[python, tools/fake_acp_agent.py]`, no code), or as a built-in's ACP adapter on PATH.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import pytest

from runkit import REPO, csa, fake_env, read_log, session_id_from, spawn, transcript, wait_for

AGENT = [sys.executable, str(REPO / "tools" / "fake_acp_agent.py")]
AWS_KEY = "AKIAZ7Q2XK4MPLWR3T5N"  # shaped like an AWS access key id; in no real account


def write_config(home: Path, text: str) -> None:
    cfg = home / ".config" / "csa" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(text)


def generic(extra: str = "") -> str:
    return (f"[tools.fake-acp]\ncommand = {json.dumps(AGENT)}\nfamily = \"fake\"\n{extra}")


@pytest.fixture
def env(tmp_path, project):
    write_config(tmp_path / "home", generic())
    return fake_env(tmp_path, FAKE_ACP_HOME=str(tmp_path / "acp-home"),
                    FAKE_ACP_LOG=str(tmp_path / "acp.log"))


def acp_events(events: list[dict], method: str | None = None) -> list[dict]:
    out = [e["event"] for e in events if e["type"] == "event" and e["event"].get("type") == "acp"]
    return [e for e in out if method is None or e["method"] == method]


def assert_contiguous(events: list[dict]) -> None:
    assert [e["seq"] for e in events] == list(range(len(events)))


def state_of(state_dir: Path, project: Path, sid: str) -> dict:
    import tomllib

    path = state_dir / str(project).lstrip("/") / "sessions" / sid / "state.toml"
    return tomllib.loads(path.read_text())


def test_a_turn_records_the_acp_updates_redacted_and_resumes_with_session_load(
        env, project, state_dir, tmp_path):
    first = csa("run", "--tool", "fake-acp", "--json", "hello agent", cwd=project,
                env={**env, "FAKE_SECRET": AWS_KEY, "FAKE_PRINT_ENV": "1"})
    assert first.returncode == 0, first.stderr
    out = json.loads(first.stdout)
    sid = out["session_id"]
    assert out["final_text"].startswith(f"key {AWS_KEY} end.")  # stdout: as the agent said
    assert "FAKE-ACP-REPLY (user turns seen: 1) hello agent" in out["final_text"]
    assert out["tokens"] == {"input_tokens": 10, "output_tokens": 5}
    assert f'"CSA_SESSION_ID": "{sid}"' in out["final_text"]  # genealogy env reaches the agent
    assert '"CSA_TOOL": "fake-acp"' in out["final_text"]
    events = transcript(state_dir, project, sid)
    assert_contiguous(events)
    assert [e["method"] for e in acp_events(events)][:2] == ["initialize", "session/new"]
    updates = [e["update"]["sessionUpdate"] for e in acp_events(events, "session/update")]
    assert "tool_call" in updates and "agent_message_chunk" in updates
    assert "usage_update" in updates
    prompt_end = acp_events(events, "session/prompt")[-1]
    assert prompt_end["stopReason"] == "end_turn" and prompt_end["usage"]["inputTokens"] == 10
    provider_id = acp_events(events, "session/new")[0]["sessionId"]
    tool_state = state_of(state_dir, project, sid)["tools"]["fake-acp"]
    assert tool_state["provider_session_id"] == provider_id
    assert tool_state["transport"] == "acp"
    # The key was cut across two chunks: neither half reaches any file csa wrote.
    for path in state_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert AWS_KEY[10:].encode() not in data and AWS_KEY[:10].encode() not in data, path

    second = csa("run", "--last", "and again", cwd=project, env=env)
    assert second.returncode == 0, second.stderr
    assert "FAKE-ACP-REPLY (user turns seen: 2) and again" in second.stdout
    log = read_log(tmp_path / "acp.log")
    assert [e["sessionId"] for e in log if e["method"] == "session/load"] == [provider_id]
    assert log[0]["fs"] is False and log[0]["terminal"] is False  # not advertised
    events = transcript(state_dir, project, sid)
    assert_contiguous(events)
    loaded = acp_events(events, "session/load")
    assert loaded == [{"type": "acp", "method": "session/load", "sessionId": provider_id,
                       "replayed": 2}]
    # The replayed history is not recorded twice.
    chunks = [e for e in acp_events(events, "session/update")
              if e["update"]["sessionUpdate"] == "user_message_chunk"]
    assert chunks == []
    export = csa("session", "export", "--last", "--format", "md", cwd=project, env=env)
    assert "FAKE-ACP-REPLY (user turns seen: 2)" in export.stdout
    logs = csa("session", "logs", "--last", cwd=project, env=env)
    assert "[acp] session/load" in logs.stdout and "agent: " in logs.stdout


def test_an_agent_without_load_session_gets_a_new_session_seeded_with_the_history(
        env, project, state_dir, tmp_path):
    env = {**env, "FAKE_ACP_NO_LOAD": "1"}
    first = csa("run", "--tool", "fake-acp", "remember the word pelican", cwd=project, env=env)
    assert first.returncode == 0, first.stderr
    sid = session_id_from(first.stderr)
    second = csa("run", "-s", sid, "which word?", cwd=project, env=env)
    assert second.returncode == 0, second.stderr
    log = read_log(tmp_path / "acp.log")
    assert [e["method"] for e in log].count("session/new") == 2
    assert "session/load" not in [e["method"] for e in log]
    seeded = [e["prompt"] for e in log if e["method"] == "session/prompt"][-1]
    assert "remember the word pelican" in seeded and seeded.endswith("which word?")
    tool_state = state_of(state_dir, project, sid)["tools"]["fake-acp"]
    new_ids = [e["sessionId"] for e in log if e["method"] == "session/new"]
    assert tool_state["provider_session_id"] == new_ids[1]
    assert tool_state["previous_provider_session_ids"] == [new_ids[0]]
    warnings = [e["message"] for e in acp_events(transcript(state_dir, project, sid),
                                                  "warning")]
    assert any("does not advertise loadSession" in w for w in warnings)
    # An agent that advertises loadSession but lost the conversation: seeded all the same.
    for stored in (tmp_path / "acp-home").iterdir():
        stored.unlink()
    third = csa("run", "-s", sid, "and the word?", cwd=project,
                env={**env, "FAKE_ACP_NO_LOAD": ""})
    assert third.returncode == 0, third.stderr
    log = read_log(tmp_path / "acp.log")
    assert [e["found"] for e in log if e["method"] == "session/load"] == [False]
    assert "remember the word pelican" in [e["prompt"] for e in log
                                           if e["method"] == "session/prompt"][-1]
    warnings = [e["message"] for e in acp_events(transcript(state_dir, project, sid),
                                                  "warning")]
    assert any(w.startswith(f"session/load {new_ids[1]} failed (") for w in warnings)


@pytest.mark.parametrize("config, kind, answer, outcome", [
    ('permissions = "allow"\n', "edit", "allow_once-id", "allowed"),  # per tool
    ('[acp]\npermissions = "allow-read"\n', "edit", "reject_once-id", "denied"),
    ("", "read", "reject_once-id", "unanswered"),  # no policy: never waits, denies
])
def test_permission_requests_are_answered_by_the_policy(
        env, project, state_dir, tmp_path, config, kind, answer, outcome):
    write_config(tmp_path / "home", generic(config))
    res = csa("run", "--tool", "fake-acp", "do it", cwd=project, timeout=60,
              env={**env, "FAKE_ACP_PERMISSION": kind})
    assert res.returncode == 0, res.stderr
    assert f"permission={answer}" in res.stdout
    asked = acp_events(transcript(state_dir, project, session_id_from(res.stderr)),
                       "session/request_permission")
    assert len(asked) == 1
    assert asked[0]["outcome"] == outcome and asked[0]["answer"] == answer
    assert asked[0]["toolCall"]["kind"] == kind
    said = "asked permission" in res.stderr
    assert said == (outcome == "unanswered")


def test_ctrl_c_mid_turn_cancels_the_prompt_and_leaves_the_session_consistent(
        env, project, state_dir, tmp_path):
    proc = spawn("run", "--tool", "fake-acp", "a long task", cwd=project,
                 env={**env, "FAKE_SLEEP": "30"})
    log = tmp_path / "acp.log"
    wait_for(lambda: any(e["method"] == "session/prompt" for e in read_log(log)), timeout=30)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    sid = session_id_from(err)
    events = transcript(state_dir, project, sid)
    assert_contiguous(events)
    cancel = acp_events(events, "session/cancel")
    assert cancel and cancel[0]["sent"] is True and "SIGINT" in cancel[0]["reason"]
    assert acp_events(events, "session/prompt")[-1]["stopReason"] == "cancelled"
    assert events[-1]["type"] == "turn_end" and events[-1]["status"] == "interrupted"
    assert "session/cancel" in [e["method"] for e in read_log(log)]
    state = state_of(state_dir, project, sid)
    assert state["run"]["status"] == "interrupted"
    agent_pid = [e["pid"] for e in read_log(log)][0]
    assert not Path(f"/proc/{agent_pid}").exists() or \
        "zombie" in Path(f"/proc/{agent_pid}/status").read_text().lower()
    again = csa("run", "-s", sid, "go on", cwd=project, env=env)
    assert again.returncode == 0, again.stderr
    assert "user turns seen: 2" in again.stdout  # the cancelled turn is in the history


def test_timeout_sends_session_cancel(env, project, state_dir, tmp_path):
    res = csa("run", "--tool", "fake-acp", "--timeout", "8", "slow", cwd=project,
              env={**env, "FAKE_SLEEP": "60"})
    assert res.returncode == 124, res.stderr
    events = transcript(state_dir, project, session_id_from(res.stderr))
    assert_contiguous(events)
    assert "timed out" in acp_events(events, "session/cancel")[0]["reason"]
    assert events[-1]["status"] == "timeout"


def test_a_builtin_runs_over_its_acp_adapter_and_resumes_over_it(
        env, project, state_dir, tmp_path):
    bindir = tmp_path / "acp-bin"
    bindir.mkdir()
    adapter = bindir / "codex-acp"  # the default command of codex's ACP transport
    adapter.write_text(f"#!/bin/sh\nexec {AGENT[0]} {AGENT[1]} \"$@\"\n")
    adapter.chmod(0o755)
    env = {**env, "PATH": f"{bindir}{os.pathsep}{env['PATH']}"}
    first = csa("run", "--tool", "codex", "--transport", "acp", "hi", cwd=project, env=env)
    assert first.returncode == 0, first.stderr
    assert "FAKE-ACP-REPLY (user turns seen: 1)" in first.stdout
    second = csa("run", "--last", "more", cwd=project, env=env)  # the session's transport
    assert "FAKE-ACP-REPLY (user turns seen: 2)" in second.stdout, second.stderr
    sid = session_id_from(first.stderr)
    assert state_of(state_dir, project, sid)["tools"]["codex"]["transport"] == "acp"


def test_doctor_checks_each_acp_tool_with_initialize(env, project, tmp_path):
    write_config(tmp_path / "home", generic() + (
        '[tools.not-acp]\ntransport = "acp"\n'
        f'command = {json.dumps([sys.executable, "-c", "print(1)"])}\n'))
    res = csa("doctor", "--json", cwd=project, env=env, timeout=60)
    assert res.returncode == 1, res.stderr
    assert res.stdout, res.stderr
    rows = {r["tool"]: r for r in json.loads(res.stdout)["acp"]}
    assert rows["fake-acp"]["ok"] and rows["fake-acp"]["agent"] == "fake-acp-agent"
    assert rows["fake-acp"]["load_session"] is True
    assert not rows["not-acp"]["ok"]
    problems = json.loads(res.stdout)["problems"]
    line = [p for p in problems if "not-acp" in p]
    assert len(line) == 1 and "\n" not in line[0] and "initialize failed" in line[0]


def test_a_missing_acp_agent_is_one_line(env, project):
    res = csa("run", "--tool", "gemini", "--transport", "acp", "hi", cwd=project,
              env={**env, "PATH": "/usr/bin:/bin"})
    assert res.returncode == 1
    assert res.stderr.count("\n") == 1 and "ACP agent 'gemini' not found" in res.stderr


def test_history_replayed_after_the_load_answer_is_not_this_turns_text(env, project, state_dir):
    """gemini-cli 0.61 answers session/load before it streams the history (the protocol
    says after); csa must still not take the replayed replies for the new turn's text."""
    env = {**env, "FAKE_ACP_LATE_REPLAY": "1"}
    first = csa("run", "--tool", "fake-acp", "--json", "hello agent", cwd=project, env=env)
    assert first.returncode == 0, first.stderr
    sid = json.loads(first.stdout)["session_id"]
    second = csa("run", "-s", sid, "--json", "and again", cwd=project, env=env)
    assert second.returncode == 0, second.stderr
    out = json.loads(second.stdout)
    assert out["final_text"].startswith("FAKE-ACP-REPLY (user turns seen: 2) and again"), out
    assert "hello agent" not in out["final_text"]
    loaded = acp_events(transcript(state_dir, project, sid), "session/load")
    assert loaded[-1]["replayed"] == 2, loaded


def test_an_agent_slow_to_answer_the_cancel_is_not_killed_first(env, project, state_dir, tmp_path):
    """opencode under load takes seconds to answer session/cancel; the kill grace must
    let it, so the prompt ends `cancelled` instead of the agent being killed."""
    proc = spawn("run", "--tool", "fake-acp", "a long task", cwd=project,
                 env={**env, "FAKE_SLEEP": "30", "FAKE_ACP_CANCEL_DELAY": "4"})
    wait_for(lambda: any(e["method"] == "session/prompt" for e in read_log(tmp_path / "acp.log")),
             timeout=30)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=40)
    assert proc.returncode == 130, err
    events = transcript(state_dir, project, session_id_from(err))
    assert acp_events(events, "session/prompt")[-1]["stopReason"] == "cancelled"
    assert not acp_events(events, "error"), acp_events(events, "error")
