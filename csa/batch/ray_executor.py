"""The Ray executor: each task a Ray task that runs the task's `csa run` on a worker node.

    >>> ex = RayExecutor(parallel=0, tool_limits={"codex": 2}, address="ray://head:10001")
    >>> ex.check(probe)                       # every node sees the state dir and the project
    >>> ex.submit(spec); [c.node for c in ex.completions()]
    [{'node_id': '5f3c...', 'hostname': 'gpu-2'}]

Connects to `address`, else RAY_ADDRESS, else starts a local Ray instance. A task asks
Ray for one CPU, the memory its tool's P95 peak needs (usage stats) and one unit of the
custom resource `csa-<tool>` when the cluster defines it, so Ray's scheduler keeps
each tool within its limit cluster-wide. A task lost with its node is retried by Ray
(`max_retries`) and resumes the same child session; Ctrl-C cancels every task.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

from csa.batch.executor import Completion, TaskSpec
from csa.errors import CsaError

MAX_RETRIES = 3  # a task whose node dies is run again, this many times at most
LOCAL_OBJECT_STORE = 80 << 20  # a local instance: csa passes only small objects
CHECK_TIMEOUT_S = 120


def resource_name(tool: str) -> str:
    """The custom resource that counts a tool's concurrent runs: `csa-codex`."""
    return f"csa-{tool}"


class RayExecutor:
    """Runs TaskSpecs as Ray tasks; at most `parallel` in flight (0: no cap)."""

    def __init__(self, *, parallel: int, tool_limits: dict[str, int],
                 address: str | None = None):
        try:
            import ray
        except ImportError:
            raise CsaError("--executor ray needs Ray: pip install 'csa[ray]' "
                           "(or pip install ray)") from None
        self.ray = ray
        self.parallel = parallel
        self.tool_limits = tool_limits
        # Ray's driver prints cluster errors (a node lost...) on sys.stdout from a thread;
        # csa's stdout is the report (--json), so they go to stderr while connected.
        self.stdout, sys.stdout = sys.stdout, sys.stderr
        try:
            connect(ray, address or os.environ.get("RAY_ADDRESS"), tool_limits)
            self.cluster = ray.cluster_resources()
        except BaseException:
            self.close()
            raise
        for tool, limit in tool_limits.items():
            if limit and resource_name(tool) not in self.cluster:
                raise CsaError(
                    f"tools.{tool}.max_concurrent = {limit}, but the Ray cluster has no "
                    f"{resource_name(tool)} resource to enforce it: start the nodes with "
                    f"ray start --resources='{{\"{resource_name(tool)}\": N}}' (N summing to "
                    f"{limit}), or unset max_concurrent")
        from csa.batch.ray_worker import check_node, run_task

        self.remote_check = ray.remote(num_cpus=0)(check_node)
        self.remote_run = ray.remote(run_task)
        self.waiting: list[TaskSpec] = []
        self.refs: dict = {}  # ObjectRef -> TaskSpec
        self.cancelled = False
        self.dropped: list[Completion] = []

    def check(self, probe: dict) -> None:
        """Run check_node on every alive node; CsaError naming the first that fails."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        nodes = [n for n in self.ray.nodes() if n.get("Alive")]
        refs = [self.remote_check.options(scheduling_strategy=NodeAffinitySchedulingStrategy(
            n["NodeID"], soft=False)).remote(probe) for n in nodes]
        from ray.exceptions import GetTimeoutError, RayError, TaskUnschedulableError

        for ref in refs:
            try:
                res = self.ray.get(ref, timeout=CHECK_TIMEOUT_S)
            except TaskUnschedulableError:
                continue  # a node that just died, still listed as alive: no task goes there
            except GetTimeoutError:
                raise CsaError(f"A Ray node did not answer csa's check within "
                               f"{CHECK_TIMEOUT_S} s (busy or unreachable?); retry, or see "
                               "`ray status`") from None
            except RayError as e:  # csa missing on a node, typically
                raise CsaError(f"csa's check failed on a Ray node ({first_line(e)}); every "
                               "node needs csa installed: pip install 'csa[ray]'") from None
            if res["error"]:
                raise CsaError(f"Ray node {res['hostname']} ({res['node_id'][:12]}): "
                               f"{res['error']}; see docs/ray.md")

    def options(self, spec: TaskSpec) -> dict:
        opts: dict = {"num_cpus": 1, "max_retries": MAX_RETRIES, "retry_exceptions": False}
        if spec.memory:
            opts["memory"] = spec.memory
        if resource_name(spec.tool) in self.cluster:
            opts["resources"] = {resource_name(spec.tool): 1}
        return opts

    def submit(self, spec: TaskSpec) -> None:
        if self.cancelled:
            self.dropped.append(Completion(spec.key, None, error="cancelled"))
            return
        self.waiting.append(spec)
        self._launch()

    def _launch(self) -> None:
        while self.waiting and (not self.parallel or len(self.refs) < self.parallel):
            spec = self.waiting.pop(0)
            self.refs[self.remote_run.options(**self.options(spec)).remote(spec)] = spec

    def completions(self) -> Iterator[Completion]:
        while self.refs or self.dropped:
            if self.dropped:
                yield self.dropped.pop(0)
                continue
            ready, _ = self.ray.wait(list(self.refs), num_returns=1, timeout=1.0)
            for ref in ready:
                spec = self.refs.pop(ref)
                yield self._result(ref, spec)
            if not self.cancelled:
                self._launch()

    def _result(self, ref, spec: TaskSpec) -> Completion:
        from ray.exceptions import RayError, TaskCancelledError

        try:
            return self.ray.get(ref)
        except TaskCancelledError:
            return Completion(spec.key, None, error="cancelled")
        except RayError as e:  # retries exhausted (nodes lost), a worker crash
            return Completion(spec.key, None, error=f"Ray: {first_line(e)}")

    def cancel(self) -> None:
        self.cancelled = True
        self.dropped += [Completion(s.key, None, error="cancelled") for s in self.waiting]
        self.waiting = []
        for ref in list(self.refs):
            self.ray.cancel(ref, force=False)  # KeyboardInterrupt in run_task

    def close(self) -> None:
        """Disconnect (a local instance csa started stops with it)."""
        if self.ray.is_initialized():
            self.ray.shutdown()
        if self.stdout is not None:
            sys.stdout, self.stdout = self.stdout, None


def connect(ray, address: str | None, tool_limits: dict[str, int]) -> None:
    """ray.init: the cluster at `address`, else a local instance given the tools'
    resources."""
    kw = {"logging_level": "ERROR", "log_to_driver": False, "include_dashboard": False}
    try:
        if address:
            ray.init(address=address, **kw)
        else:
            ray.init(object_store_memory=LOCAL_OBJECT_STORE,
                     resources={resource_name(t): n for t, n in tool_limits.items() if n}, **kw)
    except ConnectionError as e:
        raise CsaError(f"Cannot connect to the Ray cluster at {address}: "
                       f"{first_line(e)}") from None


def first_line(e: BaseException) -> str:
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    return (lines[0] if lines else type(e).__name__)[:200]
