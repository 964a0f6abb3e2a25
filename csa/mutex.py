"""Mutual exclusion on shared files (slots, usage stats, caches, the search index, gc): filelock.

    >>> with hold(project_dir / "gc.lock", busy="another gc is running; retry later"):
    ...     ...                                   # waits; raises CsaError(busy) on timeout
    >>> lock = file_lock(cache_dir / "summaries.lock", timeout=0)
    >>> if try_acquire(lock): ...                 # skip the work when someone else does it

A `filelock.FileLock` holds an flock on `<name>.lock` (mode 0600, left in place on
release so waiters share one inode); the kernel drops it when its holder dies, so a
killed csa never leaves one behind. filelock is imported here, on first use, never at
start-up. Session locks are not built on this: see csa.lock for why.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from csa.errors import CsaError
from csa.fsutil import FILE_MODE, ensure_dir


def file_lock(path: Path, *, timeout: float = -1, poll: float = 0.05, make_dir: bool = True):
    """A `filelock.FileLock` on `path` (its directory created 0700 unless `make_dir` is
    False); not yet acquired."""
    from filelock import FileLock

    if make_dir:
        ensure_dir(path.parent)
    return FileLock(path, timeout=timeout, mode=FILE_MODE, poll_interval=poll)


def try_acquire(lock, timeout: float | None = None) -> bool:
    """Acquire `lock` (its own timeout unless given); False instead of filelock.Timeout."""
    from filelock import Timeout

    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        return False
    return True


@contextmanager
def hold(path: Path, *, timeout: float = -1, busy: str, make_dir: bool = True
         ) -> Iterator[None]:
    """Hold the lock at `path` for a block; CsaError(`busy`) when `timeout` runs out."""
    lock = file_lock(path, timeout=timeout, make_dir=make_dir)
    if not try_acquire(lock):
        raise CsaError(busy)
    try:
        yield
    finally:
        lock.release()
