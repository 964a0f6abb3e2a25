"""Compaction the tool did by itself (seed 003): `/compact` typed as a prompt, and the
tool's automatic compaction, are recorded as compactions, through the CLI and the fakes."""

from __future__ import annotations

import tomllib

import pytest

from runkit import csa, fake_env, session_id_from, transcript


@pytest.fixture
def env(tmp_path, project):
    return fake_env(tmp_path)


def state_of(state_dir, project, sid) -> dict:
    path = state_dir / str(project).lstrip("/") / "sessions" / sid / "state.toml"
    return tomllib.loads(path.read_text())


def run(env, project, *args) -> str:
    res = csa("run", *args, env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    return session_id_from(res.stderr)


def test_compact_typed_as_prompt_is_a_compaction_not_a_user_turn(env, project, state_dir):
    sid = run(env, project, "--tool", "claude-code", "one")
    run(env, project, "-s", sid, "two")
    run(env, project, "-s", sid, "/compact")
    st = state_of(state_dir, project, sid)
    assert st["turn_count"] == 2
    ctx = st["context_status"]
    assert ctx["is_compacted"] is True and ctx["compaction_count"] == 1
    assert "last_compacted_at" in ctx and st["phase"] == "available"
    assert st["digest"]["turns"] == 2 and st["digest"]["compactions"] == 1
    assert [m["kind"] for m in st["digest"]["markers"]] == ["compaction"]
    records = [e for e in transcript(state_dir, project, sid) if e["type"] == "compaction"]
    assert len(records) == 1
    assert records[0]["method"] == "tool" and records[0]["trigger"] == "manual"
    assert records[0]["compaction_count"] == 1
    # The next user turn counts again and makes the session active.
    run(env, project, "-s", sid, "three")
    st = state_of(state_dir, project, sid)
    assert st["turn_count"] == 3 and st["phase"] == "active"
    assert st["context_status"]["compaction_count"] == 1


def test_automatic_compaction_is_recorded_and_the_turn_still_counts(tmp_path, project,
                                                                    state_dir):
    env = fake_env(tmp_path, FAKE_CLAUDE_AUTO_COMPACT="2")
    sid = run(env, project, "--tool", "claude-code", "one")
    run(env, project, "-s", sid, "two")
    assert state_of(state_dir, project, sid)["context_status"]["compaction_count"] == 0
    run(env, project, "-s", sid, "three")  # 2 turns already: claude compacts first
    st = state_of(state_dir, project, sid)
    assert st["turn_count"] == 3 and st["phase"] == "active"
    assert st["context_status"]["compaction_count"] == 1
    assert st["context_status"]["is_compacted"] is True
    rec = [e for e in transcript(state_dir, project, sid) if e["type"] == "compaction"]
    assert [r["trigger"] for r in rec] == ["auto"]


def test_native_compress_is_counted_once(env, project, state_dir):
    """csa's own `session compress` sees the same boundary: still one compaction."""
    sid = run(env, project, "--tool", "claude-code", "one")
    run(env, project, "-s", sid, "two")
    assert csa("session", "compress", "-s", sid, env=env, cwd=project).returncode == 0
    st = state_of(state_dir, project, sid)
    assert st["context_status"]["compaction_count"] == 1 and st["turn_count"] == 2


def test_rebuilt_digest_counts_the_compaction(env, project, state_dir):
    from csa.digest import digest_events
    from csa.store import Store

    sid = run(env, project, "--tool", "claude-code", "one")
    run(env, project, "-s", sid, "two")
    run(env, project, "-s", sid, "/compact")
    d = digest_events(Store.open(str(project)).session(sid).read_transcript())
    assert d["turns"] == 2 and d["compactions"] == 1
    assert d["snippets"]["first_prompt"] == "one" and d["snippets"]["last_prompt"] == "two"
