"""Symlinks pointing out of the state dir: csa never writes or deletes through them.

Each scenario plants one link in a real session (the session dir itself, `locks/`, a
lock file, `output/`, a file in it, `transcript.jsonl`, `state.toml`, `journal.md` and
its lock, or a `.new-*`/`.trash-*` entry) pointing into a directory outside the state
dir that holds canary files. Then every command that reads, writes or removes
sessions runs (run/resume, note, compress, checkpoint, import, gc with orphan age 0,
gc --max-bytes, clean --archive, clean, delete, delete --force). After each one the
outside directory must be byte-for-byte unchanged, and csa must have answered with a
clear message or done its job (exit 0/1/2, no traceback).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from stresskit import check_cli, cli, inproc_env, session_id_from_cli, snapshot

pytestmark = pytest.mark.stress

SCENARIOS = ("session_dir", "locks_dir", "lock_file", "output_dir", "output_file", "transcript",
             "state", "journal", "new_and_trash")


@pytest.fixture
def world(tmp_path, project, state_dir, monkeypatch):
    inproc_env(monkeypatch, tmp_path)
    (project / ".csa").mkdir()
    (project / ".csa" / "config.toml").write_text("[gc]\norphan_dir_age_s = 0\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "canary.txt").write_text("do not touch\n")
    return outside


def _session(project) -> tuple[str, Path]:
    res = cli("run", "--tool", "codex", "a turn to have every file")
    check_cli(res, "setup run", codes=(0,))
    sid = session_id_from_cli(res)
    check_cli(cli("session", "note", "-s", sid, "--progress", "setup"), "setup note", codes=(0,))
    from csa.store import Store

    return sid, Store.open(project).session(sid).dir


def _plant(kind: str, sdir: Path, outside: Path) -> None:
    def link_dir(name: str) -> None:
        target = outside / f"{kind}-{name}"
        shutil.copytree(sdir / name, target)
        (target / "canary.txt").write_text("canary\n")
        (target / ".result.toml.1.deadbeef.tmp").write_text("looks like a temp file\n")
        shutil.rmtree(sdir / name)
        os.symlink(target, sdir / name)

    def link_file(name: str, torn: bool = False) -> None:
        target = outside / f"{kind}-{name.replace('/', '_')}"
        src = sdir / name
        data = src.read_bytes() if src.exists() else b""
        target.write_bytes(data + (b'{"v":1,"seq":99,"torn' if torn else b""))
        if src.exists():
            src.unlink()
        os.symlink(target, src)

    if kind == "session_dir":
        target = outside / "session"
        shutil.copytree(sdir, target)
        shutil.rmtree(sdir)
        os.symlink(target, sdir)
    elif kind == "locks_dir":
        link_dir("locks")
        (outside / "locks_dir-locks" / "session.lock").write_text('{"pid": 999999999}')
    elif kind == "lock_file":
        link_file("locks/session.lock")
    elif kind == "output_dir":
        link_dir("output")
    elif kind == "output_file":
        link_file("output/result.toml")
    elif kind == "transcript":
        link_file("transcript.jsonl", torn=True)
    elif kind == "state":
        link_file("state.toml")
    elif kind == "journal":
        link_file("journal.md")
        (sdir / ".journal.lock").unlink(missing_ok=True)
        os.symlink(outside / "journal-lock-does-not-exist", sdir / ".journal.lock")
    elif kind == "new_and_trash":
        for prefix in (".new-", ".trash-"):
            target = outside / f"dir{prefix}"
            target.mkdir()
            (target / "canary.txt").write_text("canary\n")
            os.symlink(target, sdir.parent / f"{prefix}{sdir.name[:-1]}Z")


def _commands(sid: str, archive: Path) -> list[list[str]]:
    return [
        ["session", "list", "--json"], ["session", "list", "--tree"],
        ["session", "show", "-s", sid, "--json"], ["session", "logs", "-s", sid],
        ["session", "result", "-s", sid], ["session", "artifacts", "-s", sid],
        ["session", "is-alive", "-s", sid], ["session", "journal", "-s", sid],
        ["session", "note", "-s", sid, "--progress", "more"],
        ["run", "-s", sid, "--tool", "codex", "resume through the link"],
        ["run", "-s", sid, "--tool", "claude-code", "another tool"],
        ["session", "compress", "-s", sid, "--tool", "codex"],
        ["session", "checkpoint", "-s", sid, "-m", "cp"], ["session", "verify", "-s", sid],
        ["session", "search", "FAKE"], ["import", "codex"], ["gc"],
        ["gc", "--max-bytes", "1", "--force"],
        ["session", "clean", "--days", "0", "--archive", str(archive)],
        ["session", "clean", "--days", "0"],
        ["session", "delete", "-s", sid], ["session", "delete", "-s", sid, "--force"],
    ]


@pytest.mark.parametrize("kind", SCENARIOS)
def test_links_out_of_the_state_dir_are_never_followed_to_write(kind, world, project, tmp_path):
    outside = world
    sid, sdir = _session(project)
    _plant(kind, sdir, outside)
    before = snapshot(outside)
    for args in _commands(sid, tmp_path / "archive"):
        res = cli(*args)
        # a broken session never breaks a listing
        # a broken session never breaks a listing, nor gc or clean of the others
        always_ok = args[:2] in (["session", "list"], ["session", "clean"]) or args == ["gc"]
        # --max-bytes 1 cannot be met (state is never evicted): that is exit 1, as documented
        codes = (0,) if always_ok else (0, 1) if args[0] == "gc" else (0, 1, 2)
        check_cli(res, f"{kind}: csa {' '.join(args)}", codes=codes)
        after = snapshot(outside)
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        assert not changed, f"{kind}: csa {' '.join(args)} changed {changed} outside the state dir"
    assert (outside / "canary.txt").read_text() == "do not touch\n"
