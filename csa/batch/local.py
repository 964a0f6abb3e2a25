"""The local executor: each task a `csa run` process on this machine, N at a time.

    >>> ex = LocalExecutor(parallel=8, tool_limits={"codex": 2})
    >>> ex.submit(spec); ex.submit(spec2)
    >>> [c.exit_code for c in ex.completions()]
    [0, 0]

Why a process per task rather than turns in threads: a turn owns process-wide things
— signal handlers (Ctrl-C is forwarded to the tool's process group), the CSA_*
environment a nested run reads, the session lock's holder pid — and a crash of one
turn must not take the others down. The process is `csa run`, so a batch task is
exactly a csa run (the ray executor runs the same process on a worker).

At most `parallel` tasks run at once, and at most `tool_limits[tool]` of one tool
(tools.<tool>.max_concurrent); queued tasks start in file order as room frees up,
skipping over a task whose tool is at its limit.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
from collections.abc import Iterator

from csa.batch.executor import Completion, TaskSpec, stderr_tail


class LocalExecutor:
    """Runs TaskSpecs as child processes, bounded by `parallel` and per-tool limits."""

    def __init__(self, *, parallel: int, tool_limits: dict[str, int] | None = None):
        self.parallel = max(1, parallel)
        self.tool_limits = dict(tool_limits or {})
        self.pending: list[TaskSpec] = []
        self.running: dict[str, subprocess.Popen] = {}
        self.by_tool: dict[str, int] = {}
        self.outstanding = 0
        self.cancelled = False
        self.done: queue.Queue[Completion] = queue.Queue()
        self.mutex = threading.Lock()

    def check(self, probe: dict) -> None:
        """Local processes see what this process sees."""

    def submit(self, spec: TaskSpec) -> None:
        with self.mutex:
            self.outstanding += 1
            if self.cancelled:
                self.done.put(Completion(spec.key, None, error="cancelled"))
                return
            self.pending.append(spec)
            self._start_eligible()

    def completions(self) -> Iterator[Completion]:
        while True:
            with self.mutex:
                if self.outstanding == 0:
                    return
            try:
                item = self.done.get(timeout=1.0)  # wakes up for Ctrl-C
            except queue.Empty:
                continue
            with self.mutex:
                self.outstanding -= 1
            yield item

    def cancel(self) -> None:
        with self.mutex:
            self.cancelled = True
            dropped, self.pending = self.pending, []
            for spec in dropped:
                self.done.put(Completion(spec.key, None, error="cancelled"))
            procs = list(self.running.values())
        for proc in procs:
            # Each csa run forwards it to its tool and records the turn as interrupted.
            _signal(proc, signal.SIGINT)

    def close(self) -> None:
        with self.mutex:
            procs = list(self.running.values())
        for proc in procs:  # only after a failure in the driver itself
            _signal(proc, signal.SIGTERM)

    # -- inside -----------------------------------------------------------------------

    def _start_eligible(self) -> None:
        """Start queued tasks while there is room (the caller holds the mutex)."""
        i = 0
        while i < len(self.pending) and len(self.running) < self.parallel:
            spec = self.pending[i]
            limit = self.tool_limits.get(spec.tool)
            if limit and self.by_tool.get(spec.tool, 0) >= limit:
                i += 1
                continue
            del self.pending[i]
            self._start(spec)

    def _start(self, spec: TaskSpec) -> None:
        try:
            proc = subprocess.Popen(
                spec.argv, cwd=spec.cwd, env={**os.environ, **spec.env},
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                # Its own session: a terminal's Ctrl-C reaches csa batch only, which
                # interrupts the tasks itself (and never starts queued ones).
                start_new_session=True)
        except OSError as e:
            self.done.put(Completion(spec.key, None, error=f"cannot start csa: {e}"))
            return
        self.running[spec.key] = proc
        self.by_tool[spec.tool] = self.by_tool.get(spec.tool, 0) + 1
        threading.Thread(target=self._wait, args=(spec, proc), daemon=True).start()

    def _wait(self, spec: TaskSpec, proc: subprocess.Popen) -> None:
        out, err = proc.communicate(spec.prompt.encode())
        completion = Completion(spec.key, proc.returncode, out.decode("utf-8", "replace"),
                                stderr_tail(err.decode("utf-8", "replace")))
        with self.mutex:
            del self.running[spec.key]
            self.by_tool[spec.tool] -= 1
            self.done.put(completion)
            if not self.cancelled:
                self._start_eligible()


def _signal(proc: subprocess.Popen, sig: int) -> None:
    try:
        proc.send_signal(sig)
    except (ProcessLookupError, OSError):
        pass
