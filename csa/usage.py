"""`usage_stats.toml`: recent peak memory per tool, its P95, and the pre-run check.

    >>> record_peak(project_dir, "codex", 412_000_000)
    >>> p95(load_stats(project_dir)["codex"])

Each tool keeps its last 20 peak-RSS samples (whole process tree, bytes). Before a
run csa compares available memory with that tool's P95 plus a margin, and warns
or refuses (config `memory_policy`).
"""

from __future__ import annotations

import math
import os
import tomllib
from pathlib import Path

from csa.fsutil import atomic_write

STATS_FILE = "usage_stats.toml"
KEEP = 20


def load_stats(project_dir: Path) -> dict[str, list[int]]:
    try:
        data = tomllib.loads((project_dir / STATS_FILE).read_text())
    except (OSError, ValueError, RecursionError):
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
    """Append a sample (last-writer-wins across concurrent runs: it is statistics)."""
    from csa.tomlw import dumps

    stats = load_stats(project_dir)
    stats.setdefault(tool, []).append(int(peak))
    tools = {name: {"peak_rss_bytes": stats[name][-KEEP:], "p95_bytes": p95(stats[name][-KEEP:])}
             for name in sorted(stats)}
    text = "# Peak RSS (bytes) of each tool's process tree in recent runs.\n" + \
        dumps({"tools": tools})
    try:
        atomic_write(project_dir / STATS_FILE, text.encode(), durable=False)
    except OSError:
        pass


def available_memory() -> int | None:
    """MemAvailable from /proc/meminfo in bytes (None where unknown)."""
    try:
        with open("/proc/meminfo", "rb") as f:
            for line in f:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def memory_check(project_dir: Path, tool: str, margin_mb: int) -> str | None:
    """A warning when available memory is below the tool's P95 peak + margin, else None."""
    need = p95(load_stats(project_dir).get(tool, []))
    if not need:
        return None
    avail = available_memory()
    if avail is None:
        return None
    need += margin_mb * 1024 * 1024
    if avail < need:
        return (f"low memory: {avail // 2**20} MiB available, {tool} peaked at "
                f"{need // 2**20 - margin_mb} MiB (P95) + {margin_mb} MiB margin")
    return None


class PeakSampler:
    """Samples the RSS of a process tree; `peak` is the largest sum seen.

    Reads /proc directly (a few syscalls per sample): importing psutil costs 10-25 ms,
    which every `csa run` would pay before its first sample. psutil is the fallback
    where /proc is not available.
    """

    def __init__(self, pid: int):
        self.pid = pid
        self.peak = 0
        self._proc = None

    def sample(self) -> None:
        try:
            total = _tree_rss_proc(self.pid) if _HAS_PROC else self._tree_rss_psutil()
        except Exception:  # noqa: BLE001 - sampling is best effort, the run goes on
            return
        self.peak = max(self.peak, total)

    def _tree_rss_psutil(self) -> int:
        import psutil

        if self._proc is None:
            self._proc = psutil.Process(self.pid)
        total = 0
        for p in [self._proc, *self._proc.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        return total


_HAS_PROC = os.path.exists("/proc/self/status")
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                out += [int(x) for x in f.read().split()]
        except OSError:
            continue
    return out


def _tree_rss_proc(pid: int) -> int:
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/statm", "rb") as f:
                total += int(f.read().split()[1]) * _PAGE
        except (OSError, ValueError, IndexError):
            continue
        todo += _children(p)
    return total
