"""What `csa run` tells the user when a turn did not finish well: one line on stderr.

    >>> failure_line(result, store.redactor)
    'csa: codex failed (exit 1): model overloaded; see: csa session logs -s 01JH4QWERT'

A tool's own error message (from its event stream) is shown once: not when its stderr,
already relayed as `[tool] ...`, or its answer on stdout, said the same. A tool that dies
without a word still gets a line saying so, and an interrupted run says how to resume.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from csa.turn.outcome import RunResult

SHORT = 10  # csa.listing.SHORT_ID: the id width every command shows


def failure_line(result: RunResult, redactor=None) -> str | None:
    """The line for a turn that failed, timed out or was interrupted; None when it finished."""
    if result.exit_code == 0 and result.status == "finished":
        return None
    sid = result.session_id[:SHORT]
    if result.status == "interrupted":
        if result.ephemeral:
            return "csa: interrupted (an --ephemeral session cannot be resumed)"
        return f'csa: interrupted; resume with: csa run -s {sid} "continue"'
    shown = " ".join(result.stderr_tail)
    errors = [e for e in result.errors if e.strip() and e.strip() not in shown]
    text = "; ".join(" ".join(e.split()) for e in errors)
    if redactor is not None and text:
        text = redactor.text(text)
    if len(text) > 300:
        text = text[:299] + "…"
    where = "" if result.ephemeral else f"; see: csa session logs -s {sid}"
    what = "timed out" if result.status == "timeout" else f"failed (exit {result.exit_code})"
    if text:
        return f"csa: {result.tool} {what}: {text}{where}"
    if shown or (result.final_text or "").strip() or result.status == "timeout":
        return f"csa: {result.tool} {what}{where}"  # its words are on screen already
    return f"csa: {result.tool} {what} without an error message{where}"
