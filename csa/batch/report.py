"""What a batch reports: each task's outcome, the live count on stderr, the totals.

    >>> out = Outcome(line=3, key="5d41...:0", name="docs", status="ok", exit_code=0,
    ...               session_id="01JH4Q...")
    >>> report = Report(batch_id="01JH4P...", outcomes=[out])
    >>> report.exit_code(), report.counts()
    (0, {'ok': 1})

Statuses: ok (the turn finished with exit code 0), skipped (done by an earlier run),
failed, timeout, interrupted, died (the turn's end as csa run recorded it), error
(csa run refused the task before a turn, e.g. its session was locked), not run
(cancelled by Ctrl-C before it started).
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

SUCCESS = ("ok", "skipped")


@dataclass
class Outcome:
    line: int
    key: str
    name: str
    status: str
    exit_code: int | None = None
    session_id: str | None = None
    duration_s: float | None = None
    error: str | None = None
    node: dict | None = None

    def to_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class Report:
    batch_id: str
    outcomes: list[Outcome] = field(default_factory=list)
    interrupted: bool = False
    started: datetime = field(default_factory=lambda: datetime.now(UTC))

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for o in self.outcomes:
            out[o.status] = out.get(o.status, 0) + 1
        return out

    def exit_code(self) -> int:
        """0 only if every task succeeded; 130 after Ctrl-C; else 1."""
        if self.interrupted:
            return 130
        return 0 if all(o.status in SUCCESS for o in self.outcomes) else 1

    def to_json(self) -> dict:
        return {"batch_session_id": self.batch_id, "exit_code": self.exit_code(),
                "interrupted": self.interrupted, "counts": self.counts(),
                "tasks": [o.to_json() for o in sorted(self.outcomes, key=lambda o: o.line)]}


class Progress:
    """The live count on stderr: rewritten in place on a terminal, a line per task else."""

    def __init__(self, batch_id: str, total: int, *, quiet: bool = False, stream=None):
        self.batch_id = batch_id
        self.total = total
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.left = 0  # submitted, not ended
        self.counts: dict[str, int] = {}
        self.last = time.monotonic()

    def line(self) -> str:
        done = sum(self.counts.values())
        bad = sum(n for s, n in self.counts.items() if s not in SUCCESS)
        skipped = self.counts.get("skipped", 0)
        return (f"csa: batch {self.batch_id}: {done}/{self.total} done"
                + (f" ({skipped} skipped)" if skipped else "")
                + f", {self.left} to go, {bad} failed")

    def submitted(self, n: int) -> None:
        self.left += n

    def ended(self, outcome: Outcome) -> None:
        self.counts[outcome.status] = self.counts.get(outcome.status, 0) + 1
        if outcome.status != "skipped":
            self.left = max(0, self.left - 1)
        if not self.tty and not self.quiet and outcome.status not in SUCCESS:
            detail = f": {outcome.error}" if outcome.error else ""
            print(f"csa: task line {outcome.line} ({outcome.name}) {outcome.status}{detail}",
                  file=self.stream, flush=True)
        self.show()

    def show(self, force: bool = False) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        if self.tty:  # at most 10 redraws a second
            if force or now - self.last >= 0.1:
                self.stream.write("\r\033[K" + self.line())
                self.stream.flush()
                self.last = now
        elif force or now - self.last >= 1.0 or sum(self.counts.values()) == self.total:
            print(self.line(), file=self.stream, flush=True)
            self.last = now

    def close(self) -> None:
        if not self.quiet and self.tty:
            self.stream.write("\r\033[K" + self.line() + "\n")
            self.stream.flush()
