"""Durable, private file-system primitives: 0700 dirs, 0600 files, atomic replace.

    >>> atomic_write(Path("/tmp/x/state.toml"), b"a = 1\\n")   # temp, fsync, rename, dir fsync
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def ensure_dir(path: Path) -> Path:
    """Create `path` and every missing parent with mode 0700 whatever the umask
    (os.makedirs gives only the leaf its mode); leave existing dirs alone."""
    if os.path.isdir(path):
        return path
    missing = []
    for p in (Path(path), *Path(path).parents):
        if os.path.isdir(p):
            break
        missing.append(p)
    for p in reversed(missing):
        try:
            os.mkdir(p, DIR_MODE)
        except FileExistsError:
            continue  # made meanwhile (or a file: the next mkdir or the caller says so)
        os.chmod(p, DIR_MODE)  # the umask may have removed owner bits
    return path


def ensure_session_subdir(path: Path) -> Path:
    """ensure_dir for a dir inside a session (output/): refuse a symlink, which could
    point out of the state dir (csa never writes through one)."""
    ensure_dir(path)
    if os.path.islink(path) or not os.path.isdir(path):
        from csa.errors import CsaError

        raise CsaError(f"{path} is not a directory (a symlink?); csa does not follow links "
                       "out of a session — remove it")
    return path


@contextmanager
def naming(path: os.PathLike | str) -> Iterator[None]:
    """An OSError raised by a write through a file descriptor names `path` (os.write and
    os.pwrite leave `filename` empty, so "No space left on device" would not say where).

        >>> with naming(path):
        ...     os.write(fd, data)
    """
    try:
        yield
    except OSError as e:
        if e.filename is None:
            e.filename = os.fspath(path)
        raise


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Replace `path` with `data` so a reader sees either the old or the new file.

    A unique temp file in the same directory is written, fsynced, renamed over the
    target, and the directory is fsynced. If anything fails the temp file is
    removed and the old file is untouched.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    try:
        try:
            with naming(path):
                view = memoryview(data)
                while view:
                    n = os.write(fd, view)
                    view = view[n:]
                if durable:
                    os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    if durable:
        fsync_dir(path.parent)


def write_private(path: Path, data: bytes) -> None:
    """Create or truncate `path` with mode 0600 (not atomic; for caches and scratch).
    A symlink at `path` is refused (ELOOP), never written through."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | os.O_NOFOLLOW,
                 FILE_MODE)
    try:
        with naming(path):
            os.write(fd, data)
    finally:
        os.close(fd)


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def dir_size(path: Path | str) -> int:
    """Total bytes of regular files under `path`, not following symlinks."""
    total = 0
    try:
        with os.scandir(path) as it:
            for entry in it:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        total += dir_size(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_size
                except OSError:
                    continue
    except OSError:
        pass
    return total
