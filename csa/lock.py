"""Session locks with `flock`: one turn at a time, liveness, and who holds a lock.

    >>> with SessionLock(session.locks_dir, sid, tool="codex", reason="run") as lk:
    ...     ...   # session.lock and codex.lock are held; live_holder() names us

Sessions take their lock through csa.session.Session.lock / try_lock, which know where
the session's locks dir is. In it, `session.lock` is the session's mutex (runs,
compress, delete and gc take it); `<tool>.lock` marks which tool runs. Both hold a small JSON record (pid, the
pid's start time, tool, reason, since) so a loser can say who holds the session,
and the next holder can tell a crashed run's orphaned tool process from a live one.
Descriptors are close-on-exec so the AI tool never inherits them. The kernel
releases a flock when its holder dies, so a killed csa never leaves a lock that
blocks a resume.

Why a direct `flock` and not filelock (which csa.mutex uses for every other shared
file): the holder record (pid, its start time, tool, the tool's pid) is written into the
lock file and read by others while the lock is held (`session list` shows who runs a
session; the next holder reads the last record to find a crashed run's tool). It is
rewritten in place once the tool is spawned, which needs the locked descriptor (filelock
keeps it private); liveness probes take a shared, never-blocking flock (filelock offers
exclusive locks only); and a new session's lock is taken inside its hidden build dir and
carried through the rename to its final name, while filelock is bound to one path.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import time
from pathlib import Path

import orjson

from csa.errors import SessionLocked
from csa.fsutil import FILE_MODE, naming
from csa.procs import PID_MAX, is_pid  # noqa: F401 - re-exported for existing callers

SESSION_LOCK = "session.lock"
# A liveness probe holds a shared lock for microseconds; an acquirer that collides
# with one retries for this long before it reports the session as busy.
PROBE_GRACE_S = 0.25


def proc_start_time(pid: int) -> float | None:
    """When `pid` started (seconds since the epoch; None if it does not run): csa.procs."""
    from csa import procs

    return procs.start_time(pid)


def pid_alive(pid: int | None, start_time: float | None = None) -> bool:
    """True if `pid` runs and (when given) started at `start_time` (guards pid reuse)."""
    from csa import procs

    return procs.alive(pid, start_time)


def _open_lock(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK,
                   FILE_MODE)


def read_holder(path: Path) -> dict:
    """The JSON record in a lock file ({} if empty, missing or unreadable)."""
    try:
        # O_NONBLOCK: a FIFO in the lock's place must not block the reader
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        try:
            data = os.read(fd, 4096) if stat.S_ISREG(os.fstat(fd).st_mode) else b""
        finally:
            os.close(fd)
        rec = orjson.loads(data) if data.strip() else {}
        return rec if isinstance(rec, dict) else {}
    except (OSError, orjson.JSONDecodeError):
        return {}


RECORD_WAIT_S = 0.5


def _wait_for_record(path: Path) -> dict:
    """The holder record of a lock another process just took (it writes the record right
    after its flock): poll briefly instead of reporting an 'unknown holder'."""
    deadline = time.monotonic() + RECORD_WAIT_S
    while True:
        rec = read_holder(path)
        if rec or time.monotonic() >= deadline:
            return rec
        time.sleep(0.01)


def _try_flock(fd: int, mode: int) -> bool:
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
        return True
    except OSError as e:
        if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise


def _is_at(fd: int, path: Path) -> bool:
    """True if the open file `fd` is (still) the file at `path`."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    mine = os.fstat(fd)
    return (st.st_ino, st.st_dev) == (mine.st_ino, mine.st_dev)


def remove_if_stale(path: Path) -> bool:
    """Unlink a lock file whose record names a dead process; True if it was removed.

    Done while holding the file's flock, and only if it is still the file at `path`,
    so an acquirer that opened it meanwhile notices (SessionLock checks that the file it
    locked is still linked) and locks the new file instead: never two holders.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode) or not _try_flock(fd, fcntl.LOCK_EX):
            return False
        try:
            rec = orjson.loads(os.pread(fd, 4096, 0) or b"{}")
        except orjson.JSONDecodeError:
            return False
        if not isinstance(rec, dict) or not rec or pid_alive(rec.get("pid"),
                                                             rec.get("pid_start")):
            return False
        if not _is_at(fd, path):
            return False
        os.unlink(path)
        return True
    finally:
        os.close(fd)  # releases the flock


def is_locked(path: Path) -> bool:
    """True if some process holds an exclusive flock on `path` (probe, never blocks)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        if _try_flock(fd, fcntl.LOCK_SH):
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        return True
    finally:
        os.close(fd)


def live_holder(locks: Path) -> dict | None:
    """The holder record of a held lock in a session's locks dir, or None if none is held."""
    try:
        names = sorted(os.listdir(locks))
    except OSError:
        return None
    # The session mutex first: it is what every writer takes.
    names.sort(key=lambda n: n != SESSION_LOCK)
    for name in names:
        if name.endswith(".lock") and is_locked(locks / name):
            rec = read_holder(locks / name)
            rec.setdefault("lock", name)
            return rec
    return None


