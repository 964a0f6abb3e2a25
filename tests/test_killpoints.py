"""kill -9 of `csa run` at each point of a turn, for each tool (issue 12; tests/killkit.py).

One trial per cell here; tests/stress/test_stress_killpoints.py runs several per cell.
"""

from __future__ import annotations

import pytest
from killkit import POINTS, TOOLS, kill_strays, trial

from runkit import fake_env


@pytest.fixture
def env(tmp_path, project):
    env = fake_env(tmp_path)
    yield env
    kill_strays("FAKE_CLI_HOME", env["FAKE_CLI_HOME"])


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("tool", TOOLS)
def test_kill_at_point_then_resume(tool, point, env, project, state_dir, tmp_path):
    trial(tool, point, env, project, state_dir, tmp_path, n=0)


@pytest.mark.parametrize("tool", ["codex", "claude-code"])
def test_a_listing_recovers_the_dead_turn(tool, env, project, state_dir, tmp_path):
    trial(tool, "after_id", env, project, state_dir, tmp_path, n=1)
