"""Relay a running tool: pump its stdout/stderr, enforce limits, forward signals.

    >>> relay = Relay(proc, tool, writer, options, store.redactor, on_tick=lambda: None)
    >>> relay.run()                  # returns when the tool is done (or stopped)
    >>> relay.exit_code, relay.status, relay.outcome.text()

stdout is read line by line: the tool reads each JSON event (provider id, text,
tokens) into `outcome`, the transcript writer records the line (redacted). stderr
is recorded and shown. --timeout / --idle-timeout send SIGTERM to the tool's
process group, SIGKILL after a grace; SIGINT/SIGTERM/SIGHUP of csa are forwarded
to the group (exit 130). `on_tick` runs every TICK_S while the tool runs (hooks:
memory sampling). The last events and stderr lines are kept (`tail_events`,
`stderr_text()`) for the tool's failure classification; a `watch` (csa.failover's
RetryWatch) may stop a tool that keeps retrying a rate limit (`gave_up` = the kind).

While the tool is silent the relay keeps time for it (`flush_interval`, config
`transcript.flush_interval`): the writer's timer flush and fsync run (what the tool
printed is on disk within the interval), the heartbeat gets the time of the last
output (csa.liveness), and a line the tool left unfinished for an interval is
recorded as far as it goes: `{"type": "stdout"|"stderr", "text": ..., "partial":
true}`; the rest of that line, once it ends, is the stream's next record (the tool
still reads the whole line).
`on_provider_id(pid)` runs once, right after the event that first carried the tool's
conversation id (csa.turn.record persists it).
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable

import orjson

from csa import catalogue
from csa.errors import CsaError
from csa.liveness import FLUSH_INTERVAL_S, Heartbeat
from csa.tools.base import Tool, TurnOutcome
from csa.transcript import TIMER_SHARE
from csa.turn.request import TurnOptions
from csa.turn.spawn import KILL_GRACE_S, kill_group, stop

EXIT_TIMEOUT = 124
EXIT_INTERRUPTED = 130
TICK_S = 0.5
# The tool is gone but a grandchild holds the pipes open: stop reading after this.
ORPHAN_PIPE_S = 2.0
TAIL_EVENTS, TAIL_STDERR = 64, 200  # kept for classify(): a failure is in the last lines


class Relay:
    """Pumps the tool's stdout/stderr into the tool and transcript; enforces limits."""

    def __init__(self, proc: subprocess.Popen, tool: Tool, writer,
                 options: TurnOptions, redactor, on_tick: Callable[[], None] = lambda: None,
                 watch=None, *, heartbeat: Heartbeat | None = None,
                 flush_interval: float = FLUSH_INTERVAL_S,
                 on_provider_id: Callable[[str], None] | None = None):
        self.proc = proc
        self.redactor = redactor  # stderr echoed to the user is redacted too
        self.tool = tool
        self.writer = writer
        self.options = options
        self.on_tick = on_tick
        self.on_provider_id = on_provider_id  # called once, at the first id the tool prints
        self.outcome = TurnOutcome()
        self.exit_code = 0
        self.status = "finished"
        self.writer_error: OSError | None = None
        self._interrupted: int | None = None
        self._kill_at: float | None = None
        self._show_stderr = not options.quiet
        self.watch = watch
        self.gave_up: str | None = None  # the failure kind the watch stopped the tool for
        self.tail_events: deque[dict] = deque(maxlen=TAIL_EVENTS)
        self.stderr_tail: deque[str] = deque(maxlen=TAIL_STDERR)
        self.heartbeat = heartbeat
        self.flush_interval = flush_interval
        self._bufs = {"stdout": b"", "stderr": b""}
        self._recorded = {"stdout": 0, "stderr": 0}  # bytes of the buffer recorded as partial
        self._output_at = 0.0  # wall time of the last output

    def stderr_text(self) -> str:
        return "\n".join(self.stderr_tail)

    @property
    def last_output(self) -> float:
        """time.monotonic() of the tool's last output (its start before any)."""
        return getattr(self, "_last_output", time.monotonic())

    def run(self) -> None:
        handlers = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                handlers[sig] = signal.signal(sig, self._on_signal)
        try:
            self._pump()
        finally:
            for sig, old in handlers.items():
                signal.signal(sig, old)
            stop(self.proc)  # whatever is left of the group (grandchildren)
        rc = self.proc.returncode
        if self._interrupted is not None:
            self.exit_code, self.status = EXIT_INTERRUPTED, "interrupted"
        elif self.status == "timeout":
            self.exit_code = EXIT_TIMEOUT
        else:
            self.exit_code = rc if rc >= 0 else 128 - rc
            self.status = "finished" if rc == 0 else "failed"
            if self.gave_up is not None:  # stopped by csa: failed, whatever it exited with
                self.exit_code, self.status = self.exit_code or 1, "failed"

    def _on_signal(self, signum, _frame) -> None:
        if self._interrupted is None:
            self._interrupted = signum
            self._stop_tool(signum, f"interrupted ({signal.Signals(signum).name})")
            self._kill_at = time.monotonic() + self._grace()

    def _pump(self) -> None:
        proc = self.proc
        assert proc.stdout is not None and proc.stderr is not None
        sel = selectors.DefaultSelector()
        for stream, name in ((proc.stdout, "stdout"), (proc.stderr, "stderr")):
            os.set_blocking(stream.fileno(), False)
            sel.register(stream.fileno(), selectors.EVENT_READ, name)
        bufs = self._bufs
        self._last_output = self._next_tick = time.monotonic()
        self._wall = self._last_output + self.options.timeout if self.options.timeout else None
        exited_at: float | None = None
        open_fds = 2
        while open_fds:
            now = time.monotonic()
            self._limits(now)
            if exited_at is None and proc.poll() is not None:
                exited_at = now
            if exited_at is not None and now - exited_at > ORPHAN_PIPE_S:
                break
            wait = self._wait(now) if exited_at is None else min(self._wait(now), 0.1)
            for key, _ in sel.select(wait):
                open_fds -= self._read(sel, key, bufs)
        for name, buf in bufs.items():
            if buf:
                self._lines(name, [buf], self._recorded[name])
        sel.close()
        try:
            proc.wait(timeout=self._grace() if self._interrupted or self.status == "timeout"
                      else None)
        except subprocess.TimeoutExpired:
            stop(proc)

    def _limits(self, now: float) -> None:
        """Tick, and enforce --timeout, --idle-timeout and the kill grace."""
        if now >= self._next_tick:
            self.on_tick()
            self._next_tick = now + TICK_S
        self._keep_time(now)
        opts = self.options
        if self.status != "timeout" and self._interrupted is None:
            if self._wall is not None and now >= self._wall:
                self._timeout(f"timed out after {opts.timeout:g}s")
            elif opts.idle_timeout and now - self._last_output >= opts.idle_timeout:
                self._timeout(f"no output for {opts.idle_timeout:g}s")
        if self._kill_at is not None and now >= self._kill_at:
            kill_group(self.proc.pid, signal.SIGKILL)
            self._kill_at = None

    def _wait(self, now: float) -> float:
        """How long select may sleep: until the next tick, limit or kill, at most 1 s."""
        deadlines = [self._next_tick]
        if self._wall is not None:
            deadlines.append(self._wall)
        if self.options.idle_timeout:
            deadlines.append(self._last_output + self.options.idle_timeout)
        if self._kill_at is not None:
            deadlines.append(self._kill_at)
        deadlines += self._timer_deadlines(now)
        return min(max(0.0, min(deadlines) - now), 1.0)

    def _keep_time(self, now: float) -> None:
        """While the tool is silent: partial lines, the writer's timer, the heartbeat."""
        wall = time.time()
        if now - self._last_output >= self.flush_interval * TIMER_SHARE:
            for name, buf in self._bufs.items():
                if len(buf) > self._recorded[name]:
                    self._partial(name, buf)
        if self.writer is not None:
            try:
                self.writer.tick(wall)
            except OSError as e:
                self._writer_failed(e)
        if self.heartbeat is not None and self._output_at:
            self.heartbeat.beat(self._output_at, wall)

    def _timer_deadlines(self, now: float) -> list[float]:
        """When _keep_time has work next (monotonic times)."""
        out = []
        if any(len(b) > self._recorded[n] for n, b in self._bufs.items()):
            out.append(self._last_output + self.flush_interval * TIMER_SHARE)
        wall = time.time()
        due = self.writer.due_in(wall) if self.writer is not None else None
        if due is not None:
            out.append(now + due)
        beat = self.heartbeat.due(self._output_at) if self.heartbeat is not None else None
        if beat is not None:
            out.append(now + max(0.0, beat - wall))
        return out

    def _partial(self, name: str, buf: bytes) -> None:
        """Record the unfinished line's new bytes (up to a whole UTF-8 character)."""
        start = self._recorded[name]
        end = start + _whole_utf8(buf[start:])
        if end == start or self.writer is None:
            return
        self._recorded[name] = end
        try:
            self.writer.append(name, text=buf[start:end].decode("utf-8", "replace"),
                               partial=True)
            self.writer.flush()  # the tool has been silent for the interval already
        except OSError as e:
            self._writer_failed(e)

    def _read(self, sel, key, bufs: dict[str, bytes]) -> int:
        """Read what one pipe has; 1 when it reached end of file (and is unregistered)."""
        name = key.data
        try:
            data = os.read(key.fd, 1 << 18)
        except BlockingIOError:
            return 0
        if not data:
            sel.unregister(key.fd)
            return 1
        self._last_output = time.monotonic()
        self._output_at = time.time()
        buf = bufs[name] + data
        if b"\n" in buf:
            *lines, buf = buf.split(b"\n")
            self._lines(name, lines, self._recorded[name])
            self._recorded[name] = 0
        bufs[name] = buf
        return 0

    def _timeout(self, why: str) -> None:
        self.status = "timeout"
        self.outcome.errors.append(why)
        self.options.say(f"csa: {why}; stopping {self.tool.name}")
        self._stop_tool(signal.SIGTERM, why)
        self._kill_at = time.monotonic() + self._grace()

    def _grace(self) -> float:
        """Seconds between asking the tool to stop and SIGKILL: an ACP agent answers a
        session/cancel (csa.acp.process.CANCEL_GRACE_S), a process gets KILL_GRACE_S."""
        return getattr(self.proc, "stop_grace", KILL_GRACE_S)

    def _stop_tool(self, sig: int, why: str) -> None:
        """Ask the tool to stop: an ACP agent's prompt is cancelled (session/cancel,
        csa.acp.process), any other tool's group gets `sig`; SIGKILL follows the grace."""
        soft_stop = getattr(self.proc, "soft_stop", None)
        if soft_stop is not None:
            soft_stop(why)
        else:
            kill_group(self.proc.pid, sig)

    def _give_up(self, kind: str, why: str) -> None:
        """The watch saw the tool retry a failure too often: stop it (failover goes on)."""
        if self.gave_up is not None or self.status == "timeout" or self._interrupted:
            return
        self.gave_up = kind
        self.outcome.errors.append(why)
        self.options.say(f"csa: {why}; stopping {self.tool.name}")
        self._stop_tool(signal.SIGTERM, why)
        self._kill_at = time.monotonic() + self._grace()

    def _writer_failed(self, error: OSError) -> None:
        """Disk full or similar: keep relaying (the turn is not lost), stop recording."""
        self.writer_error = error
        self.writer = None
        self.options.say(f"csa: cannot write the transcript ({error.strerror or error}); "
                         "the rest of this turn is not recorded")

    def _lines(self, stream: str, lines: list[bytes], skip: int = 0) -> None:
        """Complete lines of one stream; the first `skip` bytes of the first one were
        recorded already (as partial)."""
        if stream == "stdout":
            for raw in lines:
                self._stdout_line(raw[:-1] if raw.endswith(b"\r") else raw, skip)
                skip = 0
            return
        for raw in lines:
            text = raw.decode("utf-8", "replace").rstrip("\r")
            rest = raw[skip:].decode("utf-8", "replace").rstrip("\r") if skip else text
            skip = 0
            if not text.strip():
                continue
            self.stderr_tail.append(text)
            if self.watch is not None:
                self._watched(self.watch.line(text))
            if self.writer is not None and rest.strip():
                try:
                    self.writer.write(catalogue.stderr(rest))
                except OSError as e:
                    self._writer_failed(e)
            if self._show_stderr:
                sys.stderr.write(f"[{self.tool.name}] {self.redactor.text(text)}\n")
        if self._show_stderr:
            sys.stderr.flush()

    def _watched(self, verdict: tuple[str, str] | None) -> None:
        if verdict is not None:
            self._give_up(*verdict)

    def _provider_id_seen(self, pid: str) -> None:
        """Persist the tool's conversation id the moment it is first seen (once)."""
        callback, self.on_provider_id = self.on_provider_id, None
        assert callback is not None
        try:
            callback(pid)
        except (CsaError, OSError) as e:  # a full disk: the turn goes on, recorded at its end
            self.outcome.errors.append(f"could not record the provider id: {e}")

    def _stdout_line(self, raw: bytes, skip: int = 0) -> None:
        if not raw.strip():
            return
        outcome, tool = self.outcome, self.tool
        outcome.events += 1
        event = None
        if raw[:1] == b"{":
            try:
                event = orjson.loads(raw)
            except orjson.JSONDecodeError:
                event = None
        if isinstance(event, dict):
            try:
                tool.take_event(event, outcome)
            except Exception as e:  # noqa: BLE001 - one odd event must not end the relay
                outcome.errors.append(f"unreadable {tool.name} event: {e}")
            if outcome.provider_session_id is not None and self.on_provider_id is not None:
                self._provider_id_seen(outcome.provider_session_id)
            self.tail_events.append(event)
            if self.watch is not None:
                self._watched(self.watch.event(event))
        if skip:
            raw = raw[skip:]
            if not raw.strip():
                return
        if self.writer is not None:
            try:
                self.writer.append_stdout_line(raw.decode("utf-8", "replace"))
            except OSError as e:
                self._writer_failed(e)


def _whole_utf8(data: bytes) -> int:
    """len(data), minus an unfinished UTF-8 character at its end."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 != 0x80:  # a lead byte (or ASCII): is its character complete?
            need = 1 if byte < 0x80 else 2 if byte >= 0xC0 and byte < 0xE0 else \
                3 if byte < 0xF0 else 4
            return len(data) if back >= need or byte < 0xC0 else len(data) - back
    return len(data)
