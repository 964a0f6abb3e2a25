import json

import pytest

from csa.lock import SessionLock
from csa.store import Store
from helpers import invoke, make_session


@pytest.fixture
def store(project):
    return Store.open()


def ids_of(res):
    return [d["id"] for d in json.loads(res.stdout)]


def test_list_empty_says_how_to_start(store):
    res = invoke("session", "list")
    assert res.exit_code == 0 and "csa run" in res.stderr
    assert json.loads(invoke("session", "list", "--json").stdout) == []


def test_list_newest_first_and_short_ids(store):
    old = make_session(store, "old", age_days=3)
    new = make_session(store, "new", age_days=1)
    res = invoke("session", "list")
    lines = res.stdout.splitlines()
    assert lines[0].split()[:2] == ["ID", "STATUS"]
    assert lines[1].endswith("new") and lines[2].endswith("old")
    shown = lines[1].split()[0]
    assert len(shown) >= 8 and new.meta_session_id.startswith(shown)
    assert ids_of(invoke("session", "list", "--json")) == [new.meta_session_id,
                                                           old.meta_session_id]


def test_list_filters(store):
    a = make_session(store, "a", tools={"codex": "t1"}, branch="main", age_days=5)
    b = make_session(store, "b", tools={"claude-code": "c1"}, branch="feat", age_days=1)
    c = make_session(store, "c", tools={"gemini-cli": "g1"}, phase="available")
    j = lambda *a: ids_of(invoke("session", "list", "--json", *a))  # noqa: E731
    assert j("--tool", "codex") == [a.meta_session_id]
    assert set(j("--tool", "codex,claude-code")) == {a.meta_session_id, b.meta_session_id}
    assert j("--branch", "feat") == [b.meta_session_id]
    assert j("--status", "available") == [c.meta_session_id]
    assert set(j("--since", "2d")) == {b.meta_session_id, c.meta_session_id}
    assert j("--limit", "1") == [c.meta_session_id]


def test_list_bad_filters_are_usage_errors(store):
    res = invoke("session", "list", "--status", "nope")
    assert res.exit_code == 2 and "invalid --status" in res.stderr
    res = invoke("session", "list", "--since", "yesterday-ish")
    assert res.exit_code == 2 and "invalid time" in res.stderr


def test_list_all_projects(tmp_path, monkeypatch):
    for name in ("p1", "p2"):
        d = tmp_path / name
        d.mkdir()
        make_session(Store.open(cd=str(d)), f"in {name}")
    monkeypatch.chdir(tmp_path / "p1")
    assert len(json.loads(invoke("session", "list", "--json").stdout)) == 1
    data = json.loads(invoke("session", "list", "--json", "--all-projects").stdout)
    assert sorted(d["description"] for d in data) == ["in p1", "in p2"]
    assert {d["project"] for d in data} == {str(tmp_path / "p1"), str(tmp_path / "p2")}


def test_list_shows_running_and_corrupt(store):
    live = make_session(store, "live")
    broken = make_session(store, "broken")
    store.session(broken.meta_session_id).state_path.write_text("garbage = [")
    from csa.state import RunRecord

    live.run = RunRecord(status="running", tool="codex", pid=1)
    store.session(live.meta_session_id).save(live)
    with SessionLock(store.session(live.meta_session_id).locks_dir, live.meta_session_id, tool="codex"):
        rows = {d["id"]: d for d in json.loads(invoke("session", "list", "--json").stdout)}
        assert rows[live.meta_session_id]["status"] == "running"
        assert rows[broken.meta_session_id]["status"] == "corrupt"
        text = invoke("session", "list").stdout
        assert "corrupt" in text and "running" in text
    # Lock released without the run finishing: reconciled as died on the next read.
    rows = {d["id"]: d for d in json.loads(invoke("session", "list", "--json").stdout)}
    assert rows[live.meta_session_id]["status"] == "died"
    assert store.session(live.meta_session_id).load().run.status == "died"


def test_show_and_prefix_errors(store):
    st = make_session(store, "shown")
    sid = st.meta_session_id
    res = invoke("session", "show", "-s", sid[:8].lower())
    assert res.exit_code == 0 and "shown" in res.stdout
    data = json.loads(invoke("session", "show", "-s", sid, "--json").stdout)
    assert data["meta_session_id"] == sid and data["genealogy"]["depth"] == 0
    res = invoke("session", "show", "-s", "../etc")
    assert res.exit_code == 1 and res.stderr.strip() == "No session matches '../etc'"
    res = invoke("session", "show", "-s", "")  # issue 14: refused, never read as "no value"
    assert res.exit_code == 1 and "--session needs a value" in res.stderr


def test_ambiguous_prefix_via_cli(store):
    a = make_session(store, "alpha")
    b = make_session(store, "beta")
    common = 0
    while a.meta_session_id[common] == b.meta_session_id[common]:
        common += 1
    res = invoke("session", "show", "-s", a.meta_session_id[:common])
    assert res.exit_code == 1
    assert "ambiguous" in res.stderr.splitlines()[0]
    assert a.meta_session_id in res.stderr and "alpha" in res.stderr and "beta" in res.stderr


def test_delete_via_cli(store):
    st = make_session(store)
    sid = st.meta_session_id
    with SessionLock(store.session(sid).locks_dir, sid, tool="codex"):
        res = invoke("session", "delete", "-s", sid)
        assert res.exit_code == 1 and "locked by PID" in res.stderr and "--force" in res.stderr
    res = invoke("session", "delete", "-s", sid)
    assert res.exit_code == 0 and not store.session(sid).exists()
    res = invoke("session", "delete", "-s", sid)
    assert res.exit_code == 1 and "No session matches" in res.stderr


def test_missing_session_option_is_usage_error(store):
    res = invoke("session", "delete")
    assert res.exit_code == 2
