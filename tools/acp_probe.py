"""Drive the real ACP agents by hand against tools/mock_llm.py and print what they do.

For each agent: ``initialize`` (capabilities, auth methods), ``session/new``,
``session/prompt`` (updates, stop reason, wall time), then in a NEW agent process
``session/load`` (replayed updates) and a second prompt whose request must carry
the history (the mock counts user turns), then a prompt that the mock holds and a
``session/cancel`` (stop reason), and one more prompt to see the session is usable.

Run it inside a private network namespace (root on Linux) so a stray request fails::

    python3 tools/acp_probe.py --netns claude codex gemini opencode
    python3 tools/acp_probe.py --json out.json gemini     # the findings as JSON too
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tools/ is not a package

import realcli_env  # noqa: E402
from mock_llm import MockLLM  # noqa: E402

AGENTS = ("claude", "codex", "gemini", "opencode")


def acp_command(agent: str, bin_dir: Path) -> list[str]:
    """The argv that starts ``agent`` as an ACP agent on stdio.

    Example: ``acp_command("gemini", bin_dir) -> [".../gemini", "--acp"]``
    """
    return {
        "claude": [str(bin_dir / "claude-agent-acp")],
        "codex": [str(bin_dir / "codex-acp")],
        "gemini": [str(bin_dir / "gemini"), "--acp"],
        "opencode": [str(bin_dir / "opencode"), "acp"],
    }[agent]


def acp_env(agent: str, mock: Any, home: Path, bin_dir: Path) -> dict[str, str]:
    """The env that points ``agent``'s ACP mode at the mock (headless env plus ACP extras).

    claude-agent-acp runs the claude CLI that its SDK bundles unless
    CLAUDE_CODE_EXECUTABLE names another: point it at the installed claude so
    headless and ACP turns run the same claude version.
    """
    env, _args, _files = realcli_env.prepare(agent, mock, home)
    env = {**realcli_env.minimal_env(bin_dir), **env}
    if agent == "claude" and os.environ.get("ACP_PROBE_BUNDLED_CLAUDE") != "1":
        env["CLAUDE_CODE_EXECUTABLE"] = str((bin_dir / "claude").resolve())
    return env


class Recorder:
    """An ACP client that records every update and answers permission requests "allow"."""

    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []
        self.permissions: list[dict[str, Any]] = []

    async def session_update(self, session_id: str, update: Any, **_: Any) -> None:
        self.updates.append(update.model_dump(by_alias=True, exclude_none=True))

    async def request_permission(self, session_id: str, tool_call: Any, options: list,
                                 **_: Any) -> Any:
        from acp.schema import AllowedOutcome, RequestPermissionResponse

        self.permissions.append({"tool_call": tool_call.model_dump(by_alias=True,
                                                                   exclude_none=True),
                                 "options": [o.model_dump(by_alias=True) for o in options]})
        allow = next((o for o in options if o.kind.startswith("allow")), options[0])
        return RequestPermissionResponse(
            outcome=AllowedOutcome(outcome="selected", option_id=allow.option_id))

    def kinds(self, start: int = 0) -> dict[str, int]:
        out: dict[str, int] = {}
        for u in self.updates[start:]:
            out[u.get("sessionUpdate", "?")] = out.get(u.get("sessionUpdate", "?"), 0) + 1
        return out

    def text(self, start: int = 0) -> str:
        return "".join(u["content"].get("text", "") for u in self.updates[start:]
                       if u.get("sessionUpdate") == "agent_message_chunk")


async def _prompt(conn: Any, rec: Recorder, mock: MockLLM, sid: str, text: str,
                  cancel_after: float | None = None) -> dict[str, Any]:
    from acp import text_block

    start_u, start_r, t0 = len(rec.updates), len(mock.requests), time.monotonic()
    holds = len(mock.holds)
    task = asyncio.ensure_future(conn.prompt(session_id=sid, prompt=[text_block(text)]))
    if cancel_after is not None:  # cancel once the mock holds the model request
        while len(mock.holds) == holds and not task.done() and time.monotonic() - t0 < 60:
            await asyncio.sleep(0.05)
        await asyncio.sleep(cancel_after)
        await conn.cancel(session_id=sid)
    resp = await asyncio.wait_for(task, 120)
    reqs = [r for r in mock.requests[start_r:] if "n" in r]
    return {"stop": resp.stop_reason, "secs": round(time.monotonic() - t0, 2),
            "usage": resp.usage.model_dump(exclude_none=True) if resp.usage else None,
            "updates": rec.kinds(start_u), "text": rec.text(start_u),
            "requests": [(r["path"], r.get("user_turns"), r.get("status")) for r in reqs],
            "first_body_bytes": len(json.dumps(reqs[0].get("body"))) if reqs else None}


class Agent:
    """An ACP agent process in its own process group, and the SDK connection to it."""

    def __init__(self, proc: Any, conn: Any) -> None:
        self.proc, self.conn = proc, conn

    async def close(self, grace: float = 1.0) -> float:
        """Close stdin; SIGTERM (then SIGKILL) the group after `grace` s. Returns seconds.

        claude-agent-acp and codex-acp (a node launcher around a native binary) do not
        exit on EOF, so the whole group is signalled, as csa does.
        """
        import signal

        t0 = time.monotonic()
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        for sig in (None, signal.SIGTERM, signal.SIGKILL):
            if sig is not None:
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    pass
            try:
                await asyncio.wait_for(self.proc.wait(), grace)
                break
            except TimeoutError:
                continue
        await self.conn.close()
        return time.monotonic() - t0


async def _start(agent: str, env: dict, project: Path, bin_dir: Path, rec: Recorder,
                 stderr: Any = None) -> tuple[Agent, Any, float]:
    """Spawn `agent`, run `initialize`; return (agent, initialize response, seconds)."""
    from acp import PROTOCOL_VERSION, connect_to_agent
    from acp.schema import ClientCapabilities, FileSystemCapabilities, Implementation

    cmd = acp_command(agent, bin_dir)
    t0 = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=stderr if stderr is not None else asyncio.subprocess.DEVNULL, env=env,
        cwd=project, start_new_session=True, limit=50 * 1024 * 1024)
    conn = connect_to_agent(rec, proc.stdin, proc.stdout)
    init = await asyncio.wait_for(conn.initialize(
        protocol_version=PROTOCOL_VERSION,
        client_capabilities=ClientCapabilities(fs=FileSystemCapabilities(), terminal=False),
        client_info=Implementation(name="csa-probe", version="0")), 60)
    return Agent(proc, conn), init, round(time.monotonic() - t0, 2)


async def probe(agent: str, bin_dir: Path, root: Path) -> dict[str, Any]:
    """Run the whole probe for one agent; return its findings."""
    home, project = root / agent / "home", root / agent / "proj"
    project.mkdir(parents=True)
    out: dict[str, Any] = {"agent": agent, "command": acp_command(agent, bin_dir)}
    with MockLLM(keep_bodies=True) as mock:
        env = acp_env(agent, mock, home, bin_dir)
        rec = Recorder()
        log = (root / agent / "stderr.log").open("ab")
        ag, init, out["init_secs"] = await _start(agent, env, project, bin_dir, rec, log)
        conn = ag.conn
        out["initialize"] = init.model_dump(by_alias=True, exclude_none=True)
        try:
            new = await asyncio.wait_for(conn.new_session(cwd=str(project), mcp_servers=[]), 60)
            sid = out["session_id"] = new.session_id
            out["new_session"] = new.model_dump(by_alias=True, exclude_none=True)
            out["turn1"] = await _prompt(conn, rec, mock, sid, "hello")
        finally:
            out["close_secs"] = round(await ag.close(), 2)
        rec = Recorder()
        ag, _init, _ = await _start(agent, env, project, bin_dir, rec, log)
        conn = ag.conn
        try:
            if init.agent_capabilities and init.agent_capabilities.load_session:
                t0 = time.monotonic()
                await asyncio.wait_for(conn.load_session(cwd=str(project), session_id=sid,
                                                         mcp_servers=[]), 60)
                await asyncio.sleep(0.3)  # replayed updates may trail the response
                out["load"] = {"secs": round(time.monotonic() - t0, 2),
                               "replayed": rec.kinds(), "text": rec.text()}
            out["turn2"] = await _prompt(conn, rec, mock, sid, "second")
            mock.script = [{"hold": 60, "when": "hold on"}]
            out["cancel"] = await _prompt(conn, rec, mock, sid, "hold on", cancel_after=0.5)
            mock.script = None
            out["after_cancel"] = await _prompt(conn, rec, mock, sid, "after cancel")
        except Exception as exc:  # noqa: BLE001 - a probe reports, never stops
            out["error"] = f"{type(exc).__name__}: {exc} {getattr(exc, 'data', '')}"
        finally:
            await ag.close()
        out["permissions"] = rec.permissions
        out["stray"] = [r["path"] for r in mock.requests if r["api"] == "unknown"]
        log.close()
        out["stderr_tail"] = (root / agent / "stderr.log").read_text(errors="replace")[-3000:]
    return out


def bin_dir_for(script: str, args: Any, argv: list[str] | None) -> Path:
    """The real CLIs' bin dir; with `--netns`, first re-exec `script` inside `unshare -n`
    (the mock then runs in that namespace too, so a stray request fails at once)."""
    if args.netns:
        argv2 = [a for a in (argv or sys.argv[1:]) if a != "--netns"]
        cmd = realcli_env.netns_wrap([sys.executable, script, *argv2])
        os.execvp(cmd[0], cmd)
    return Path(os.environ.get("CSA_REAL_CLIS_BIN") or realcli_env.real_clis_bin())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("agents", nargs="*", default=list(AGENTS))
    ap.add_argument("--netns", action="store_true", help="re-run inside `unshare -n`")
    ap.add_argument("--json", help="also write the findings to this file")
    ap.add_argument("--keep", help="work in this dir (kept) instead of a temp dir")
    args = ap.parse_args(argv)
    bin_dir = bin_dir_for(__file__, args, argv)
    found = []
    with tempfile.TemporaryDirectory(prefix="acp-probe-") as tmp:
        tmp = args.keep or tmp
        for agent in args.agents:
            try:
                res = asyncio.run(probe(agent, bin_dir, Path(tmp)))
            except Exception as exc:  # noqa: BLE001
                res = {"agent": agent, "error": f"{type(exc).__name__}: {exc}"}
            found.append(res)
            print(json.dumps(res, indent=1, default=str)[:20000], flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(found, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
