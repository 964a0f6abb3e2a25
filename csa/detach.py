"""`csa run --detach`, `csa session wait` and `csa session kill`: runs that outlive the caller.

    >>> sid = start_detached(RunRequest(prompt="long refactor", tool="codex"))
    >>> wait_for_run(store.resolve(sid), timeout=600)  # blocks; returns the result
    >>> kill_run(store.resolve(sid))                    # SIGTERM, then SIGKILL after a grace

A detached run is an ordinary `csa run` started in its own session (so closing the
parent's shell does not stop it). It reports its session id back through a pipe
once state.toml is durable, then writes its own output to `output/detached.log`.
This is what a parent agent whose shell commands have a time limit needs.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import tempfile
import time

from csa.errors import CsaError, UsageError
from csa.lock import pid_alive
from csa.perms import user_umask
from csa.session import Session

HANDSHAKE_ENV = "CSA_DETACH_FD"
LOG_NAME = "detached.log"


def _argv(req) -> list[str]:
    argv = [sys.executable, "-m", "csa", "run"]
    for flag, value in (("--tool", req.tool), ("--model", req.model),
                        ("--description", req.description), ("--cd", req.cd),
                        ("--session", req.session), ("--name", req.name),
                        ("--timeout", req.timeout), ("--idle-timeout", req.idle_timeout),
                        ("--transport", getattr(req, "transport", None)),
                        ("--goal", req.goal)):
        if value is not None:
            argv += [flag, str(value)]
    if req.last:
        argv.append("--last")
    if req.ephemeral:
        raise UsageError("--detach cannot be combined with --ephemeral (nothing would be left "
                       "to wait for)")
    if req.wait_slot is True:
        argv.append("--wait")
    elif req.wait_slot:
        argv += ["--wait-timeout", repr(float(req.wait_slot))]
    if req.with_journal is not None:
        argv.append("--with-journal" if req.with_journal else "--no-journal")
    for task in req.tasks:
        argv += ["--task", task]
    if req.failover is not None:
        argv += ["--failover", ",".join(req.failover)]
    if req.worktree is not None:
        argv.append(f"--worktree={req.worktree}")  # "=": the value may be empty
    return argv + ["-"]


def start_detached(req, timeout: float = 30.0) -> str:
    """Start the run in the background; return its session id once it is durable."""
    read_fd, write_fd = os.pipe()
    errfile = tempfile.TemporaryFile()
    env = dict(os.environ)
    env[HANDSHAKE_ENV] = str(write_fd)
    proc = subprocess.Popen(_argv(req), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=errfile, env=env, start_new_session=True,
                            pass_fds=(write_fd,), cwd=os.getcwd(), umask=user_umask())
    os.close(write_fd)
    assert proc.stdin is not None
    try:
        proc.stdin.write(req.prompt.encode())
        proc.stdin.close()
    except BrokenPipeError:
        pass
    data = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([read_fd], [], [], 0.2)
            if ready:
                chunk = os.read(read_fd, 64)
                if not chunk:
                    break
                data += chunk
                if b"\n" in data:
                    break
            elif proc.poll() is not None:
                break
    finally:
        os.close(read_fd)
    sid = data.decode().strip()
    if sid:
        return sid
    code = proc.wait(timeout=max(0.1, deadline - time.monotonic())) if proc.poll() is None \
        else proc.returncode
    errfile.seek(0)
    message = errfile.read().decode(errors="replace").strip() or "the detached run failed"
    raise CsaError(message, exit_code=code or 1)


def handshake(session: Session) -> None:
    """In the detached child: report the id, then send our output to output/detached.log."""
    fd_text = os.environ.pop(HANDSHAKE_ENV, None)
    if not fd_text:
        return
    from csa.safeio import open_append

    log = open_append(session.ensure_output_dir() / LOG_NAME)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    try:
        fd = int(fd_text)
        os.write(fd, session.id.encode() + b"\n")
        os.close(fd)
    except (ValueError, OSError):
        pass


def wait_for_run(session: Session, timeout: float | None = None,
                 poll: float = 0.2) -> dict | None:
    """Block until no process holds the session's lock; None on timeout."""
    if not _released(session, timeout, poll):
        return None
    session.load()  # reconciles a run that died
    return session.read_result() or {}


def kill_run(session: Session, grace: float = 5.0) -> dict:
    """Stop a session's running tool so that its turn is still recorded.

    SIGTERM to the session's csa (it forwards to the tool's process group); after
    `grace`, SIGKILL to the tool's group (csa then records the turn as interrupted);
    only if csa itself does not finish after another grace is it killed too (the
    run is then reconciled as `died` on the next read).
    """
    holder = session.holder()
    if holder is None:
        session.reconcile()  # a turn whose csa died: what is left of it is stopped
        raise CsaError(f"Session {session.id} is not running")
    pid, pgid = holder.get("pid"), holder.get("tool_pgid")
    csa_alive = pid_alive(pid, holder.get("pid_start"))
    if csa_alive:
        os.kill(pid, signal.SIGTERM)
    elif pgid:
        _killpg(pgid, signal.SIGTERM)
    forced = not _released(session, grace)
    if forced:
        if pgid:
            _killpg(pgid, signal.SIGKILL)
        if not _released(session, grace) and pid_alive(pid, holder.get("pid_start")):
            os.kill(pid, signal.SIGKILL)
            _released(session, grace)
    return {"session_id": session.id, "pid": pid, "forced": forced,
            "stopped": not session.is_alive()}


def _released(session: Session, timeout: float | None, poll: float = 0.05) -> bool:
    """Wait until no process holds the session's lock; False if `timeout` passed first."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while session.is_alive():
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(poll)
    return True


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
