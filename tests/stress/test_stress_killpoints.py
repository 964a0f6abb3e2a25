"""The kill-point matrix (issue 12), several trials per cell: kill -9 of `csa run` at each
point of a turn for each tool, then recovery and resume (tests/killkit.py says what is
checked). Short: 3 trials per cell; --stress-long: 10. KILLPOINT_REPORT=PATH writes the
per-cell table (trials, failures) as JSON.
"""

from __future__ import annotations

import json
import os

import pytest
from killkit import POINTS, TOOLS, kill_strays, trial

from runkit import fake_env

pytestmark = pytest.mark.stress


def test_every_kill_point_of_every_tool_recovers(tmp_path, project, state_dir, stress_long):
    env = fake_env(tmp_path)
    trials = 10 if stress_long else 3
    table: dict[str, dict[str, int]] = {}
    failures: list[str] = []
    try:
        for n in range(trials):
            for tool in TOOLS:
                for point in POINTS:
                    cell = table.setdefault(f"{tool} {point}", {"trials": 0, "failures": 0})
                    cell["trials"] += 1
                    try:
                        trial(tool, point, env, project, state_dir, tmp_path, n)
                    except AssertionError as e:
                        cell["failures"] += 1
                        failures.append(f"{tool} {point} #{n}: {str(e)[:300]}")
    finally:
        kill_strays("FAKE_CLI_HOME", env["FAKE_CLI_HOME"])
        if os.environ.get("KILLPOINT_REPORT"):
            with open(os.environ["KILLPOINT_REPORT"], "w") as f:
                json.dump(table, f, indent=1)
    assert not failures, "\n".join(failures)
