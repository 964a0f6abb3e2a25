"""`python tests/killhook.py ARGS...`: csa, pausing inside the result write (kill-point tests).

When csa writes output/result.toml it appends `result_write PID` to $KILLHOOK_MARK and
sleeps, so a test can SIGKILL it at exactly that point of the turn's recording.
"""

import os
import sys
import time

import csa.result
from csa.cli import main


def _paused_write(path, data, **kw):
    with open(os.environ["KILLHOOK_MARK"], "a") as f:
        f.write(f"result_write {os.getpid()}\n")
    time.sleep(60)


csa.result.atomic_write = _paused_write
if __name__ == "__main__":
    sys.argv[0] = "csa"
    main()
