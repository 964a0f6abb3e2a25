"""Every FAKE_* misbehaviour switch, read from the environment where the turn needs it.

    FAKE_EXIT=7 FAKE_SLEEP=0.5 codex exec --json hi    # answers after 0.5 s, then exits 7

The turn (turn.play) calls these in order: before_output() before anything is printed,
after_first_line() once the provider id is out, reply_extras() while building the reply,
huge_mb() and exit_code() for the last lines.  README.md documents each variable; a new
switch goes here (and in the README table) and is called from turn.play or a tool's hook.
"""

import os
import time

from .ids import now_ms
from .jsonio import append_lines, dumps, err_text, out_text, write_fd


def text(name, default=""):
    return os.environ.get(name, default)


def on(name):
    """A yes/no switch: set and not "0"."""
    return text(name) not in ("", "0")


def seconds(name):
    """A duration switch in seconds; unset or unreadable -> 0."""
    v = text(name).strip()
    try:
        return float(v) if v else 0.0
    except ValueError:
        return 0.0


def csa_env():
    return {k: os.environ[k] for k in sorted(os.environ) if k.startswith("CSA_")}


def log_invocation(run, extra):
    """FAKE_LOG: one JSON line per invocation (the first call wins: failures add error/exit)."""
    path = os.environ.get("FAKE_LOG")
    if not path or run.logged:
        return
    run.logged = True
    entry = {
        "tool": run.tool,
        "argv": run.argv,
        "cwd": run.cwd,
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "time_ms": now_ms(),
        "session_id": run.rec["id"] if run.rec else None,
        "resume": (not run.is_new) if run.rec else None,
        "env": csa_env(),
    }
    entry.update(extra)
    try:
        append_lines(path, [entry])
    except OSError:
        pass


def before_output(run, **log_extra):
    """FAKE_IGNORE_TERM, FAKE_LOG, FAKE_STDERR, FAKE_PAUSE_AT=start: before the first
    stdout line."""
    if on("FAKE_IGNORE_TERM"):
        import signal

        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    run.log(**log_extra)
    if text("FAKE_STDERR"):
        err_text(text("FAKE_STDERR"))
    pause_at("start")


def pause_at(point):
    """FAKE_PAUSE_AT=POINT (start | after_id | mid): at that point of the turn, start a
    grandchild that leaves the process group (FAKE_GRANDCHILD=1), append `pause POINT
    PID` and `grandchild PID` to FAKE_MARK, then sleep FAKE_PAUSE_S (default 60) seconds.
    A test kills csa at a known point of the tool's output this way."""
    if text("FAKE_PAUSE_AT") != point:
        return
    lines = []
    if on("FAKE_GRANDCHILD"):
        from .spawn import detached_grandchild

        lines.append(f"grandchild {detached_grandchild()}")
    lines.insert(0, f"pause {point} {os.getpid()}")
    mark = text("FAKE_MARK")
    if mark:
        with open(mark, "a") as f:
            f.write("\n".join(lines) + "\n")
    time.sleep(seconds("FAKE_PAUSE_S") or 60)


def pause():
    """FAKE_STALL + FAKE_SLEEP: go silent for that long."""
    delay = seconds("FAKE_STALL") + seconds("FAKE_SLEEP")
    if delay > 0:
        time.sleep(delay)


def after_first_line():
    """FAKE_CRASH, FAKE_SECRET's leaks, FAKE_CHILD_SLEEP, FAKE_SHELL, then pause(): the id is
    already out."""
    crash = text("FAKE_CRASH")
    if on("FAKE_CRASH"):
        write_fd(1, '{"type":"assistant","message":{"id":"msg_fake_trunc","content":[{"type":"te')
        if crash == "kill":
            os.kill(os.getpid(), 9)
        os._exit(3)
    secret = text("FAKE_SECRET")
    if secret:
        err_text(f"[fake-debug] loaded credential: {secret}")
        out_text(f"[fake-debug] Authorization: Bearer {secret}\n")
    if text("FAKE_CHILD_SLEEP"):
        from .spawn import sleeping_grandchild

        sleeping_grandchild(text("FAKE_CHILD_SLEEP"))
    if text("FAKE_SHELL"):  # what an agent's shell tool would do, e.g. a git commit
        import subprocess

        subprocess.run(["/bin/sh", "-c", text("FAKE_SHELL")], stdin=subprocess.DEVNULL,
                       stdout=2, check=False)
    pause_at("after_id")
    pause()


def reply_extras():
    """Text appended to the reply: FAKE_NESTED's result, FAKE_PRINT_ENV, FAKE_SECRET."""
    extras = ""
    if text("FAKE_NESTED").strip():
        from .spawn import run_nested

        extras += " " + run_nested(text("FAKE_NESTED"))
    if on("FAKE_PRINT_ENV"):
        extras += " env=" + dumps(csa_env())
    if text("FAKE_SECRET"):
        extras += " secret=" + text("FAKE_SECRET")
    return extras


def huge_mb():
    """FAKE_HUGE_MB: megabytes of extra stream lines before the reply (0 = none)."""
    try:
        return float(text("FAKE_HUGE_MB", "0") or "0")
    except ValueError:
        return 0


def exit_code():
    """FAKE_EXIT: the exit status (and, when not 0, the tool's failure lines)."""
    try:
        return int(text("FAKE_EXIT", "0") or "0")
    except ValueError:
        return 1


def failure_text(code):
    return f"FAKE_EXIT={code}: simulated failure"
