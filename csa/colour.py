"""Colour and paging like git: only on a terminal, never with NO_COLOR or --no-color.

    >>> if enabled(): text = status_column(table_text)       # colour the STATUS column
    >>> page(text)          # through $PAGER (else `less -FRX`) when stdout is a terminal

NO_COLOR (https://no-color.org): any non-empty value turns colour off, as does
`--no-color` (the `csa` group and read commands take it) and TERM=dumb. Colour codes are
added after a table is laid out, so the columns stay aligned.
"""

from __future__ import annotations

import os
import re
import sys

RESET = "\033[0m"
CODES = {"red": "\033[31m", "green": "\033[32m", "yellow": "\033[33m", "blue": "\033[34m",
         "cyan": "\033[36m", "dim": "\033[2m", "bold": "\033[1m"}
# Statuses a listing shows (csa.summaries.shown_status, csa.liveness) and their colour.
STATUS = {"running": "cyan", "working": "cyan", "stalled": "yellow", "failed": "red",
          "died": "red", "timeout": "red", "corrupt": "red", "interrupted": "yellow",
          "active": "green", "finished": "green", "done": "green", "available": "dim",
          "retired": "dim"}
_forced_off = False


def disable() -> None:
    """`--no-color`: no colour for the rest of this command."""
    global _forced_off
    _forced_off = True


def enabled(stream=None) -> bool:
    """Colour for `stream` (stdout): a terminal, no NO_COLOR, no --no-color, not TERM=dumb."""
    stream = sys.stdout if stream is None else stream
    if _forced_off or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def paint(text: str, colour: str | None) -> str:
    return f"{CODES[colour]}{text}{RESET}" if colour in CODES and text else text


def status_column(text: str, header: str = "STATUS") -> str:
    """`text` (a table from csa.cli.output.table) with each cell of column `header`
    coloured by its status word; columns keep their alignment."""
    lines = text.split("\n")
    head = lines[0] if lines else ""
    match = re.search(rf"(?:^|  ){header}(  |$)", head)
    if match is None:
        return text
    start = match.start() + (2 if match.group(0).startswith("  ") else 0)
    for i in range(1, len(lines)):
        line = lines[i]
        m = re.match(r"\S+", line[start:])
        if m:
            word = m.group(0)
            lines[i] = line[:start] + paint(word, STATUS.get(word)) + line[start + len(word):]
    return "\n".join(lines)


LOG_RULES = ((re.compile(r"(\S+ )(! .*)"), "red"), (re.compile(r"(\S+ )(▶ prompt.*)"), "bold"),
             (re.compile(r"(\S+ )(■ turn end: finished.*)"), "green"),
             (re.compile(r"(\S+ )(■ turn end: .*)"), "red"),
             (re.compile(r"(\S+ )(◆ .*)"), "cyan"))


def log_line(line: str) -> str:
    """A `session logs` line with its marker part coloured (stderr red, prompts bold...)."""
    for rule, colour in LOG_RULES:
        m = rule.match(line)
        if m:
            return paint(m.group(1), "dim") + paint(m.group(2), colour) + line[m.end():]
    return line


def page(text: str) -> None:
    """Write `text` to stdout, through a pager when stdout is a terminal: $PAGER (LESS=FRX
    when unset, like git), else `less -FRX`; straight out when there is no pager."""
    import shlex
    import subprocess

    pager = os.environ.get("PAGER")
    if pager is None:
        pager = "less -FRX"
    if not sys.stdout.isatty() or not pager.strip() or pager.strip() == "cat":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    env = dict(os.environ)
    env.setdefault("LESS", "FRX")
    try:
        proc = subprocess.Popen(shlex.split(pager), stdin=subprocess.PIPE, env=env)
    except (OSError, ValueError):
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        assert proc.stdin is not None
        proc.stdin.write(text.encode(sys.stdout.encoding or "utf-8", "replace"))
        proc.stdin.close()
    except BrokenPipeError:  # the user quit the pager early
        pass
    proc.wait()
