"""Session lifecycle: compaction, phases, checkpoints, clean/gc, races, detach, events."""

from __future__ import annotations

import hashlib
import json
import os
import random
import stat
import subprocess
import tarfile
import threading
import time
import tomllib
from datetime import UTC, datetime, timedelta

import psutil
import pytest

from csa.errors import InvalidTransition
from csa.gc import clean, gc
from csa.lock import SessionLock
from csa.state import SessionState, transition
from csa.store import Store
from helpers import make_session
from runkit import csa, fake_env, read_log, session_id_from, sessions, spawn, wait_for


@pytest.fixture
def env(tmp_path, project):
    return fake_env(tmp_path, FAKE_LOG=str(tmp_path / "fake.log"))


def state_of(state_dir, project, sid) -> dict:
    path = state_dir / str(project).lstrip("/") / "sessions" / sid / "state.toml"
    return tomllib.loads(path.read_text())


def new_session(env, project, tool="codex", prompt="start") -> str:
    res = csa("run", "--tool", tool, prompt, env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    return session_id_from(res.stderr)


# -- phases ------------------------------------------------------------------------------

def test_state_machine_transitions():
    st = SessionState.new("01JH4QWERT1234567890ABCDEF", description="", project_path="/p")
    transition(st, "available")
    transition(st, "active")
    transition(st, "retired")
    with pytest.raises(InvalidTransition, match="retired; it cannot become active"):
        transition(st, "active")


# -- compress ----------------------------------------------------------------------------

def test_compress_native_claude(env, project, state_dir):
    sid = new_session(env, project, "claude-code", "one")
    csa("run", "-s", sid, "two", env=env, cwd=project)
    before = state_of(state_dir, project, sid)["tools"]["claude-code"]["provider_session_id"]
    res = csa("session", "compress", "-s", sid, "--json", env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["method"] == "native" and data["success"] is True
    st = state_of(state_dir, project, sid)
    assert st["context_status"]["is_compacted"] is True
    assert st["context_status"]["compaction_count"] == 1
    assert "last_compacted_at" in st["context_status"]
    assert st["phase"] == "available"
    assert st["tools"]["claude-code"]["provider_session_id"] == before
    assert st["turn_count"] == 2  # compaction is not a user turn
    argv = read_log(project.parent / "fake.log")[-1]["argv"]
    assert "/compact" in argv and "--resume" in argv
    # The user's last result is still the last user turn's.
    result = json.loads(csa("session", "result", "-s", sid, "--json", env=env,
                            cwd=project).stdout)
    assert "two" in result["final_text"]
    res = csa("run", "-s", sid, "three", env=env, cwd=project)
    assert res.returncode == 0
    assert state_of(state_dir, project, sid)["phase"] == "active"


def test_compress_native_failure_is_reported_not_counted(env, project, state_dir):
    sid = new_session(env, project, "claude-code", "only one turn")
    res = csa("session", "compress", "-s", sid, env=env, cwd=project)
    assert res.returncode == 1
    assert "Not enough messages to compact" in res.stdout
    st = state_of(state_dir, project, sid)
    assert st["context_status"]["is_compacted"] is False
    assert st["context_status"]["compaction_count"] == 0 and st["phase"] == "active"


@pytest.mark.parametrize("tool", ["codex", "gemini-cli", "opencode"])
def test_compress_rollover(tool, env, project, state_dir, tmp_path):
    sid = new_session(env, project, tool, "first")
    csa("run", "-s", sid, "second", env=env, cwd=project)
    old = state_of(state_dir, project, sid)["tools"][tool]["provider_session_id"]
    res = csa("session", "compress", "-s", sid, "--json", env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["method"] == "rollover" and data["success"]
    assert data["old_provider_session_id"] == old
    new = data["new_provider_session_id"]
    assert new and new != old
    st = state_of(state_dir, project, sid)
    t = st["tools"][tool]
    assert t["provider_session_id"] == new and old in t["previous_provider_session_ids"]
    assert st["phase"] == "available" and st["context_status"]["compaction_count"] == 1
    # The summary turn ran in the old provider session, the seed (carrying the summary)
    # in a fresh one.
    sdir = state_dir / str(project).lstrip("/") / "sessions" / sid
    prompts = [json.loads(x) for x in (sdir / "transcript.jsonl").read_text().splitlines()]
    prompts = [e for e in prompts if e["type"] == "prompt"]
    summary_turn, seed_turn = prompts[-2], prompts[-1]
    assert summary_turn["purpose"] == "rollover-summary" and summary_turn["resume"] is True
    assert summary_turn["provider_session_id"] == old
    assert seed_turn["purpose"] == "rollover-seed" and seed_turn["resume"] is False
    assert "FAKE-REPLY (user turns seen: 3)" in seed_turn["text"]
    assert list((sdir / "output").glob("compaction-*.md"))
    res = csa("run", "-s", sid, "after", env=env, cwd=project)
    assert res.returncode == 0
    # Two turns in the fresh provider session: the seed and this one.
    assert "user turns seen: 2" in res.stdout
    assert state_of(state_dir, project, sid)["phase"] == "active"


def test_compress_refuses_a_busy_session(env, project):
    sid = new_session(env, project, "codex")
    slow = spawn("run", "-s", sid, "busy", env={**env, "FAKE_SLEEP": "3"}, cwd=project)
    try:
        wait_for(lambda: csa("session", "is-alive", "-s", sid, env=env,
                             cwd=project).returncode == 0)
        res = csa("session", "compress", "-s", sid, env=env, cwd=project)
        assert res.returncode == 1 and "locked by PID" in res.stderr
    finally:
        slow.wait(30)


# -- checkpoints -------------------------------------------------------------------------

def test_checkpoint_note_on_the_right_commit_and_verify(env, project, state_dir, tmp_path):
    # A hostile global git config must not leak into csa's repository.
    (tmp_path / "home" / ".gitconfig").write_text(
        "[user]\n\tname = Someone Else\n[commit]\n\tgpgsign = true\n")
    sid = new_session(env, project)
    res = csa("session", "checkpoint", "-s", sid, "-m", "first checkpoint", "--json",
              env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    cp = json.loads(res.stdout)
    sessions_dir = state_dir / str(project).lstrip("/") / "sessions"
    transcript = (sessions_dir / sid / "transcript.jsonl").read_bytes()
    assert cp["transcript_sha256"] == hashlib.sha256(transcript).hexdigest()
    lines = transcript.splitlines()
    assert cp["transcript_last_seq"] == json.loads(lines[-1])["seq"]

    git = ["git", "-C", str(sessions_dir)]
    # The session's own refs: removing the session removes its history (docs/sessions.md).
    note = subprocess.run([*git, "notes", "--ref", f"refs/notes/csa/{sid}", "show", cp["commit"]],
                          capture_output=True, text=True, check=True).stdout
    data = tomllib.loads(note)
    assert data["session_id"] == sid and data["note"] == "first checkpoint"
    assert data["transcript_sha256"] == cp["transcript_sha256"]
    assert data["tools"] == ["codex"] and data["phase"] == "active" and data["turn_count"] == 1
    tracked = subprocess.run([*git, "ls-tree", "-r", "--name-only", cp["commit"]],
                             capture_output=True, text=True, check=True).stdout.split()
    assert f"{sid}/state.toml" in tracked and f"{sid}/output/result.toml" in tracked
    assert f"{sid}/transcript.jsonl" not in tracked
    assert subprocess.run([*git, "rev-parse", f"refs/csa/sessions/{sid}"], capture_output=True,
                          text=True, check=True).stdout.strip() == cp["commit"]
    author = subprocess.run([*git, "log", "-1", "--format=%an <%ae>", cp["commit"]], capture_output=True,
                            text=True, check=True).stdout.strip()
    assert author == "csa <csa@localhost>"

    assert csa("session", "verify", "-s", sid, env=env, cwd=project).returncode == 0
    # More turns later do not count as tampering...
    csa("run", "-s", sid, "more", env=env, cwd=project)
    assert csa("session", "verify", "-s", sid, env=env, cwd=project).returncode == 0
    # ...but editing what was checkpointed does.
    path = sessions_dir / sid / "transcript.jsonl"
    path.write_bytes(path.read_bytes().replace(b"FAKE-REPLY", b"FAKE-REPLX", 1))
    res = csa("session", "verify", "-s", sid, env=env, cwd=project)
    assert res.returncode == 1 and "ALTERED" in res.stdout

    listed = json.loads(csa("session", "checkpoints", "--json", env=env, cwd=project).stdout)
    assert [c["commit"] for c in listed] == [cp["commit"]]
    log = csa("session", "log", "-s", sid, env=env, cwd=project)
    assert cp["commit"][:12] in log.stdout and "first checkpoint" in log.stdout


def test_checkpoint_on_turn_end(env, project):
    cfg = project / ".csa" / "config.toml"
    cfg.parent.mkdir()
    cfg.write_text("checkpoint_on_turn_end = true\n")
    sid = new_session(env, project)
    csa("run", "-s", sid, "again", env=env, cwd=project)
    cps = json.loads(csa("session", "checkpoints", "-s", sid, "--json", env=env,
                         cwd=project).stdout)
    assert len(cps) == 2 and cps[0]["turn_count"] == 2 and cps[1]["turn_count"] == 1


# -- clean / gc --------------------------------------------------------------------------

def _tree_hash(root) -> str:
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames) + sorted(dirnames):
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            h.update(f"{os.path.relpath(p, root)} {st.st_mode} {st.st_size} {st.st_mtime_ns}"
                     .encode())
            if stat.S_ISREG(st.st_mode):
                h.update(open(p, "rb").read())
    return h.hexdigest()


def test_clean_old_recent_live_and_ancestors(project, state_dir):
    store = Store.open()
    old = make_session(store, "old", age_days=40)
    recent = make_session(store, "recent", age_days=1)
    live = make_session(store, "old but live", age_days=40)
    parent = make_session(store, "old parent", age_days=40)
    make_session(store, "young child", parent=parent.meta_session_id, depth=1, age_days=2)
    grand = make_session(store, "old grandparent", age_days=50)
    mid = make_session(store, "old middle", parent=grand.meta_session_id, depth=1, age_days=45)
    make_session(store, "recent leaf", parent=mid.meta_session_id, depth=2, age_days=0)

    with SessionLock(store.session(live.meta_session_id).locks_dir, live.meta_session_id):
        before = _tree_hash(state_dir)
        dry = clean(store, days=30, dry_run=True)
        assert _tree_hash(state_dir) == before
        assert [r["id"] for r in dry.removed] == [old.meta_session_id]
        rep = clean(store, days=30)
    assert [r["id"] for r in rep.removed] == [old.meta_session_id]
    assert rep.bytes_freed > 0
    remaining = set(store.ids())
    assert old.meta_session_id not in remaining
    for kept in (recent, live, parent, grand, mid):
        assert kept.meta_session_id in remaining
    reasons = {k["id"]: k["reason"] for k in rep.kept}
    assert reasons[live.meta_session_id] == "live (locked)"
    assert reasons[parent.meta_session_id] == "ancestor of a kept session"
    assert reasons[grand.meta_session_id] == "ancestor of a kept session"


def test_clean_cli_dry_run_touches_nothing(env, project, state_dir):
    for _ in range(3):
        new_session(env, project)
    csa("session", "list", env=env, cwd=project)
    before = _tree_hash(state_dir)
    res = csa("session", "clean", "--days", "0", "--dry-run", env=env, cwd=project)
    assert res.returncode == 0
    assert "Dry run: 3 session(s) would be removed" in res.stderr
    assert _tree_hash(state_dir) == before
    res = csa("session", "clean", "--days", "0", "--json", env=env, cwd=project)
    data = json.loads(res.stdout)
    assert data["sessions_removed"] == 3 and data["bytes_freed"] > 0
    assert sessions(env, project) == []
    res = csa("session", "clean", "--days", "-1", env=env, cwd=project)
    assert res.returncode == 2


def test_clean_by_tool(project):
    store = Store.open()
    a = make_session(store, "codex one", tools={"codex": "x"}, age_days=10)
    b = make_session(store, "claude one", tools={"claude-code": "y"}, age_days=10)
    rep = clean(store, days=5, tools=["codex"])
    assert [r["id"] for r in rep.removed] == [a.meta_session_id]
    assert store.session(b.meta_session_id).exists()


def test_clean_archive_is_restorable(env, project, tmp_path):
    sid = new_session(env, project)
    store = Store.open()
    st = store.session(sid).load()
    st.last_accessed = datetime.now(UTC) - timedelta(days=10)
    store.session(st.meta_session_id).save(st)
    archive = tmp_path / "archive"
    res = csa("session", "clean", "--days", "5", "--archive", str(archive), env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    tarball = archive / f"{sid}.tar.gz"
    assert tarball.exists() and not store.session(sid).exists()
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    assert f"{sid}/state.toml" in names and f"{sid}/transcript.jsonl" in names
    assert not any("/locks" in n for n in names)
    res = csa("session", "restore", str(tarball), env=env, cwd=project)
    assert res.returncode == 0 and res.stdout.strip() == sid, res.stderr
    assert store.session(sid).load().description == "start"
    res = csa("run", "-s", sid, "back again", env=env, cwd=project)
    assert res.returncode == 0 and "user turns seen: 2" in res.stdout


def test_gc_stale_locks_orphans_and_retire(project, state_dir):
    store = Store.open()
    keep = make_session(store, "fresh")
    idle = make_session(store, "idle", age_days=100)
    # A lock record left by a dead process.
    lock = store.session(keep.meta_session_id).dir / "locks" / "codex.lock"
    lock.write_text(json.dumps({"pid": 999999999, "tool": "codex"}))
    # An orphan dir (no state.toml) and an unfinished creation, both older than an hour.
    orphan = store.sessions_dir / "01JH4QWERT1234567890ABCDEF"
    (orphan / "locks").mkdir(parents=True)
    unfinished = store.sessions_dir / ".new-01JH4QWERT1234567890ABCDEG"
    unfinished.mkdir()
    old = time.time() - 7200
    for p in (orphan, unfinished):
        os.utime(p, (old, old))
    young_orphan = store.sessions_dir / "01JH4QWERT1234567890ABCDEH"
    young_orphan.mkdir()

    before = _tree_hash(state_dir)
    dry = gc(store, dry_run=True, retire_after_days=30)
    assert _tree_hash(state_dir) == before
    assert sorted(dry.orphan_dirs) == sorted([orphan.name, unfinished.name])
    rep = gc(store, retire_after_days=30)
    assert rep.stale_locks == [f"{keep.meta_session_id}/locks/codex.lock"]
    assert not lock.exists() and not orphan.exists() and not unfinished.exists()
    assert young_orphan.exists()
    assert rep.retired == [idle.meta_session_id]
    assert store.session(idle.meta_session_id).load().phase == "retired"
    assert store.session(keep.meta_session_id).load().phase == "active"


def test_resume_of_retired_session_is_refused(env, project):
    sid = new_session(env, project)
    store = Store.open()
    st = store.session(sid).load()
    transition(st, "retired")
    store.session(st.meta_session_id).save(st)
    res = csa("run", "-s", sid, "x", env=env, cwd=project)
    assert res.returncode == 1 and "retired" in res.stderr


def test_randomized_gc_vs_resume_race(env, project):
    """gc rounds race resumes: no session is ever half-deleted or lost mid-run."""
    rng = random.Random(1234)
    ids = [new_session(env, project, prompt=f"s{i}") for i in range(6)]
    store = Store.open()
    stop = threading.Event()
    rounds = {"n": 0}
    errors: list[str] = []

    def gc_loop():
        while not stop.is_set():
            try:
                clean(store, days=0)
                gc(store)
            except Exception as e:  # noqa: BLE001 - any crash is a test failure
                errors.append(repr(e))
            rounds["n"] += 1
            time.sleep(rng.uniform(0, 0.02))

    t = threading.Thread(target=gc_loop)
    t.start()
    outcomes = []
    try:
        for i in range(12):
            sid = rng.choice(ids)
            res = csa("run", "-s", sid, f"resume {i}", env={**env, "FAKE_SLEEP": "0.2"},
                      cwd=project)
            outcomes.append((sid, res.returncode, res.stderr))
    finally:
        stop.set()
        t.join(30)
    assert not errors, errors
    assert rounds["n"] >= 5
    allowed = ("No session matches", "is locked by PID", "was removed while", "no longer exists")
    for _sid, code, err in outcomes:
        if code == 0:
            continue
        assert code == 1 and any(a in err for a in allowed), err
    # Nothing half-deleted: every remaining entry is a complete session; no leftovers.
    for name in os.listdir(store.sessions_dir):
        assert not name.startswith((".trash-", ".new-")), name
        if name != ".git":
            store.session(name).load()


# -- detach / wait / kill ----------------------------------------------------------------

def test_detach_wait_and_kill_leave_no_orphans(env, project, tmp_path):
    res = csa("run", "--detach", "--tool", "codex", "background job",
              env={**env, "FAKE_SLEEP": "1.5"}, cwd=project)
    assert res.returncode == 0, res.stderr
    sid = res.stdout.strip()
    assert len(sid) == 26
    assert csa("session", "is-alive", "-s", sid, env=env, cwd=project).returncode == 0
    waited = csa("session", "wait", "-s", sid, env=env, cwd=project)
    assert waited.returncode == 0 and "background job" in waited.stdout

    res = csa("run", "--detach", "--tool", "codex", "stubborn",
              env={**env, "FAKE_SLEEP": "60", "FAKE_IGNORE_TERM": "1",
                   "FAKE_CHILD_SLEEP": "60"}, cwd=project)
    sid2 = res.stdout.strip()
    wait_for(lambda: read_log(tmp_path / "fake.log")[-1]["argv"][-1] == "stubborn"
             if read_log(tmp_path / "fake.log") else False)
    pgid = read_log(tmp_path / "fake.log")[-1]["pid"]
    short = csa("session", "wait", "-s", sid2, "--timeout", "0.5", env=env, cwd=project)
    assert short.returncode == 124
    killed = csa("session", "kill", "-s", sid2, "--grace", "1", env=env, cwd=project)
    assert killed.returncode == 0, killed.stderr
    assert csa("session", "is-alive", "-s", sid2, env=env, cwd=project).returncode == 1

    def group_gone():
        for p in psutil.process_iter():
            try:
                if os.getpgid(p.pid) == pgid and p.status() != psutil.STATUS_ZOMBIE:
                    return False
            except (ProcessLookupError, psutil.NoSuchProcess):
                pass
        return True

    assert wait_for(group_gone)
    result = json.loads(csa("session", "result", "-s", sid2, "--json", env=env,
                            cwd=project).stdout)
    assert result["status"] == "interrupted"


def test_detach_reports_early_errors(env, project):
    bare = {**env, "PATH": "/usr/bin:/bin"}
    res = csa("run", "--detach", "--tool", "codex", "x", env=bare, cwd=project)
    assert res.returncode == 1 and "'codex'" in res.stderr


# -- events ------------------------------------------------------------------------------

def test_events_log(env, project, state_dir):
    sid = new_session(env, project)
    csa("run", "-s", sid, "again", env=env, cwd=project)
    slow = spawn("run", "-s", sid, "hold", env={**env, "FAKE_SLEEP": "2"}, cwd=project)
    try:
        wait_for(lambda: csa("session", "is-alive", "-s", sid, env=env,
                             cwd=project).returncode == 0)
        csa("run", "-s", sid, "conflict", env=env, cwd=project)
    finally:
        slow.wait(30)
    evs = [json.loads(x) for x in csa("events", "--json", env=env,
                                       cwd=project).stdout.splitlines()]
    kinds = [e["type"] for e in evs]
    assert kinds.count("session_start") == 1 and kinds.count("resume") == 2
    assert "lock_conflict" in kinds and kinds.count("session_end") == 3
    path = state_dir / str(project).lstrip("/") / "events.jsonl"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    only = csa("events", "--type", "lock_conflict", "--json", env=env, cwd=project).stdout
    assert [json.loads(x)["type"] for x in only.splitlines()] == ["lock_conflict"]


def test_events_rotation(tmp_path):
    from csa import events

    d = tmp_path / "proj"
    d.mkdir()
    for i in range(200):
        events.append(d, "gc", max_bytes=2000, keep=2, n=i)
    files = sorted(p.name for p in d.iterdir())
    assert files == ["events.jsonl", "events.jsonl.1", "events.jsonl.2"]
    assert all((d / f).stat().st_size <= 2000 for f in files)
    got = [e["n"] for e in events.read_events(d)]
    assert got == sorted(got) and got[-1] == 199


def test_events_rotation_follows_config_for_every_command(env, project, state_dir):
    """[events] limits apply to all event sources, not only the runner's."""
    cfg = project / ".csa" / "config.toml"
    cfg.parent.mkdir()
    cfg.write_text("[events]\nmax_bytes = 600\nkeep = 1\n")
    sid = new_session(env, project)
    for i in range(6):
        res = csa("session", "checkpoint", "-s", sid, "-m", f"note {i}", env=env, cwd=project)
        assert res.returncode == 0, res.stderr
    pdir = state_dir / str(project).lstrip("/")
    files = sorted(p.name for p in pdir.glob("events.jsonl*"))
    assert files == ["events.jsonl", "events.jsonl.1"]
    assert all((pdir / f).stat().st_size <= 600 for f in files)


def test_clean_and_gc_all_projects(env, tmp_path, state_dir):
    """--all-projects cleans every project under the state dir (the contrib/ recipes)."""
    projects = [tmp_path / "p1", tmp_path / "p2"]
    for p in projects:
        p.mkdir()
        new_session(env, p)
    res = csa("session", "clean", "--days", "0", "--all-projects", "--json", env=env,
              cwd=projects[0])
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["sessions_removed"] == 2
    assert {r["project"] for r in data["removed"]} == {str(p) for p in projects}
    assert all(sessions(env, p) == [] for p in projects)
    res = csa("gc", "--all-projects", "--json", env=env, cwd=projects[0])
    assert res.returncode == 0 and json.loads(res.stdout)["dry_run"] is False
