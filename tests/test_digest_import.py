"""Digests of imported sessions (seed 004): the uuid/parentUuid turn DAG, retry and
human-intervention markers, key snippets, compactions and cost, through `csa import`."""

from __future__ import annotations

import json
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_import import mangle, no_tool_env, place  # noqa: F401 - a fixture

from csa.store import Store
from helpers import invoke

SID = "5e1dc0de-1111-4000-8000-00000000d1a9"


@pytest.fixture
def home(isolated_env):
    return isolated_env / "home"


def line(uuid, parent, typ, content, **kw):
    d = {"type": typ, "uuid": uuid, "parentUuid": parent, "sessionId": SID, "cwd": kw.pop("cwd"),
         "timestamp": kw.pop("ts", "2026-11-20T10:00:00.000Z")}
    if typ in ("user", "assistant"):
        d["message"] = {"role": typ, "content": content, **kw.pop("message", {})}
    else:
        d.update(content)
    d.update(kw)
    return json.dumps(d)


def synthetic(project, home) -> None:
    """A claude session with an edited prompt (a fork), a retry, an interruption by the
    user, an automatic compaction and priced usage (no cost-state line)."""
    usage = {"input_tokens": 1000, "output_tokens": 100}
    a = {"model": "claude-sonnet-4-5", "id": "msg_1", "usage": usage}
    c = str(project)
    rows = [
        line("u1", None, "user", "refactor the parser", cwd=c),
        line("a1", "u1", "assistant", [{"type": "text", "text": "first try"}], cwd=c, message=a),
        line("a1b", "u1", "assistant", [{"type": "text", "text": "second try"}], cwd=c,
             message={**a, "id": "msg_2"}),
        line("r1", "a1b", "system", {"subtype": "api_retry", "content": "API error 529",
                                     "level": "warning"}, cwd=c),
        line("u2", "r1", "user", [{"type": "text", "text": "[Request interrupted by user]"}],
             cwd=c),
        line("cb", None, "system", {"subtype": "compact_boundary", "content":
                                    "Conversation compacted", "logicalParentUuid": "u2",
                                    "compactMetadata": {"trigger": "auto"}}, cwd=c,
             ts="2026-11-20T10:05:00.000Z"),
        line("u3", "cb", "user", "now add tests", cwd=c),
        line("a3", "u3", "assistant", [{"type": "text", "text": "tests added"}], cwd=c,
             message={**a, "id": "msg_3"}),
    ]
    dest = home / ".claude" / "projects" / mangle(project) / f"{SID}.jsonl"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text("\n".join(rows) + "\n")


def imported_state(project) -> dict:
    store = Store.open(str(project))
    (session,) = store.sessions()
    return tomllib.loads(session.state_path.read_text())


def test_imported_digest_has_dag_markers_snippets_compaction_and_cost(project, home):
    synthetic(project, home)
    res = invoke("import", "claude")
    assert res.exit_code == 0, res.stderr
    st = imported_state(project)
    d = st["digest"]
    assert d["dag"] == {"nodes": 8, "roots": 1, "forks": 1, "leaves": 2, "main_chain": 7}
    assert d["retries"] == 1 and d["interventions"] == 1 and d["compactions"] == 1
    kinds = [m["kind"] for m in d["markers"]]
    assert kinds.count("intervention") == 1 and kinds.count("retry") == 1
    assert d["snippets"]["first_prompt"] == "refactor the parser"
    assert d["snippets"]["last_prompt"] == "now add tests"
    assert d["snippets"]["last_answer"] == "tests added"
    assert d["turns"] == 2  # the interruption is not a prompt
    assert d["cost_source"] == "priced" and d["cost_usd"] > 0
    assert st["context_status"]["compaction_count"] == 1
    assert st["context_status"]["last_compacted_at"].isoformat().startswith("2026-11-20T10:05")
    assert "analyzed_at" in d
    tokens = st["tools"]["claude-code"]["model_tokens"]["claude-sonnet-4-5"]
    assert tokens["input_tokens"] == 3000


def test_real_capture_digest_keeps_provider_cost_and_chain(project, home):
    place("claude", project, home)
    assert invoke("import", "claude").exit_code == 0
    d = imported_state(project)["digest"]
    assert d["cost_source"] == "provider"
    # two prompts, two replies, one chain without forks (attachments are skipped over)
    assert d["dag"]["roots"] == 1 and d["dag"]["forks"] == 0
    assert d["snippets"]["first_prompt"] == "first prompt"
    assert d["snippets"]["last_prompt"] == "second prompt"
    assert d["retries"] == 0 and d["interventions"] == 0


def test_codex_capture_is_priced_or_unknown_never_zero(project, home):
    place("codex", project, home)
    assert invoke("import", "codex").exit_code == 0
    d = imported_state(project)["digest"]
    if d.get("cost_source") == "priced":
        assert d["cost_usd"] > 0
    else:  # the mock model is not in the price table: unknown, not $0
        assert "cost_usd" not in d


def test_compaction_in_a_real_claude_store_is_recorded(project, home):
    """The captured real transcript, followed by what claude 2.1 writes to its store when it
    compacts (tools/REALCLI_NOTES.md): a compact_boundary system line whose parentUuid is
    null (logicalParentUuid links it) and an isCompactSummary user line."""
    (path,) = place("claude", project, home)
    tail = [o for o in map(json.loads, path.read_text().splitlines()) if o.get("uuid")][-1]
    base = {"sessionId": tail["sessionId"], "cwd": str(project),
            "isSidechain": False, "version": "2.1.330", "userType": "external"}
    boundary = {**base, "parentUuid": None, "logicalParentUuid": tail["uuid"],
                "type": "system", "subtype": "compact_boundary",
                "content": "Conversation compacted", "isMeta": False, "level": "info",
                "timestamp": "2026-11-21T15:00:00.000Z",
                "uuid": "b0b0b0b0-0000-4000-8000-0000000000c1",
                "compactMetadata": {"trigger": "manual", "preTokens": 15}}
    summary = {**base, "parentUuid": boundary["uuid"], "type": "user", "isCompactSummary": True,
               "timestamp": "2026-11-21T15:00:00.100Z",
               "uuid": "b0b0b0b0-0000-4000-8000-0000000000c2",
               "message": {"role": "user", "content": "This session is being continued from a "
                                                      "previous conversation that ran out of context."}}
    with path.open("a") as f:
        f.write(json.dumps(boundary) + "\n" + json.dumps(summary) + "\n")
    assert invoke("import", "claude").exit_code == 0
    st = imported_state(project)
    assert st["context_status"]["compaction_count"] == 1
    assert st["context_status"]["is_compacted"] is True
    d = st["digest"]
    assert d["compactions"] == 1 and d["turns"] == 2  # the summary is not a user turn
    assert d["dag"]["roots"] == 1  # the boundary continues the chain (logicalParentUuid)


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.sampled_from(["a", "bc ", " " * 60, "\n\t", "\u2003word "]), max_size=300).map("".join),
       st.integers(2, 300))
def test_cut_folds_only_a_prefix_with_the_same_result(text, limit):
    from csa.digest_marks import cut

    whole = " ".join(text.split())
    assert cut(text, limit) == (whole if len(whole) <= limit else whole[:limit - 1] + "…")
