"""The summary index (csa.summaries): a cache that rebuilds itself and never wins over
a state.toml; listing and resolution agree with a full scan of the state files."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csa.errors import AmbiguousPrefix, SessionNotFound
from csa.listing import list_sessions, status_of
from csa.store import Store
from helpers import make_session


@pytest.fixture
def store(project):
    return Store.open()


def _age(store, sid, seconds=3600):
    """Make a state.toml old enough to be trusted by its timestamp (outside the racy window)."""
    old = (datetime.now(UTC) - timedelta(seconds=seconds)).timestamp()
    os.utime(store.session(sid).state_path, (old, old))


def _scan(store):
    """The truth: every session's summary parsed from its state.toml."""
    out = {}
    for s in store.sessions():
        st = s.read_state()
        out[s.id] = st.summary()
    return out


def test_index_is_built_and_used(store):
    a = make_session(store, "one")
    _age(store, a.meta_session_id)
    assert [r["description"] for r in store.summaries()] == ["one"]
    assert store.index.path.is_file()
    assert store.index.db().execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_rebuilds_after_deletion(store):
    a = make_session(store, "one")
    store.summaries()
    store.index.close()
    for suffix in ("", "-wal", "-shm"):
        p = f"{store.index.path}{suffix}"
        if os.path.exists(p):
            os.unlink(p)
    fresh = Store.open()
    assert [r["id"] for r in fresh.summaries()] == [a.meta_session_id]


def test_rebuilds_after_corruption(store):
    a = make_session(store, "one")
    store.summaries()
    store.index.close()
    for suffix in ("-wal", "-shm"):
        if os.path.exists(f"{store.index.path}{suffix}"):
            os.unlink(f"{store.index.path}{suffix}")
    store.index.path.write_bytes(b"this is not a database" * 100)
    fresh = Store.open()
    assert [r["description"] for r in fresh.summaries()] == ["one"]
    assert fresh.resolve(a.meta_session_id[:10]).id == a.meta_session_id


def test_a_newer_state_file_wins_over_its_row(store):
    a = make_session(store, "before")
    sid = a.meta_session_id
    _age(store, sid, 7200)
    assert store.summaries()[0]["description"] == "before"
    # Edited by hand, in place, behind csa's back: same inode, no index update.
    path = store.session(sid).state_path
    path.write_text(path.read_text().replace('"before"', '"edited by hand"'))
    _age(store, sid, 60)
    fresh = Store.open()
    assert fresh.summaries()[0]["description"] == "edited by hand"
    rows, _ = list_sessions(fresh, limit=1)
    assert rows[0]["description"] == "edited by hand"


def test_edit_within_the_racy_window_is_seen(store):
    a = make_session(store, "before")
    sid = a.meta_session_id
    assert store.summaries()[0]["description"] == "before"
    path = store.session(sid).state_path
    st = os.stat(path)
    path.write_text(path.read_text().replace('"before"', '"after!"'))  # same size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime too
    assert Store.open().summaries()[0]["description"] == "after!"


def test_crash_mid_update_leaves_a_usable_index(store):
    a = make_session(store, "kept")
    _age(store, a.meta_session_id)
    store.summaries()
    store.index.close()
    # A writer dies inside a transaction, after writing a bogus row and before COMMIT.
    code = f"""
import os, sqlite3
db = sqlite3.connect({str(store.index.path)!r}, isolation_level=None)
db.execute("BEGIN IMMEDIATE")
db.execute("DELETE FROM s")
db.execute("INSERT INTO s (id, sort_key, corrupt, tools, data) VALUES ('X', '', 0, ',', x'7b7d')")
os._exit(9)
"""
    proc = subprocess.run([sys.executable, "-c", code])
    assert proc.returncode == 9
    fresh = Store.open()
    assert [r["id"] for r in fresh.summaries()] == [a.meta_session_id]


