"""Deleting means gone: delete, clean and budget eviction leave no byte of a session's
content under the state dir (files, SQLite pages and WAL, git objects), only the id and
the fact in the events log."""

from __future__ import annotations

import json
import secrets
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from gone_scan import where

from csa.store import Store
from runkit import csa, fake_env, session_id_from


@pytest.fixture
def env(tmp_path, project):
    return fake_env(tmp_path, FAKE_LOG=str(tmp_path / "fake.log"))


def token() -> bytes:
    return b"gone" + secrets.token_hex(10).encode()


def needles(tok: bytes) -> tuple[bytes, ...]:
    # FTS5 prefix-compresses terms inside an index page: look for the tail too.
    return tok, tok[-12:]


def ok(res):
    assert res.returncode == 0, res.stderr
    return res


def run(env, project, *args) -> str:
    return session_id_from(ok(csa("run", *args, env=env, cwd=project)).stderr)


def doomed_and_kept(env, project, tok: bytes) -> tuple[str, str]:
    """A session carrying `tok` everywhere csa copies text to, and one that stays."""
    t = tok.decode()
    sid = run(env, project, "--tool", "codex", f"investigate {t} in the parser")
    ok(csa("run", "-s", sid, f"and again {t}", env=env, cwd=project))
    ok(csa("session", "note", "-s", sid, "--discovery", f"found {t} here", env=env, cwd=project))
    ok(csa("session", "checkpoint", "-s", sid, "-m", f"before {t}", env=env, cwd=project))
    ok(csa("session", "search", t, env=env, cwd=project))  # its rows in the index
    ok(csa("session", "list", env=env, cwd=project))       # its summary in the cache
    kept = run(env, project, "--tool", "codex", "an unrelated session")
    ok(csa("session", "checkpoint", "-s", kept, "-m", "kept one", env=env, cwd=project))
    return sid, kept


def events_lines(state_dir, tok: bytes) -> list[str]:
    return [str(p) for p in state_dir.rglob("events.jsonl*") if tok in p.read_bytes().lower()]


@pytest.mark.parametrize("how", ["delete", "clean"])
def test_a_removed_session_leaves_no_byte_behind(env, project, state_dir, how):
    tok = token()
    sid, kept = doomed_and_kept(env, project, tok)
    assert where(state_dir, tok), "the token must be on disk before the removal"
    if how == "delete":
        ok(csa("session", "delete", "-s", sid, env=env, cwd=project))
    else:
        store = Store.open(cd=str(project))
        st = store.session(kept).load()
        st.last_accessed = datetime.now(UTC) + timedelta(days=1)  # clean --days 0 keeps it
        store.session(kept).save(st)
        rep = json.loads(ok(csa("session", "clean", "--days", "0", "--json", env=env, cwd=project)).stdout)
        assert [r["id"] for r in rep["removed"]] == [sid]
    assert where(state_dir, *needles(tok)) == []
    assert events_lines(state_dir, tok) == []
    # Only the events log keeps the id (in no file, index page or git object else); the
    # kept session keeps its history.
    assert {h.rsplit("/", 1)[-1] for h in where(state_dir, sid.encode())} <= {"events.jsonl"}
    cps = json.loads(ok(csa("session", "checkpoints", "--json", env=env, cwd=project)).stdout)
    assert [c["session_id"] for c in cps] == [kept]
    assert ok(csa("session", "verify", "-s", kept, env=env, cwd=project))


def test_budget_eviction_leaves_no_byte_of_the_transcript(env, project, state_dir):
    tok = token()
    t = tok.decode()
    sid = run(env, project, "--tool", "codex", "-d", "evictable", f"print {t} please")
    ok(csa("session", "search", t, env=env, cwd=project))
    assert where(state_dir, tok)
    done = csa("gc", "--max-bytes", "1", "--json", env=env, cwd=project)
    assert done.returncode == 1 and "NOT met" in done.stderr  # 1 byte: unreachable
    res = json.loads(done.stdout)
    assert [e["id"] for e in res["budget"]["evicted"]] == [sid]
    # The session stays: its state (summary, digest) and result keep what they said; the
    # transcript, its index rows and their free pages do not.
    left = where(state_dir, *needles(tok))
    # The digest's key snippets (seed 004) stay in state.toml and in the index's session
    # row built from it: that is what eviction keeps on purpose.
    assert {p.rsplit("/", 1)[-1] for p in left} <= {"state.toml", "result.toml",
                                                     "index.sqlite3"}, left
    assert not [p for p in left if "transcript" in p or ".git" in p]
    hits = json.loads(ok(csa("session", "search", "evictable", "--json", env=env,
                             cwd=project)).stdout)
    assert [h["session_id"] for h in hits] == [sid]  # the description row stays


