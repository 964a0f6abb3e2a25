"""Everything csa asks about processes, through psutil: start times, liveness, trees, memory.

    >>> t = start_time(pid)                 # seconds since the epoch (None: no such process)
    >>> alive(pid, t)                       # False once pid is gone or reused by another process
    >>> tree_rss(tool_pid)                  # RSS of the tool and all its descendants, bytes
    >>> stop_tree(tool_pid, t, grace=5.0)   # TERM, then KILL, its group and its descendants
    >>> with_env("CSA_SESSION_ID", sid, since=t)   # [(pid, start)]: a dead turn's strays

A pid alone names a process only until it exits: the kernel hands the number out again.
So every record csa keeps of a process holds its start time too, and nothing is signalled
unless both still match (psutil checks the start time again before it sends a signal).
Works wherever psutil does; psutil is imported on first use. The one procfs read of csa's
own is its own start time (see start_time), where psutil's import would delay the spawn.
"""

from __future__ import annotations

import os
import signal

PID_MAX = 1 << 22  # Linux's limit (pid_max can be at most 2^22)
_SAME_START_S = 1e-3  # start times are clock ticks (10 ms) apart or identical
_own_start: tuple[int, float | None] = (0, None)


def is_pid(value) -> bool:
    """True for an int that can be a pid (what a damaged record holds instead is not)."""
    return type(value) is int and 0 < value <= PID_MAX


def _process(pid: int, start: float | None = None):
    """The psutil.Process for `pid` if it runs (not a zombie) and started at `start` (when
    given), else None. psutil.AccessDenied passes through: the process exists."""
    import psutil

    if not is_pid(pid):
        return None
    try:
        proc = psutil.Process(pid)
        if start is not None and abs(proc.create_time() - start) >= _SAME_START_S:
            return None
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None
    return proc


def start_time(pid: int) -> float | None:
    """When `pid` started, in seconds since the epoch (None if it does not run)."""
    global _own_start
    if not is_pid(pid):
        return None
    if _own_start[0] == pid:  # csa's own, asked for at every lock record update
        return _own_start[1]
    # Needed around the tool's spawn (csa's own for the lock and run records, the tool's
    # right after): read from procfs as psutil computes it, it spares the run psutil's
    # import (~9 ms); psutil wherever procfs does not answer.
    start = _procfs_start_time(pid)
    if start is None:
        import psutil

        try:
            start = psutil.Process(pid).create_time()
        except psutil.Error:
            return None
    if pid == os.getpid():
        _own_start = (pid, start)
    return start


_boot: list[float] = []  # /proc/stat's btime and the clock ticks per second, once


def _procfs_start_time(pid: int) -> float | None:
    """psutil's create_time() on Linux, computed the same way (the starttime field of
    /proc/PID/stat in clock ticks since boot, plus /proc/stat's btime) so that the two
    compare equal; None where procfs does not have it."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        ticks = float(stat[stat.rfind(b")") + 2:].split()[19])
        if not _boot:
            with open("/proc/stat", "rb") as f:
                btime = next(float(line.split()[1]) for line in f if line.startswith(b"btime"))
            _boot[:] = [btime, float(os.sysconf("SC_CLK_TCK"))]
        return ticks / _boot[1] + _boot[0]
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def alive(pid: int | None, start: float | None = None) -> bool:
    """True if `pid` runs and (when given) started at `start`: guards against pid reuse."""
    if start is not None and type(start) not in (int, float):
        return False
    if not is_pid(pid):
        return False
    import psutil

    try:
        return _process(pid, start) is not None
    except psutil.AccessDenied:  # another user's process: it exists
        return start is None


def descendants(pid: int) -> list:
    """psutil.Process objects of every live descendant of `pid` (children first)."""
    import psutil

    try:
        proc = _process(pid)
        return [] if proc is None else proc.children(recursive=True)
    except psutil.Error:
        return []


def ancestors() -> list[tuple[int, str, list[str]]]:
    """(pid, name, argv) of this process's parent, grandparent, ... up to pid 1; a process
    that cannot be read is skipped (`--tool auto` looks for the AI tool that started csa)."""
    import psutil

    out: list[tuple[int, str, list[str]]] = []
    try:
        parents = psutil.Process().parents()
    except psutil.Error:
        return out
    for proc in parents:
        try:
            out.append((proc.pid, proc.name(), proc.cmdline()))
        except psutil.Error:
            continue
    return out


def tree(pid: int, *, descendants: bool = True) -> list:
    """psutil.Process objects of `pid` and (unless told not to) all its descendants;
    [] when `pid` does not run. Finding descendants reads every process on the system."""
    import psutil

    try:
        proc = _process(pid)
        if proc is None:
            return []
        return [proc, *proc.children(recursive=True)] if descendants else [proc]
    except psutil.Error:
        return []


def rss(processes: list) -> int:
    """Total resident memory of `processes` (from tree()) that still run, in bytes."""
    import psutil

    total = 0
    for p in processes:
        try:
            total += p.memory_info().rss
        except psutil.Error:  # exited since it was found
            continue
    return total


def own_rss(pid: int) -> int:
    """Resident memory of `pid` alone, in bytes (0 if it is gone).

    The usage sampler's first sample, taken as the tool starts: /proc/PID/statm's
    resident pages, which is psutil's memory_info().rss on Linux, without psutil's
    import (~10 ms of CPU that a quick tool would wait for); psutil elsewhere."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        pass
    return rss(tree(pid, descendants=False))


