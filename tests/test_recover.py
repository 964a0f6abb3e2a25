"""Recovery of a turn whose csa died (csa.recover), and the pieces of a durable turn start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta

import psutil
import pytest
from killkit import kill_strays

from csa import procs
from csa.state import RunRecord, ToolState, utcnow
from csa.store import Store
from csa.tools import get_tool
from csa.tools.base import TurnSpec
from runkit import csa, fake_env, read_log, wait_for

DEAD_PID = 4_000_000  # above any pid in use on a test machine (pid_max <= 2^22)


@pytest.fixture
def store(project):
    return Store.open()


def _sleeper(env_sid: str | None, new_group: bool = True) -> subprocess.Popen:
    env = dict(os.environ)
    if env_sid:
        env["CSA_SESSION_ID"] = env_sid
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], env=env,
                            start_new_session=new_group)


def _running_session(store, **run):
    session, state, _ = store.create(description="dead turn")
    state.run = RunRecord(status="running", tool="codex", pid=DEAD_PID,
                          started_at=utcnow() - timedelta(seconds=5), **run)
    session.save(state)
    return session


def _gone(p: subprocess.Popen, timeout: float = 10) -> bool:
    try:
        p.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        p.kill()
        return False


def test_reconcile_stops_the_recorded_tool_and_marks_the_turn_died(store):
    tool = _sleeper(None)
    try:
        session = _running_session(store, tool_pid=tool.pid,
                                   tool_start=procs.start_time(tool.pid))
        state = session.reconcile()
        assert state is not None and state.run.status == "died"
        assert _gone(tool)
        assert session.read_state().run.status == "died"
    finally:
        tool.kill()


def test_a_process_of_the_session_started_before_the_record_is_found_by_its_env(store):
    # csa died between the spawn and recording the tool's pid: the tool's environment
    # (CSA_SESSION_ID) still names the session.
    session = _running_session(store)
    stray = _sleeper(session.id)
    other = _sleeper("01" + "Z" * 24)  # another session's process: left alone
    try:
        wait_for(lambda: procs.alive(stray.pid) and procs.alive(other.pid))
        session.reconcile()
        assert _gone(stray)
        assert procs.alive(other.pid)
    finally:
        stray.kill()
        other.kill()


def test_a_process_older_than_the_turn_is_left_alone(store):
    # A process of the session's earlier turn (a server the agent started on purpose).
    session, state, _ = store.create(description="older")
    older = _sleeper(session.id)
    try:
        wait_for(lambda: procs.alive(older.pid))
        time.sleep(1.5)
        state.run = RunRecord(status="running", tool="codex", pid=DEAD_PID,
                              started_at=utcnow())
        session.save(state)
        session.reconcile()
        assert session.read_state().run.status == "died"
        assert procs.alive(older.pid)
    finally:
        older.kill()


def test_the_relay_reports_the_provider_id_once():
    from csa.redact import Redactor
    from csa.turn.relay import Relay
    from csa.turn.request import TurnOptions

    seen = []
    relay = Relay(None, get_tool("codex"), None, TurnOptions("x"), Redactor(),
                  on_provider_id=seen.append)
    line = b'{"type":"thread.started","thread_id":"0199a213-81c0-7800-8aa1-bbab2a035a53"}'
    relay._stdout_line(line)
    relay._stdout_line(line)
    assert seen == ["0199a213-81c0-7800-8aa1-bbab2a035a53"]


def test_a_recycled_pid_is_never_signalled(store):
    bystander = _sleeper(None)
    try:
        start = procs.start_time(bystander.pid)
        session = _running_session(store, tool_pid=bystander.pid, tool_start=start - 100.0)
        session.reconcile()
        assert procs.alive(bystander.pid, start)
    finally:
        bystander.kill()


def test_with_env_never_returns_csa_itself_or_its_ancestors(monkeypatch):
    monkeypatch.setenv("CSA_SESSION_ID", "01" + "Y" * 24)
    found = {pid for pid, _ in procs.with_env("CSA_SESSION_ID", "01" + "Y" * 24)}
    mine = {os.getpid(), *(p.pid for p in psutil.Process().parents())}
    assert not found & mine


def test_the_transcript_gets_one_died_turn_end(store):
    session = _running_session(store)
    with session.transcript_writer() as w:
        w.append("prompt", text="hello", tool="codex")
    session.reconcile()
    session.reconcile()  # nothing more to do
    events = list(session.read_transcript())
    assert [(e["seq"], e["type"]) for e in events] == [(0, "prompt"), (1, "turn_end")]
    assert events[1]["status"] == "died"


def test_a_started_turn_names_the_sessions_tool():
    from csa.state import SessionState

    st = SessionState.new("01" + "X" * 24, description="d", project_path="/p")
    st.tools["claude-code"] = ToolState(updated_at=utcnow() - timedelta(hours=1))
    st.run = RunRecord(status="running", tool="codex", started_at=utcnow())
    assert st.last_tool() == "codex"
    st.run.status = "died"
    assert st.last_tool() == "codex"
    st.run.status = "failed"  # refused before it ran: the tools' history decides
    assert st.last_tool() == "claude-code"


def test_chosen_ids_go_on_argv_only_where_the_tool_takes_them():
    spec = TurnSpec(binary="x", prompt="p", new_session_id="6e18d744-aa3e-4066-8a51-26240fe01126")
    assert get_tool("claude-code").argv(spec)[-2:] == ["--session-id", spec.new_session_id]
    assert get_tool("gemini-cli").argv(spec)[-2:] == ["--session-id", spec.new_session_id]
    assert "--session-id" not in get_tool("codex").argv(spec)
    assert get_tool("codex").choose_id() is None and get_tool("opencode").choose_id() is None
    import uuid

    assert uuid.UUID(get_tool("claude-code").choose_id()).version == 4


@pytest.fixture
def env(tmp_path, project):
    env = fake_env(tmp_path, FAKE_LOG=str(tmp_path / "log"))
    yield env
    kill_strays("FAKE_CLI_HOME", env["FAKE_CLI_HOME"])


@pytest.mark.parametrize("tool", ["claude-code", "gemini-cli"])
def test_the_chosen_id_is_in_state_before_the_spawn_and_the_tool_uses_it(tool, env, project,
                                                                          tmp_path):
    seen = tmp_path / "seen"
    # The fake pauses before any output; meanwhile state.toml must already hold the id.
    p = subprocess.Popen([sys.executable, "-m", "csa", "run", "--tool", tool, "hi"],
                         env={**env, "FAKE_PAUSE_AT": "start", "FAKE_PAUSE_S": "2",
                              "FAKE_MARK": str(seen)}, cwd=project,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    wait_for(seen.exists, 30)
    session = Store.open().newest()
    state = session.read_state()
    chosen = state.tools[tool].provider_session_id
    assert state.run.status == "running" and state.run.tool == tool
    assert [e["text"] for e in session.read_transcript() if e["type"] == "prompt"] == ["hi"]
    assert p.wait(30) == 0, p.stderr.read()
    (entry,) = read_log(tmp_path / "log")
    assert entry["argv"][-2:] == ["--session-id", chosen] and entry["session_id"] == chosen
    res = csa("run", "-s", session.id, "again", env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    assert read_log(tmp_path / "log")[-1]["argv"][-2:] == ["--resume", chosen]


def test_the_provider_id_is_recorded_once_while_the_tool_runs(env, project, tmp_path):
    seen = tmp_path / "seen"
    p = subprocess.Popen([sys.executable, "-m", "csa", "run", "--tool", "codex", "hi"],
                         env={**env, "FAKE_PAUSE_AT": "after_id", "FAKE_PAUSE_S": "2",
                              "FAKE_MARK": str(seen)}, cwd=project,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    wait_for(seen.exists, 30)
    printed = read_log(tmp_path / "log")[0]["session_id"]
    session = Store.open().newest()
    wait_for(lambda: session.read_state().tools.get("codex", ToolState())
             .provider_session_id == printed, 10)
    assert session.read_state().run.status == "running"
    assert p.wait(30) == 0
    assert json.loads(json.dumps(session.read_state().tools["codex"].provider_session_id)) \
        == printed
