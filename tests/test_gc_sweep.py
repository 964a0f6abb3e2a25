"""csa.gc_sweep: clean's sweep through directory descriptors removes what the general path
removes, keeps what it keeps, and hands every unusual session to the general path."""

from __future__ import annotations

import os
import time

import pytest

from csa import gc, trash
from csa.fsutil import dir_size
from csa.gc_sweep import SLOW, Sweeper
from csa.lock import SessionLock
from csa.store import Store
from helpers import make_session


def _settled(store: Store, state) -> str:
    """The session's state.toml dated an hour back (written well before any clean)."""
    sid = state.meta_session_id
    old = time.time() - 3600
    os.utime(store.session(sid).state_path, (old, old))
    return sid


def _no_general_path(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("the general path was taken")

    monkeypatch.setattr(gc, "_sweep_one", refuse)


def test_plain_sessions_go_the_fast_way_and_are_gone_everywhere(project, monkeypatch):
    store = Store.open()
    sids = [_settled(store, make_session(store, f"old {i}", age_days=40)) for i in range(4)]
    store.session(sids[0]).transcript_path.write_bytes(b'{"text": "x"}\n' * 100)
    sizes = {sid: dir_size(store.session(sid).dir) for sid in sids}
    _no_general_path(monkeypatch)
    rep = gc.clean(store, days=30)
    assert {r["id"]: r["bytes"] for r in rep.removed} == sizes
    assert set(store.ids()).isdisjoint(sids)
    assert store.index.existing(sids) == set()  # the summary rows went in the same command
    assert not [s for s in store.summaries() if s["id"] in sids]


def test_a_locked_session_is_kept_with_its_ancestors(project, monkeypatch):
    store = Store.open()
    parent = _settled(store, make_session(store, "old parent", age_days=40))
    child = _settled(store, make_session(store, "old child", parent=parent, depth=1,
                                         age_days=40))
    other = _settled(store, make_session(store, "old other", age_days=40))
    _no_general_path(monkeypatch)
    with SessionLock(store.session(child).locks_dir, child, reason="run"):
        rep = gc.clean(store, days=30)
    assert [r["id"] for r in rep.removed] == [other]
    reasons = {k["id"]: k["reason"] for k in rep.kept}
    assert reasons == {child: "live (locked)", parent: "ancestor of a kept session"}
    assert {child, parent} <= set(store.ids())


def test_unusual_sessions_take_the_general_path(project, tmp_path):
    store = Store.open()
    fresh = make_session(store, "written just now", age_days=40).meta_session_id
    no_locks = _settled(store, make_session(store, "no locks dir", age_days=40))
    linked = _settled(store, make_session(store, "locks is a link", age_days=40))
    plain = _settled(store, make_session(store, "plain", age_days=40))
    for sid in (no_locks, linked):
        os.rmdir(store.session(sid).locks_dir)
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, store.session(linked).locks_dir)
    with Sweeper(store, time.time_ns()) as sweeper:
        assert sweeper.sweep(fresh) == SLOW  # may have been resumed since the mark
        assert sweeper.sweep(no_locks) == SLOW
        assert sweeper.sweep(linked) == SLOW
        assert sweeper.sweep("01" + "Z" * 24) == SLOW  # gone
        assert sweeper.sweep(plain) > 0
    assert os.listdir(outside) == []  # nothing created through the link
    assert plain not in store.ids() and {fresh, no_locks, linked} <= set(store.ids())
    rep = gc.clean(store, days=30)  # the general path decides the rest
    assert {r["id"] for r in rep.removed} == {fresh, no_locks}
    assert linked in store.ids() and os.listdir(outside) == []


def test_many_removed_go_to_the_detached_reclaimer_at_once(project, monkeypatch):
    store = Store.open()
    for i in range(3):
        _settled(store, make_session(store, f"old {i}", age_days=40))
    monkeypatch.setattr(trash, "RECLAIM_INLINE", 2)
    inline, detached = [], []
    monkeypatch.setattr(trash, "reclaim", lambda s, budget_s=None: inline.append(1) or False)
    monkeypatch.setattr(trash, "reclaim_later", lambda s: detached.append(1))
    rep = gc.clean(store, days=30)
    assert len(rep.removed) == 3 and inline == [] and detached == [1]


@pytest.mark.parametrize("n", [1, 2])
def test_few_removed_are_freed_before_clean_returns(project, monkeypatch, n):
    store = Store.open()
    for i in range(n):
        _settled(store, make_session(store, f"old {i}", age_days=40))
    monkeypatch.setattr(trash, "RECLAIM_INLINE", 2)
    monkeypatch.setattr(trash, "reclaim_later", lambda s: pytest.fail("detached"))
    assert len(gc.clean(store, days=30).removed) == n
    assert trash.entries(store) == []
