"""AcpProcess: an ACP agent's process and csa's client thread, as the relay sees a Popen.

    >>> turn.proc = attach(turn, popen, cwd)   # in csa.turn.spawn.start, right after Popen
    >>> turn.proc.stdout                       # the ACP events, one JSON line each
    >>> turn.proc.soft_stop("timed out after 600s")   # session/cancel (relay: timeout, ^C)

The agent runs in its own process group like any tool (csa.turn.spawn), with stdin and
stdout piped to the client thread (an asyncio loop running csa.acp.client.drive). The
thread writes each ACP message worth keeping to a pipe that stands in for the tool's
stdout, so the relay records, redacts, flushes and heartbeats it exactly as a headless
tool's output; the agent's stderr goes to the relay unchanged. `pid` is the agent's (the
lock and run records name it; recovery stops its group). The "process" ends when the
prompt has been answered and the agent, its stdin closed, has exited (or was stopped
after SHUTDOWN_S): `returncode` is then the turn's exit code.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from typing import TYPE_CHECKING

from csa.acp import events
from csa.acp.client import Control, Job

if TYPE_CHECKING:
    from csa.turn.pipeline import Turn

SHUTDOWN_S = 1.0  # after the prompt: how long the agent may take to exit on its own
# After session/cancel: how long the agent may take to answer the prompt (`cancelled`)
# before the relay kills its group. opencode 1.18 needs several seconds under load.
CANCEL_GRACE_S = 10.0


class AcpProcess:
    """See the module docstring. Only the Popen methods the relay and spawn use."""

    def __init__(self, proc: subprocess.Popen, job: Job):
        self._proc = proc
        self.job = job
        self.pid = proc.pid
        self.args = proc.args
        self.stderr = proc.stderr
        self.stdin = None
        read_fd, self._events_fd = os.pipe()
        self.stdout = os.fdopen(read_fd, "rb", buffering=0)
        self.returncode: int | None = None
        self.control = Control()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._main, name="csa-acp", daemon=True)

    def start(self) -> AcpProcess:
        self._thread.start()
        return self

    # -- what the relay calls ------------------------------------------------------------

    stop_grace = CANCEL_GRACE_S  # read by the relay after soft_stop

    def soft_stop(self, reason: str) -> None:
        """Ask the agent to stop the prompt (session/cancel); the relay's kill grace
        stops its group if it does not."""
        self.control.cancel(reason)

    def poll(self) -> int | None:
        return self.returncode if self._done.is_set() else None

    def wait(self, timeout: float | None = None) -> int:
        if not self._done.wait(timeout):
            raise subprocess.TimeoutExpired(self.args, timeout)
        assert self.returncode is not None
        return self.returncode

    def kill(self) -> None:
        _kill_group(self.pid, signal.SIGKILL)

    # -- the client thread -----------------------------------------------------------------

    def _emit(self, obj: dict) -> None:
        data = events.dumps(obj)
        try:
            while data:
                data = data[os.write(self._events_fd, data):]
        except OSError:  # the relay stopped reading: nothing left to record into
            pass

    def _main(self) -> None:
        import asyncio

        from csa.acp.client import drive

        code = 1
        try:
            code = asyncio.run(drive(self.job, self._proc.stdout, self._proc.stdin,
                                     self._emit, self.control))
        except Exception as e:  # noqa: BLE001 - reported in the transcript, never a traceback
            self._emit(events.event("error", message=f"ACP client failed: "
                                                     f"{type(e).__name__}: {e}"))
        finally:
            agent_rc = self._shutdown()
            if code != 0 and agent_rc not in (0, None) and agent_rc > 0:
                code = agent_rc  # the agent failed: its own exit status says more
            self.returncode = code
            os.close(self._events_fd)
            self._done.set()

    def _shutdown(self) -> int | None:
        """Close the agent's stdin and let it exit; stop its group if it does not."""
        proc = self._proc
        for pipe in (proc.stdin, proc.stdout):
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:
                pass
        for sig in (None, signal.SIGTERM, signal.SIGKILL):
            if sig is not None:
                _kill_group(proc.pid, sig)
            try:
                return proc.wait(timeout=SHUTDOWN_S)
            except subprocess.TimeoutExpired:
                continue
        return proc.wait()


def _kill_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def attach(turn: Turn, proc: subprocess.Popen, cwd: str) -> AcpProcess:
    """Start the client thread for the turn's agent, just spawned as `proc`."""
    spec = turn.spec
    assert spec is not None
    job = Job(cwd=cwd, prompt=spec.prompt, resume_id=spec.provider_session_id,
              model=spec.model, permissions=permissions(turn.cfg, turn.tool.name),
              init_timeout=float(turn.cfg.get("acp.init_timeout", 60)),
              seed=lambda notes: _seeded(turn, notes),
              on_unanswered=_unanswered_warning(turn))
    return AcpProcess(proc, job).start()


def permissions(cfg, tool: str) -> str | None:
    """The permission policy: tools.<tool>.permissions, else acp.permissions, else None."""
    return cfg.tool(tool).permissions or cfg.get("acp.permissions")


def _unanswered_warning(turn: Turn):
    """Says once per turn, on stderr, that a request was denied for want of a policy."""
    said: list[bool] = []

    def warn(call: dict) -> None:
        if not said:
            said.append(True)
            what = call.get("title") or call.get("kind") or "a tool call"
            turn.options.say(f"csa: {turn.tool.name} asked permission for {str(what)[:80]!r}; "
                             "denied (no policy: set acp.permissions = \"allow\", "
                             "\"allow-read\" or \"deny\")")
    return warn


def _seeded(turn: Turn, notes: list[str]) -> str:
    """The prompt preceded by this session's earlier turns (the agent cannot load them)."""
    from csa.fork import seed_prompt

    upto = turn.prompt_seq - 1 if isinstance(turn.prompt_seq, int) else None
    started = time.monotonic()
    prompt = seed_prompt(turn.session, upto, turn.prompt, notes)
    notes.append(f"seeded the new ACP session with this session's history "
                 f"({time.monotonic() - started:.2f}s to read)")
    return prompt
