"""`usage_stats.toml`: recent peak memory per tool, its P95, and the pre-run check.

    >>> record_peak(project_dir, "codex", 412_000_000)
    >>> p95(load_stats(project_dir)["codex"])

Each tool keeps its last 20 peak-RSS samples (whole process tree, bytes). Before a
run csa compares available memory with that tool's P95 plus a margin, and warns
or refuses (config `memory_policy`).
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

from csa.fsutil import atomic_write

STATS_FILE = "usage_stats.toml"
KEEP = 20


def load_stats(project_dir: Path) -> dict[str, list[int]]:
    try:
        data = tomllib.loads((project_dir / STATS_FILE).read_text())
    except (OSError, ValueError):
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
    import tomlkit

    stats = load_stats(project_dir)
    stats.setdefault(tool, []).append(int(peak))
    doc = tomlkit.document()
    doc.add(tomlkit.comment("Peak RSS (bytes) of each tool's process tree in recent runs."))
    tools = tomlkit.table()
    for name in sorted(stats):
        t = tomlkit.table()
        samples = stats[name][-KEEP:]
        t["peak_rss_bytes"] = samples
        t["p95_bytes"] = p95(samples)
        tools[name] = t
    doc["tools"] = tools
    try:
        atomic_write(project_dir / STATS_FILE, tomlkit.dumps(doc).encode(), durable=False)
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
    """Samples the RSS of a process tree; `peak` is the largest sum seen."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peak = 0
        self._proc = None

    def sample(self) -> None:
        try:
            import psutil

            if self._proc is None:
                self._proc = psutil.Process(self.pid)
            procs = [self._proc, *self._proc.children(recursive=True)]
            total = 0
            for p in procs:
                try:
                    total += p.memory_info().rss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    pass
            self.peak = max(self.peak, total)
        except Exception:  # noqa: BLE001 - sampling is best effort, the run goes on
            pass
