"""Per-tool concurrency slots: at most `max_concurrent` runs of a tool at once.

    >>> slot = acquire_slot(base, "codex", limit=2, wait=False)   # raises when all are taken
    >>> slot.release()

Slots are `flock`ed files `<base>/slots/<tool>/<n>.lock`, shared by every project
(the limit protects the machine and the provider account, not one project).
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from csa.errors import CsaError
from csa.fsutil import FILE_MODE, ensure_dir


class Slot:
    def __init__(self, fd: int, index: int):
        self.fd = fd
        self.index = index

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def acquire_slot(base: Path, tool: str, limit: int, *, wait: bool = False,
                 poll: float = 0.2) -> Slot:
    d = ensure_dir(base / "slots" / tool)
    while True:
        for i in range(limit):
            fd = os.open(d / f"{i}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
            return Slot(fd, i)
        if not wait:
            raise CsaError(f"{tool}: all {limit} concurrent run slots are in use "
                           f"(tools.{tool}.max_concurrent = {limit}); retry later or pass --wait")
        time.sleep(poll)
