"""What runs on a Ray worker: the node check before a batch, and one task.

    >>> check_node({"token": "a1b2", "project": "/work/proj", "cwd": "/work/proj"})
    {'node_id': '5f3c...', 'hostname': 'gpu-2', 'error': None}
    >>> run_task(spec)          # `csa run --session CHILD` on this node; a Completion

No Ray import at the top: the executor wraps these functions with `ray.remote`, and
they only ask Ray's runtime context which node they are on.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess

from csa.batch.executor import Completion, TaskSpec, stderr_tail

PR_SET_PDEATHSIG = 1
TOKEN_DIR = "batch-checks"  # under the state base: <base>/batch-checks/<token>


def node() -> dict:
    """This worker's Ray node id and hostname."""
    import ray

    return {"node_id": ray.get_runtime_context().get_node_id(), "hostname": socket.gethostname()}


def check_node(probe: dict) -> dict:
    """Can a task run here? The state dir this node's csa resolves holds the driver's
    token (the same storage, not a same-named local dir) and is writable; the project
    and the working directory exist."""
    from csa.paths import state_base

    out = {**node(), "error": None}
    base = state_base()
    token = base / TOKEN_DIR / probe["token"]
    try:
        if not token.is_file():
            out["error"] = (f"its state dir {base} is not the one csa batch uses "
                            f"({probe['base']}): the state dir must be shared storage that "
                            "every node resolves (CSA_STATE_DIR in the environment of "
                            "`ray start` on each node)")
            return out
        probe_file = base / TOKEN_DIR / f"{probe['token']}.{out['node_id'][:12]}"
        probe_file.write_text("ok")
        probe_file.unlink()
    except OSError as e:
        out["error"] = f"cannot write its state dir {base}: {e.strerror or e}"
        return out
    for what in ("project", "cwd"):
        if not os.path.isdir(probe[what]):
            out["error"] = f"the {what} directory {probe[what]} does not exist there"
    return out


def run_task(spec: TaskSpec) -> Completion:
    """Run the task's `csa run` here; it dies with this worker (a dead node's task is
    retried by Ray and resumes the same session). Ray's cancel interrupts it cleanly."""
    where = node()
    if cancelled(spec):
        return Completion(spec.key, None, error="cancelled", node=where)
    record_node(spec, where)
    proc = subprocess.Popen(spec.argv, cwd=spec.cwd, env={**os.environ, **spec.env},
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, preexec_fn=die_with_parent)
    data: bytes | None = spec.prompt.encode()
    interrupted = False
    while True:
        try:
            # In slices, to see the batch's cancel file (and Ray's KeyboardInterrupt,
            # raised only between bytecodes).
            out, err = proc.communicate(data, timeout=0.5)
            break
        except subprocess.TimeoutExpired:
            data = None  # sent already (communicate keeps what is left to write)
            if not interrupted and cancelled(spec):
                interrupted = True  # csa run records the turn as interrupted
                proc.send_signal(signal.SIGINT)
        except KeyboardInterrupt:  # ray.cancel
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate()
            break
    return Completion(spec.key, proc.returncode, out.decode("utf-8", "replace"),
                      stderr_tail(err.decode("utf-8", "replace")), node=where)


def cancelled(spec: TaskSpec) -> bool:
    return bool(spec.cancel_file) and os.path.exists(spec.cancel_file)


def die_with_parent() -> None:
    """In the forked child: SIGKILL when the worker dies, as on a node that goes down."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def record_node(spec: TaskSpec, where: dict) -> None:
    """Append this attempt's node to the child's state (`[[ray_attempts]]`); a turn a
    dead node left "running" is marked died first (Session.load reconciles)."""
    from csa.state import utcnow
    from csa.store import Store

    session = Store.open(spec.project).session(spec.session_id)
    session.load()
    with session.try_lock(reason="batch") as lock:
        if lock is None:
            return
        state = session.read_state()
        attempts = list(state.extra.get("ray_attempts", []))
        attempts.append({**where, "started_at": utcnow(),
                         "after": state.run.status if state.run else "new"})
        state.extra["ray_attempts"] = attempts
        session.save(state)
