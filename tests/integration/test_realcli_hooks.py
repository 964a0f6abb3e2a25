"""csa's journal hooks installed into the REAL claude's settings (`csa hooks install`),
run by claude itself against the mock LLM: PreCompact counts the compaction and its text
reaches the compaction request; SessionStart and UserPromptSubmit ("continue where we
left off") put the journal into the model's context; an unrelated prompt gets nothing.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import RealCli

KEY = "KEYCTX-7f3a lock order: watcher before sweeper"


def _bodies(rc: RealCli, mark: int) -> str:
    return "\n".join(json.dumps(r.get("body")) for r in rc.mock.requests[mark:])


def _journal(rc: RealCli, sid: str, *args: str) -> dict:
    res = rc.csa("session", "journal", "-s", sid, *args, "--json", label="journal")
    assert res.returncode == 0, rc.explain(res)
    return json.loads(res.stdout)


@pytest.mark.parametrize("tool", ["claude-code"])
def test_real_claude_runs_the_journal_hooks(tool: str, realcli: RealCli) -> None:
    rc = realcli
    rc.mock.keep_bodies = True
    res = rc.csa("hooks", "install", "--json", label="hooks install")
    assert res.returncode == 0, rc.explain(res)
    assert json.loads(res.stdout)["added"] == ["PreCompact", "SessionStart", "UserPromptSubmit"]
    res = rc.csa("run", "--tool", tool, "--goal", "GOAL-91c fix the sweep race",
                 "first prompt", label="run")
    assert res.returncode == 0, rc.explain(res)
    sid = json.loads(rc.csa("session", "list", "--json", label="list").stdout)[0]["id"]
    for args in (["--context", KEY], ["--next", "add the regression test"]):
        assert rc.csa("session", "note", "-s", sid, *args, label="note").returncode == 0

    # an unrelated prompt: no UserPromptSubmit context (SessionStart's is there)
    mark = rc.mark()
    res = rc.csa("run", "-s", sid, "rename foo to bar", label="unrelated")
    assert res.returncode == 0, rc.explain(res)
    body = _bodies(rc, mark)
    assert "session journal" in body and KEY in body, "SessionStart: no journal in context"
    assert body.count(KEY) == 1, "the unrelated prompt got the journal twice"

    mark = rc.mark()
    res = rc.csa("run", "-s", sid, "continue where we left off", label="continue")
    assert res.returncode == 0, rc.explain(res)
    assert _bodies(rc, mark).count(KEY) >= 2, "UserPromptSubmit: no journal for 'continue'"

    assert _journal(rc, sid, "--tldr")["compaction_count"] == 0
    mark = rc.mark()
    res = rc.csa("session", "compress", "-s", sid, "--json", label="compress")
    assert res.returncode == 0 and json.loads(res.stdout)["success"], rc.explain(res)
    assert _journal(rc, sid, "--tldr")["compaction_count"] == 1, "PreCompact did not count"
    body = _bodies(rc, mark)
    assert "compaction #1" in body, "the PreCompact hook's text is not in the compaction request"
