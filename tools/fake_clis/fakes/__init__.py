"""The fake AI CLIs: dispatch on the tool name to `fakes/<tool>.py`, importing only that one.

    bin/claude -p hi ...     # runs: import fakes; fakes.entry()  with argv [-c, claude, -p, hi, ...]
    main(["fake_cli.py", "codex", "exec", "--json", "hi"])   # -> exit status

Per tool: claude (+ claude_compact), codex, gemini, opencode.  Shared: argv (flag
tables, prompt), jsonio (JSON, stdout/stderr/files), store (conversations), switches
(every FAKE_* variable), spawn (child processes), turn (the order of one turn), ids.
Start-up matters (the tests run these thousands of times): the modules import only os,
sys, time and _json at the top (json would pull in re: +5 ms).  See ../README.md.
"""

import os
import sys

from .argv import Exit, clean
from .jsonio import err_text
from .turn import Run

TOOLS = ("claude", "codex", "gemini", "opencode")  # each is fakes/<name>.py with main(run)


def main(argv=None):
    """Run one fake CLI call; returns its exit status."""
    argv = list(sys.argv if argv is None else argv)
    prog = os.path.basename(argv[0]) if argv else ""
    if prog in TOOLS:
        tool, args = prog, argv[1:]
    elif len(argv) > 1 and argv[1] in TOOLS:
        tool, args = argv[1], argv[2:]
    else:
        err_text("usage: fake_cli.py {claude|codex|gemini|opencode} [ARGS...]")
        return 2
    module = __import__(f"{__name__}.{tool}", fromlist=["main"])
    run = Run(tool, [clean(a) for a in args])
    try:
        return module.main(run) or 0
    except Exit as e:
        if e.msg:
            err_text(e.msg)
        run.log(error=e.msg, exit=e.code)
        return e.code
    except BrokenPipeError:
        try:
            os.close(1)
        except OSError:
            pass
        return 1


def entry(argv=None):
    """Run and leave at once (no interpreter teardown: that is measurable start-up cost too)."""
    code = main(argv)
    os._exit(code & 0xFF if code >= 0 else 1)
