"""Issue 14: everything csa creates is private whatever the umask; archives restore safely."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from csa.perms import public_files
from runkit import csa, fake_env, session_id_from


@pytest.fixture
def env(tmp_path, project):
    return fake_env(tmp_path)


def run_as(umask: int, *args, env, cwd, input=None):
    """csa under a given umask (the child inherits it)."""
    old = os.umask(umask)
    try:
        return csa(*args, env=env, cwd=cwd, input=input)
    finally:
        os.umask(old)


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077])
def test_nothing_under_the_state_dir_has_a_group_or_other_bit(env, project, state_dir, tmp_path,
                                                              umask):
    res = run_as(umask, "run", "--tool", "codex", "first", env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    sid = session_id_from(res.stderr)
    archive = tmp_path / "archive"
    for cmd in (["run", "-s", sid, "second"], ["session", "checkpoint", "-s", sid],
                ["session", "note", "-s", sid, "--next", "x"], ["session", "search", "first"],
                ["run", "--tool", "claude-code", "other"],
                ["session", "clean", "--days", "0", "--archive", str(archive)],
                ["session", "restore", str(archive / f"{sid}.tar.gz")],
                ["session", "checkpoint", "-s", sid], ["gc"]):
        res = run_as(umask, *cmd, env=env, cwd=project)
        assert res.returncode == 0, (cmd, res.stderr)
    assert (state_dir / str(project).lstrip("/") / "sessions" / ".git" / "objects").is_dir()
    assert public_files(state_dir) == []
    assert stat.S_IMODE(os.stat(state_dir).st_mode) == 0o700
    assert public_files(archive) == [] and len(list(archive.iterdir())) == 2
    # The intermediate dirs between the state base and the project dir, one by one.
    d = state_dir
    for part in str(project).lstrip("/").split("/"):
        d = d / part
        assert stat.S_IMODE(os.stat(d).st_mode) == 0o700, d


def _tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _info(name: str, kind=tarfile.REGTYPE, mode=0o666, **kw) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode = kind, mode
    for k, v in kw.items():
        setattr(ti, k, v)
    return ti


def _archive_of(env, project, tmp_path) -> tuple[str, Path]:
    res = csa("run", "--tool", "codex", "keep me", env=env, cwd=project)
    sid = session_id_from(res.stderr)
    res = csa("session", "clean", "--days", "0", "--archive", str(tmp_path / "a"),
              env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    return sid, tmp_path / "a" / f"{sid}.tar.gz"


def test_restore_as_is_and_as_new_sets_its_own_modes(env, project, state_dir, tmp_path):
    sid, archive = _archive_of(env, project, tmp_path)
    # Rewrite the archive with world-writable modes: restore must not keep them.
    loose = tmp_path / "loose.tar.gz"
    with tarfile.open(archive) as src, tarfile.open(loose, "w:gz") as dst:
        for m in src.getmembers():
            m.mode = 0o777
            dst.addfile(m, src.extractfile(m) if m.isreg() else None)
    res = csa("session", "restore", str(loose), env=env, cwd=project)
    assert res.returncode == 0 and res.stdout.strip() == sid, res.stderr
    assert public_files(state_dir) == []
    res = csa("session", "restore", str(loose), env=env, cwd=project)
    assert res.returncode == 1 and "--as-new" in res.stderr
    res = csa("session", "restore", "--as-new", str(loose), env=env, cwd=project)
    new = res.stdout.strip()
    assert res.returncode == 0 and new != sid and len(new) == 26, res.stderr
    res = csa("session", "show", "-s", new, "--json", env=env, cwd=project)
    assert res.returncode == 0 and f'"meta_session_id":"{new}"' in res.stdout.replace(" ", "")
    res = csa("run", "-s", new, "again", env=env, cwd=project)
    assert res.returncode == 0, res.stderr


SID = "01JH4Q0000000000000000000A"


@pytest.mark.parametrize("members, why", [
    ([(_info(f"{SID}/state.toml"), b"x"), (_info(f"{SID}/x", tarfile.SYMTYPE,
                                                 linkname="/etc/passwd"), None)], "link"),
    ([(_info(f"{SID}/state.toml"), b"x"), (_info(f"{SID}/h", tarfile.LNKTYPE,
                                                 linkname=f"{SID}/state.toml"), None)], "link"),
    ([(_info(f"{SID}/state.toml"), b"x"), (_info(f"{SID}/../../../../escaped"), b"x")],
     "outside"),
    ([(_info(f"{SID}/state.toml"), b"x"), (_info("/tmp/abs-escaped"), b"x")], "outside"),
    ([(_info(f"{SID}/state.toml"), b"x"), (_info("01JH4Q0000000000000000000B/x"), b"x")],
     "outside"),
    ([(_info(f"{SID}/state.toml"), b"x"), (_info(f"{SID}/dev", tarfile.CHRTYPE), None)],
     "device"),
    ([(_info(f"{SID}/fifo", tarfile.FIFOTYPE), None)], "device"),
    ([(_info("../x/state.toml"), b"x")], "not a session id"),
    ([(_info(f"{SID}/state.toml"), b"not toml")], "state does not parse"),
])
def test_unsafe_archive_is_refused_and_leaves_nothing(env, project, state_dir, tmp_path,
                                                      members, why):
    assert csa("run", "--tool", "codex", "x", env=env, cwd=project).returncode == 0
    sessions = state_dir / str(project).lstrip("/") / "sessions"
    before = sorted(p.name for p in sessions.iterdir())
    archive = _tar(tmp_path / "evil.tar.gz", members)
    res = csa("session", "restore", str(archive), env=env, cwd=project)
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 1 and len(lines) == 1 and why in lines[0], res.stderr
    assert sorted(p.name for p in sessions.iterdir()) == before
    assert not (tmp_path / "escaped").exists() and not Path("/tmp/abs-escaped").exists()


def test_the_tool_gets_the_users_umask_not_csas(env, project, tmp_path):
    """csa is private (umask 077); the AI tool it starts writes the user's files as usual."""
    seen = tmp_path / "umask-seen"
    wrapper = tmp_path / "codex-wrapper"
    real = Path(env["PATH"].split(os.pathsep)[0]) / "codex"
    wrapper.write_text(f"#!/bin/sh\numask > {seen}\nexec {real} \"$@\"\n")
    wrapper.chmod(0o755)
    cfg = project / ".csa" / "config.toml"
    cfg.parent.mkdir()
    cfg.write_text(f'[tools.codex]\nbinary = "{wrapper}"\n')
    assert csa("trust", env=env, cwd=project).returncode == 0
    for umask in (0o022, 0o002):
        res = run_as(umask, "run", "--tool", "codex", "hi", env=env, cwd=project)
        assert res.returncode == 0, res.stderr
        assert seen.read_text().strip() == f"{umask:04o}"


def test_an_older_world_readable_checkpoint_repository_is_made_private(env, project, state_dir):
    """A repository an older csa made under umask 022 (no --shared) is fixed on next use."""
    res = run_as(0o022, "run", "--tool", "codex", "first", env=env, cwd=project)
    sid = session_id_from(res.stderr)
    assert run_as(0o022, "session", "checkpoint", "-s", sid, env=env, cwd=project).returncode == 0
    gitdir = state_dir / str(project).lstrip("/") / "sessions" / ".git"
    subprocess.run(["chmod", "-R", "go+rX", str(gitdir)], check=True)
    subprocess.run(["git", "config", "--file", str(gitdir / "config"), "core.sharedRepository",
                    "umask"], check=True)
    assert public_files(gitdir)
    res = run_as(0o022, "session", "checkpoint", "-s", sid, env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    assert public_files(gitdir) == []
    assert stat.S_IMODE(os.stat(gitdir).st_mode) == 0o700
    res = run_as(0o022, "run", "-s", sid, "again", env=env, cwd=project)
    assert run_as(0o022, "session", "checkpoint", "-s", sid, env=env, cwd=project).returncode == 0
    assert public_files(gitdir) == []
