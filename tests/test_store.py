import os
import stat
from datetime import UTC, datetime, timedelta

import pytest

from csa import ids
from csa.errors import AmbiguousPrefix, CorruptState, SessionLocked, SessionNotFound
from csa.lock import SessionLock
from csa.session import Session
from csa.store import Store
from helpers import make_session


@pytest.fixture
def store(project):
    return Store.open()


def _force_id(store, state, new_id):
    """Rename a session to a chosen id (to build prefix collisions)."""
    os.rename(store.session(state.meta_session_id).dir, store.session(new_id).dir)
    state.meta_session_id = new_id
    store.session(state.meta_session_id).save(state)
    return new_id


def test_paths_follow_csa_state_dir(store, state_dir, project):
    assert store.dir == state_dir / str(project).lstrip("/")
    st = make_session(store)
    assert (store.sessions_dir / st.meta_session_id / "state.toml").is_file()


def test_xdg_fallback(monkeypatch, tmp_path, project):
    monkeypatch.delenv("CSA_STATE_DIR")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert Store.open().base == tmp_path / "xdg" / "csa"
    monkeypatch.delenv("XDG_STATE_HOME")
    assert Store.open().base == tmp_path / "home" / ".local" / "state" / "csa"


def test_project_is_git_toplevel(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "src" / "deep").mkdir(parents=True)
    monkeypatch.chdir(repo / "src" / "deep")
    assert Store.open().root == repo
    assert Store.open(cd=str(repo / "src")).root == repo


def test_resolve_unique_full_and_lowercase(store):
    a = make_session(store, "a").meta_session_id
    b = make_session(store, "b").meta_session_id
    a = _force_id(store, store.session(a).load(), "01AAAAAAAAAAAAAAAAAAAAAAAA")
    b = _force_id(store, store.session(b).load(), "01BBBBBBBBBBBBBBBBBBBBBBBB")
    assert store.resolve("01A").id == a
    assert store.resolve("01a").id == a
    assert store.resolve(b).id == b
    assert store.resolve(b.lower()).id == b


def test_resolve_no_match(store):
    make_session(store)
    with pytest.raises(SessionNotFound, match="No session matches '7ZZZ'"):
        store.resolve("7ZZZ")
    with pytest.raises(SessionNotFound):
        store.resolve("7" * 26)


def test_resolve_ambiguous_lists_every_match(store):
    a = _force_id(store, make_session(store, "first one"), "01CCCCCCCCCCCCCCCCCCCCCCC1")
    b = _force_id(store, make_session(store, "second one"), "01CCCCCCCCCCCCCCCCCCCCCCC2")
    with pytest.raises(AmbiguousPrefix) as exc:
        store.resolve("01CC")
    msg = str(exc.value)
    assert "ambiguous" in msg
    assert a in msg and b in msg and "first one" in msg and "second one" in msg


