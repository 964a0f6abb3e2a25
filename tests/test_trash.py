"""csa.trash: clean renames swept sessions into the trash and frees them at once or in a
detached process; nothing can reach them meanwhile, and nothing is left after gc."""

from __future__ import annotations

import os
import time

import pytest

from csa import trash
from csa.errors import SessionNotFound
from csa.gc import clean, gc
from csa.store import Store, iter_project_dirs
from helpers import make_session

SECRET = b"trashtoken0123456789"


def _old_sessions(store: Store, n: int) -> list[str]:
    sids = []
    for i in range(n):
        st = make_session(store, f"old {i}", age_days=40)
        sid = st.meta_session_id
        store.session(sid).transcript_path.write_bytes(b'{"text": "%s"}\n' % SECRET)
        sids.append(sid)
    return sids


def _bytes_under(root) -> list[str]:
    hits = []
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            try:
                if SECRET in open(p, "rb").read():
                    hits.append(p)
            except OSError:
                pass
    return hits


def _clean_leaving_the_trash(store: Store, n: int, monkeypatch) -> list[str]:
    """n old sessions cleaned as if the background reclaimer never ran (killed)."""
    sids = _old_sessions(store, n)
    monkeypatch.setattr(trash, "RECLAIM_BUDGET_S", 0.0)
    monkeypatch.setattr(trash, "reclaim_later", lambda s: None)
    clean(store, days=30)
    return sids


def test_small_clean_frees_everything_before_it_returns(project, state_dir):
    store = Store.open()
    sids = _old_sessions(store, 3)
    rep = clean(store, days=30)
    assert sorted(r["id"] for r in rep.removed) == sorted(sids)
    assert trash.entries(store) == [] and _bytes_under(state_dir) == []


def test_large_clean_detaches_the_rest_and_it_is_freed_soon(project, state_dir, monkeypatch):
    store = Store.open()
    sids = _old_sessions(store, 6)
    monkeypatch.setattr(trash, "RECLAIM_BUDGET_S", 0.0)  # as if freeing took too long
    started = []
    real = trash.reclaim_later
    monkeypatch.setattr(trash, "reclaim_later", lambda s: started.append(real(s)) or started[-1])
    rep = clean(store, days=30)
    assert len(rep.removed) == 6 and started and started[0]
    # Unreachable at once: not listed, not resolvable, not in sessions/.
    assert set(store.ids()).isdisjoint(sids)
    assert not any(sid in os.listdir(store.sessions_dir) for sid in sids)
    with pytest.raises(SessionNotFound):
        store.resolve(sids[0])
    # Freed soon by the detached reclaimer.
    deadline = time.monotonic() + 20
    while trash.entries(store) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert trash.entries(store) == []
    assert _bytes_under(state_dir) == []


def test_gc_frees_what_a_killed_reclaimer_left(project, state_dir, monkeypatch):
    store = Store.open()
    _clean_leaving_the_trash(store, 4, monkeypatch)
    assert len(trash.entries(store)) == 4 and _bytes_under(state_dir)
    rep = gc(store)
    assert rep.trash_freed == 4 and rep.to_json()["trash_freed"] == 4
    assert trash.entries(store) == [] and _bytes_under(state_dir) == []


def test_next_clean_also_empties_the_trash(project, state_dir, monkeypatch):
    store = Store.open()
    _clean_leaving_the_trash(store, 2, monkeypatch)
    monkeypatch.undo()
    assert trash.entries(store)
    clean(store, days=30)  # nothing to sweep; the leftovers are freed
    assert trash.entries(store) == [] and _bytes_under(state_dir) == []


def test_trash_on_another_filesystem_removes_in_place(project, state_dir, monkeypatch):
    store = Store.open()
    [sid] = _old_sessions(store, 1)
    monkeypatch.setattr(trash, "move", lambda _store, _path: None)  # EXDEV
    assert store.remove_dir(store.session(sid), reclaim=False) > 0
    assert not store.session(sid).dir.exists() and _bytes_under(state_dir) == []
    assert not [n for n in os.listdir(store.sessions_dir) if sid in n]


def test_project_walk_skips_the_trash(project, state_dir, monkeypatch):
    store = Store.open()
    _clean_leaving_the_trash(store, 1, monkeypatch)
    (trash.entries(store)[0] / "project.toml").write_text('project_path = "/nowhere"\n')
    assert [root for _d, root in iter_project_dirs(state_dir)] == [store.root]


def test_a_live_old_child_keeps_its_old_ancestors(project, state_dir):
    """Liveness is learnt from the sweep's own lock attempt (no probe in the mark), and a
    kept child still keeps every ancestor."""
    from csa.lock import SessionLock

    store = Store.open()
    grand = make_session(store, "old grandparent", age_days=50)
    parent = make_session(store, "old parent", parent=grand.meta_session_id, depth=1,
                          age_days=45)
    child = make_session(store, "old live child", parent=parent.meta_session_id, depth=2,
                         age_days=40)
    other = make_session(store, "old other", age_days=40)
    sid = child.meta_session_id
    with SessionLock(store.session(sid).locks_dir, sid):
        dry = clean(store, days=30, dry_run=True)
        rep = clean(store, days=30)
    assert [r["id"] for r in dry.removed] == [other.meta_session_id]
    assert [r["id"] for r in rep.removed] == [other.meta_session_id]
    reasons = {k["id"]: k["reason"] for k in rep.kept}
    assert reasons[sid] == "live (locked)"
    assert reasons[parent.meta_session_id] == reasons[grand.meta_session_id] == \
        "ancestor of a kept session"
    assert {sid, parent.meta_session_id, grand.meta_session_id} <= set(store.ids())
