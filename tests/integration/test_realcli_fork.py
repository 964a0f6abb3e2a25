"""`csa session fork` with the REAL CLIs against the mock LLM (issue 16).

Per tool: a named session of two turns, then a fork with a prompt. Natively (claude-code
`--resume X --fork-session`, codex `exec fork X`, opencode `run -s X --fork`) the fork's
first request carries the original's two turns plus its own (3 user turns) under a new
provider id; gemini-cli has no fork, so the fork is a fresh conversation (1 user turn)
whose prompt carries the original's. Then the fork resumes on its own (its own provider
id, one more turn), the original's turn count and provider id are unchanged, and the
original still resumes its own conversation.

Run: `python -m pytest -s tests/integration/test_realcli_fork.py`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import RealCli

TOOL_IDS = ["claude-code", "codex", "gemini-cli", "opencode"]
NATIVE = {"claude-code": True, "codex": True, "gemini-cli": False, "opencode": True}


def by_name(rc: RealCli, name: str) -> dict:
    res = rc.csa("session", "show", "-s", name, "--json", label="show")
    assert res.returncode == 0, rc.explain(res)
    return json.loads(res.stdout)


def _turns(rc: RealCli, mark: int) -> list[int]:
    return [r["user_turns"] for r in rc.model_requests_since(mark)]


@pytest.mark.parametrize("tool", TOOL_IDS)
def test_fork(tool: str, realcli: RealCli) -> None:
    rc = realcli
    res = rc.csa("run", "--tool", tool, "--name", "orig-1", "the word is kumquat",
                 label="fork-base")
    assert res.returncode == 0, "base: " + rc.explain(res)
    res = rc.csa("run", "-s", "orig-1", "remember it", label="fork-base-2")
    assert res.returncode == 0, "base 2: " + rc.explain(res)
    orig = by_name(rc, "orig-1")
    sid, provider = orig["meta_session_id"], orig["tools"][tool]["provider_session_id"]

    mark = rc.mark()
    res = rc.csa("session", "fork", "-s", "orig-1", "--name", "alt-1", "which word?",
                 label="fork")
    assert res.returncode == 0, "fork: " + rc.explain(res)
    turns = _turns(rc, mark)
    assert turns and turns[-1] == (3 if NATIVE[tool] else 1), turns
    fork = by_name(rc, "alt-1")
    assert fork["genealogy"]["forked_from"] == sid
    fork_provider = fork["tools"][tool]["provider_session_id"]
    assert fork_provider and fork_provider != provider, (fork_provider, provider)
    prompts = [e["text"] for e in rc.transcript(fork["meta_session_id"])
               if e.get("type") == "prompt"]
    assert NATIVE[tool] or "kumquat" in prompts[0], prompts
    after = rc.state(sid)
    assert after["turn_count"] == 2 and after["tools"][tool]["provider_session_id"] == provider

    mark = rc.mark()
    res = rc.csa("run", "-s", "alt-1", "and again", label="fork-resume")
    assert res.returncode == 0, "fork resume: " + rc.explain(res)
    assert _turns(rc, mark)[-1] == (4 if NATIVE[tool] else 2)
    assert by_name(rc, "alt-1")["tools"][tool]["provider_session_id"] == fork_provider

    mark = rc.mark()
    res = rc.csa("run", "-s", sid, "original goes on", label="fork-orig")
    assert res.returncode == 0, "original: " + rc.explain(res)
    assert _turns(rc, mark)[-1] == 3  # its own two turns and this one: not the fork's
    assert rc.state(sid)["tools"][tool]["provider_session_id"] == provider
