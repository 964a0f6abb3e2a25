"""tools/demo-offline end to end (issue 18): a real CLI against the mock LLM, as a newcomer
runs it. Skipped without node or the installed CLI, except under CSA_REQUIRE_REAL_CLIS=1."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO

sys.path.insert(0, str(REPO / "tools"))
from realcli_env import real_clis_bin  # noqa: E402

pytestmark = pytest.mark.realcli
# Read at import, before the autouse fixture drops CSA_* (as tests/integration/conftest.py).
BIN = Path(os.environ.get("CSA_REAL_CLIS_BIN") or real_clis_bin())
REQUIRE = os.environ.get("CSA_REQUIRE_REAL_CLIS") == "1"


def test_demo_offline_runs_new_resume_list_and_logs(tmp_path):
    if not (shutil.which("node") and (BIN / "codex").exists()):
        if REQUIRE:
            pytest.fail("node or the real codex CLI is missing (tools/install-real-clis)")
        pytest.skip("node or the real codex CLI is not installed (tools/install-real-clis)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSA_")}
    env.update(PYTHON=sys.executable, PYTHONPATH=str(REPO), TMPDIR=str(tmp_path),
               CSA_REAL_CLIS_DIR=str(BIN.parent.parent))
    res = subprocess.run([str(REPO / "tools" / "demo-offline"), "codex"], env=env,
                         capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert "user turns 2" in res.stdout  # the resume reached the model with its history
    assert "$ csa session list --tree" in res.stdout
    assert not list(tmp_path.glob("csa-demo.*"))  # cleaned up
