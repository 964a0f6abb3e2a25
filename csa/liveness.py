"""Is a session's turn working or stalled: the heartbeat and the probe that reads it.

    >>> beat = Heartbeat(session.heartbeat_path, interval=1.0)   # the relay's side
    >>> beat.beat(last_output_at=time.time())                    # at most once per interval
    >>> probe(session, stall_after=300)                          # is-alive, list, top
    Liveness(alive=True, state='working', pid=4242, last_output_at=1764734400.5, idle_s=2.1)

The heartbeat is the modification time of one empty file in the session's locks
dir (`locks/heartbeat`), set to the time of the tool's last output. The relay
touches it at most once per `transcript.flush_interval` while output flows (an
`utime`, no write, no per-line cost); a reader pays one `stat`. A heartbeat older
than the current lock holder belongs to an earlier turn and is ignored: the turn's
silence then counts from when its tool was spawned. States:

    working   a live process holds the session and its tool printed something (or
              was spawned) less than `stall_after` seconds ago (config, default 300)
    stalled   alive, but silent for `stall_after` seconds or more
    dead      no live process holds the session's lock
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from csa.config import Config
    from csa.session import Session

STALL_AFTER_S = 300.0
FLUSH_INTERVAL_S = 1.0
# A process start time is known to a clock tick: an output that soon after it is this turn's.
CLOCK_SLACK_S = 0.05


class Heartbeat:
    """The writer's side: the mtime of `path` follows the tool's last output."""

    def __init__(self, path: Path, interval: float = FLUSH_INTERVAL_S):
        self.path = path
        self.interval = interval
        self._written = 0.0  # the output time last written
        self._at = 0.0  # when it was written (wall clock)

    def due(self, last_output_at: float) -> float | None:
        """The wall time at which `beat` has work, or None while it has none."""
        if last_output_at <= self._written:
            return None
        return self._at + self.interval

    def beat(self, last_output_at: float, now: float | None = None) -> None:
        """Record `last_output_at` unless it is recorded or the last write is too recent."""
        now = time.time() if now is None else now
        if last_output_at <= self._written or now - self._at < self.interval:
            return
        try:
            try:
                os.utime(self.path, (last_output_at, last_output_at), follow_symlinks=False)
            except FileNotFoundError:
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW
                                 | os.O_CLOEXEC | os.O_NONBLOCK, 0o600))
                os.utime(self.path, (last_output_at, last_output_at), follow_symlinks=False)
        except OSError:  # a full disk or a removed session: liveness is best effort
            pass
        self._written, self._at = last_output_at, now


@dataclass
class Liveness:
    """What `csa session is-alive --json` prints (times in seconds since the epoch)."""

    alive: bool
    state: str  # working | stalled | dead
    pid: int | None = None
    last_output_at: float | None = None  # this turn's last output; None: none yet
    idle_s: float | None = None  # seconds without output (since the spawn when none yet)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["last_output_at"] = _iso(self.last_output_at)
        if self.idle_s is not None:
            d["idle_s"] = round(self.idle_s, 3)
        return d

    def describe(self) -> str:
        """`alive (working: last output 3s ago)`, `alive (stalled: no output for 6m02s)`,
        `not alive`."""
        if not self.alive:
            return "not alive"
        from csa.status_line import elapsed

        idle = elapsed(self.idle_s or 0.0)
        if self.state == "stalled":
            return f"alive (stalled: no output for {idle})"
        if self.last_output_at is None:
            return f"alive (working: no output yet, started {idle} ago)"
        return f"alive (working: last output {idle} ago)"


def stall_after(cfg: Config) -> float:
    return float(cfg.get("stall_after", STALL_AFTER_S))


def flush_interval(cfg: Config) -> float:
    return float(cfg.get("transcript.flush_interval", FLUSH_INTERVAL_S))


def probe(session: Session, stall_after: float = STALL_AFTER_S, *,
          holder: dict | None = None, now: float | None = None) -> Liveness:
    """The session's liveness from its lock holder and heartbeat (a `stat` and the lock
    probe); `holder` when the caller has just read it (None: read it here)."""
    if holder is None:
        holder = session.holder()
    if holder is None:
        return Liveness(alive=False, state="dead")
    now = time.time() if now is None else now
    started = turn_start(holder)
    try:
        beat: float | None = os.stat(session.heartbeat_path, follow_symlinks=False).st_mtime
    except OSError:
        beat = None
    if beat is not None and started is not None and beat < started - CLOCK_SLACK_S:
        beat = None  # an earlier turn's
    ref = beat if beat is not None else (started if started is not None else now)
    idle = max(0.0, now - ref)
    pid = holder.get("pid")
    return Liveness(alive=True, state="stalled" if idle >= stall_after else "working",
                    pid=pid if isinstance(pid, int) else None, last_output_at=beat, idle_s=idle)


def turn_start(holder: dict) -> float | None:
    """When the holder's turn began: its tool's start, else when it took the lock."""
    tool_start = holder.get("tool_start")
    if type(tool_start) in (int, float):
        return float(tool_start)
    since = holder.get("since")
    if isinstance(since, str):
        try:
            return datetime.fromisoformat(since.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def _iso(t: float | None) -> str | None:
    if t is None:
        return None
    from datetime import UTC

    from csa.state import iso_ms

    return iso_ms(datetime.fromtimestamp(t, UTC))
