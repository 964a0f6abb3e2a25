"""A large history's index is several files (shards) filled in parallel: sessions are
spread over them without overlap, queries answer as one file would, deletes leave no text
in any of them, and a crash between the renames leaves an index rebuilt on next use."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from csa import search, search_build, search_query
from csa.search import Index, index_files, shard_path
from csa.search_query import Filters, find
from csa.store import Store

REPO = Path(__file__).resolve().parent.parent
WORDS = ["amber", "basalt", "cobalt", "dune", "ember", "fjord", "garnet", "heron"]


def _session(store: Store, lines: list[str], description: str = "shard test") -> str:
    _, st, _ = store.create(description=description)
    sid = st.meta_session_id
    with open(store.session(sid).transcript_path, "wb") as f:
        for i, text in enumerate(lines):
            f.write(orjson.dumps({"v": 1, "seq": i, "ts": f"2026-11-21T10:00:{i % 60:02}.000Z",
                                  "type": "stdout", "text": text}) + b"\n")
    return sid


def _corpus(store: Store, rng: random.Random, n: int = 8) -> list[str]:
    return [_session(store, [" ".join(rng.choices(WORDS, k=rng.randint(1, 4)))
                             for _ in range(rng.randint(5, 60))]) for _ in range(n)]


@pytest.fixture
def sharded(monkeypatch):
    """Every rebuild makes 2 shards (in this process unless a test says otherwise)."""
    monkeypatch.setattr(search_build, "SHARD_BYTES", 0)
    monkeypatch.setattr(search_build, "PARALLEL_BYTES", 1 << 60)
    monkeypatch.setattr(search, "shard_count", lambda: 2)


def _placement(idx: Index) -> list[set[str]]:
    return [{sid for (sid,) in c.execute("SELECT id FROM sessions")} for c in idx.conns]


def _answers(store: Store, queries: list[str], newest: bool = False) -> dict:
    """Each query's hits; `newest`: every query answered newest first (unranked)."""
    idx = Index(store.base)
    old = search_query.RANK_MAX_MATCHES
    search_query.RANK_MAX_MATCHES = -1 if newest else old
    try:
        return {q: find(idx.conns, q, Filters(project=str(store.root)), 100) for q in queries}
    finally:
        search_query.RANK_MAX_MATCHES = old
        idx.close()


@pytest.mark.parametrize("seed", [5, 11, 23])
def test_shards_hold_disjoint_sessions_and_answer_as_one_file(project, state_dir, monkeypatch,
                                                              seed):
    store = Store.open()
    rng = random.Random(seed)
    sids = _corpus(store, rng, rng.randint(3, 12))
    queries = [*WORDS, "amber basalt", '"cobalt dune"', "ember OR fjord", "line",
               *(" ".join(rng.sample(WORDS, rng.randint(1, 3))) for _ in range(8))]
    single = _answers(store, queries)
    single_newest = _answers(store, queries, newest=True)
    assert len(index_files(store.base)) == 1 and any(single.values())
    assert all(h["ranked"] for q in queries for h in single[q])
    assert not any(h["ranked"] for q in queries for h in single_newest[q])

    monkeypatch.setattr(search_build, "SHARD_BYTES", 0)
    monkeypatch.setattr(search, "shard_count", lambda: 2)
    idx = Index(store.base, rebuild=True)
    placed = _placement(idx)
    idx.close()
    assert all(placed) and not placed[0] & placed[1] and placed[0] | placed[1] == set(sids)
    assert [p.name for p in index_files(store.base)] == ["index.sqlite3", "index.sqlite3.1"]
    sharded = _answers(store, queries)
    for q in queries:
        one, many = single[q], sharded[q]
        assert {h["session_id"] for h in many} == {h["session_id"] for h in one}, q
    # Newest first: rows are numbered alike in both layouts, so the answers are identical.
    assert _answers(store, queries, newest=True) == single_newest
    # The library entry point agrees too, through every shard.
    assert {h["session_id"] for h in search.search(store, "garnet", limit=50)} == \
        {h["session_id"] for h in single["garnet"]}


def _rebuild_in_parallel(store: Store, monkeypatch, seed: int) -> tuple[Index, list, list]:
    """(the index, its sessions, the shards this process built) of a parallel rebuild;
    every file checked by FTS5's integrity check."""
    monkeypatch.setattr(search_build, "PARALLEL_BYTES", 0)
    here = []
    real = search_build.build_shard
    monkeypatch.setattr(search_build, "build_shard",
                        lambda *job: here.append(job[2]["shard"]) or real(*job))
    sids = _corpus(store, random.Random(seed), 4)
    idx = Index(store.base)
    assert idx.rebuilt and len(idx.shards) == 2
    assert set().union(*_placement(idx)) == set(sids)
    for conn in idx.conns:
        conn.execute("INSERT INTO events(events) VALUES ('integrity-check')")
    return idx, sids, here


def test_a_parallel_rebuild_builds_the_shards_in_other_processes(project, state_dir, sharded,
                                                                 monkeypatch):
    idx, _, here = _rebuild_in_parallel(Store.open(), monkeypatch, 9)
    assert here == [0]  # the second in another process
    meta = [s.meta() for s in idx.shards]
    assert meta[0]["build"] == meta[1]["build"] and [m["shard"] for m in meta] == ["0", "1"]
    idx.close()
    assert not list(idx.base.glob("*.new"))


