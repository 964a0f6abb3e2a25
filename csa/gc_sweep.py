"""clean's sweep: lock, check and rename each candidate into the trash, plain sessions
through directory descriptors with no per-session objects.

    >>> sweep_all(store, report, candidates, parent_of, archive, marked_ns, general)
    >>> with Sweeper(store, marked_ns) as sweeper:
    ...     freed = sweeper.sweep(sid)   # bytes; None: keep it (locked); SLOW: gc decides

The general path (csa.gc._sweep_one through Session.try_lock and Store.remove_dir) costs
about a millisecond of Python per session (paths, a lock object, a holder record built
from the clock and psutil), which at 10,000 sessions is most of a clean. This path does
the same steps with a few system calls: open the session dir, its locks/ and
session.lock without following links, take the flock without waiting, check that the
locked file is still the one at the path, check that state.toml was not written since
the mark, size the dir, rename it into the trash. It writes no holder record into the
lock (two more writes per session): the lock is held for microseconds, and a run that
meets it finds the session gone a moment later, as it would after the general path.
Anything unusual (no locks/ dir, a link, a worktree, a state.toml written since the
mark, the trash on another filesystem) answers SLOW and the caller takes the general
path, which knows every such case.
"""

from __future__ import annotations

import fcntl
import os
import stat
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from csa import trash
from csa.fsutil import FILE_MODE
from csa.genealogy import ancestors
from csa.lock import SESSION_LOCK
from csa.session import LOCKS_DIR, STATE_FILE
from csa.summaries import RACY_WINDOW_NS

if TYPE_CHECKING:
    from csa.store import Store

SLOW = -1  # sweep(): take the general path for this session
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_LOCK = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK


class Sweeper:
    """Sweeps sessions of one store into its trash (see the module doc)."""

    def __init__(self, store: Store, marked_ns: int):
        from csa.worktree import present

        self.store = store
        self.base = str(store.sessions_dir)
        self.written_after = marked_ns - RACY_WINDOW_NS
        self.sfd = os.open(self.base, _DIR)
        self.tfd = os.open(trash.ensure(store), _DIR)
        self.worktrees = present(store)  # these go the general path (work left?)

    def __enter__(self) -> Sweeper:
        return self

    def __exit__(self, *exc) -> None:
        os.close(self.sfd)
        os.close(self.tfd)

    def sweep(self, sid: str) -> int | None:
        """Bytes of the session renamed into the trash; None when it is locked (kept);
        SLOW when the general path must decide."""
        if sid in self.worktrees:
            return SLOW
        fds: list[int] = []
        try:
            fds.append(os.open(sid, _DIR, dir_fd=self.sfd))
            fds.append(os.open(LOCKS_DIR, _DIR, dir_fd=fds[0]))
            fd = os.open(SESSION_LOCK, _LOCK, FILE_MODE, dir_fd=fds[1])
            fds.append(fd)
            mine = os.fstat(fd)
            if not stat.S_ISREG(mine.st_mode):
                return SLOW
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return None  # live: a run, compress or delete holds it
            # A stale lock file unlinked between our open and flock excludes nobody.
            if os.stat(SESSION_LOCK, dir_fd=fds[1], follow_symlinks=False).st_ino != mine.st_ino:
                return SLOW
            st = os.stat(STATE_FILE, dir_fd=fds[0], follow_symlinks=False)
            if st.st_mtime_ns >= self.written_after or not stat.S_ISREG(st.st_mode):
                return SLOW  # maybe resumed since the mark: re-read it under the lock
            freed = _size_at(fds[0])
            os.rename(sid, trash.entry_name(sid), src_dir_fd=self.sfd, dst_dir_fd=self.tfd)
            return freed
        except OSError:  # gone, a link, not a dir, another filesystem, a full disk: the
            return SLOW  # general path knows each case (and says what to do)
        finally:
            for fd in reversed(fds):  # closing the lock's fd releases the flock
                os.close(fd)


def sweep_all(store: Store, report, candidates: dict[str, dict], parent_of: dict,
              archive: Path | None, marked_ns: int,
              general: Callable[[str], int | None]) -> None:
    """The sweep phase of clean (csa.gc): each candidate removed or kept, into `report`;
    `general(sid)` is the general path (bytes freed, or None to keep the session)."""
    dry_run = report.dry_run
    spared: set[str] = set()  # ancestors of sessions the sweep had to keep
    with _sweeper(store, marked_ns, fast=not dry_run and archive is None) as sweeper:
        # Children before parents: a crash midway never leaves a child without its parent.
        for sid in sorted(candidates, key=lambda s: -len(ancestors(s, parent_of))):
            r = candidates[sid]
            entry = {"id": sid, "description": r.get("description", ""),
                     "last_accessed": r.get("last_accessed"), "tools": r.get("tools") or []}
            if dry_run:
                entry["bytes"] = store.session(sid).size()
                report.removed.append(entry)
                continue
            if sid in spared:
                report.kept.append({"id": sid, "reason": "ancestor of a kept session"})
                continue
            swept = sweeper.sweep(sid) if sweeper else SLOW
            if swept == SLOW:
                swept = general(sid)
            if swept is None:
                live = store.session(sid).is_alive()
                report.kept.append({"id": sid, "reason": "live (locked)" if live
                                    else "resumed or locked during clean"})
                spared.update(ancestors(sid, parent_of))
                continue
            entry["bytes"] = swept
            if archive is not None:
                entry["archive"] = str(archive / f"{sid}.tar.gz")
            report.removed.append(entry)


def _sweeper(store: Store, marked_ns: int, fast: bool):
    """A Sweeper, or a context yielding None (a dry run, an archive, or a store it cannot
    open: each session takes the general path)."""
    if fast:
        try:
            return Sweeper(store, marked_ns)
        except OSError:
            pass
    return nullcontext()


def _size_at(fd: int) -> int:
    """Bytes of regular files under the open dir `fd`, not following links (as
    csa.fsutil.dir_size, without a path lookup per entry)."""
    total = 0
    with os.scandir(fd) as it:
        for entry in it:
            if entry.is_dir(follow_symlinks=False):
                sub = os.open(entry.name, _DIR, dir_fd=fd)
                try:
                    total += _size_at(sub)
                finally:
                    os.close(sub)
            elif entry.is_file(follow_symlinks=False):
                total += entry.stat(follow_symlinks=False).st_size
    return total
