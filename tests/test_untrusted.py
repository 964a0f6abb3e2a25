"""Issue 14 through the CLI: a damaged or hostile state dir never hangs csa, never makes it
read without bound or write through a link, and every failure is one line saying what to do."""

from __future__ import annotations

import os
import pwd
import sqlite3
from pathlib import Path

import pytest

from runkit import csa, fake_env, session_id_from

PEM = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n" \
      "-----END OPENSSH PRIVATE KEY-----"


@pytest.fixture
def env(tmp_path, project):
    return fake_env(tmp_path)


def sdir(state_dir: Path, project: Path, sid: str | None = None) -> Path:
    p = state_dir / str(project).lstrip("/")
    return p / "sessions" / sid if sid else p


def new_session(env, project, prompt="start") -> str:
    res = csa("run", "--tool", "codex", prompt, env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    return session_id_from(res.stderr)


def one_line_error(res) -> str:
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 1 and len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    return lines[0]


# -- 1. safe opening ----------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["fifo", "devzero", "symlink", "huge"])
def test_hostile_state_toml_never_hangs_or_exhausts(env, project, state_dir, tmp_path, kind):
    sid = new_session(env, project)
    state = sdir(state_dir, project, sid) / "state.toml"
    state.unlink()
    outside = tmp_path / "outside.toml"
    outside.write_text(f'meta_session_id = "{sid}"\n')
    if kind == "fifo":
        os.mkfifo(state)
    elif kind == "devzero":
        state.symlink_to("/dev/zero")
    elif kind == "symlink":
        state.symlink_to(outside)
    else:
        state.write_bytes(b"#" * (2 << 20))
    for cmd in (["session", "show", "-s", sid], ["session", "result", "-s", sid],
                ["run", "-s", sid, "again"], ["session", "checkpoint", "-s", sid]):
        res = csa(*cmd, env=env, cwd=project, timeout=30)
        assert str(state) in one_line_error(res)
    # --last passes over a corrupt session: there is none left to resume.
    assert "No sessions yet" in one_line_error(csa("run", "--last", "x", env=env, cwd=project,
                                                   timeout=30))
    for cmd in (["session", "list"], ["session", "clean", "--days", "0"],
                ["session", "search", "start"]):
        res = csa(*cmd, env=env, cwd=project, timeout=30)
        assert res.returncode in (0, 1) and "Traceback" not in res.stderr, res.stderr
    res = csa("session", "list", "--json", env=env, cwd=project, timeout=30)
    assert res.returncode == 0 and '"corrupt":true' in res.stdout.replace(" ", "")
    assert outside.read_text() == f'meta_session_id = "{sid}"\n'


def test_fifo_transcript_and_config_never_hang(env, project, state_dir, isolated_env):
    sid = new_session(env, project)
    transcript = sdir(state_dir, project, sid) / "transcript.jsonl"
    transcript.unlink()
    os.mkfifo(transcript)
    for cmd in (["session", "logs", "-s", sid], ["session", "checkpoint", "-s", sid]):
        res = csa(*cmd, env=env, cwd=project, timeout=30)
        assert "FIFO" in one_line_error(res) and str(transcript) in res.stderr
    glob = isolated_env / "home" / ".config" / "csa" / "config.toml"
    glob.parent.mkdir(parents=True)
    os.mkfifo(glob)
    res = csa("run", "--tool", "codex", "hi", env=env, cwd=project, timeout=30)
    assert "FIFO" in one_line_error(res) and str(glob) in res.stderr
    glob.unlink()
    glob.symlink_to("/dev/zero")
    res = csa("config", "show", env=env, cwd=project, timeout=30)
    assert "character device" in one_line_error(res)


def test_events_log_and_slot_lock_are_never_written_through_a_link(env, project, state_dir,
                                                                   tmp_path):
    sid = new_session(env, project)
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    events = sdir(state_dir, project) / "events.jsonl"
    events.unlink()
    events.symlink_to(victim)
    slot = state_dir / "slots" / "codex" / "0.lock"
    slot.parent.mkdir(parents=True, exist_ok=True)
    if slot.exists():
        slot.unlink()
    slot.symlink_to(victim)
    cfg = project / ".csa" / "config.toml"
    cfg.parent.mkdir()
    cfg.write_text("[tools.codex]\nmax_concurrent = 1\n")
    res = csa("run", "-s", sid, "again", env=env, cwd=project, timeout=60)
    assert "Traceback" not in res.stderr
    assert victim.read_text() == "precious\n"


# -- 2. ownership ---------------------------------------------------------------------------

def test_state_dir_owned_by_another_user_or_group_writable_is_refused(env, project, state_dir):
    sid = new_session(env, project)
    pdir = sdir(state_dir, project)
    nobody = pwd.getpwnam("nobody").pw_uid
    if os.geteuid() != 0:
        pytest.skip("chown to another user needs root")
    os.chown(pdir, nobody, -1)
    res = csa("session", "show", "-s", sid, env=env, cwd=project)
    line = one_line_error(res)
    assert str(pdir) in line and f"owned by uid {nobody}" in line and "chown" in line
    res = csa("doctor", env=env, cwd=project)
    assert res.returncode == 1 and "chown" in res.stdout and str(pdir) in res.stdout
    os.chown(pdir, 0, -1)
    os.chmod(state_dir, 0o777)
    res = csa("run", "--tool", "codex", "hi", env=env, cwd=project)
    assert "writable by group and others" in one_line_error(res) and "chmod go-w" in res.stderr
    res = csa("doctor", env=env, cwd=project)
    assert f"chmod go-w {state_dir}" in res.stdout
    os.chmod(state_dir, 0o700)
    sessions = pdir / "sessions"
    sessions.rename(pdir / "elsewhere")
    sessions.symlink_to(pdir / "elsewhere")
    res = csa("run", "--tool", "codex", "hi", env=env, cwd=project)
    assert "is a symlink" in one_line_error(res)


# -- 6. internal errors become one line ------------------------------------------------------

def test_damaged_summary_index_is_rebuilt_silently(env, project, state_dir):
    sid = new_session(env, project)
    assert csa("session", "list", env=env, cwd=project).returncode == 0
    db = sdir(state_dir, project) / "cache" / "summaries.db"
    assert db.exists()
    db.write_bytes(b"SQLite format 3\x00" + os.urandom(4096))
    res = csa("session", "list", env=env, cwd=project, timeout=30)
    assert res.returncode == 0 and sid[:8] in res.stdout and res.stderr == "", res.stderr


def test_damaged_checkpoint_repository_names_the_command_that_recreates_it(env, project,
                                                                            state_dir):
    sid = new_session(env, project)
    assert csa("session", "checkpoint", "-s", sid, env=env, cwd=project).returncode == 0
    git_dir = sdir(state_dir, project) / "sessions" / ".git"
    (git_dir / "HEAD").write_text("garbage\n")
    for cmd in (["session", "checkpoint", "-s", sid], ["session", "checkpoints"],
                ["session", "log", "-s", sid]):
        line = one_line_error(csa(*cmd, env=env, cwd=project))
        assert "damaged" in line and f"mv {git_dir}" in line and "csa session checkpoint" in line
    os.rename(git_dir, git_dir.with_name(".git.damaged"))
    assert csa("session", "checkpoint", "-s", sid, env=env, cwd=project).returncode == 0


@pytest.mark.parametrize("kind", ["fifo", "devzero"])
@pytest.mark.parametrize("name", ["config", "packed-refs"])
def test_a_checkpoint_repository_file_that_is_a_fifo_or_device_never_hangs(env, project,
                                                                            state_dir, kind,
                                                                            name):
    """The fuzz found `clean` reading .git/config = /dev/zero without end."""
    sid = new_session(env, project)
    other = new_session(env, project, "keep me")
    for s in (sid, other):
        assert csa("session", "checkpoint", "-s", s, env=env, cwd=project).returncode == 0
    target = sdir(state_dir, project) / "sessions" / ".git" / name
    target.unlink(missing_ok=True)
    os.mkfifo(target) if kind == "fifo" else target.symlink_to("/dev/zero")
    for cmd in (["session", "delete", "-s", sid, "--force"], ["session", "clean", "--days", "0"],
                ["session", "scrub", "-s", other], ["session", "checkpoint", "-s", other]):
        res = csa(*cmd, env=env, cwd=project, timeout=40)  # TimeoutExpired fails the test
        assert res.returncode == 0 or one_line_error(res), (cmd, res.stderr)


def test_scrub_and_top_never_read_a_fifo(env, project, state_dir):
    sid = new_session(env, project)
    journal = sdir(state_dir, project, sid) / "journal.md"
    journal.unlink(missing_ok=True)
    os.mkfifo(journal)
    res = csa("session", "scrub", "-s", sid, env=env, cwd=project, timeout=40)
    assert res.returncode == 0 or one_line_error(res), res.stderr
    res = csa("top", "--once", env=env, cwd=project, timeout=40)
    assert res.returncode == 0, res.stderr


def test_disk_full_says_which_file_and_how_much():
    import git

    from csa.errors import disk_full, is_disk_full

    e = git.GitCommandError(["git", "commit"], 128, stderr=b"fatal: unable to write new index "
                            b"file: No space left on device")
    assert is_disk_full(e) and is_disk_full(sqlite3.OperationalError("database or disk is full"))
    assert is_disk_full(OSError(28, "No space left on device"))
    assert not is_disk_full(sqlite3.OperationalError("no such table: x"))
    msg = disk_full("the search index", "/s/index.sqlite", 2_100_000).message
    assert msg == ("csa: disk full writing the search index /s/index.sqlite (needs about "
                   "2.1 MB); free some space and retry")


# -- 8. empty values and prompts that look like options --------------------------------------

@pytest.mark.parametrize("value", ["", "   ", "\t"])
def test_empty_session_value_is_refused_everywhere(env, project, value):
    sid = new_session(env, project)
    for cmd in (["run", "-s", value, "x"], ["session", "show", "-s", value],
                ["session", "result", "-s", value], ["events", "-s", value],
                ["run", "-m", value, "x"]):
        line = one_line_error(csa(*cmd, env=env, cwd=project))
        assert "needs a value" in line
    res = csa("session", "list", "--json", env=env, cwd=project)
    assert res.stdout.count('"id"') == 1 and sid in res.stdout


def test_prompt_beginning_with_dash_is_accepted_and_never_echoed(env, project, state_dir):
    for how in (["run", "--tool", "codex", "--", PEM], ["run", "--tool", "codex", "-p", PEM],
                ["run", "--tool", "codex"]):
        res = csa(*how, env=env, cwd=project, input=PEM if len(how) == 3 else None)
        assert res.returncode == 0, res.stderr
        assert "FAKE-REPLY" in res.stdout
    for bad in (["run", PEM], [PEM], ["session", "show", PEM], ["run", "--tool", "codex", "x", PEM]):
        res = csa(*bad, env=env, cwd=project)
        assert res.returncode == 2, res.stderr
        assert "PRIVATE KEY" not in res.stderr and "b3BlbnNz" not in res.stderr, res.stderr
        assert "not shown" in res.stderr
    res = csa("run", "--tool", "codex", "-p", "x", "y", env=env, cwd=project)
    assert res.returncode == 2 and "once" in res.stderr
