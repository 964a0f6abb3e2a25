#!/usr/bin/env python3
"""A small ACP agent for csa's tests, built on the agent side of the agent-client-protocol SDK.

    [tools.fake-acp]                       # csa config: any ACP agent is a tool
    transport = "acp"
    command = ["python3", "tools/fake_acp_agent.py"]

It speaks ACP on stdio like a real agent: `initialize` (loadSession unless
FAKE_ACP_NO_LOAD), `session/new`, `session/load` (replays the stored history as
user/agent message chunks), `session/prompt` and `session/cancel`. A prompt streams a
tool call (kind read, then completed), the reply in two agent_message_chunk updates and a
usage_update (cost), and answers with stopReason end_turn and the turn's usage.
Sessions persist as JSON under $FAKE_ACP_HOME, else $HOME/.fake-acp-agent, so a resume
in a new process sees the history: the reply is `FAKE-ACP-REPLY (user turns seen: N)
<prompt>`, N counting this session's user turns including this one.

Switches (environment, like tools/fake_clis):
    FAKE_SLEEP=S            wait S seconds before replying (a session/cancel ends the
                            wait: stopReason cancelled, the turn kept in the history)
    FAKE_ACP_PERMISSION=K   ask permission for a tool call of kind K (read, edit, execute...)
                            before replying; the reply says `permission=<optionId|cancelled>`
    FAKE_SECRET=TEXT        put TEXT in the agent's message, cut across two chunks
                            (redaction tests)
    FAKE_PRINT_ENV=1        put the CSA_* environment in the reply
    FAKE_ACP_NO_LOAD=1      do not advertise loadSession
    FAKE_ACP_CANCEL_DELAY=S take S seconds to wind down after session/cancel (opencode
                            under load takes several)
    FAKE_ACP_LATE_REPLAY=1  answer session/load first and replay the history after it, as
                            gemini-cli 0.61 does (the protocol says before)
    FAKE_ACP_INIT_SLEEP=S   wait S seconds before answering initialize
    FAKE_STDERR=TEXT        print TEXT on stderr at start
    FAKE_ACP_LOG=PATH       append one JSON line per request (method, session id, CSA_* env)
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import acp
from acp import schema

OPTIONS = [schema.PermissionOption(option_id=f"{k}-id", name=k.replace("_", " "), kind=k)
           for k in ("allow_once", "allow_always", "reject_once", "reject_always")]


def env_seconds(name: str) -> float:
    try:
        return float(os.environ.get(name) or 0)
    except ValueError:
        return 0.0


def store_dir() -> Path:
    home = os.environ.get("FAKE_ACP_HOME") or os.path.join(os.path.expanduser("~"),
                                                           ".fake-acp-agent")
    path = Path(home)
    path.mkdir(parents=True, exist_ok=True)
    return path


def log(method: str, **fields: Any) -> None:
    path = os.environ.get("FAKE_ACP_LOG")
    if path:
        entry = {"method": method, "pid": os.getpid(), "time": time.time(), **fields,
                 "env": {k: v for k, v in os.environ.items() if k.startswith("CSA_")}}
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")


class FakeAgent:
    """The acp.Agent methods csa uses."""

    def __init__(self) -> None:
        self.conn: Any = None
        self.cancelled: dict[str, asyncio.Event] = {}

    def on_connect(self, conn: Any) -> None:
        self.conn = conn

    # -- sessions ------------------------------------------------------------------------

    def _path(self, sid: str) -> Path:
        return store_dir() / f"{sid}.json"

    def _load(self, sid: str) -> dict | None:
        try:
            return json.loads(self._path(sid).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def _save(self, sid: str, rec: dict) -> None:
        tmp = self._path(sid).with_suffix(".tmp")
        tmp.write_text(json.dumps(rec), encoding="utf-8")
        os.replace(tmp, self._path(sid))

    async def initialize(self, protocol_version: int, client_capabilities: Any = None,
                         client_info: Any = None, **kwargs: Any) -> schema.InitializeResponse:
        log("initialize", client=client_info.name if client_info else None,
            fs=bool(client_capabilities and client_capabilities.fs
                    and client_capabilities.fs.read_text_file),
            terminal=bool(client_capabilities and client_capabilities.terminal))
        await asyncio.sleep(env_seconds("FAKE_ACP_INIT_SLEEP"))
        return schema.InitializeResponse(
            protocol_version=acp.PROTOCOL_VERSION,
            agent_capabilities=schema.AgentCapabilities(
                load_session=not os.environ.get("FAKE_ACP_NO_LOAD")),
            agent_info=schema.Implementation(name="fake-acp-agent", version="0.1.0"))

    async def new_session(self, cwd: str, mcp_servers: Any = None,
                          **kwargs: Any) -> schema.NewSessionResponse:
        sid = f"fake-{uuid.uuid4().hex}"
        self._save(sid, {"cwd": cwd, "turns": []})
        log("session/new", sessionId=sid, cwd=cwd)
        return schema.NewSessionResponse(session_id=sid)

    async def load_session(self, cwd: str, session_id: str, mcp_servers: Any = None,
                           **kwargs: Any) -> schema.LoadSessionResponse:
        rec = self._load(session_id)
        log("session/load", sessionId=session_id, cwd=cwd, found=rec is not None)
        if rec is None:
            raise acp.RequestError.resource_not_found(session_id)
        if os.environ.get("FAKE_ACP_LATE_REPLAY"):
            self.late = asyncio.ensure_future(self._replay(session_id, rec))
        else:
            await self._replay(session_id, rec)
        return schema.LoadSessionResponse()

    async def _replay(self, session_id: str, rec: dict) -> None:
        for turn in rec["turns"]:
            await self.conn.session_update(session_id, acp.update_user_message_text(turn["user"]))
            await self.conn.session_update(session_id,
                                           acp.update_agent_message_text(turn["reply"]))

    async def cancel(self, session_id: str, **kwargs: Any) -> None:
        log("session/cancel", sessionId=session_id)
        self.cancelled.setdefault(session_id, asyncio.Event()).set()

    # -- the prompt ------------------------------------------------------------------------

    async def prompt(self, session_id: str, prompt: list, **kwargs: Any) -> schema.PromptResponse:
        rec = self._load(session_id)
        if rec is None:
            raise acp.RequestError.resource_not_found(session_id)
        text = "".join(getattr(b, "text", "") for b in prompt)
        log("session/prompt", sessionId=session_id, prompt=text)
        rec["turns"].append({"user": text, "reply": ""})
        self._save(session_id, rec)  # the user turn is stored before anything else
        n = len(rec["turns"])
        cancel = self.cancelled.setdefault(session_id, asyncio.Event())
        cancel.clear()
        send = self.conn.session_update
        await send(session_id, acp.start_read_tool_call("call-1", "Read README.md",
                                                        "README.md"))
        await send(session_id, acp.update_tool_call("call-1", status="completed",
                                                    raw_output={"bytes": 42}))
        extras = await self._extras(session_id)
        if await self._wait(cancel):
            rec["turns"][-1]["reply"] = "(cancelled)"
            self._save(session_id, rec)
            return schema.PromptResponse(stop_reason="cancelled")
        reply = f"FAKE-ACP-REPLY (user turns seen: {n}) {text[:200]}{extras}"
        half = len(reply) // 2
        await send(session_id, acp.update_agent_message_text(reply[:half]))
        await send(session_id, acp.update_agent_message_text(reply[half:]))
        await send(session_id, schema.UsageUpdate(
            session_update="usage_update", used=100 * n, size=200_000,
            cost=schema.Cost(amount=round(0.001 * n * (n + 1) / 2, 6), currency="USD")))
        rec["turns"][-1]["reply"] = reply
        self._save(session_id, rec)
        return schema.PromptResponse(stop_reason="end_turn", usage=schema.Usage(
            input_tokens=10 * n, output_tokens=5, total_tokens=10 * n + 5))

    async def _extras(self, session_id: str) -> str:
        """The permission answer, the secret, the environment: what the reply reports."""
        out = ""
        kind = os.environ.get("FAKE_ACP_PERMISSION")
        if kind:
            call = schema.ToolCallUpdate(tool_call_id="call-2", title=f"Do a {kind} thing",
                                         kind=kind, status="pending")
            resp = await self.conn.request_permission(session_id=session_id, tool_call=call,
                                                      options=OPTIONS)
            out += f" permission={getattr(resp.outcome, 'option_id', None) or 'cancelled'}"
        secret = os.environ.get("FAKE_SECRET")
        if secret:  # cut across two chunks: only the two read together show the secret
            half = len(secret) // 2
            for part in (f"key {secret[:half]}", f"{secret[half:]} end. "):
                await self.conn.session_update(session_id, acp.update_agent_message_text(part))
        if os.environ.get("FAKE_PRINT_ENV"):
            env = {k: v for k, v in sorted(os.environ.items()) if k.startswith("CSA_")}
            out += " env=" + json.dumps(env, sort_keys=True)
        return out

    @staticmethod
    async def _wait(cancel: asyncio.Event) -> bool:
        """FAKE_SLEEP, ended early by session/cancel; True when cancelled."""
        try:
            await asyncio.wait_for(cancel.wait(), env_seconds("FAKE_SLEEP"))
        except TimeoutError:
            pass
        if cancel.is_set():
            await asyncio.sleep(env_seconds("FAKE_ACP_CANCEL_DELAY"))
        return cancel.is_set()


def main() -> None:
    if "--version" in sys.argv[1:]:
        print("fake-acp-agent 0.1.0")
        return
    if os.environ.get("FAKE_STDERR"):
        print(os.environ["FAKE_STDERR"], file=sys.stderr, flush=True)
    asyncio.run(acp.run_agent(FakeAgent()))


if __name__ == "__main__":
    main()
