"""Safe opening of every file csa reads or appends to: never a hang, never unbounded.

    >>> read_bytes(Path("/s/proj/sessions/01J.../state.toml"), "state")   # <= 1 MiB, regular
    b'meta_session_id = ...'
    >>> with open_stream(path, "transcript") as f: ...                    # streamed
    >>> fd = open_append(Path("/s/proj/events.jsonl"))                     # 0600, no symlink

A file is opened with O_NOFOLLOW (a symlink is refused, except for the user's own
global config, which dotfile managers link) and O_NONBLOCK (a FIFO cannot block
the open), then fstat must say "regular file" (a FIFO, device or directory is
refused) before a byte is read, and no more than the kind's cap is ever read.
A violation is one UnsafeFile error naming the file and what to do.
"""

from __future__ import annotations

import fcntl
import os
import stat
from typing import BinaryIO

from csa.errors import CsaError

MiB = 1 << 20

# Largest file csa accepts per kind (bytes). A summaries cache of 100,000 sessions is
# ~30 MiB; a result or journal holds a turn's final text; a marker or trust store is tiny.
CAPS: dict[str, int] = {
    "state": MiB, "config": MiB, "marker": MiB, "trust": MiB, "usage": MiB,
    "cache": 64 * MiB, "result": 16 * MiB, "journal": 16 * MiB,
    "events": 256 * MiB, "transcript": 1 << 40, "import": 1 << 40, "import-file": 256 * MiB,
    "git": 64 * MiB,
}
# Kinds whose file may be a symlink (the user's own dotfiles); fstat still applies.
FOLLOW = {"config-global", "import", "import-file", "git"}

_TYPES = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
          stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a directory", stat.S_IFLNK: "a symlink"}


class UnsafeFile(CsaError, OSError):
    """A file csa will not read: a symlink, FIFO, device, or larger than its cap. Also an
    OSError, so every caller that copes with an unreadable file copes with this one."""


def _refuse(path: os.PathLike | str, what: str) -> UnsafeFile:
    return UnsafeFile(f"{path}: {what}; csa reads only regular files there — move it away "
                      f"or replace it with a regular file")


def open_fd(path: os.PathLike | str, kind: str, flags: int = os.O_RDONLY,
            mode: int = 0o600) -> int:
    """An fd on the regular file at `path`, opened without following a symlink or
    blocking; FileNotFoundError passes through, anything unsafe is UnsafeFile."""
    nofollow = 0 if kind in FOLLOW else os.O_NOFOLLOW
    try:
        fd = os.open(path, flags | os.O_NONBLOCK | os.O_CLOEXEC | nofollow, mode)
    except OSError as e:
        if e.errno == 40:  # ELOOP: the last component is a symlink
            raise _refuse(path, "is a symlink") from e
        if e.errno == 6:  # ENXIO: a FIFO opened for writing with no reader
            raise _refuse(path, "is a FIFO") from e
        if e.errno == 21:  # EISDIR
            raise _refuse(path, "is a directory") from e
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _refuse(path, "is " + _TYPES.get(stat.S_IFMT(st.st_mode), "not a regular file"))
        cap = CAPS.get(kind.removesuffix("-global"), MiB)
        if st.st_size > cap and not flags & (os.O_WRONLY | os.O_RDWR):
            raise UnsafeFile(f"{path}: {st.st_size} bytes, more than the {_human(cap)} a "
                             f"{kind.removesuffix('-global')} file may hold; move it away")
        # Reads and writes block as usual from here on (a regular file never waits anyway).
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_bytes(path: os.PathLike | str, kind: str) -> bytes:
    """The whole file, at most its kind's cap (a file growing past it is refused)."""
    cap = CAPS.get(kind.removesuffix("-global"), MiB)
    fd = open_fd(path, kind)
    try:
        chunks, total = [], 0
        while chunk := os.read(fd, min(1 << 20, cap + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
            if total > cap:
                raise UnsafeFile(f"{path}: more than the {_human(cap)} a "
                                 f"{kind.removesuffix('-global')} file may hold; move it away")
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text(path: os.PathLike | str, kind: str) -> str:
    return read_bytes(path, kind).decode("utf-8", errors="replace")


def open_stream(path: os.PathLike | str, kind: str = "transcript") -> BinaryIO:
    """A buffered binary reader on a regular file (for line-by-line streaming)."""
    return os.fdopen(open_fd(path, kind), "rb")


def open_append(path: os.PathLike | str) -> int:
    """An O_APPEND fd on a regular file created 0600; a symlink or FIFO is refused."""
    return open_fd(path, "append", os.O_WRONLY | os.O_APPEND | os.O_CREAT)


def open_rw(path: os.PathLike | str) -> int:
    """A read-write fd (lock files), created 0600; a symlink or FIFO is refused."""
    return open_fd(path, "lock", os.O_RDWR | os.O_CREAT)


def _human(n: int) -> str:
    return f"{n // MiB} MiB" if n >= MiB else f"{n} bytes"
