"""The trash: where removed session dirs wait, out of every listing, for their space to be freed.

    >>> entry = move(store, session.dir)       # one rename: the session is no longer there
    >>> reclaim(store, budget_s=0.5)           # frees what it can in the time; True if empty
    >>> reclaim_later(store)                   # a detached, niced process frees the rest

Freeing a session's files is the kernel's most expensive part of a removal (a clean of
10,000 sessions spent 78 % of its time there), while renaming its directory is one
metadata write. So `clean` renames every swept session into `<project state>/trash/`
under the session's lock, forgets it everywhere else (summary and search index rows,
checkpoint refs: csa.forget), frees what it can within RECLAIM_BUDGET_S and leaves the
rest to a detached process it starts. Deleting still means gone: from the moment of the
rename no csa command can reach the session (nothing reads the trash; the dir is private
to the user, as the sessions were), and its bytes are freed seconds later. A reclaimer
that was killed leaves its entries to the next `csa gc` or clean, which empty the trash.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from csa.store import Store

TRASH_DIR = "trash"
RECLAIM_BUDGET_S = 0.5  # what clean spends freeing space itself before it detaches the rest
RECLAIM_INLINE = 200  # more sessions than this go to the detached process at once
_counter = itertools.count()
_made: set[Path] = set()  # trash dirs this process made or found (one mkdir each)


def trash_dir(store: Store) -> Path:
    return store.dir / TRASH_DIR


def ensure(store: Store) -> Path:
    """The trash dir, made if missing (once per process)."""
    dest = trash_dir(store)
    if dest not in _made:
        try:
            os.mkdir(dest, 0o700)
        except FileExistsError:
            pass
        _made.add(dest)
    return dest


def entry_name(name: str) -> str:
    """A name in the trash for `name` that no other entry has (pid and a counter)."""
    return f"{name}.{os.getpid()}.{next(_counter)}"


def move(store: Store, path: Path) -> Path | None:
    """Rename `path` (a dir inside the store) into the trash; None when the trash is on
    another filesystem (a mounted or linked sessions/), and the caller removes it in place."""
    entry = ensure(store) / entry_name(path.name)
    try:
        os.rename(path, entry)
    except OSError as e:
        import errno

        if e.errno == errno.EXDEV:
            return None
        raise
    return entry


def entries(store: Store) -> list[Path]:
    """What waits in the trash now."""
    dest = trash_dir(store)
    try:
        return [dest / name for name in os.listdir(dest)]
    except (FileNotFoundError, NotADirectoryError):
        return []


def remove(entry: Path) -> None:
    """Free one trash entry (idempotent: two reclaimers may meet on one)."""
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        try:
            entry.unlink()
        except FileNotFoundError:
            pass


def reclaim(store: Store, budget_s: float | None = None) -> bool:
    """Free the trash's entries (all of them, or as many as `budget_s` seconds allow);
    True when the trash is empty afterwards."""
    return _free(trash_dir(store), None if budget_s is None else time.monotonic() + budget_s)


def _free(dest: Path, deadline: float | None) -> bool:
    try:
        names = os.listdir(dest)
    except (FileNotFoundError, NotADirectoryError):
        return True
    for name in names:
        if deadline is not None and time.monotonic() >= deadline:
            return False
        remove(dest / name)
    return not os.listdir(dest)


def reclaim_later(store: Store) -> int | None:
    """Start a detached, niced process that empties the trash; its pid (None if it could
    not start: the next gc or clean then frees the space)."""
    package_parent = str(Path(__file__).resolve().parent.parent)
    code = ("import os, sys; sys.path.insert(0, sys.argv[2]); os.nice(10); "
            "from csa.trash import _free; from pathlib import Path; _free(Path(sys.argv[1]), None)")
    try:
        proc = subprocess.Popen(
            [sys.executable, "-c", code, str(trash_dir(store)), package_parent],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            cwd="/", start_new_session=True, close_fds=True)
    except OSError:
        return None
    return proc.pid


def empty(store: Store, moved: int = 0) -> bool:
    """Clean's last step, after it `moved` sessions into the trash: free it within
    RECLAIM_BUDGET_S, detach the rest (all of it when there are more than RECLAIM_INLINE:
    those would spend the whole budget). True when it is empty now."""
    if moved <= RECLAIM_INLINE and reclaim(store, RECLAIM_BUDGET_S):
        return True
    reclaim_later(store)
    return False