def locked_message(sid: str, holder: dict) -> str:
    pid = holder.get("pid")
    bits = [b for b in (holder.get("tool"), holder.get("reason")) if b]
    since = holder.get("since")
    detail = " ".join(bits) or "unknown holder"
    if since:
        detail += f", since {since}"
    return f"Session {sid} is locked by PID {pid if pid else 'unknown'} ({detail})"


class SessionLock:
    """Exclusive hold on a session (and optionally one tool's lock) for one operation."""

    def __init__(self, locks_dir: Path, sid: str, *, tool: str | None = None,
                 reason: str = "run", grace: float = PROBE_GRACE_S):
        self.locks_dir = locks_dir
        self.sid = sid
        self.tool = tool
        self.reason = reason
        self.grace = grace
        self._fds: list[tuple[int, Path]] = []
        self.previous: dict = {}

    def acquire(self) -> SessionLock:
        # Never recreate a session dir that was deleted meanwhile (gc racing a resume):
        # only locks/ itself may be created, inside an existing session dir.
        try:
            os.mkdir(self.locks_dir, 0o700)
        except FileExistsError:
            pass
        except FileNotFoundError:
            from csa.errors import SessionNotFound

            raise SessionNotFound(f"Session {self.sid} no longer exists") from None
        if os.path.islink(self.locks_dir) or not os.path.isdir(self.locks_dir):
            from csa.errors import CsaError

            raise CsaError(f"Session {self.sid}: {self.locks_dir} is not a directory (a symlink?);"
                           " csa does not follow links out of a session — remove it")
        paths = [self.locks_dir / SESSION_LOCK]
        if self.tool:
            paths.append(self.locks_dir / f"{self.tool}.lock")
        # Build the record before locking (its start time may cost an import): the window
        # in which a loser can find a held lock with no record in it stays microseconds.
        record = self._record()
        try:
            for path in paths:
                self._fds.append((self._lock_one(path), path))
            # A record left behind means the last holder died without releasing cleanly.
            self.previous = read_holder(paths[-1])
            self._write(record)
        except BaseException:
            self.release(clear=False)
            raise
        return self

    def _lock_one(self, path: Path) -> int:
        """Open and flock `path`; the fd of the lock file that is at `path` now."""
        for _ in range(100):
            try:
                fd = _open_lock(path)
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    os.close(fd)
                    raise OSError(errno.EINVAL, "not a regular file")
            except OSError as e:  # a symlink (ELOOP), a directory, a FIFO, ...
                from csa.errors import CsaError, SessionNotFound

                if e.errno == errno.ENOENT and not os.path.isdir(self.locks_dir):
                    # The holder we waited for (clean, delete) removed the session.
                    raise SessionNotFound(f"Session {self.sid} no longer exists") from None
                raise CsaError(f"Session {self.sid}: cannot open its lock file {path}: "
                               f"{e.strerror or e}") from e
            if not self._flock_with_grace(fd):
                os.close(fd)
                holder = _wait_for_record(path) or (live_holder(self.locks_dir) or {})
                raise SessionLocked(locked_message(self.sid, holder), pid=holder.get("pid"))
            if _is_at(fd, path):
                return fd
            # gc removed this (stale) lock file between our open and flock: a lock on the
            # unlinked file excludes nobody, so lock the one at the path now.
            os.close(fd)
        from csa.errors import CsaError

        raise CsaError(f"Session {self.sid}: its lock file {path} keeps being replaced")

    def _flock_with_grace(self, fd: int) -> bool:
        deadline = time.monotonic() + self.grace
        while True:
            if _try_flock(fd, fcntl.LOCK_EX):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    def _record(self, **extra) -> dict:
        from csa.state import iso_ms, utcnow

        rec = {"pid": os.getpid(), "pid_start": proc_start_time(os.getpid()),
               "tool": self.tool, "reason": self.reason, "since": iso_ms(utcnow()),
               "session": self.sid}
        rec.update(extra)
        return rec

    def update(self, **extra) -> None:
        """Rewrite the holder record (e.g. to add the tool's pid once it is spawned)."""
        self._write(self._record(**extra))

    def _write(self, rec: dict) -> None:
        # Write, then cut to length: a reader never finds the held lock's file empty
        # (it may see a longer old record's tail for an instant, and retries on that).
        data = orjson.dumps(rec)
        for fd, path in self._fds:
            with naming(path):
                os.pwrite(fd, data, 0)
                os.ftruncate(fd, len(data))

    def release(self, *, clear: bool = True) -> None:
        for fd, _path in reversed(self._fds):
            try:
                if clear:
                    os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
            except OSError:
                pass
            os.close(fd)
        self._fds.clear()

    @property
    def held(self) -> bool:
        return bool(self._fds)

    def __enter__(self) -> SessionLock:
        # Session.lock() hands out a lock already held: `with session.lock(...):` keeps it.
        return self if self.held else self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
