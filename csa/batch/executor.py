"""The executor interface: an engine that runs a batch's tasks and reports each one's end.

    >>> ex = LocalExecutor(parallel=8, tool_limits={"codex": 2})
    >>> ex.submit(spec)                      # a TaskSpec: the `csa run` of one task
    >>> for done in ex.completions():        # in the order tasks finish
    ...     print(done.key, done.exit_code)
    >>> ex.cancel()                          # Ctrl-C: interrupt running tasks, drop queued ones
    >>> ex.close()

The batch driver (csa.batch.driver) decides what runs — it creates each task's child
session and records it — and an executor decides where and when: `local` runs each
task as a process on this machine (csa.batch.local), `ray` as a Ray task on a cluster
(csa.batch.ray_executor). A task is a `csa run --session CHILD` process with the
CSA_* genealogy of the batch session, so every engine runs the very turn `csa run`
runs, and a retried task resumes the same session.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class TaskSpec:
    """One task as an engine runs it: plain data (picklable), no csa objects."""

    key: str  # the task's key in the batch (csa.batch.tasks.Task.key)
    tool: str  # what the per-tool limit and the memory request are counted by
    argv: list[str]  # `csa run --session CHILD --json ... -`
    prompt: str  # written to the process's stdin
    cwd: str
    env: dict[str, str] = field(default_factory=dict)  # added to the worker's environment
    memory: int | None = None  # bytes the task is expected to need (a scheduling hint)
    session_id: str = ""  # the child session the task runs in
    project: str = ""  # the child's project root
    cancel_file: str = ""  # appears on Ctrl-C (shared state dir): the task interrupts its run


@dataclass
class Completion:
    """How one task ended: the `csa run` process's exit code, stdout and stderr's tail.

    `exit_code` None: the task never ran to an end (cancelled before it started, or the
    engine lost it); `error` then says why."""

    key: str
    exit_code: int | None
    stdout: str = ""
    stderr_tail: str = ""
    error: str | None = None
    node: dict | None = None  # where it ran (an engine that knows: node id, hostname)


class Executor(Protocol):
    """What the batch driver needs of an engine."""

    def check(self, probe: dict) -> None:
        """Before any task: raise CsaError unless every place a task may run sees the
        state dir (`probe["base"]`, holding the file `probe["token"]`), the project and
        the working directory. (Nothing to check for local processes.)"""

    def submit(self, spec: TaskSpec) -> None:
        """Queue a task; it starts when the engine's limits allow."""

    def completions(self) -> Iterator[Completion]:
        """Yield each submitted task's Completion as it ends, until all have ended.

        Blocks between completions, waking at least once a second (so Ctrl-C is seen)."""

    def cancel(self) -> None:
        """Interrupt the running tasks (each records its turn as interrupted) and drop
        the queued ones (they complete with exit_code None); completions() then drains."""

    def close(self) -> None:
        """Release the engine's resources (idempotent)."""


def stderr_tail(text: str) -> str:
    """The last non-blank line of a task's stderr: the one-line error csa printed."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def make_executor(name: str, *, parallel: int, tool_limits: dict[str, int],
                  address: str | None = None) -> Executor:
    """The executor called `name` ("local" or "ray"); `parallel` 0: no cap of its own."""
    if name == "ray":
        from csa.batch.ray_executor import RayExecutor

        return RayExecutor(parallel=parallel, tool_limits=tool_limits, address=address)
    if name != "local":
        from csa.errors import UsageError

        raise UsageError(f"unknown executor {name!r}: choose local or ray")
    from csa.batch.local import LocalExecutor

    return LocalExecutor(parallel=parallel or 4, tool_limits=tool_limits)