def test_an_old_layout_repository_is_migrated_and_pruned(env, project, state_dir):
    """A repository written by older csa (one shared history) moves onto per-session refs;
    a session deleted before the migration leaves nothing."""
    tok = token()
    sid, kept = doomed_and_kept(env, project, tok)
    sessions = next(state_dir.rglob("sessions"))
    git = ["git", "-C", str(sessions), "-c", "user.name=csa", "-c", "user.email=csa@localhost"]
    # Rebuild the old layout: both sessions committed on main, notes on csa-checkpoints.
    for s in (sid, kept):
        note = subprocess.run([*git, "notes", "--ref", f"refs/notes/csa/{s}", "show",
                               f"refs/csa/sessions/{s}"], capture_output=True, text=True,
                              check=True).stdout
        subprocess.run([*git, "add", "-f", s], check=True)
        subprocess.run([*git, "commit", "-q", "-m", f"csa: checkpoint {s}"], check=True)
        subprocess.run([*git, "notes", "--ref", "csa-checkpoints", "add", "-m", note, "HEAD"],
                       check=True)
        subprocess.run([*git, "update-ref", "-d", f"refs/csa/sessions/{s}"], check=True)
        subprocess.run([*git, "update-ref", "-d", f"refs/notes/csa/{s}"], check=True)
    subprocess.run([*git, "config", "--unset", "csa.layout"], check=True)
    subprocess.run([*git, "gc", "-q", "--prune=now"], check=True)
    # Deleted by an older csa: its dir is gone, its history was not.
    import shutil

    shutil.rmtree(sessions / sid)
    cps = json.loads(ok(csa("session", "checkpoints", "--json", env=env, cwd=project)).stdout)
    assert [c["session_id"] for c in cps] == [kept]
    assert ok(csa("session", "verify", "-s", kept, env=env, cwd=project))
    out = subprocess.run([*git, "for-each-ref", "--format=%(refname)"], capture_output=True,
                         text=True, check=True).stdout.split()
    assert sorted(out) == sorted(["refs/heads/main", f"refs/csa/sessions/{kept}",
                                  f"refs/notes/csa/{kept}"])
    git_hits = [h for h in where(state_dir, *needles(tok)) if ".git" in h]
    assert git_hits == []



def test_a_session_removed_by_hand_leaves_the_summary_index_on_resync(env, project, state_dir,
                                                                     monkeypatch):
    import shutil
    import sqlite3

    # SQLite built without SQLITE_SECURE_DELETE (the default upstream): freed cells keep
    # their bytes unless csa asks for secure deletion itself
    connect = sqlite3.connect

    def plain_connect(*a, **kw):
        db = connect(*a, **kw)
        db.execute("PRAGMA secure_delete=OFF")
        return db

    tok = token()
    run(env, project, "--tool", "codex", "a session that stays")  # its row shares the page
    sid = run(env, project, "--tool", "codex", f"look into {tok.decode()} please")
    run(env, project, "--tool", "codex", "another session that stays")
    monkeypatch.setattr(sqlite3, "connect", plain_connect)
    store = Store.open(cd=str(project))
    store.index.sync()  # its description in the summary index
    assert [h for h in where(state_dir, tok) if "summaries" in h]
    shutil.rmtree(store.session(sid).dir)  # not through csa
    store = Store.open(cd=str(project))
    store.index.sync()  # the resync drops its row
    assert sid not in store.index.all_ids()
    store.index.close()
    assert [h for h in where(state_dir, *needles(tok)) if "summaries" in h] == []
