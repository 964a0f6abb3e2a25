"""`csa doctor`'s ACP check: start the agent, run `initialize` with a timeout, stop it.

    >>> probe(["goose", "acp"], env=os.environ, timeout=10)
    {'agent': 'goose', 'version': '1.9.0', 'protocol_version': 1, 'load_session': True}
    >>> probe(["python3", "-c", "pass"])
    AcpProbeError: initialize failed: the agent closed the connection (exit 0)

One line for every failure (not found, no answer in time, not an ACP agent).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Mapping

from csa.errors import CsaError


class AcpProbeError(CsaError):
    """The agent did not answer `initialize`; the message is one line."""


def probe(command: list[str], *, env: Mapping[str, str] | None = None, cwd: str | None = None,
          timeout: float = 10.0) -> dict:
    """What the agent says about itself in `initialize`; AcpProbeError otherwise."""
    try:
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=dict(env or os.environ), cwd=cwd,
                                start_new_session=True, close_fds=True)
    except OSError as e:
        raise AcpProbeError(f"cannot start {command[0]!r}: {e.strerror or e}") from None
    try:
        return asyncio.run(_initialize(proc, timeout))
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            try:
                pipe.close()  # type: ignore[union-attr]
            except OSError:
                pass


async def _initialize(proc: subprocess.Popen, timeout: float) -> dict:
    import acp

    from csa.acp.client import (
        close_quietly,
        error_text,
        initialize,
        open_streams,
        quiet_sdk_logging,
    )

    quiet_sdk_logging()
    reader, writer = await open_streams(proc.stdout, proc.stdin)
    conn = acp.connect_to_agent(_NoClient(), writer, reader)
    try:
        init = await initialize(conn, timeout)
    except TimeoutError:
        raise AcpProbeError(f"initialize failed: no answer within {timeout:g}s") from None
    except acp.RequestError as e:
        raise AcpProbeError(f"initialize failed: ACP error {e.code}: {error_text(e)}") from None
    except ConnectionError:
        rc = proc.poll()
        raise AcpProbeError("initialize failed: the agent closed the connection"
                            + (f" (exit {rc})" if rc is not None else "")
                            + _stderr_hint(proc)) from None
    finally:
        await close_quietly(conn)
    info = init.agent_info
    caps = init.agent_capabilities
    return {"agent": info.name if info else None, "version": info.version if info else None,
            "protocol_version": init.protocol_version,
            "load_session": bool(caps and caps.load_session)}


def _stderr_hint(proc: subprocess.Popen) -> str:
    """The agent's last stderr line, when it has exited (one line)."""
    if proc.poll() is None or proc.stderr is None:
        return ""
    try:
        lines = proc.stderr.read(4096).decode("utf-8", "replace").strip().splitlines()
    except OSError:
        return ""
    return f": {lines[-1][:160]}" if lines else ""


class _NoClient:
    """initialize needs no client methods."""


def configured(cfg) -> list[str]:
    """The tools the config runs over ACP (transport = "acp", or a command of their own)."""
    from csa.tools import canonical, is_builtin

    out = []
    for name in sorted(cfg.get("tools", {}) or {}):
        key = canonical(name)
        tcfg = cfg.tool(key)
        if tcfg.transport == "acp" or (tcfg.command and not is_builtin(key) and
                                       tcfg.transport != "headless"):
            out.append(key)
    return list(dict.fromkeys(out))


def check(name: str, cfg, cwd: str | None = None) -> dict:
    """doctor's row for ACP tool `name`: its command and what `initialize` said, or the
    one-line error."""
    from csa.acp.tool import acp_tool
    from csa.turn.choose import resolve_binary

    row: dict = {"tool": name, "command": None, "ok": False, "agent": None, "version": None,
                 "load_session": None, "error": None}
    try:
        tool = acp_tool(name, cfg)
        row["command"] = tool.command
        binary = resolve_binary(tool, cfg)
        env = {**os.environ, **tool.env(), **cfg.tool(name).env}
        timeout = min(float(cfg.get("acp.init_timeout", 60)), 15.0)
        row.update(probe([binary, *tool.command[1:]], env=env, cwd=cwd, timeout=timeout))
        row["ok"] = True
    except CsaError as e:
        row["error"] = e.message.splitlines()[0] if e.message else str(e)
    return row
