"""Per-tool concurrency slots: at most `max_concurrent` runs of a tool at once.

    >>> slot = acquire_slot(base, "codex", limit=2)             # raises when all are taken
    >>> slot = acquire_slot(base, "codex", limit=2, wait=30.0)  # waits up to 30 s
    >>> slot.release()

Slot n is a filelock on `<base>/slots/<tool>/<n>.lock`, shared by every project (the
limit protects the machine and the provider account, not one project). A waiter polls
all n files, so it gets whichever slot frees first.
"""

from __future__ import annotations

import time
from pathlib import Path

from csa.errors import CsaError
from csa.mutex import file_lock


class Slot:
    def __init__(self, lock, index: int):
        self.lock = lock
        self.index = index

    def release(self) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None


def acquire_slot(base: Path, tool: str, limit: int, *, wait: bool | float = False,
                 poll: float = 0.2) -> Slot:
    """Take a free slot. `wait`: False fails at once, True waits forever, a number waits
    that many seconds."""
    from filelock import Timeout

    d = base / "slots" / tool
    locks = [file_lock(d / f"{i}.lock", timeout=0) for i in range(limit)]
    deadline = None if wait is True or wait is False else time.monotonic() + float(wait)
    while True:
        for i, lock in enumerate(locks):
            try:
                lock.acquire()
            except Timeout:
                continue
            return Slot(lock, i)
        if wait is False:
            raise CsaError(f"{tool}: all {limit} concurrent run slots are in use "
                           f"(tools.{tool}.max_concurrent = {limit}); retry later or pass --wait")
        if deadline is not None and time.monotonic() >= deadline:
            raise CsaError(f"{tool}: all {limit} concurrent run slots were still in use after "
                           f"waiting {float(wait):g} s (tools.{tool}.max_concurrent = {limit}); "
                           "retry later")
        time.sleep(poll)
