"""Session locks with `flock`: one turn at a time, liveness, and who holds a lock.

    >>> with SessionLock(session_dir, sid, tool="codex", reason="run") as lk:
    ...     ...   # locks/session.lock and locks/codex.lock are held; is_alive() is True

`locks/session.lock` is the session's mutex (runs, compress, delete and gc take it);
`locks/<tool>.lock` marks which tool runs. Both hold a small JSON record (pid, the
pid's start time, tool, reason, since) so a loser can say who holds the session,
and the next holder can tell a crashed run's orphaned tool process from a live one.
Descriptors are close-on-exec so the AI tool never inherits them. The kernel
releases a flock when its holder dies, so a killed csa never leaves a lock that
blocks a resume.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from pathlib import Path

import orjson

from csa.errors import SessionLocked
from csa.fsutil import FILE_MODE

SESSION_LOCK = "session.lock"
# A liveness probe holds a shared lock for microseconds; an acquirer that collides
# with one retries for this long before it reports the session as busy.
PROBE_GRACE_S = 0.25


def proc_start_time(pid: int) -> float | None:
    """Start time of `pid` in clock ticks since boot, read from /proc (None if gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    # The command name may hold spaces or parens: fields start after the last ')'.
    fields = data[data.rfind(b")") + 2:].split()
    try:
        return float(fields[19])
    except (IndexError, ValueError):
        return None


def pid_alive(pid: int | None, start_time: float | None = None) -> bool:
    """True if `pid` runs and (when given) started at `start_time` (guards pid reuse)."""
    if not pid or pid <= 0:
        return False
    current = proc_start_time(pid)
    if current is None:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return start_time is None
    return start_time is None or abs(current - start_time) < 1e-6


def _open_lock(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, FILE_MODE)


def read_holder(path: Path) -> dict:
    """The JSON record in a lock file ({} if empty, missing or unreadable)."""
    try:
        with open(path, "rb") as f:
            data = f.read(4096)
        rec = orjson.loads(data) if data.strip() else {}
        return rec if isinstance(rec, dict) else {}
    except (OSError, orjson.JSONDecodeError):
        return {}


def _try_flock(fd: int, mode: int) -> bool:
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
        return True
    except OSError as e:
        if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise


def is_locked(path: Path) -> bool:
    """True if some process holds an exclusive flock on `path` (probe, never blocks)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        if _try_flock(fd, fcntl.LOCK_SH):
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        return True
    finally:
        os.close(fd)


def live_holder(session_dir: Path) -> dict | None:
    """The holder record of a held lock in the session, or None if no lock is held."""
    locks = session_dir / "locks"
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


def is_alive(session_dir: Path) -> bool:
    return live_holder(session_dir) is not None


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

    def __init__(self, session_dir: Path, sid: str, *, tool: str | None = None,
                 reason: str = "run", grace: float = PROBE_GRACE_S):
        self.session_dir = session_dir
        self.sid = sid
        self.tool = tool
        self.reason = reason
        self.grace = grace
        self._fds: list[tuple[int, Path]] = []
        self.previous: dict = {}

    @property
    def locks_dir(self) -> Path:
        return self.session_dir / "locks"

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
        paths = [self.locks_dir / SESSION_LOCK]
        if self.tool:
            paths.append(self.locks_dir / f"{self.tool}.lock")
        try:
            for path in paths:
                fd = _open_lock(path)
                if not self._flock_with_grace(fd):
                    os.close(fd)
                    holder = read_holder(path) or (live_holder(self.session_dir) or {})
                    raise SessionLocked(locked_message(self.sid, holder), pid=holder.get("pid"))
                self._fds.append((fd, path))
            # A record left behind means the last holder died without releasing cleanly.
            self.previous = read_holder(paths[-1])
            self.update()
        except BaseException:
            self.release(clear=False)
            raise
        return self

    def _flock_with_grace(self, fd: int) -> bool:
        deadline = time.monotonic() + self.grace
        while True:
            if _try_flock(fd, fcntl.LOCK_EX):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    def update(self, **extra) -> None:
        """Rewrite the holder record (e.g. to add the tool's pid once it is spawned)."""
        from csa.state import iso_ms, utcnow

        rec = {"pid": os.getpid(), "pid_start": proc_start_time(os.getpid()),
               "tool": self.tool, "reason": self.reason, "since": iso_ms(utcnow()),
               "session": self.sid}
        rec.update(extra)
        data = orjson.dumps(rec)
        for fd, _path in self._fds:
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)

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
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
