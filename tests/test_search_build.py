"""csa.search_build: a rebuild goes through a new file renamed into place, leaves one merged
index equal to incremental indexing, and the read-ahead thread passes errors and stops."""

from __future__ import annotations

import threading

import orjson
import pytest

from csa import search, search_build
from csa.search import Index, index_path
from csa.store import Store


def _session(store: Store, words: list[str], n: int = 50) -> str:
    _, st, _ = store.create(description="build test")
    sid = st.meta_session_id
    with open(store.session(sid).transcript_path, "wb") as f:
        for i in range(n):
            ev = {"v": 1, "seq": i, "ts": "2026-11-21T10:00:00.000Z", "type": "stdout",
                  "text": f"{words[i % len(words)]} line {i}"}
            f.write(orjson.dumps(ev) + b"\n")
    return sid


def _hits(idx: Index, store: Store, q: str) -> set:
    """Every matching row of the index, as (session id, seq)."""
    return set(idx.conn.execute(
        "SELECT s.id, e.seq FROM events e JOIN sessions s ON s.rowid = e.sess "
        "WHERE events MATCH ? AND s.project = ?", (q, str(store.root))).fetchall())


def test_rebuild_equals_incremental_and_leaves_no_temp_file(project, state_dir, monkeypatch):
    store = Store.open()
    sids = [_session(store, ["alpha", "beta", "gamma"]), _session(store, ["beta", "delta"])]
    monkeypatch.setattr(search_build, "AHEAD_BYTES", 0)  # the threaded path, on small files
    monkeypatch.setattr(search_build.NewEvents, "BATCH", 7)
    built = Index(store.base)
    assert built.rebuilt
    got = {q: _hits(built, store, q) for q in ("alpha", "beta", "delta", "line")}
    built.close()
    assert not index_path(store.base).with_name("index.sqlite3.new").exists()
    # The same transcripts indexed incrementally (update_session one by one).
    inc = Index(store.base)
    inc.conn.execute("DELETE FROM events")
    inc.conn.execute("DELETE FROM sessions")
    monkeypatch.setattr(search_build, "AHEAD_BYTES", 1 << 40)
    for sid in sids:
        inc.update_session(store.session(sid))
    assert {q: _hits(inc, store, q) for q in got} == got
    assert len(got["line"]) == 100 and len(got["alpha"]) == 17
    assert inc.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    inc.close()


def test_rebuild_merges_the_index_into_one_segment(project, state_dir, monkeypatch):
    store = Store.open()
    for _ in range(3):
        _session(store, ["merge"], n=200)
    monkeypatch.setattr(search_build.NewEvents, "BATCH", 10)  # many small inserts
    idx = Index(store.base, rebuild=True)
    idx.conn.execute("INSERT INTO events(events) VALUES ('integrity-check')")
    assert idx.conn.execute("SELECT count(DISTINCT segid) FROM events_idx").fetchone()[0] == 1
    assert len(_hits(idx, store, "merge")) == 600
    idx.close()


def test_a_crash_midway_leaves_the_old_index_and_the_next_rebuild_succeeds(project, state_dir,
                                                                            monkeypatch):
    store = Store.open()
    _session(store, ["kept"])
    Index(store.base).close()
    before = index_path(store.base).read_bytes()

    def boom(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(search_build, "fill", boom)
    with pytest.raises(KeyboardInterrupt):
        Index(store.base, rebuild=True)
    assert index_path(store.base).read_bytes() == before  # untouched in place
    monkeypatch.undo()
    idx = Index(store.base, rebuild=True)
    assert len(_hits(idx, store, "kept")) == 50
    idx.close()


def test_ahead_passes_items_errors_and_stops_with_the_consumer():
    assert list(search_build.ahead(iter(range(100)), depth=2)) == list(range(100))

    def failing():
        yield 1
        raise ValueError("broken transcript")

    with pytest.raises(ValueError, match="broken transcript"):
        list(search_build.ahead(failing()))
    produced = []

    def endless():
        i = 0
        while True:
            produced.append(i)
            yield i
            i += 1

    before = threading.active_count()
    gen = search_build.ahead(endless(), depth=2)
    assert next(gen) == 0
    gen.close()  # the consumer stops: the producer stops too
    assert threading.active_count() == before and len(produced) < 10


def test_a_word_in_too_many_events_is_answered_newest_first_without_ranking(project, state_dir,
                                                                           monkeypatch):
    """bm25 reads every match of every word before its first row: a query with a word in
    more than RANK_MAX_MATCHES events skips it (no budget spent) and says so."""
    from csa import search_query

    store = Store.open()
    sids = [_session(store, ["common", "common rare"], n=300) for _ in range(4)]
    monkeypatch.setattr(search_query, "RANK_MAX_MATCHES", 100)
    monkeypatch.setattr(search_query, "JUMP_ROWS", 4)  # the walk jumps below each span
    tried = []
    real = search_query._ranked
    monkeypatch.setattr(search_query, "_ranked", lambda *a: tried.append(a) or real(*a))
    newest = search.search(store, "common", limit=3)
    assert [h["ranked"] for h in newest] == [False] * 3 and tried == []
    # One hit per session, newest indexed first, each with its newest match.
    assert len({h["session_id"] for h in newest}) == 3 and {h["session_id"] for h in newest} < set(sids)
    assert [h["seq"] for h in newest] == [299] * 3 and newest[0]["score"] == 0
    rare = search.search(store, "rare", limit=3)  # 600 matches: still over 100
    assert not rare[0]["ranked"]
    monkeypatch.setattr(search_query, "RANK_MAX_MATCHES", 1000)
    ranked = search.search(store, "rare", limit=3)
    assert ranked[0]["ranked"] and tried
    assert len({h["session_id"] for h in ranked}) == 3
