"""Issue 12: `csa run --ephemeral` leaves nothing anywhere, even after a crash."""

from __future__ import annotations

import os
import signal

import psutil
import pytest

from runkit import csa, fake_env, read_log, spawn, wait_for

SWITCH = {"claude-code": "--no-session-persistence", "codex": "--ephemeral"}


@pytest.fixture
def env(tmp_path, project):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    return fake_env(tmp_path, FAKE_LOG=str(tmp_path / "fake.log"), TMPDIR=str(tmp))


def _files(root) -> list[str]:
    return sorted(str(p) for p in root.rglob("*")) if root.exists() else []


@pytest.mark.parametrize("tool", ["claude-code", "codex"])
def test_ephemeral_leaves_nothing_and_passes_the_tools_switch(tool, env, project, state_dir,
                                                               tmp_path):
    # The project's config is not read: a broken one would fail any other run.
    (project / ".csa").mkdir()
    (project / ".csa" / "config.toml").write_text("default_tool = [\n")
    refused = csa("run", "--tool", tool, "hi", env=env, cwd=project)
    assert refused.returncode != 0 and "config" in refused.stderr
    before = _files(state_dir)
    res = csa("run", "--ephemeral", "--tool", tool, "a secret plan", env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    assert "FAKE-REPLY (user turns seen: 1) a secret plan" in res.stdout
    assert _files(state_dir) == before  # nothing under the state dir
    assert _files(tmp_path / "tmp") == []  # the temp dir went with the run
    assert not (tmp_path / "home" / ".cache" / "csa").exists()  # no CSA_BIN launcher kept
    assert _files(tmp_path / "fake-home") == []  # the tool stored nothing either
    call = read_log(tmp_path / "fake.log")[-1]
    assert SWITCH[tool] in call["argv"]
    assert call["env"]["CSA_BIN"].startswith(str(tmp_path / "tmp"))


def test_no_switch_without_ephemeral(env, project, tmp_path):
    assert csa("run", "--tool", "codex", "hi", env=env, cwd=project).returncode == 0
    assert "--ephemeral" not in read_log(tmp_path / "fake.log")[-1]["argv"]


def test_a_crashed_ephemeral_runs_temp_dir_goes_with_the_next_gc(env, project, tmp_path):
    tmp = tmp_path / "tmp"
    victim = spawn("run", "--ephemeral", "--tool", "codex", "long",
                   env={**env, "FAKE_SLEEP": "60"}, cwd=project)
    try:
        leaked = wait_for(lambda: [p for p in tmp.iterdir() if p.name.startswith("csa-ephemeral-")
                                   and (p / "locks" / "session.lock").exists()
                                   and '"tool_pid"' in (p / "locks" / "session.lock").read_text()])
        tool = psutil.Process(victim.pid).children()[0]
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        assert leaked[0].exists() and tool.is_running()
        dry = csa("gc", "--dry-run", env=env, cwd=project)
        assert f"would be removed leaked --ephemeral dir {leaked[0]}" in dry.stdout
        assert leaked[0].exists()
        res = csa("session", "clean", "--days", "30", env=env, cwd=project)
        assert res.returncode == 0, res.stderr
        assert f"removed leaked --ephemeral dir {leaked[0]}" in res.stdout
        assert not leaked[0].exists()
        wait_for(lambda: not tool.is_running() or tool.status() == psutil.STATUS_ZOMBIE)
    finally:
        if victim.poll() is None:
            victim.kill()


def test_a_running_ephemeral_dir_is_left_alone(env, project, tmp_path):
    tmp = tmp_path / "tmp"
    run = spawn("run", "--ephemeral", "--tool", "codex", "busy",
                env={**env, "FAKE_SLEEP": "3"}, cwd=project)
    try:
        live = wait_for(lambda: [p for p in tmp.iterdir() if p.name.startswith("csa-ephemeral-")])
        res = csa("gc", env=env, cwd=project)
        assert res.returncode == 0 and "ephemeral" not in res.stdout
        assert live[0].exists()
    finally:
        run.wait(30)
    assert run.returncode == 0 and not live[0].exists()