@pytest.mark.parametrize("python", ["/bin/false", "/nonexistent/python3"])
def test_a_shard_whose_process_fails_is_built_here(project, state_dir, sharded, monkeypatch,
                                                   python):
    monkeypatch.setattr(sys, "executable", python)
    idx, _, here = _rebuild_in_parallel(Store.open(), monkeypatch, 8)
    assert here == [0, 1]
    idx.close()


def test_updates_go_to_the_sessions_shard_and_new_sessions_to_the_first(project, state_dir,
                                                                         sharded, monkeypatch):
    store = Store.open()
    _corpus(store, random.Random(3), 4)
    idx = Index(store.base)
    placed = _placement(idx)
    in_second = next(iter(placed[1]))
    with open(store.session(in_second).transcript_path, "ab") as f:
        f.write(orjson.dumps({"v": 1, "seq": 999, "ts": "2026-11-21T11:00:00.000Z",
                              "type": "stdout", "text": "zircon appended"}) + b"\n")
    top = max(s.max_rowid() for s in idx.shards)
    assert idx.update_session(store.session(in_second)) == 1
    new = _session(store, ["zircon fresh"])
    idx.update_session(store.session(new))
    assert _placement(idx) == [placed[0] | {new}, placed[1]]
    rowids = {sid: rowid for conn in idx.conns for sid, rowid in conn.execute(
        "SELECT s.id, e.rowid FROM events e JOIN sessions s ON s.rowid = e.sess "
        "WHERE events MATCH 'zircon'")}
    assert rowids[new] > rowids[in_second] > top  # numbered above every shard's rows
    # Newest first (a word in too many rows to rank) merges the shards by row number.
    monkeypatch.setattr(search_query, "RANK_MAX_MATCHES", 0)
    newest = find(idx.conns, "zircon", Filters(), 10)
    assert [(h["session_id"], h["ranked"]) for h in newest] == [(new, False),
                                                                (in_second, False)]
    idx.close()


def test_forget_leaves_no_text_in_any_shard(project, state_dir, sharded):
    store = Store.open()
    _corpus(store, random.Random(1), 4)
    gone = _session(store, [f"quetzalcoatl secret words {i}" for i in range(20)])
    idx = Index(store.base)
    home = next(k for k, p in enumerate(_placement(idx)) if gone in p)
    idx.close()
    files = index_files(store.base)
    assert len(files) == 2 and b"quetzalcoatl" in files[home].read_bytes()
    assert search.forget_sessions(store.base, [gone]) == 21  # 20 lines and the description
    for path in store.base.glob("index.sqlite3*"):
        assert b"quetzalcoatl" not in path.read_bytes(), path
    assert _answers(store, ["quetzalcoatl"]) == {"quetzalcoatl": []}


def test_files_of_different_rebuilds_or_a_missing_shard_are_rebuilt(project, state_dir,
                                                                     sharded):
    store = Store.open()
    _corpus(store, random.Random(2), 4)
    Index(store.base).close()
    old = shard_path(store.base, 1).read_bytes()
    Index(store.base, rebuild=True).close()
    shard_path(store.base, 1).write_bytes(old)  # the second file of an earlier rebuild
    idx = Index(store.base)
    assert idx.rebuilt
    idx.close()
    shard_path(store.base, 1).unlink()
    idx = Index(store.base)
    assert idx.rebuilt and len(idx.shards) == 2
    idx.close()


def test_a_small_rebuild_removes_the_shards_of_a_large_one(project, state_dir, sharded,
                                                            monkeypatch):
    store = Store.open()
    _corpus(store, random.Random(4), 4)
    Index(store.base).close()
    assert len(index_files(store.base)) == 2
    monkeypatch.setattr(search_build, "SHARD_BYTES", 1 << 60)
    assert search.reindex(store.base)["shards"] == 1
    assert [p.name for p in index_files(store.base)] == ["index.sqlite3"]
    assert not list(store.base.glob("index.sqlite3.1*"))


KILL_AT_RENAME = """
import os, signal, sys
from pathlib import Path
from csa import search, search_build, search_query
search_build.SHARD_BYTES, search_build.PARALLEL_BYTES = 0, 1 << 60
search.shard_count = lambda: 2
real = os.replace
def replace(a, b):
    real(a, b)
    os.kill(os.getpid(), signal.SIGKILL)  # the machine stops after the first rename
search_build.os.replace = replace
search.Index(Path(sys.argv[1]), rebuild=True)
"""


def test_a_kill_between_the_renames_leaves_an_index_rebuilt_on_next_use(project, state_dir,
                                                                        sharded):
    store = Store.open()
    sids = _corpus(store, random.Random(6), 4)
    before = _answers(store, WORDS)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    res = subprocess.run([sys.executable, "-c", KILL_AT_RENAME, str(store.base)], env=env,
                         capture_output=True, timeout=60)
    assert res.returncode == -9, res.stderr
    idx = Index(store.base)  # the second file is new, the first old: not sound
    assert idx.rebuilt and set().union(*_placement(idx)) == set(sids)
    idx.close()
    assert _answers(store, WORDS) == before
