"""`usage_stats.toml`: recent peak memory per tool, its P95, and the pre-run check.

    >>> record_peak(project_dir, "codex", 412_000_000)
    >>> p95(load_stats(project_dir)["codex"])

Each tool keeps its last 20 peak-RSS samples (whole process tree, bytes). Before a
run csa compares available memory with that tool's P95 plus a margin, and warns
or refuses (config `memory_policy`).
"""

from __future__ import annotations

import math
import threading
from pathlib import Path

from csa.fsutil import atomic_write

STATS_FILE = "usage_stats.toml"
KEEP = 20
LOCK_WAIT_S = 5.0


def load_stats(project_dir: Path) -> dict[str, list[int]]:
    from csa.errors import CsaError
    from csa.safeio import read_text

    try:
        text = read_text(project_dir / STATS_FILE, "usage")
    except (OSError, CsaError, ValueError):  # none yet (no peak recorded), or unreadable
        return {}
    import tomllib  # only when there is a file to parse

    try:
        data = tomllib.loads(text)
    except (ValueError, RecursionError):
        return {}
    out: dict[str, list[int]] = {}
    for tool, table in (data.get("tools") or {}).items():
        peaks = table.get("peak_rss_bytes") if isinstance(table, dict) else None
        if isinstance(peaks, list):
            out[tool] = [int(p) for p in peaks if isinstance(p, int) and p > 0][-KEEP:]
    return out


def p95(samples: list[int]) -> int:
    """Nearest-rank 95th percentile (0 for no samples)."""
    if not samples:
        return 0
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def record_peak(project_dir: Path, tool: str, peak: int) -> None:
    """Append a sample. Concurrent runs take turns (a filelock on the stats file), so
    none loses another's sample; a lock held for seconds means a stuck writer: skip."""
    from csa.mutex import file_lock, try_acquire
    from csa.tomldoc import dumps

    lock = file_lock(project_dir / f"{STATS_FILE}.lock", timeout=LOCK_WAIT_S)
    if not try_acquire(lock):
        return
    try:
        stats = load_stats(project_dir)
        stats.setdefault(tool, []).append(int(peak))
        tools = {name: {"peak_rss_bytes": stats[name][-KEEP:],
                        "p95_bytes": p95(stats[name][-KEEP:])} for name in sorted(stats)}
        text = "# Peak RSS (bytes) of each tool's process tree in recent runs.\n" + \
            dumps({"tools": tools})
        atomic_write(project_dir / STATS_FILE, text.encode(), durable=False)
    except OSError:
        pass
    finally:
        lock.release()


def memory_check(project_dir: Path, tool: str, margin_mb: int) -> str | None:
    """A warning when available memory is below the tool's P95 peak + margin, else None."""
    need = p95(load_stats(project_dir).get(tool, []))
    if not need:
        return None
    from csa.procs import available_memory

    avail = available_memory()
    if avail is None:
        return None
    need += margin_mb * 1024 * 1024
    if avail < need:
        return (f"low memory: {avail // 2**20} MiB available, {tool} peaked at "
                f"{need // 2**20 - margin_mb} MiB (P95) + {margin_mb} MiB margin")
    return None


class PeakSampler:
    """Samples the RSS of a process tree (the tool and all its descendants); `peak` is
    the largest total seen.

    Finding the descendants means reading every process's status (psutil builds a
    parent map of the whole system), so the tree is walked on the second sample and then
    on every WALK_EVERY-th; the samples between sum the members already known, which is
    a few microseconds each. The first sample, taken as the tool starts, has no
    descendants to find: it reads the tool's own RSS from procfs (csa.procs.own_rss).
    """

    WALK_EVERY = 4

    def __init__(self, pid: int):
        self.pid = pid
        self.peak = 0
        self._tree: list = []
        self._samples = 0

    def sample(self) -> None:
        from csa import procs

        try:
            if self._samples == 0:  # the tool alone, as it starts (no psutil yet)
                total = procs.own_rss(self.pid)
            else:
                if self._samples == 1:
                    # The peak will be recorded (record_peak takes a filelock): import
                    # filelock now, in the background, while the tool works (~15 ms).
                    threading.Thread(target=_warm_filelock, name="csa-warm-filelock",
                                     daemon=True).start()
                if self._samples % self.WALK_EVERY == 1:
                    self._tree = procs.tree(self.pid)
                total = procs.rss(self._tree)
        except Exception:  # noqa: BLE001 - sampling is best effort, the run goes on
            return
        finally:
            self._samples += 1
        self.peak = max(self.peak, total)

    @property
    def measured(self) -> bool:
        """Sampled while the tool ran, not only as it started (a tool done within one
        tick has only its start-up RSS: no peak worth keeping in the usage stats)."""
        return self._samples > 1


def _warm_filelock() -> None:
    try:
        import filelock  # noqa: F401
    except ImportError:  # pragma: no cover - a dependency; record_peak reports it
        pass
