"""CSA_BIN: the tool's shell can run this csa as `"$CSA_BIN" run ...`, even without csa on PATH."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from csa import selfbin
from runkit import FAKE_BIN, csa, fake_env, read_log, session_id_from, sessions

REPO = Path(__file__).resolve().parent.parent


def test_console_script_is_used_as_is(tmp_path):
    script = tmp_path / "venv" / "bin" / "csa"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    assert selfbin.csa_bin(argv0=str(script), env={"HOME": str(tmp_path)}) == str(script)
    assert not (tmp_path / ".cache").exists(), "no launcher is written for a console script"


def test_python_dash_m_gets_a_launcher_that_runs_this_package(tmp_path):
    env = {"HOME": str(tmp_path / "home"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    path = selfbin.csa_bin(argv0=str(REPO / "csa" / "__main__.py"), env=env)
    assert Path(path).name == "csa" and Path(path).is_relative_to(tmp_path / "cache" / "csa")
    assert os.stat(path).st_mode & stat.S_IXUSR
    text = Path(path).read_text()
    assert sys.executable in text and repr(str(REPO)) in text
    # Same interpreter and package: same file, not rewritten.
    mtime = os.stat(path).st_mtime_ns
    assert selfbin.csa_bin(argv0="-c", env=env) == path
    assert os.stat(path).st_mtime_ns == mtime
    # A csa started through the launcher recognises it as its console script.
    assert selfbin.csa_bin(argv0=path, env=env) == path
    # It works from anywhere, with a PATH that has no python and no csa (a login shell's).
    res = subprocess.run([path, "--help"], cwd=tmp_path, capture_output=True, text=True,
                         env={"PATH": "/nonexistent", "HOME": env["HOME"]}, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("Usage: csa"), res.stdout[:200]


def test_launcher_text_quotes_odd_paths():
    text = selfbin.launcher_text("/opt/py thon/bin/python3", "/src/it's here")
    assert text.startswith("#!/bin/sh\n")
    res = subprocess.run(["sh", "-n", "-c", text], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "'/opt/py thon/bin/python3'" in text


def test_nested_run_through_csa_bin_without_csa_on_path(tmp_path, project, state_dir):
    """A tool whose shell lost PATH (like codex's login shell) still reaches csa via CSA_BIN."""
    wrapper = tmp_path / "claude-wrapper"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'env | grep "^CSA_" | sort > "{tmp_path}/parent-env"\n'
        'PATH=/usr/bin:/bin "$CSA_BIN" run --tool codex "child task" '
        f'> "{tmp_path}/child-out" 2>&1\n'
        f'exec "{FAKE_BIN}/claude" "$@"\n')
    wrapper.chmod(0o755)
    (project / ".csa").mkdir(exist_ok=True)
    (project / ".csa" / "config.toml").write_text(
        f'[tools.claude-code]\nbinary = "{wrapper}"\n'
        f'[tools.codex]\nbinary = "{FAKE_BIN}/codex"\n')
    env = fake_env(tmp_path, FAKE_LOG=str(tmp_path / "fake.log"), FAKE_PYTHON=sys.executable)
    assert csa("trust", env=env, cwd=project).returncode == 0  # a project's binary needs trust
    res = csa("run", "--tool", "claude-code", "parent task", env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    parent = session_id_from(res.stderr)
    parent_env = dict(line.split("=", 1)
                      for line in (tmp_path / "parent-env").read_text().splitlines())
    assert parent_env["CSA_SESSION_ID"] == parent
    assert os.access(parent_env["CSA_BIN"], os.X_OK)
    child_out = (tmp_path / "child-out").read_text()
    assert "child task" in child_out, child_out
    codex_env = next(e for e in read_log(tmp_path / "fake.log") if e["tool"] == "codex")["env"]
    assert codex_env["CSA_PARENT_SESSION"] == parent and codex_env["CSA_DEPTH"] == "2"
    rows = {r["id"]: r for r in sessions(env, project)}
    child = codex_env["CSA_SESSION_ID"]
    assert rows[child]["parent_session_id"] == parent
