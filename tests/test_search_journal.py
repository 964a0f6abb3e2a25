"""Search index, journal and size-budget retention."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from csa.budget import enforce_budget, parse_size
from csa.errors import UsageError
from csa.search import Index, index_path
from csa.store import Store
from csa.transcript import read_events
from runkit import csa, fake_env, session_id_from, transcript

TOOLS = ["claude-code", "codex", "gemini-cli", "opencode"]


@pytest.fixture
def env(tmp_path, project):
    return fake_env(tmp_path, FAKE_LOG=str(tmp_path / "fake.log"))


def run(env, project, *args):
    res = csa("run", *args, env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    return session_id_from(res.stderr)


def hits(env, project, *args):
    res = csa("session", "search", *args, "--json", env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_search_finds_words_from_each_tool(env, project):
    ids = {t: run(env, project, "--tool", t, f"investigate the {t.replace('-', '')}zebra bug")
           for t in TOOLS}
    for tool, sid in ids.items():
        word = f"{tool.replace('-', '')}zebra"
        found = hits(env, project, word)
        assert found and {h["session_id"] for h in found} == {sid}, (tool, found)
        out = hits(env, project, word, "--event-type", "event,turn_end")
        assert any(h["type"] in ("event", "turn_end") and h["tool"] == tool for h in out)
        assert "[" in found[0]["snippet"] and "]" in found[0]["snippet"]
    only = hits(env, project, "investigate", "--tool", "codex", "--event-type", "prompt")
    assert [h["session_id"] for h in only] == [ids["codex"]]


def test_ranking_puts_the_better_match_first(env, project):
    weak = run(env, project, "--tool", "codex", "-d", "misc", "one mention of pelican here")
    strong = run(env, project, "--tool", "codex", "-d", "pelican pelican",
                 "pelican pelican pelican facts about the pelican")
    found = hits(env, project, "pelican")
    assert found[0]["session_id"] == strong
    assert weak in {h["session_id"] for h in found}


def test_reindex_gives_identical_results_and_corrupt_db_is_rebuilt(env, project, state_dir):
    for i, word in enumerate(["alpha", "beta", "gamma alpha"]):
        run(env, project, "--tool", "codex", f"task {i} {word}")
    before = hits(env, project, "alpha")
    os.unlink(index_path(state_dir))
    assert hits(env, project, "alpha") == before
    res = csa("session", "reindex", "--json", env=env, cwd=project)
    assert json.loads(res.stdout)["sessions"] == 3
    assert hits(env, project, "alpha") == before
    index_path(state_dir).write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        try:
            os.unlink(f"{index_path(state_dir)}{suffix}")
        except FileNotFoundError:
            pass
    assert hits(env, project, "alpha") == before
    sqlite3.connect(index_path(state_dir)).execute("SELECT count(*) FROM events").fetchone()


def test_index_is_incremental(env, project, state_dir):
    """Each update reads only the lines added since the last one (the runner brings the
    index up to date with earlier turns while the tool runs; search catches up)."""
    # The runner's own update while a slow (loaded) tool runs would race this one.
    (project / ".csa").mkdir()
    (project / ".csa" / "config.toml").write_text("index_on_turn_end = false\n")
    idx = Index(state_dir)  # an index that exists before the session does
    sid = run(env, project, "--tool", "codex", "first words")
    store = Store.open(cd=str(project))
    first = idx.update_session(store.session(sid))
    assert first > 0
    assert idx.update_session(store.session(sid)) == 0
    csa("run", "-s", sid, "second words", env=env, cwd=project)
    second = idx.update_session(store.session(sid))
    assert 0 < second <= first
    n_events = len(transcript(state_dir, project, sid))
    row = idx.conn.execute("SELECT indexed_seq FROM sessions WHERE id=?", (sid,)).fetchone()
    assert row[0] == n_events - 1
    assert idx.update_session(store.session(sid)) == 0
    total = idx.conn.execute("SELECT count(*) FROM events WHERE sess=(SELECT rowid FROM "
                             "sessions WHERE id=?) AND seq >= 0",
                             (sid,)).fetchone()[0]
    assert total == first + second  # nothing indexed twice
    idx.close()


def test_search_ignores_deleted_sessions_and_bad_queries(env, project):
    sid = run(env, project, "--tool", "codex", "ephemeral walrus")
    assert hits(env, project, "walrus")
    csa("session", "delete", "-s", sid, env=env, cwd=project)
    assert hits(env, project, "walrus") == []
    assert hits(env, project, 'unbalanced "quote AND (') == []


def test_search_all_projects(env, project, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    run(env, project, "--tool", "codex", "narwhal here")
    run(env, other, "--tool", "codex", "narwhal there")
    assert len(hits(env, project, "narwhal")) >= 1
    everywhere = hits(env, project, "narwhal", "--all-projects")
    assert {h["project"] for h in everywhere} == {str(project), str(other)}


# -- journal -----------------------------------------------------------------------------

def test_journal_survives_rollover_and_reaches_the_next_prompt(env, project, tmp_path):
    sid = run(env, project, "--tool", "codex", "build the parser")
    for args in (["--decision", "use a PEG grammar", "--rationale", "error messages"],
                 ["--progress", "lexer done"], ["--next", "write the AST"]):
        res = csa("session", "note", "-s", sid, *args, env=env, cwd=project)
        assert res.returncode == 0, res.stderr
    assert csa("session", "compress", "-s", sid, env=env, cwd=project).returncode == 0
    journal = csa("session", "journal", "-s", sid, env=env, cwd=project).stdout
    assert "use a PEG grammar" in journal and "Rationale: error messages" in journal
    assert "**Next**: write the AST" in journal
    res = csa("run", "-s", sid, "--with-journal", "continue", env=env, cwd=project)
    assert res.returncode == 0
    prompt = [e for e in transcript(env_state(env), project, sid) if e["type"] == "prompt"][-1]
    assert "use a PEG grammar" in prompt["text"] and prompt["text"].endswith("continue")
    assert "Session journal kept by csa" in res.stdout  # the fake echoes the prompt
    plain = csa("run", "-s", sid, "plain turn", env=env, cwd=project)
    assert "Session journal" not in plain.stdout


def env_state(env):
    from pathlib import Path

    return Path(env["CSA_STATE_DIR"])


def test_child_writes_its_own_journal_through_env(env, project):
    nested = {**env, "FAKE_NESTED": "--tool codex child"}
    parent = run({**nested}, project, "--tool", "claude-code", "parent")
    child = next(r for r in json.loads(csa("session", "list", "--json", env=env,
                                           cwd=project).stdout) if r["id"] != parent)["id"]
    inside = {**env, "CSA_SESSION_ID": child}
    res = csa("session", "note", "--discovery", "the child found this", env=inside, cwd=project)
    assert res.returncode == 0, res.stderr
    assert "the child found this" in csa("session", "journal", "-s", child, env=env,
                                         cwd=project).stdout
    res = csa("session", "note", "-s", child, "--progress", "a", "--next", "b", env=env,
              cwd=project)
    assert res.returncode == 2


# -- budget ------------------------------------------------------------------------------

def test_parse_size():
    assert parse_size("500") == 500
    assert parse_size("2K") == 2048 and parse_size("1.5MiB") == int(1.5 * 1024**2)
    with pytest.raises(UsageError):
        parse_size("lots")


def _age(store, sid, days):
    st = store.session(sid).load()
    st.last_accessed = datetime.now(UTC) - timedelta(days=days)
    store.session(st.meta_session_id).save(st)


def test_budget_evicts_oldest_digested_first_and_keeps_undigested(env, project, state_dir):
    big = {**env, "FAKE_HUGE_MB": "1"}
    oldest = run(big, project, "--tool", "codex", "oldest")
    middle = run(big, project, "--tool", "codex", "middle")
    newest = run(big, project, "--tool", "codex", "newest quokka")
    undigested = run(big, project, "--tool", "codex", "undigested")
    store = Store.open(cd=str(project))
    for sid, days in ((oldest, 30), (middle, 20), (newest, 10), (undigested, 40)):
        _age(store, sid, days)
    st = store.session(undigested).load()
    del st.extra["digest"]
    store.session(st.meta_session_id).save(st)
    assert hits(env, project, "quokka")

    sizes = {s: store.session(s).transcript_path.stat().st_size
             for s in (oldest, middle, newest)}
    total = sum(sizes.values())
    # Room for roughly two transcripts: the oldest digested one must go first.
    budget = total + store.session(undigested).transcript_path.stat().st_size \
        - sizes[oldest] // 2
    dry = enforce_budget(store, budget, dry_run=True)
    assert [e["id"] for e in dry["evicted"]] == [oldest] and dry["skipped_undigested"] == 1
    rep = enforce_budget(store, budget)
    assert [e["id"] for e in rep["evicted"]] == [oldest]
    assert rep["after"] <= budget
    stub = list(read_events(store.session(oldest).transcript_path))
    assert len(stub) == 1 and stub[0]["type"] == "evicted"
    assert "digest" in store.session(oldest).load().extra
    assert store.session(undigested).transcript_path.stat().st_size > 1000

    # A tiny budget evicts every digested transcript, still never the undigested one.
    res = csa("gc", "--max-bytes", "1K", "--json", env=env, cwd=project)
    data = json.loads(res.stdout)["budget"]
    assert {e["id"] for e in data["evicted"]} == {middle, newest}
    assert data["skipped_undigested"] == 1
    # Evicted rows leave the index (deleting means gone); the description row stays.
    assert hits(env, project, "quokka")
    # A resume of an evicted session keeps seq contiguous.
    csa("run", "-s", oldest, "after eviction", env=env, cwd=project)
    seqs = [e["seq"] for e in read_events(store.session(oldest).transcript_path)]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))) and seqs[0] > 0
    # --force evicts the undigested one too (digesting it first).
    res = csa("gc", "--max-bytes", "1K", "--force", "--json", env=env, cwd=project)
    assert undigested in {e["id"] for e in json.loads(res.stdout)["budget"]["evicted"]}
    assert store.session(undigested).load().extra["digest"]["turns"] == 1



def test_near_universal_terms_fall_back_to_newest_first(project, state_dir, monkeypatch):
    """Ranking every match of a term in most of the corpus would take too long: the
    search answers within its budget, newest first, and says so."""
    import csa.search as search_mod
    from csa import search_query
    from csa.transcript import TranscriptWriter
    from helpers import make_session

    store = Store.open()
    st = make_session(store, "many events")
    with TranscriptWriter(store.session(st.meta_session_id).transcript_path) as w:
        for i in range(3000):
            w.append("stdout", text=f"common word number {i}")
    ranked = search_mod.search(store, "number", limit=5)
    assert ranked and all(h["ranked"] for h in ranked)
    monkeypatch.setattr(search_query, "RANK_BUDGET_S", 0.0)
    newest = search_mod.search(store, "number", limit=5)
    assert [h["ranked"] for h in newest] == [False]  # one session: one hit
    assert newest[0]["snippet"].endswith("2999")