def test_sessions_created_or_removed_behind_the_index_are_seen(store):
    a = make_session(store, "a")
    store.summaries()
    b = make_session(store, "b")
    store.index.db().execute("DELETE FROM s WHERE id = ?", (b.meta_session_id,))
    store.index.db().execute("UPDATE meta SET value = 0")
    assert {r["id"] for r in Store.open().summaries()} == {a.meta_session_id, b.meta_session_id}
    os.rename(store.session(a.meta_session_id).dir, store.sessions_dir / ".gone")
    fresh = Store.open()
    assert [r["id"] for r in fresh.summaries()] == [b.meta_session_id]
    with pytest.raises(SessionNotFound):
        fresh.resolve(a.meta_session_id[:12])


def test_listing_never_creates_the_state_dir(store):
    assert list_sessions(store) == ([], set())
    assert not store.cache_dir.exists()


def _build(store, specs):
    made = []
    for i, (age, branch, phase, tool, parent_pick) in enumerate(specs):
        parent = made[parent_pick % len(made)] if made and parent_pick >= 0 else None
        st = make_session(store, f"s{i}", parent=parent, branch=branch, phase=phase,
                          tools={tool: f"p{i}"} if tool else None, age_days=age)
        made.append(st.meta_session_id)
    return made


SPECS = st.lists(st.tuples(st.floats(0, 30), st.sampled_from([None, "main", "dev"]),
                           st.sampled_from(["active", "available", "retired"]),
                           st.sampled_from([None, "codex", "claude-code"]),
                           st.integers(-1, 5)), min_size=1, max_size=12)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=SPECS, limit=st.one_of(st.none(), st.integers(0, 5)),
       branch=st.sampled_from([None, "main"]), tool=st.sampled_from([None, "codex"]),
       status=st.sampled_from([None, "active", "retired"]), since=st.sampled_from([None, "7d"]))
def test_listing_and_resolution_agree_with_a_full_scan(tmp_path_factory, monkeypatch, specs,
                                                        limit, branch, tool, status, since):
    project = tmp_path_factory.mktemp("proj")
    monkeypatch.setenv("CSA_STATE_DIR", str(tmp_path_factory.mktemp("state")))
    store = Store.open(cd=project)
    made = _build(store, specs)
    truth = _scan(store)
    cutoff = datetime.now(UTC) - timedelta(days=7)
    expect = []
    for r in truth.values():
        r["status"] = status_of(r)
        if status and r["phase"] != status or branch and r["git_branch"] != branch:
            continue
        if tool and tool not in r["tools"]:
            continue
        if since and datetime.fromisoformat(r["last_accessed"].replace("Z", "+00:00")) < cutoff:
            continue
        expect.append(r)
    expect.sort(key=lambda r: (r["last_accessed"], r["id"]), reverse=True)
    if limit is not None:
        expect = expect[:limit]
    rows, known = list_sessions(Store.open(cd=project), branch=branch, tools=[tool] if tool else [],
                                status=status, since=since, limit=limit)
    assert [r["id"] for r in rows] == [r["id"] for r in expect]
    assert rows == expect
    # Resolution: every unique prefix resolves, an ambiguous one names every match.
    fresh = Store.open(cd=project)
    for sid in made:
        assert fresh.resolve(sid[:20].lower()).id == sid
    common = os.path.commonprefix(made)
    if len(made) > 1 and common:
        with pytest.raises(AmbiguousPrefix) as e:
            fresh.resolve(common)
        assert sorted(m for m, _ in e.value.matches) == sorted(made)


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=SPECS, limit=st.integers(1, 4))
def test_tree_limit_is_the_first_trees_of_the_full_tree(tmp_path_factory, monkeypatch, specs,
                                                        limit):
    from csa.genealogy import build_tree

    project = tmp_path_factory.mktemp("proj")
    monkeypatch.setenv("CSA_STATE_DIR", str(tmp_path_factory.mktemp("state")))
    store = Store.open(cd=project)
    _build(store, specs)
    rows, known = list_sessions(store, tree=True)
    full = build_tree(rows, known)
    cut, trees = [], 0
    for row, level, orphan in full:
        trees += level == 0
        if trees > limit:
            break
        cut.append((row["id"], level, orphan))
    rows, known = list_sessions(Store.open(cd=project), tree=True, limit=limit)
    assert [(r["id"], lv, o) for r, lv, o in build_tree(rows, known)] == cut


