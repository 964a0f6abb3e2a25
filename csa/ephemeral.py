"""`csa run --ephemeral` temp dirs that a crashed csa left behind, found and removed.

    >>> sweep_leaked()                      # csa gc / csa clean call this
    ['/tmp/csa-ephemeral-k2j4x9ab']
    >>> sweep_leaked(dry_run=True)          # what would go

An ephemeral session lives in `<tmp>/csa-ephemeral-XXXXXXXX` (Store.ephemeral) and is
removed when its run ends. A csa killed with -9 cannot remove it: the next gc or clean
does, once no process holds its session lock (the kernel released it with the dead
csa) and its holder record names a dead process. The tool that csa left running, if any,
is stopped first (matched by pid and start time, as a resume does). A dir younger than
YOUNG_S without a holder record is one being created right now: left alone.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

PREFIX = "csa-ephemeral-"
YOUNG_S = 60.0


def leaked_dirs(tmp: str | None = None, now: float | None = None) -> list[Path]:
    """This user's ephemeral temp dirs whose csa is gone."""
    from csa.lock import SESSION_LOCK, is_locked, pid_alive, read_holder
    from csa.session import LOCKS_DIR

    tmp = tmp or tempfile.gettempdir()
    now = time.time() if now is None else now
    try:
        names = [n for n in os.listdir(tmp) if n.startswith(PREFIX)]
    except OSError:
        return []
    out = []
    for name in names:
        path = Path(tmp) / name
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if not os.path.isdir(path) or os.path.islink(path) or st.st_uid != os.getuid():
            continue
        lock = path / LOCKS_DIR / SESSION_LOCK
        if is_locked(lock):
            continue
        holder = read_holder(lock)
        if holder and pid_alive(holder.get("pid"), holder.get("pid_start")):
            continue
        if not holder and now - st.st_mtime < YOUNG_S:
            continue
        out.append(path)
    return out


def sweep_leaked(*, dry_run: bool = False, tmp: str | None = None) -> list[str]:
    """Remove the leaked ephemeral dirs (stopping a tool left running); their paths."""
    from csa.lock import SESSION_LOCK, read_holder
    from csa.recover import stop_recorded_tool as reap_orphaned_tool
    from csa.session import LOCKS_DIR

    removed = []
    for path in leaked_dirs(tmp):
        if not dry_run:
            reap_orphaned_tool(read_holder(path / LOCKS_DIR / SESSION_LOCK))
            shutil.rmtree(path, ignore_errors=True)
        removed.append(str(path))
    return removed
