"""Search as seed 002 describes it, through the CLI: sessions found by their type and by the
dates they happened (an import's own dates), each once, with the conversation a fork or a
compacted session continues; an evicted session is still found by its digest, also after
`csa session reindex`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from csa.store import Store
from runkit import csa, fake_env, session_id_from

CLAUDE_FIX = Path(__file__).resolve().parent / "fixtures" / "import" / "claude-code"


@pytest.fixture
def env(tmp_path, project):
    return fake_env(tmp_path)


def ok(res):
    assert res.returncode == 0, res.stderr
    return res


def run(env, project, *args) -> str:
    return session_id_from(ok(csa("run", "--tool", "codex", *args, env=env, cwd=project)).stderr)


def hits(env, project, *args) -> list[dict]:
    return json.loads(ok(csa("session", "search", *args, "--json", env=env,
                             cwd=project)).stdout)


def import_claude(env, project, *, day: str) -> str:
    """The captured real Claude Code transcript, moved to `day`, imported by `csa import`."""
    cap = json.loads((CLAUDE_FIX / "capture.json").read_text())
    name = cap["files"][0]
    text = (CLAUDE_FIX / name).read_text().replace(cap["project_dir"], str(project))
    text = text.replace(cap["home"], env["HOME"]).replace("2026-11-21T", f"{day}T")
    mangled = "".join(c if c.isalnum() else "-" for c in str(project))
    dest = Path(env["HOME"]) / ".claude" / "projects" / mangled / name
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text)
    data = json.loads(ok(csa("import", "claude", "--json", env=env, cwd=project)).stdout)
    assert data["created"] == 1, data
    return data["sessions"][0]["session_id"]


def test_an_imported_session_is_found_by_its_own_dates_and_type(env, project):
    imported = import_claude(env, project, day="2024-01-15")
    chat = run(env, project, "first prompt of today")
    # The import happened today; the conversation on 2024-01-15.
    assert [h["session_id"] for h in hits(env, project, "first", "--since", "2024-01-01",
                                          "--until", "2024-01-15")] == [imported]
    assert [h["session_id"] for h in hits(env, project, "first", "--since", "1d")] == [chat]
    assert hits(env, project, "first", "--until", "2024-01-14") == []
    assert [h["session_id"] for h in hits(env, project, "first", "--type", "imported")] \
        == [imported]
    found = hits(env, project, "first", "--type", "chat")
    assert [h["session_id"] for h in found] == [chat] and found[0]["session_type"] == "chat"
    both = hits(env, project, "first", "--type", "chat,imported")
    assert {h["session_id"] for h in both} == {chat, imported}
    res = csa("session", "search", "first", "--type", "prompt", env=env, cwd=project)
    assert res.returncode == 2 and "--event-type" in res.stderr and "Traceback" not in res.stderr


def test_each_session_is_one_row_and_agents_have_their_type(env, project):
    # The word is in the description, the prompt, the fake's echo and the turn's end.
    parent = run(env, project, "-d", "ocelot audit", "ocelot audit please")
    child = run({**env, "CSA_SESSION_ID": parent, "CSA_DEPTH": "1"}, project,
                "ocelot audit, child part")
    found = hits(env, project, "ocelot")
    assert sorted(h["session_id"] for h in found) == sorted([parent, child])
    assert {h["session_id"]: h["session_type"] for h in found} == {parent: "chat",
                                                                   child: "agent"}
    table = ok(csa("session", "search", "ocelot", env=env, cwd=project)).stdout
    shown = [line.split()[0] for line in table.strip().splitlines()[1:]]
    assert len(shown) == 2 and sorted(next(s for s in (parent, child) if s.startswith(p))
                                      for p in shown) == sorted([parent, child])


def test_a_fork_and_a_compacted_session_show_what_they_continue(env, project):
    orig = run(env, project, "--name", "orig", "remember the word kumquat")
    res = ok(csa("session", "fork", "-s", "orig", "--name", "alt", "kumquat again",
                 env=env, cwd=project))
    fork = session_id_from(res.stderr.split("fork ", 1)[1])
    compacted = run(env, project, "the word is persimmon")
    ok(csa("session", "compress", "-s", compacted, env=env, cwd=project))
    by_id = {h["session_id"]: h for h in hits(env, project, "kumquat")}
    assert by_id[fork]["continued_from"] == {"kind": "fork", "session_id": orig}
    assert by_id[orig]["continued_from"] is None
    link = hits(env, project, "persimmon")[0]["continued_from"]
    assert link["kind"] == "compaction" and link["session_id"] == compacted
    assert link["provider_session_id"] and link["compactions"] == 1
    table = ok(csa("session", "search", "kumquat", env=env, cwd=project)).stdout
    assert "CONTINUES" in table and f"fork of {orig[:8]}" in table


def test_reindex_after_eviction_still_finds_the_digest(env, project, state_dir):
    sid = run({**env, "FAKE_HUGE_MB": "1"}, project, "-d", "weekly report",
              "write the capybara report")
    other = run(env, project, "an unrelated session")
    store = Store.open(cd=str(project))
    st = store.session(sid).load()
    if not st.extra["digest"].get("snippets"):  # key snippets: csa.digest (seed 004)
        st.extra["digest"]["snippets"] = {"first_prompt": "write the capybara report"}
        store.session(sid).save(st)
    assert "capybara" in json.dumps(st.extra["digest"]["snippets"])
    assert [h["session_id"] for h in hits(env, project, "capybara")] == [sid]
    done = csa("gc", "--max-bytes", "1K", "--json", env=env, cwd=project)
    assert done.returncode == 1 and "NOT met" in done.stderr  # state alone is over 1K
    res = json.loads(done.stdout)
    assert sid in {e["id"] for e in res["budget"]["evicted"]}
    for when in ("after eviction", "after reindex"):
        found = hits(env, project, "capybara")
        assert [h["session_id"] for h in found] == [sid], when
        assert found[0]["type"] == "digest" and found[0]["seq"] == -2, when
        ok(csa("session", "reindex", env=env, cwd=project))
    assert [h["session_id"] for h in hits(env, project, "unrelated")] == [other]