def tree_rss(pid: int) -> int:
    """Resident memory of `pid` and all its descendants, in bytes (0 if it is gone)."""
    return rss(tree(pid))


def stop_tree(pid: int, start: float | None, *, grace: float = 5.0) -> None:
    """Stop a tool and everything it started: its process group (it leads one) plus
    descendants that left the group, each matched by pid and start time.

    SIGTERM first; whatever still runs after `grace` seconds gets SIGKILL. Nothing is
    signalled when `pid` no longer runs with that start time: its number may belong to
    someone else by now.
    """
    stop_trees([(pid, start)], grace=grace)


def stop_trees(roots: list[tuple[int, float | None]], *, grace: float = 5.0) -> int:
    """stop_tree for several roots at once (one grace for all); returns how many
    processes were found running."""
    import psutil

    leaders, procs = [], []
    for pid, start in roots:
        try:
            root = _process(pid, start)
        except psutil.AccessDenied:  # not ours to stop
            continue
        if root is not None:
            leaders.append(pid)
            procs += [root, *descendants(pid)]
    found = len({p.pid for p in procs})
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pgid in leaders:
            _signal_group(pgid, sig)
        for p in procs:
            try:
                p.send_signal(sig)  # psutil re-checks the start time before signalling
            except psutil.Error:
                pass
        if sig == signal.SIGTERM:
            _gone, procs = psutil.wait_procs(procs, timeout=grace)
            if not procs:
                for pgid in leaders:
                    _signal_group(pgid, signal.SIGKILL)  # stragglers in the groups they led
                break
    return found


def with_env(name: str, value: str, *, since: float | None = None) -> list[tuple[int, float]]:
    """(pid, start time) of this user's processes whose environment has `name=value`,
    started at or after `since` (seconds since the epoch); never csa itself nor its
    ancestors. Reads every process's environment: for recovery, not for a hot path."""
    import psutil

    mine = {os.getpid()}
    try:
        mine.update(p.pid for p in psutil.Process().parents())
    except psutil.Error:
        pass
    found = []
    for p in psutil.process_iter(["create_time"]):
        created = p.info.get("create_time")
        if created is None or p.pid in mine or (since is not None and created < since):
            continue
        try:
            if p.environ().get(name) == value and p.status() != psutil.STATUS_ZOMBIE:
                found.append((p.pid, created))
        except psutil.Error:  # gone, or another user's
            continue
    return found


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def available_memory() -> int | None:
    """Memory available to new processes, in bytes (None where the system will not say)."""
    # Asked before the tool's spawn (the memory policy): /proc/meminfo's MemAvailable, the
    # figure psutil reports on Linux, without psutil's import; psutil elsewhere.
    try:
        with open("/proc/meminfo", "rb") as f:
            for line in f:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    import psutil

    try:
        return psutil.virtual_memory().available
    except (OSError, RuntimeError, AttributeError):
        return None