@pytest.mark.parametrize("bad", ["", "..", "../x", "/", "/etc/passwd", "a/b"])
def test_resolve_rejects_malicious_input_without_touching_fs(store, bad, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("filesystem touched")

    monkeypatch.setattr(os, "listdir", boom)
    with pytest.raises(SessionNotFound):
        store.resolve(bad)


def test_create_makes_private_dirs_and_files(store):
    st = make_session(store)
    sdir = store.session(st.meta_session_id).dir
    for d in (store.base, store.dir, store.sessions_dir, sdir, sdir / "locks", sdir / "output"):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
    assert stat.S_IMODE((sdir / "state.toml").stat().st_mode) == 0o600


def test_interrupted_write_keeps_old_state(store, monkeypatch):
    st = make_session(store, "original")
    st.description = "changed"

    def failing_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        store.session(st.meta_session_id).save(st)
    monkeypatch.undo()
    assert store.session(st.meta_session_id).load().description == "original"
    leftovers = [p for p in store.session(st.meta_session_id).dir.iterdir()
                 if p.name.endswith(".tmp")]
    assert leftovers == []


@pytest.mark.parametrize("content", [
    b'schema_version = 1\nmeta_session_id = "01J',          # truncated
    b"\x00\xff\xfe garbage \x80\x81",                         # binary
    b'meta_session_id = 42\ncreated_at = 2026-01-01T00:00:00Z\n',  # wrong type
    b"",                                                      # empty
])
def test_corrupt_state_never_breaks_listing(store, content):
    good = make_session(store, "fine")
    bad = make_session(store, "will break")
    store.session(bad.meta_session_id).state_path.write_bytes(content)
    rows = {r["id"]: r for r in store.summaries()}
    assert rows[good.meta_session_id]["description"] == "fine"
    assert rows[bad.meta_session_id]["corrupt"] is True
    assert rows[bad.meta_session_id]["error"]
    # The file is kept, and delete removes it.
    assert store.session(bad.meta_session_id).state_path.read_bytes() == content
    store.delete(bad.meta_session_id)
    assert not store.session(bad.meta_session_id).exists()


def test_missing_state_file_is_reported(store):
    st = make_session(store)
    os.unlink(store.session(st.meta_session_id).state_path)
    row = store.summaries()[0]
    assert row["corrupt"] and "missing" in row["error"]
    with pytest.raises(CorruptState):
        store.session(st.meta_session_id).load()


def test_summary_cache_sees_changes(store):
    st = make_session(store, "before")
    assert store.summaries()[0]["description"] == "before"
    st.description = "after"
    store.session(st.meta_session_id).save(st)
    assert store.summaries()[0]["description"] == "after"


def test_summary_cache_is_used_for_old_files(store, monkeypatch):
    st = make_session(store, "cached")
    path = store.session(st.meta_session_id).state_path
    old = (datetime.now(UTC) - timedelta(hours=1)).timestamp()
    os.utime(path, (old, old))
    store.summaries()  # fills the cache
    calls = []
    real = Session.read_state
    monkeypatch.setattr(Session, "read_state", lambda self: calls.append(self.id) or real(self))
    assert store.summaries()[0]["description"] == "cached"
    assert calls == []


def test_delete_refuses_live_session_unless_forced(store):
    st = make_session(store)
    sid = st.meta_session_id
    with SessionLock(store.session(sid).locks_dir, sid, tool="codex"):
        with pytest.raises(SessionLocked, match=f"Session {sid} is locked by PID {os.getpid()}"):
            store.delete(sid)
        assert store.session(sid).exists()
        store.delete(sid, force=True)
    assert not store.session(sid).exists()


def test_new_session_appears_atomically(store):
    st = make_session(store)
    names = os.listdir(store.sessions_dir)
    assert names == [st.meta_session_id]
    assert ids.is_ulid(names[0])


def test_newest_for_last(store):
    a = make_session(store, "old", age_days=2)
    b = make_session(store, "new", age_days=1)
    assert store.newest().id == b.meta_session_id
    assert a.meta_session_id != b.meta_session_id


def test_lock_waiter_sees_a_session_deleted_meanwhile_as_gone(store):
    """A run waits (grace) on a session that clean/delete holds; the holder removes the
    session and releases: the waiter must report the session as gone, not a lock error."""
    import threading

    from csa.errors import SessionNotFound

    st = make_session(store)
    sid = st.meta_session_id
    sdir = store.session(sid).dir
    holder = SessionLock(sdir / "locks", sid, reason="clean", grace=0).acquire()
    outcome = {}

    def waiter():
        try:
            SessionLock(sdir / "locks", sid, tool="codex", grace=3).acquire()
            outcome["result"] = "acquired"
        except Exception as e:  # noqa: BLE001 - the test inspects what was raised
            outcome["result"] = e

    t = threading.Thread(target=waiter)
    t.start()
    import time

    time.sleep(0.3)  # the waiter has opened the lock file and is retrying flock
    os.rename(sdir, store.sessions_dir / f".trash-{sid}")
    holder.release(clear=False)
    t.join(10)
    err = outcome["result"]
    assert isinstance(err, SessionNotFound), repr(err)
    assert "no longer exists" in str(err)
