"""The live status line of `csa run`: one line on stderr while the tool works, on a terminal.

    csa: codex  1m12s  3,410 tokens  last tool: command_execution  working

Shown only when stderr is a terminal and the run is not --quiet; redrawn on every relay
tick (0.5 s), cleared when the turn ends. Any other stderr write during the turn (the
tool's own stderr lines, csa's messages) clears it first, so lines never mix; the next
tick draws it again. A tool silent for `stall_after` seconds (config, csa.liveness) is
shown as stalled, as `is-alive` and `list` show it.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from csa.turn.pipeline import Turn

CLEAR = "\r\033[K"


def elapsed(secs: float) -> str:
    """`42s`, `1m12s`, `2h03m`."""
    s = int(secs)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def describe(tool: str, secs: float, tokens: int, last_tool: str | None,
             silent_s: float, stall_after: float) -> str:
    """The line's text (ASCII only: any terminal can show it)."""
    parts = [f"csa: {tool}", elapsed(secs), f"{tokens:,} tokens" if tokens else "- tokens"]
    if last_tool:
        parts.append(f"last tool: {last_tool}")
    parts.append(f"stalled (silent {elapsed(silent_s)})" if silent_s >= stall_after else "working")
    return "  ".join(parts)


class _Guard:
    """sys.stderr while the line is shown: clears the line before anything else is written."""

    def __init__(self, line: StatusLine, real):
        self._line, self._real = line, real

    def write(self, text: str) -> int:
        self._line.clear()
        return self._real.write(text)

    def __getattr__(self, name):
        return getattr(self._real, name)


class StatusLine:
    """The hook (csa.turn.hooks): during_turn starts it, tick draws it, the end clears it."""

    def __init__(self, stream=None):
        self.stream = stream
        self.shown = False
        self.real = None

    def during_turn(self, turn: Turn) -> None:
        stream = self.stream or sys.stderr
        try:
            tty = stream.isatty()
        except (AttributeError, ValueError):
            tty = False
        if turn.options.quiet or not tty:
            return
        self.real = stream
        sys.stderr = _Guard(self, stream)

    def tick(self, turn: Turn) -> None:
        if self.real is None or turn.relay is None:
            return
        relay, now = turn.relay, time.monotonic()
        outcome = relay.outcome
        from csa.liveness import stall_after

        text = describe(turn.tool.name, now - turn.started, sum(outcome.tokens.values()),
                        outcome.last_tool, now - relay.last_output, stall_after(turn.cfg))
        width = shutil.get_terminal_size((80, 24)).columns - 1
        try:
            self.real.write(CLEAR + text[:max(width, 10)])
            self.real.flush()
            self.shown = True
        except (OSError, ValueError):  # the terminal went away: stop drawing
            self.stop()

    def clear(self) -> None:
        if self.shown and self.real is not None:
            self.shown = False
            try:
                self.real.write(CLEAR)
            except (OSError, ValueError):
                pass

    def stop(self) -> None:
        """Clear the line and give sys.stderr back (idempotent)."""
        self.clear()
        if self.real is not None:
            if isinstance(sys.stderr, _Guard):
                sys.stderr = self.real
            self.real = None

    def after_turn(self, turn: Turn, _result) -> None:
        self.stop()

    def after_release(self, _choice) -> None:
        self.stop()
