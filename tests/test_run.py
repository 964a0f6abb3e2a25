"""`csa run` end to end with the fake CLIs: create, resume, genealogy, locks, limits, secrets."""

from __future__ import annotations

import json
import os
import signal
import time

import psutil
import pytest

from runkit import csa, fake_env, read_log, session_id_from, sessions, spawn, transcript, wait_for

TOOLS = ["claude-code", "codex", "gemini-cli", "opencode"]
RESUME_FLAG = {"claude-code": "--resume", "codex": "resume", "gemini-cli": "--resume",
               "opencode": "-s"}


@pytest.fixture
def env(tmp_path, project):
    return fake_env(tmp_path, FAKE_LOG=str(tmp_path / "fake.log"))


def _state(state_dir, project, sid) -> dict:
    import tomllib

    path = state_dir / str(project).lstrip("/") / "sessions" / sid / "state.toml"
    return tomllib.loads(path.read_text())


@pytest.mark.parametrize("tool", TOOLS)
def test_new_then_resume_by_prefix(tool, env, project, state_dir, tmp_path):
    res = csa("run", "--tool", tool, "first prompt", env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    sid = session_id_from(res.stderr)
    assert res.stdout.strip() == "FAKE-REPLY (user turns seen: 1) first prompt"
    st = _state(state_dir, project, sid)
    provider = st["tools"][tool]["provider_session_id"]
    assert provider and st["turn_count"] == 1 and st["genealogy"]["depth"] == 0
    assert st["tools"][tool]["last_exit_code"] == 0

    res2 = csa("run", "--session", sid[:6].lower(), "second prompt", env=env, cwd=project)
    assert res2.returncode == 0, res2.stderr
    assert res2.stdout.strip() == "FAKE-REPLY (user turns seen: 2) second prompt"
    argv = read_log(tmp_path / "fake.log")[-1]["argv"]
    assert RESUME_FLAG[tool] in argv and provider in argv
    st = _state(state_dir, project, sid)
    assert st["turn_count"] == 2 and st["tools"][tool]["provider_session_id"] == provider

    events = transcript(state_dir, project, sid)
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert all(e["v"] == 1 and e["ts"].endswith("Z") for e in events)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "prompt" and kinds.count("prompt") == 2 and kinds.count("turn_end") == 2
    assert any(e["type"] == "event" for e in events)
    result = json.loads(csa("session", "result", "-s", sid, "--json", env=env,
                            cwd=project).stdout)
    assert result["exit_code"] == 0 and result["provider_session_id"] == provider
    assert "second prompt" in result["final_text"]


def test_last_picks_the_newest(env, project):
    first = session_id_from(csa("run", "--tool", "codex", "one", env=env, cwd=project).stderr)
    time.sleep(0.01)
    second = session_id_from(csa("run", "--tool", "codex", "two", env=env, cwd=project).stderr)
    res = csa("run", "--last", "three", env=env, cwd=project)
    assert res.returncode == 0 and second in res.stderr and first not in res.stderr
    assert "user turns seen: 2" in res.stdout


def test_json_output_and_stdin_prompt(env, project):
    res = csa("run", "--tool", "gemini-cli", "--json", env=env, cwd=project,
              input="prompt from stdin\n")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert set(data) >= {"session_id", "tool", "provider_session_id", "exit_code",
                         "duration_s", "final_text"}
    assert data["tool"] == "gemini-cli" and data["exit_code"] == 0
    assert "prompt from stdin" in data["final_text"]


def test_description_defaults_to_prompt_cut_to_80(env, project):
    prompt = "word " * 40
    csa("run", "--tool", "codex", prompt, env=env, cwd=project)
    row = sessions(env, project)[0]
    assert row["description"] == " ".join(prompt.split())[:80]
    csa("run", "--tool", "codex", "-d", "My label", "x", env=env, cwd=project)
    assert sessions(env, project)[0]["description"] == "My label"


def test_exit_code_is_the_tools(env, project):
    res = csa("run", "--tool", "codex", "fail please", env={**env, "FAKE_EXIT": "3"}, cwd=project)
    assert res.returncode == 3
    sid = session_id_from(res.stderr)
    assert json.loads(csa("session", "result", "-s", sid, "--json", env=env,
                          cwd=project).stdout)["exit_code"] == 3


def test_ephemeral_leaves_nothing(env, project, state_dir):
    res = csa("run", "--ephemeral", "--tool", "codex", "quick", env=env, cwd=project)
    assert res.returncode == 0 and "quick" in res.stdout
    assert sessions(env, project) == []
    sdir = state_dir / str(project).lstrip("/") / "sessions"
    assert not sdir.exists() or list(sdir.iterdir()) == []
    res = csa("run", "--ephemeral", "--last", "x", env=env, cwd=project)
    assert res.returncode == 2 and "cannot be combined" in res.stderr


def test_genealogy_env_and_nested_child(env, project, tmp_path, state_dir):
    nested = {**env, "FAKE_NESTED": "--tool codex 'child task'"}
    res = csa("run", "--tool", "claude-code", "parent task", env=nested, cwd=project)
    assert res.returncode == 0, res.stderr
    parent = session_id_from(res.stderr)
    assert "nested(exit=0)" in res.stdout
    log = read_log(tmp_path / "fake.log")
    parent_env = next(e for e in log if e["tool"] == "claude")["env"]
    parent_env.pop("CSA_STATE_DIR")  # the user's own setting, passed through
    csa_bin = parent_env.pop("CSA_BIN")  # tests/test_selfbin.py checks what it runs
    assert os.path.isabs(csa_bin) and os.access(csa_bin, os.X_OK), csa_bin
    sdir = state_dir / str(project).lstrip("/") / "sessions" / parent
    assert parent_env == {"CSA_SESSION_ID": parent, "CSA_DEPTH": "1",
                          "CSA_PROJECT_ROOT": str(project), "CSA_SESSION_DIR": str(sdir),
                          "CSA_TOOL": "claude-code"}
    child_env = next(e for e in log if e["tool"] == "codex")["env"]
    child = child_env["CSA_SESSION_ID"]
    assert child != parent and child_env["CSA_DEPTH"] == "2"
    assert child_env["CSA_PARENT_SESSION"] == parent
    st = _state(state_dir, project, child)
    assert st["genealogy"] == {"parent_session_id": parent, "depth": 1}


def test_three_level_tree_and_depth_limit(env, project):
    three = {**env, "FAKE_NESTED": "--tool codex level1 ||| --tool gemini-cli level2"}
    res = csa("run", "--tool", "claude-code", "level0", env=three, cwd=project)
    assert res.returncode == 0, res.stderr
    rows = {r["description"]: r for r in sessions(env, project)}
    assert rows["level1"]["parent_session_id"] == rows["level0"]["id"]
    assert rows["level2"]["parent_session_id"] == rows["level1"]["id"]
    assert rows["level2"]["depth"] == 2
    tree = csa("session", "list", "--tree", env=env, cwd=project).stdout.splitlines()
    order = [ln.split()[-1] for ln in tree[1:]]
    assert order == ["level0", "level1", "level2"]
    assert tree[3].lstrip().startswith("└─") or "   └─" in tree[3]

    cfg = project / ".csa" / "config.toml"
    cfg.parent.mkdir()
    cfg.write_text("max_recursion_depth = 1\n")
    before = len(sessions(env, project))
    res = csa("run", "--tool", "claude-code", "deep", env=three, cwd=project)
    # level0 (depth 0) and level1 (depth 1) run; level2 would be depth 2 > 1.
    assert "nested(exit=1)" in res.stdout
    assert len(sessions(env, project)) == before + 2
    direct = csa("run", "--tool", "codex", "x", env={**env, "CSA_SESSION_ID": rows["level0"]["id"],
                                                   "CSA_DEPTH": "2"}, cwd=project)
    assert direct.returncode == 1 and "recursion depth" in direct.stderr
    assert len(sessions(env, project)) == before + 2


def test_child_cannot_resume_its_running_parent(env, project):
    first = csa("run", "--tool", "codex", "parent", env=env, cwd=project)
    parent = session_id_from(first.stderr)
    nested = {**env, "FAKE_NESTED": f"--session {parent} 'resume my parent'"}
    res = csa("run", "--session", parent, "go", env=nested, cwd=project)
    assert res.returncode == 0, res.stderr
    assert "nested(exit=1)" in res.stdout


def test_lock_contention_names_the_pid(env, project):
    sid = session_id_from(csa("run", "--tool", "codex", "start", env=env, cwd=project).stderr)
    slow = spawn("run", "--session", sid, "slow turn", env={**env, "FAKE_SLEEP": "5"},
                 cwd=project)
    try:
        wait_for(lambda: csa("session", "is-alive", "-s", sid, env=env,
                             cwd=project).returncode == 0)
        res = csa("run", "--session", sid, "second", env=env, cwd=project)
        assert res.returncode == 1
        assert f"Session {sid} is locked by PID {slow.pid}" in res.stderr
        assert res.stdout == ""
        listing = {r["id"]: r for r in sessions(env, project)}
        assert listing[sid]["status"] == "running"
    finally:
        slow.wait(30)
    assert slow.returncode == 0
    assert csa("session", "is-alive", "-s", sid, env=env, cwd=project).returncode == 1


def test_two_concurrent_resumes_exactly_one_runs(env, project):
    sid = session_id_from(csa("run", "--tool", "codex", "start", env=env, cwd=project).stderr)
    slow = {**env, "FAKE_SLEEP": "2"}
    procs = [spawn("run", "--session", sid, f"racer {i}", env=slow, cwd=project)
             for i in range(2)]
    outs = [p.communicate(timeout=30) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 1], outs
    loser = outs[[p.returncode for p in procs].index(1)]
    assert "is locked by PID" in loser[1]


def test_kill_9_of_csa_recovers_stale_lock_and_orphan(env, project):
    sid = session_id_from(csa("run", "--tool", "codex", "start", env=env, cwd=project).stderr)
    victim = spawn("run", "--session", sid, "long", env={**env, "FAKE_SLEEP": "30"},
                   cwd=project)
    wait_for(lambda: csa("session", "is-alive", "-s", sid, env=env, cwd=project).returncode == 0)
    tool = wait_for(lambda: [c for c in psutil.Process(victim.pid).children()])
    tool_pid = tool[0].pid
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    row = {r["id"]: r for r in sessions(env, project)}[sid]
    assert row["status"] == "died"
    res = csa("run", "--session", sid, "after crash", env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    assert not psutil.pid_exists(tool_pid) or psutil.Process(tool_pid).status() == "zombie"


def _group_gone(pgid: int) -> bool:
    for p in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(p.pid) == pgid and p.status() != psutil.STATUS_ZOMBIE:
                return False
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return True


def test_timeout_kills_the_whole_group(env, project, tmp_path):
    slow = {**env, "FAKE_SLEEP": "30", "FAKE_CHILD_SLEEP": "60"}
    t = time.monotonic()
    res = csa("run", "--tool", "codex", "--timeout", "1", "slow", env=slow, cwd=project)
    assert res.returncode == 124, res.stderr
    assert time.monotonic() - t < 15
    pgid = read_log(tmp_path / "fake.log")[-1]["pid"]
    assert wait_for(lambda: _group_gone(pgid))
    sid = session_id_from(res.stderr)
    result = json.loads(csa("session", "result", "-s", sid, "--json", env=env,
                            cwd=project).stdout)
    assert result["status"] == "timeout" and result["exit_code"] == 124


def test_idle_timeout(env, project):
    res = csa("run", "--tool", "claude-code", "--idle-timeout", "1", "stall",
              env={**env, "FAKE_STALL": "30"}, cwd=project)
    assert res.returncode == 124
    assert "no output for 1s" in res.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_is_forwarded_and_group_reaped(env, project, tmp_path, sig):
    stubborn = {**env, "FAKE_SLEEP": "60", "FAKE_CHILD_SLEEP": "60", "FAKE_IGNORE_TERM": "1"}
    proc = spawn("run", "--tool", "codex", "interrupt me", env=stubborn, cwd=project)
    wait_for(lambda: read_log(tmp_path / "fake.log"))
    time.sleep(0.3)
    pgid = read_log(tmp_path / "fake.log")[-1]["pid"]
    proc.send_signal(sig)
    proc.wait(30)
    assert proc.returncode == 130
    assert wait_for(lambda: _group_gone(pgid))


def test_secrets_never_reach_disk(env, project, state_dir):
    secret = "sk-ant-api03-" + "Zq9" * 20 + "AA"
    res = csa("run", "--tool", "claude-code", f"my key is {secret}",
              env={**env, "FAKE_SECRET": secret}, cwd=project)
    assert res.returncode == 0, res.stderr
    for root, _dirs, files in os.walk(state_dir):
        for f in files:
            data = open(os.path.join(root, f), "rb").read()
            assert secret.encode() not in data, os.path.join(root, f)
            assert secret[:30].encode() not in data, os.path.join(root, f)


def test_missing_binary_names_binary_and_config_key(env, project):
    cfg = project / ".csa" / "config.toml"
    cfg.parent.mkdir()
    cfg.write_text('[tools.codex]\nbinary = "/nonexistent/codex-cli"\n')
    assert csa("trust", env=env, cwd=project).returncode == 0  # a project's binary needs trust
    res = csa("run", "--tool", "codex", "x", env=env, cwd=project)
    assert res.returncode == 1
    assert "/nonexistent/codex-cli" in res.stderr and "tools.codex.binary" in res.stderr
    assert "Traceback" not in res.stderr
    bare = {**env, "PATH": "/usr/bin:/bin"}
    res = csa("run", "--tool", "gemini-cli", "x", env=bare, cwd=project)
    assert res.returncode == 1 and "'gemini'" in res.stderr
    assert "tools.gemini-cli.binary" in res.stderr
    assert sessions(env, project) == []


def test_unknown_prefix_and_usage_errors(env, project):
    res = csa("run", "--session", "ZZZZ", "x", env=env, cwd=project)
    assert res.returncode == 1 and res.stderr.strip() == "No session matches 'ZZZZ'"
    res = csa("run", "--tool", "nope", "x", env=env, cwd=project)
    assert res.returncode == 2
    res = csa("run", "--timeout", "-1", "x", env=env, cwd=project)
    assert res.returncode == 2


def test_concurrency_slots(env, project):
    cfg = project / ".csa" / "config.toml"
    cfg.parent.mkdir()
    cfg.write_text("[tools.codex]\nmax_concurrent = 1\n")
    slow = spawn("run", "--tool", "codex", "hold the slot", env={**env, "FAKE_SLEEP": "3"},
                 cwd=project)
    try:
        wait_for(lambda: any(r["status"] == "running" for r in sessions(env, project)))
        res = csa("run", "--tool", "codex", "no slot", env=env, cwd=project)
        assert res.returncode == 1 and "max_concurrent" in res.stderr
        res = csa("run", "--tool", "codex", "--wait", "waits", env=env, cwd=project)
        assert res.returncode == 0 and "waits" in res.stdout
    finally:
        slow.wait(30)


def test_crashing_tool_is_recorded(env, project, state_dir):
    res = csa("run", "--tool", "claude-code", "crash", env={**env, "FAKE_CRASH": "1"},
              cwd=project)
    assert res.returncode == 3
    sid = session_id_from(res.stderr)
    events = transcript(state_dir, project, sid)
    assert events[-1]["type"] == "turn_end" and events[-1]["exit_code"] == 3
    assert [e["seq"] for e in events] == list(range(len(events)))


def test_usage_stats_recorded(env, project, state_dir):
    csa("run", "--tool", "codex", "measure", env={**env, "FAKE_SLEEP": "0.8"}, cwd=project)
    import tomllib

    stats = tomllib.loads((state_dir / str(project).lstrip("/") / "usage_stats.toml").read_text())
    peaks = stats["tools"]["codex"]["peak_rss_bytes"]
    assert len(peaks) == 1 and peaks[0] > 1_000_000
    assert stats["tools"]["codex"]["p95_bytes"] == peaks[0]


def test_logs_artifacts_and_is_alive(env, project):
    sid = session_id_from(csa("run", "--tool", "opencode", "hello logs", env=env,
                              cwd=project).stderr)
    logs = csa("session", "logs", "-s", sid, env=env, cwd=project)
    assert logs.returncode == 0 and "hello logs" in logs.stdout and "turn end" in logs.stdout
    raw = csa("session", "logs", "-s", sid, "--json", "--tail", "1", env=env, cwd=project)
    assert json.loads(raw.stdout)["type"] == "turn_end"
    arts = json.loads(csa("session", "artifacts", "-s", sid, "--json", env=env,
                          cwd=project).stdout)
    assert [a["path"] for a in arts] == ["result.toml"]
    alive = csa("session", "is-alive", "-s", sid, env=env, cwd=project)
    assert alive.returncode == 1 and alive.stdout.strip() == "not alive"


def test_running_totals_become_per_turn_figures(env, project, state_dir):
    """claude's total_cost_usd and codex's resumed usage are running totals; csa records
    per-turn figures and the correct sums."""
    sid = session_id_from(csa("run", "--tool", "claude-code", "one", env=env, cwd=project).stderr)
    second = json.loads(csa("run", "-s", sid, "--json", "two", env=env, cwd=project).stdout)
    # turn 2: 20 input tokens * $5/M + 5 output * $25/M
    assert second["cost_usd"] == pytest.approx(0.000225)
    t = _state(state_dir, project, sid)["tools"]["claude-code"]
    assert t["cost_usd"] == pytest.approx(0.000175 + 0.000225)
    assert t["tokens"]["input_tokens"] == 30

    sid = session_id_from(csa("run", "--tool", "codex", "one", env=env, cwd=project).stderr)
    second = json.loads(csa("run", "-s", sid, "--json", "two", env=env, cwd=project).stdout)
    assert second["tokens"]["input_tokens"] == 20 and second["tokens"]["output_tokens"] == 5
    t = _state(state_dir, project, sid)["tools"]["codex"]
    assert t["tokens"]["input_tokens"] == 30 and t["tokens"]["output_tokens"] == 10


def test_doctor_reports_state_config_and_clis(env, project):
    res = csa("doctor", "--json", env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["state_base"] == env["CSA_STATE_DIR"]
    tools = {t["tool"]: t for t in data["tools"]}
    assert set(tools) == set(TOOLS)
    assert all(t["found"] and "(fake)" in t["version"] for t in tools.values())
    bare = csa("doctor", env={**env, "PATH": "/usr/bin:/bin"}, cwd=project)
    assert bare.returncode == 0  # missing CLIs are reported, not an error
    assert "missing" in bare.stdout and "npm install -g @openai/codex" in bare.stdout


def test_memory_policy_warns_or_refuses(env, project, state_dir):
    pdir = state_dir / str(project).lstrip("/")
    pdir.mkdir(parents=True)
    huge = 1 << 50  # a P95 peak no machine has free
    (pdir / "usage_stats.toml").write_text(f"[tools.codex]\npeak_rss_bytes = [{huge}]\n")
    res = csa("run", "--tool", "codex", "hello", env=env, cwd=project)
    assert res.returncode == 0 and "warning: low memory" in res.stderr
    cfg = project / ".csa" / "config.toml"
    cfg.parent.mkdir()
    cfg.write_text('memory_policy = "refuse"\n')
    res = csa("run", "--tool", "codex", "hello", env=env, cwd=project)
    assert res.returncode == 1 and "refusing to start" in res.stderr
    cfg.write_text('memory_policy = "off"\n')
    res = csa("run", "--tool", "codex", "hello", env=env, cwd=project)
    assert res.returncode == 0 and "low memory" not in res.stderr


def test_long_prompt_goes_through_stdin(env, project, tmp_path):
    prompt = "long " + "x" * 150_000
    res = csa("run", "--tool", "codex", "-", env=env, cwd=project, input=prompt)
    assert res.returncode == 0, res.stderr
    argv = read_log(tmp_path / "fake.log")[-1]["argv"]
    assert argv[-1] == "-" and all(len(a) < 1000 for a in argv)
    assert "FAKE-REPLY (user turns seen: 1) long xxx" in res.stdout
    before = len(sessions(env, project))
    res = csa("run", "--tool", "gemini-cli", "-", env=env, cwd=project, input=prompt)
    assert res.returncode == 2 and "only takes a prompt as an argument" in res.stderr
    assert len(sessions(env, project)) == before  # refused before anything was created


def test_a_tool_done_before_its_second_sample_keeps_no_peak(env, project, state_dir):
    """A tool done within one tick has only its start-up RSS: that goes to its turn_end,
    not into usage_stats.toml, where it would pull the memory guard's P95 down."""
    sid = session_id_from(csa("run", "--tool", "codex", "quick", env=env,
                              cwd=project).stderr)
    assert transcript(state_dir, project, sid)[-1]["peak_rss_bytes"] > 0
    assert not (state_dir / str(project).lstrip("/") / "usage_stats.toml").exists()
