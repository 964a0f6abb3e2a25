"""Issue 14: a full disk never gives a traceback or a multi-line error, names the file it
could not write, and loses nothing that was on disk before (the state dir and the config
live on a small tmpfs that a filler file then fills to the last byte)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from runkit import csa, fake_env, session_id_from

CHATTER = ("csa: session ", "csa: resuming", "csa: ignoring", "FAKE-REPLY", "[codex]")


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A 4 MB tmpfs holding CSA_STATE_DIR and XDG_CONFIG_HOME."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    mnt = tmp_path / "tiny"
    mnt.mkdir(mode=0o700)
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=700", "tmpfs", str(mnt)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()}")
    monkeypatch.setenv("CSA_STATE_DIR", str(mnt / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(mnt / "config"))
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(mnt: Path) -> Path:
    """Fill the tmpfs to its last byte; returns the filler to delete."""
    filler = mnt / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 16, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


def one_line_or_ok(cmd, res) -> str | None:
    err = res.stderr
    if "Traceback" in err or "internal error" in err:
        return f"{cmd}: crash: {err[-300:]}"
    lines = [ln for ln in err.strip().splitlines() if ln and not ln.startswith(CHATTER)]
    if res.returncode == 0:
        return None
    if res.returncode == 2:
        lines = [ln for ln in lines if ln.startswith("Error:")]
    if len(lines) != 1:
        return f"{cmd}: exit {res.returncode} with {len(lines)} error lines: {err[-400:]}"
    return None


def test_a_full_disk_gives_one_line_and_loses_nothing(tiny, project, tmp_path):
    env = fake_env(tmp_path)
    res = csa("run", "--tool", "codex", "first words", env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    sid = session_id_from(res.stderr)
    for cmd in (["run", "-s", sid, "second words"], ["session", "checkpoint", "-s", sid],
                ["session", "note", "-s", sid, "--next", "x"], ["session", "search", "first"]):
        assert csa(*cmd, env=env, cwd=project).returncode == 0
    before = csa("session", "logs", "-s", sid, env=env, cwd=project).stdout
    filler = fill(tiny)
    archive = tmp_path / "archive"
    problems = []
    for cmd in (["run", "--tool", "codex", "third words"], ["run", "-s", sid, "fourth"],
                ["session", "note", "-s", sid, "--progress", "y"],
                ["session", "checkpoint", "-s", sid], ["session", "search", "words"],
                ["session", "list"], ["session", "show", "-s", sid],
                ["session", "compress", "-s", sid], ["config", "set", "default_tool", "codex"],
                ["trust"], ["gc"], ["doctor"],
                ["session", "scrub", "-s", sid], ["session", "journal", "-s", sid],
                ["events"], ["session", "result", "-s", sid],
                ["session", "clean", "--days", "0", "--archive", str(archive), "--dry-run"]):
        res = csa(*cmd, env=env, cwd=project)
        problems.append(one_line_or_ok(cmd, res))
        if res.returncode not in (0, 2) and cmd[0] not in ("doctor", "trust"):
            # the one line says it is the disk, and which file under the state dir
            assert "space" in res.stderr or "disk full" in res.stderr, (cmd, res.stderr)
            assert str(tiny) in res.stderr, (cmd, res.stderr)
    assert [p for p in problems if p] == []
    filler.unlink()
    # Nothing that was on disk before is lost, and the session carries on.
    after = csa("session", "logs", "-s", sid, env=env, cwd=project)
    assert after.returncode == 0 and before.strip() in after.stdout
    res = csa("run", "-s", sid, "fifth words", env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    assert "fifth words" in csa("session", "logs", "-s", sid, env=env, cwd=project).stdout
    listed = csa("session", "list", "--json", env=env, cwd=project)
    assert listed.returncode == 0 and sid in listed.stdout
