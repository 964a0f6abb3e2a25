"""csa over ACP with the REAL agents (claude-agent-acp, codex-acp, gemini --acp, opencode acp).

Each agent talks to tools/mock_llm.py on 127.0.0.1 inside the realcli network namespace
(conftest.py), with the same offline env as its headless CLI (tools/realcli_env.py). One
test per agent walks the whole life of an ACP session through `csa run`:

1. new turn (`--transport acp`): the transcript holds the ACP messages (initialize,
   session/new, session/update chunks, session/prompt end_turn), final text = the mock's;
2. resume by csa id (the transport is remembered): the agent's history reaches the mock
   (session/load where the agent can, else csa's rollover seeding);
3. Ctrl-C while the mock holds the model request: session/cancel, stopReason cancelled,
   exit 130, the session idle again and resumable;
4. a configured generic ACP tool (`[tools.acp-x] transport = "acp"`, `command = [...]`)
   runs a turn.

Marked `acp` (and `realcli`). Under CSA_REQUIRE_REAL_CLIS=1 (CI) a missing adapter fails.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from conftest import BIN_DIR, NPM, REQUIRE, TIMINGS, _unavailable, _wrap, make_realcli

if TYPE_CHECKING:
    from conftest import RealCli

pytestmark = pytest.mark.acp

# csa tool -> its ACP command (first word in the real-CLIs bin dir).
ACP_COMMANDS: dict[str, list[str]] = {
    "claude-code": ["claude-agent-acp"],
    "codex": ["codex-acp"],
    "gemini-cli": ["gemini", "--acp"],
    "opencode": ["opencode", "acp"],
}
TOOL_IDS = list(ACP_COMMANDS)
FIRST, SECOND, HELD, AFTER, GENERIC = ("first acp prompt", "second acp prompt",
                                       "hold on, acp", "after the cancel", "generic acp prompt")


def acp_command(tool: str) -> list[str]:
    cmd = ACP_COMMANDS[tool]
    binary = BIN_DIR / cmd[0]
    if not binary.exists():
        hint = "tools/install-real-clis" if NPM else "install npm, then tools/install-real-clis"
        _unavailable(f"the ACP agent {cmd[0]} is not installed in {BIN_DIR} ({hint})")
    return [str(binary), *cmd[1:]]


@pytest.fixture
def acpcli(tool: str, real_binary: Path, netns: Any, tmp_path: Path):
    """A RealCli whose tool has its ACP command configured, plus a generic `acp-<tool>`
    tool (no built-in behind it) running the same agent."""
    command = acp_command(tool)

    def configure(tools_cfg: dict, rc: RealCli) -> None:
        cfg = tools_cfg[tool]
        if tool == "claude-code":
            # claude-agent-acp runs the claude its SDK bundles unless told otherwise:
            # the installed one keeps headless and ACP turns on the same claude version.
            cfg["env"]["CLAUDE_CODE_EXECUTABLE"] = str(real_binary.resolve())
        cfg["command"] = command
        tools_cfg[f"acp-{tool}"] = {"transport": "acp", "command": command,
                                    "env": dict(cfg["env"])}

    with make_realcli({tool: real_binary}, netns, tmp_path, configure) as rc:
        rc.mock.keep_bodies = True
        yield rc


# --- helpers --------------------------------------------------------------------------

def acp_events(rc: RealCli, sid: str, after_seq: int = 0) -> list[dict]:
    """The ACP messages recorded in the transcript after `after_seq`."""
    return [e["event"] for e in rc.transcript(sid)
            if e.get("type") == "event" and e.get("seq", 0) > after_seq
            and isinstance(e.get("event"), dict) and e["event"].get("type") == "acp"]


def last_seq(rc: RealCli, sid: str) -> int:
    return max((e.get("seq", 0) for e in rc.transcript(sid)), default=0)


def methods(events: list[dict]) -> list[str]:
    return [e["method"] for e in events]


def main_request(rc: RealCli, mark: int) -> dict:
    """The turn's main model request since `mark`: the newest one offering tools
    (opencode's title request offers none)."""
    reqs = [r for r in rc.model_requests_since(mark)
            if isinstance(r.get("body"), dict) and r["body"].get("tools")]
    assert reqs, f"no model request with tools since {mark}: {rc.mock.requests[mark:]}"
    return reqs[-1]


def body_text(req: dict) -> str:
    return json.dumps(req["body"], ensure_ascii=False)


def interrupt_when_held(rc: RealCli, args: list[str], label: str) -> subprocess.CompletedProcess:
    """Run `csa ARGS`; SIGINT it (Ctrl-C) once the mock holds its model request."""
    holds = len(rc.mock.holds)
    start = time.monotonic()
    proc = subprocess.Popen(_wrap(rc.ns, [sys.executable, "-m", "csa", *args]), env=rc.env,
                            cwd=rc.project, text=True, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        while len(rc.mock.holds) == holds and proc.poll() is None \
                and time.monotonic() - start < 120:
            time.sleep(0.05)
        assert len(rc.mock.holds) > holds, f"{label}: the model request never came"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    TIMINGS.append((rc.tool, label, time.monotonic() - start, proc.returncode))
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


# --- the test --------------------------------------------------------------------------

@pytest.mark.timeout(900)  # five turns; opencode alone takes ~40 s a turn at load 30
@pytest.mark.parametrize("tool", TOOL_IDS)
def test_acp_session_life(tool: str, acpcli: RealCli) -> None:
    rc = acpcli

    # 1. new turn over ACP ----------------------------------------------------------
    mark = rc.mark()
    res = rc.csa("run", "--transport", "acp", "--tool", tool, FIRST, "--json", label="acp new")
    assert res.returncode == 0, "new: " + rc.explain(res)
    data = json.loads(res.stdout)
    sid, provider = data["session_id"], data["provider_session_id"]
    assert provider and data["status"] == "finished", data
    evs = acp_events(rc, sid)
    init = next(e for e in evs if e["method"] == "initialize")
    assert init["capabilities"].get("loadSession") is True, init
    assert "session/new" in methods(evs) and evs[-1]["method"] == "session/prompt", methods(evs)
    assert evs[-1]["stopReason"] == "end_turn", evs[-1]
    chunks = [e["update"] for e in evs if e["method"] == "session/update"
              and e["update"].get("sessionUpdate") == "agent_message_chunk"]
    req = main_request(rc, mark)
    assert req["user_turns"] == 1 and FIRST in body_text(req)
    assert data["final_text"] == req["reply"], (data["final_text"], req["reply"])
    assert "".join(c["content"]["text"] for c in chunks) == req["reply"]
    st = rc.state(sid)
    assert st["tools"][tool]["provider_session_id"] == provider
    assert st["tools"][tool].get("transport") == "acp", st["tools"][tool]

    # 2. resume: history reaches the mock --------------------------------------------
    mark, seq = rc.mark(), last_seq(rc, sid)
    res = rc.csa("run", "-s", sid, SECOND, label="acp resume")
    assert res.returncode == 0, "resume: " + rc.explain(res)
    evs = acp_events(rc, sid, seq)
    req = main_request(rc, mark)
    text = body_text(req)
    assert FIRST in text and SECOND in text and data["final_text"] in text, \
        f"resume: history missing from the model request ({methods(evs)})"
    if "session/load" in methods(evs):  # the agent's own conversation went on
        assert req["user_turns"] == 2, req["user_turns"]
        assert rc.state(sid)["tools"][tool]["provider_session_id"] == provider
    else:  # rollover: a new ACP session seeded with csa's transcript
        assert tool == "gemini-cli", f"{tool} did not load its session: {methods(evs)}"
        assert "session/new" in methods(evs), methods(evs)
    assert res.stdout.strip() == req["reply"]

    # 3. Ctrl-C mid-turn: session/cancel, a consistent session -------------------------
    seq = last_seq(rc, sid)
    rc.mock.script = [{"hold": 90, "when": HELD}]
    try:
        res = interrupt_when_held(rc, ["run", "-s", sid, HELD], "acp cancel")
    finally:
        rc.mock.script = None
    assert res.returncode == 130, "cancel: " + rc.explain(res)
    evs = acp_events(rc, sid, seq)
    assert "session/cancel" in methods(evs), methods(evs)
    prompts = [e for e in evs if e["method"] == "session/prompt"]
    assert prompts and prompts[-1]["stopReason"] == "cancelled", evs[-3:]
    st = rc.state(sid)
    assert st["phase"] != "running" and st["turn_count"] == 3, st
    mark = rc.mark()
    res = rc.csa("run", "-s", sid, AFTER, label="acp after cancel")
    assert res.returncode == 0, "after cancel: " + rc.explain(res)
    req = main_request(rc, mark)
    assert FIRST in body_text(req) and AFTER in body_text(req)
    assert res.stdout.strip() == req["reply"]

    # 4. a configured generic ACP tool ---------------------------------------------------
    mark = rc.mark()
    res = rc.csa("run", "--tool", f"acp-{tool}", GENERIC, "--json", label="acp generic")
    assert res.returncode == 0, "generic: " + rc.explain(res)
    data = json.loads(res.stdout)
    req = main_request(rc, mark)
    assert data["tool"] == f"acp-{tool}" and data["final_text"] == req["reply"], data
    assert req["user_turns"] == 1 and GENERIC in body_text(req)


def test_missing_adapter_is_required_in_ci(monkeypatch) -> None:
    """CI (CSA_REQUIRE_REAL_CLIS=1) must fail, not skip, when an adapter is missing."""
    import conftest

    monkeypatch.setattr(sys.modules[__name__], "BIN_DIR", Path("/nonexistent"))
    outcome = pytest.fail.Exception if REQUIRE else pytest.skip.Exception
    with pytest.raises(outcome):
        acp_command("codex")
    assert conftest.REQUIRE is REQUIRE
