"""Failover with the REAL CLIs: the mock LLM answers one provider's requests with its own
rate-limit error (tools/mock_errors.py); csa must classify what the real CLI prints as
`rate_limit` and run the turn again on the next tool, which answers.

Per CLI (the next tool speaks another API, so the mock answers it):
claude-code → codex, codex → claude-code, gemini-cli → claude-code, opencode → claude-code.
gemini and opencode retry a 429 for minutes: csa stops them after `failover_retries`
reported attempts, which is part of what is tested.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import TOOLS, make_realcli, require_cli

API = {"claude-code": "anthropic", "codex": "responses", "gemini-cli": "gemini",
       "opencode": "chat"}
NEXT = {"claude-code": "codex", "codex": "claude-code", "gemini-cli": "claude-code",
        "opencode": "claude-code"}


@pytest.mark.parametrize("tool", list(TOOLS))
def test_real_cli_rate_limit_is_classified_and_failed_over(tool: str, netns: Any,
                                                           versions_root, tmp_path) -> None:
    nxt = NEXT[tool]
    binaries = {t: require_cli(t, netns, versions_root) for t in (tool, nxt)}
    with make_realcli(binaries, netns, tmp_path) as rc:
        rc.mock.script = [{"error": "rate_limit", "apis": [API[tool]]}]
        res = rc.csa("run", "--tool", tool, "--failover", nxt, "--json", "say hello",
                     label=f"rate limit -> {nxt}")
        assert res.returncode == 0, rc.explain(res)
        out = json.loads(res.stdout)
        assert out["tool"] == nxt and out["exit_code"] == 0, out
        assert out["final_text"].startswith("MOCK-REPLY"), out
        assert out["tool_reason"] == f"failover: {tool} failed (rate_limit)", out
        sid = out["session_id"]
        ends = [e for e in rc.transcript(sid) if e["type"] == "turn_end"]
        assert [(e["tool"], e.get("failure")) for e in ends] == \
            [(tool, "rate_limit"), (nxt, None)], ends
        assert [(f["from"], f["to"], f["kind"]) for f in rc.state(sid)["failover"]] == \
            [(tool, nxt, "rate_limit")]
        failed = [r for r in rc.mock.requests if r.get("error")]
        assert failed and {r["api"] for r in failed} == {API[tool]}, failed
        print(f"[{tool}] rate limit classified from: {ends[0].get('errors')}")