def test_running_rows_are_checked_against_the_lock(store):
    from csa.state import RunRecord, utcnow

    a = make_session(store, "ran")
    s = store.session(a.meta_session_id)
    state = s.read_state()
    state.run = RunRecord(status="running", tool="codex", pid=999999, started_at=utcnow())
    s.save(state)
    rows, _ = list_sessions(store, status="died")
    assert [r["id"] for r in rows] == [a.meta_session_id]
    assert s.read_state().run.status == "died"  # reconciled into the state, as before
    rows, _ = list_sessions(Store.open(), status="running")
    assert rows == []


def test_damaged_pages_found_while_reading_are_rebuilt(store):
    for i in range(40):
        make_session(store, f"s{i} " + "x" * 400)
    store.summaries()
    store.index.db().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.index.close()
    data = bytearray(store.index.path.read_bytes())
    assert len(data) > 3 * 4096
    data[2 * 4096:3 * 4096] = b"\xff" * 4096  # a page in the middle, header intact
    store.index.path.write_bytes(bytes(data))
    fresh = Store.open()
    assert len(fresh.summaries()) == 40
    assert len(Store.open().summaries()) == 40


def test_the_freshness_check_counts_no_rows(store):
    """A warm check reads the trigger-kept count from meta; it never scans the table."""
    for i in range(3):
        _age(store, make_session(store, f"s{i}").meta_session_id)
    store.summaries()
    fresh = Store.open()
    seen: list[str] = []
    fresh.index.db().set_trace_callback(seen.append)
    fresh.index.sync()
    assert seen and not [q for q in seen if "count(" in q.lower()], seen
    meta = dict(fresh.index.db().execute("SELECT key, value FROM meta").fetchall())
    assert meta["rows"] == meta["count"] == 3


def test_the_count_follows_inserts_replaces_and_deletes(store):
    a = make_session(store, "a")
    store.summaries()
    db = store.index.db()
    rows = lambda: db.execute("SELECT value FROM meta WHERE key = 'rows'").fetchone()[0]  # noqa: E731
    assert rows() == 1
    make_session(store, "b")  # a new row
    s = store.session(a.meta_session_id)
    s.save(s.read_state())  # INSERT OR REPLACE of an existing row
    assert rows() == 2 == db.execute("SELECT count(*) FROM s").fetchone()[0]
    store.drop_cached([a.meta_session_id])
    assert rows() == 1


def test_a_row_deleted_behind_the_index_is_noticed_without_a_dir_change(store):
    a = make_session(store, "a")
    b = make_session(store, "b")
    for sid in (a.meta_session_id, b.meta_session_id):
        _age(store, sid)
    old = (datetime.now(UTC) - timedelta(hours=1)).timestamp()
    os.utime(store.sessions_dir, (old, old))  # sessions/ outside the racy window
    store.summaries()
    mtime = os.stat(store.sessions_dir).st_mtime_ns
    store.index.db().execute("DELETE FROM s WHERE id = ?", (b.meta_session_id,))
    assert os.stat(store.sessions_dir).st_mtime_ns == mtime
    ids = {r["id"] for r in Store.open().summaries()}
    assert ids == {a.meta_session_id, b.meta_session_id}


def test_an_index_of_schema_3_gets_the_count_and_keeps_its_rows(store):
    a = make_session(store, "kept row")
    _age(store, a.meta_session_id)
    store.summaries()
    db = store.index.db()
    db.execute("DROP TRIGGER s_new")
    db.execute("DROP TRIGGER s_gone")
    db.execute("DELETE FROM meta WHERE key = 'rows'")
    db.execute("UPDATE s SET data = json_set(data, '$.description', 'from the old index')")
    db.execute("PRAGMA user_version=3")
    store.index.close()
    fresh = Store.open()
    # The row was not re-parsed from state.toml (it would say "kept row").
    assert [r["description"] for r in fresh.summaries()] == ["from the old index"]
    meta = dict(fresh.index.db().execute("SELECT key, value FROM meta").fetchall())
    assert meta["rows"] == 1
