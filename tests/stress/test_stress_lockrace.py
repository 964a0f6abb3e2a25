"""The session lock stays exclusive while `csa gc` removes stale lock files.

gc unlinks a lock file whose record names a dead process (what a `kill -9`ed run leaves).
An acquirer that opened that file just before the unlink would lock an inode nobody
else can see, and the next acquirer would create and lock a new file: two holders of
an "exclusive" lock. Here one process keeps planting stale records and collecting them
while three others take and release the lock as fast as they can; a shared counter
must never see two holders at once.

Short: 3 s. --stress-long: 30 s.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.stress

SID = "01JH4QWERT1234567890ABCDEF"


def _planter(sdir: str, stop: float, removed) -> None:
    from csa.gc import _stale_locks
    from csa.session import Session

    path = os.path.join(sdir, "locks", "session.lock")
    while time.time() < stop:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.write(fd, json.dumps({"pid": 999_999_999, "reason": "run"}).encode())
            os.close(fd)
        except OSError:
            pass
        if _stale_locks(Session(None, SID, dir=Path(sdir)), False):
            with removed.get_lock():
                removed.value += 1


def _acquirer(sdir: str, stop: float, holders, most, wins) -> None:
    from csa.errors import SessionLocked
    from csa.lock import SessionLock
    from csa.session import Session

    while time.time() < stop:
        try:
            lock = SessionLock(Session(None, SID, dir=Path(sdir)).locks_dir, SID, grace=0).acquire()
        except SessionLocked:
            continue
        with holders.get_lock():
            holders.value += 1
            most.value = max(most.value, holders.value)
            wins.value += 1
        time.sleep(0.0002)
        with holders.get_lock():
            holders.value -= 1
        lock.release(clear=False)
        time.sleep(0.001)


def test_gc_removing_stale_locks_never_lets_two_hold_a_session(tmp_path, stress_long):
    sdir = tmp_path / SID
    (sdir / "locks").mkdir(parents=True)
    ctx = multiprocessing.get_context("fork")
    stop = time.time() + (30 if stress_long else 3)
    holders, most, wins, removed = (ctx.Value("i", 0) for _ in range(4))
    procs = [ctx.Process(target=_planter, args=(str(sdir), stop, removed))]
    procs += [ctx.Process(target=_acquirer, args=(str(sdir), stop, holders, most, wins))
              for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    print(f"\nlock race: {wins.value} acquisitions, {removed.value} stale lock files removed, "
          f"at most {most.value} holder(s)")
    assert wins.value > 0 and removed.value > 0, "the race was not exercised"
    assert most.value == 1, f"{most.value} processes held the session lock at once"
