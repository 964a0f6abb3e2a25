"""Append-only JSONL transcript: one redacted event per line, seq without gaps.

Every line is ``{"v":1,"seq":N,"ts":"...Z","type":...}`` plus type-specific
fields; the event types are defined in :mod:`csa.catalogue`. A writer holds an
exclusive ``flock`` on the file; on open it drops a torn tail left by a crash
(the rule of :mod:`csa.jsonl`) and continues at ``last seq + 1``. Everything is
redacted (:mod:`csa.redact`) before it reaches the disk; records of one stream
(stderr, plain stdout lines, streamed message deltas) are redacted together
(:mod:`csa.redact_stream`, :mod:`csa.transcript_render`), so a key printed over
several records is caught.

Example::

    with TranscriptWriter(session.transcript_path, redactor=store.redactor) as tw:
        tw.write(catalogue.prompt(tool="codex", text="fix the tests"))
        for line in proc.stdout:
            tw.append_stdout_line(line)
        tw.write(catalogue.turn_end(tool="codex", exit_code=proc.wait(), status="finished"))
        tw.turn_end()
    for event in read_events(session.transcript_path):       # or session.read_transcript()
        print(event["seq"], event["type"])
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from typing import Any

from csa import catalogue
from csa.catalogue import VERSION
from csa.errors import CsaError
from csa.jsonl import JsonlReader, scan_tail
from csa.redact import Redactor
from csa.transcript_json import _dumps, _parse_object, _sanitize, _ts  # noqa: F401 - the renderer's

__all__ = ["TranscriptBusy", "TranscriptWriter", "events_reader", "last_seq", "read_events"]

_RESERVED = frozenset({"v", "seq", "ts", "type"})
FSYNC_S = 3.0  # written records are fsynced at least this often while tick() is called
# tick() writes a record once it waited this share of flush_interval: with the driver's
# wake-up delays it is on disk within the interval.
TIMER_SHARE = 0.9


class TranscriptBusy(CsaError):
    """Another writer holds the transcript's lock."""


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------

def _has_seq(obj: dict) -> bool:
    return type(obj.get("seq")) is int


def _scan_tail(fd: int) -> tuple[int, int | None]:
    """(length to keep, last seq) for an existing transcript (see jsonl.scan_tail)."""
    keep, last = scan_tail(fd, _has_seq)
    return keep, None if last is None else last["seq"]


def last_seq(path: str | os.PathLike[str]) -> int | None:
    """The seq of the last complete event, read from the tail; None if none or no file."""
    from csa.safeio import open_fd

    try:
        fd = open_fd(path, "transcript")
    except FileNotFoundError:
        return None
    try:
        return _scan_tail(fd)[1]
    finally:
        os.close(fd)


def read_events(path: str | os.PathLike[str], *, errors: list | None = None) -> Iterator[dict]:
    """Yield the events of a transcript in order.

    A torn tail (a crash artifact: what the next writer cuts off) is skipped
    silently. A corrupt line elsewhere is not hidden: ``(line_no, reason)`` goes
    to ``errors`` and ``{"type": "corrupt", "line": line_no, "error": reason}`` is
    yielded in its place. Line numbers start at 1.
    """
    return iter(events_reader(path, errors=errors))


def events_reader(path: str | os.PathLike[str], *, errors: list | None = None,
                  offset: int = 0, line_no: int = 0) -> JsonlReader:
    """The reader behind read_events, from `offset` (`line_no` lines in): after a pass,
    its `offset` and `line_no` say where the next one starts (follow, incremental)."""
    def on_bad(line_no: int, reason: str) -> dict:
        if errors is not None:
            errors.append((line_no, reason))
        return catalogue.corrupt(line_no, reason)

    return JsonlReader(path, on_bad=on_bad, offset=offset, line_no=line_no)


# --------------------------------------------------------------------------
# The writer
# --------------------------------------------------------------------------

def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


class TranscriptWriter:
    """Exclusive, buffered, redacting appender for one transcript file.

    Records are buffered and written when the buffer holds ``flush_bytes`` or
    ``flush_interval`` seconds have passed since the last write (checked on
    each append; no thread). While the tool is silent, its driver calls
    ``tick()`` (the relay does, every loop): a record buffered for
    ``flush_interval`` seconds is written then, and written data is fsynced
    every ``fsync_interval`` seconds; ``turn_end()`` also fsyncs. Raw stdout
    lines are redacted in batches when the buffer is written; no unredacted byte
    is ever written. Not thread-safe: one thread drives a writer.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        redactor: Redactor | None = None,
        flush_bytes: int = 64 * 1024,
        flush_interval: float = 0.5,
        fsync_interval: float = FSYNC_S,
    ) -> None:
        from csa.transcript_render import Renderer

        self.path = os.fspath(path)
        # the caller's redactor knows its secrets (store.redactor); rules alone otherwise
        self.redactor = redactor if redactor is not None else Redactor()
        self._renderer = Renderer(self.redactor)
        self.flush_bytes = flush_bytes
        self.flush_interval = flush_interval
        self.fsync_interval = fsync_interval
        from csa.safeio import open_fd

        try:  # never through a symlink (out of the state dir), never a FIFO or device
            fd = open_fd(self.path, "transcript", os.O_RDWR | os.O_CREAT | os.O_APPEND)
        except OSError as e:
            if os.path.islink(self.path):
                raise CsaError(f"transcript {self.path} is a symbolic link; csa does not "
                               "follow links out of a session — remove it") from e
            raise
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise TranscriptBusy(
                f"transcript {self.path} is already being written by another process or writer"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        try:
            os.fchmod(fd, 0o600)  # transcripts hold private conversations
            keep, seq = _scan_tail(fd)
            if keep < os.fstat(fd).st_size:
                os.ftruncate(fd, keep)
                os.fsync(fd)
        except BaseException:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            raise
        self._fd: int | None = fd
        # End of the last complete line written: a failed write is cut back to it.
        self._good_size = keep
        self.next_seq = 0 if seq is None else seq + 1
        # Ready records (bytes), raw stdout lines (seq, time, line) and stream
        # records (StreamRecord) in seq order.
        self._pending: list = []
        self._pending_size = 0
        self._last_flush = self._last_fsync = self._last_append = time.time()
        # When tick() must write what is buffered (None: nothing is); see tick().
        self._due: float | None = None
        self._dirty = False  # written since the last fsync

    # -- appending ---------------------------------------------------------

    def append(self, type: str, **fields: Any) -> int:
        """Append ``{"v":1,"seq":N,"ts":...,"type":type, **fields}``; returns N.

        Field values are redacted before they are buffered.
        """
        self._check_open()
        clash = _RESERVED.intersection(fields)
        if clash:
            raise ValueError(f"reserved transcript field(s): {', '.join(sorted(clash))}")
        seq = self.next_seq
        t = time.time()
        if type == "stderr" and len(fields) == 1 and isinstance(fields.get("text"), str):
            # a stream: redacted together with its neighbours when written
            from csa.transcript_render import StreamRecord

            data: Any = StreamRecord(seq, t, type, fields["text"])
            size = len(data.text) + 96
        else:
            try:
                red = self.redactor.obj(fields)
            except RecursionError:  # absurdly deep data: cut it down first
                red = self.redactor.obj(_sanitize(fields))
            return self._buffer_record(type, red, t)
        return self._buffer(seq, data, size, t)

    def _buffer_record(self, type: str, redacted: dict, t: float) -> int:
        record = {"v": VERSION, "seq": self.next_seq, "ts": _ts(t).decode("ascii"),
                  "type": type}
        record.update(redacted)
        data = _dumps(record) + b"\n"
        return self._buffer(self.next_seq, data, len(data), t)

    def _buffer(self, seq: int, data: Any, size: int, t: float) -> int:
        self.next_seq = seq + 1
        self._pending.append(data)
        self._pending_size += size
        self._last_append = t
        if self._due is None:
            self._due = t + self.flush_interval * TIMER_SHARE
        if self._pending_size >= self.flush_bytes or t - self._last_flush >= self.flush_interval:
            self._flush(final=False)
        return seq

    def write_many(self, events: list[dict]) -> None:
        """write() for many catalogue events, their fields redacted together in one gate
        pass (an import writes thousands: one pass per event was most of its time)."""
        self._check_open()
        fields = []
        for ev in events:
            f = {k: v for k, v in ev.items() if k != "type"}
            clash = _RESERVED.intersection(f)
            if clash:
                raise ValueError(f"reserved transcript field(s): {', '.join(sorted(clash))}")
            fields.append(f)
        try:
            redacted = self.redactor.objs(fields)
        except RecursionError:  # absurdly deep data: one by one (append cuts it down)
            for ev in events:
                self.write(ev)
            return
        t = time.time()
        for ev, red in zip(events, redacted, strict=True):
            if ev["type"] == "stderr" and list(red) == ["text"] and isinstance(red["text"], str):
                self.write(ev)  # a stream: redacted with its neighbours when written
            else:
                self._buffer_record(ev["type"], red, t)

    def write(self, event: dict) -> int:
        """Append an event made by a :mod:`csa.catalogue` builder; returns its seq."""
        return self.append(**event)

    def append_stdout_line(self, line: str) -> int:
        """Record one line a tool printed on stdout; returns its seq.

        A JSON object becomes ``{"type":"event","stream":"stdout","event":{...}}``,
        anything else ``{"type":"stdout","text":...}``. The hot path: lines are
        gated for secrets in batches and clean JSON is written as it came,
        without a parse-walk-dump round trip.
        """
        if self._fd is None:
            self._check_open()
        if line[-1:] == "\n":
            line = line[:-2] if line[-2:] == "\r\n" else line[:-1]
        seq = self.next_seq
        self.next_seq = seq + 1
        t = time.time()
        self._pending.append((seq, t, line))
        size = self._pending_size + len(line) + 96
        self._pending_size = size
        self._last_append = t
        if self._due is None:
            self._due = t + self.flush_interval * TIMER_SHARE
        if size >= self.flush_bytes or t - self._last_flush >= self.flush_interval:
            self._flush(final=False)
        return seq

    # -- writing -----------------------------------------------------------

    def flush(self) -> None:
        """Write every buffered record to the file (no fsync)."""
        self._flush(final=True)

    def _flush(self, final: bool) -> None:
        """Write buffered records; unless final, a stream may hold its last ones back
        (at most HOLD_S seconds or 4 buffers' worth)."""
        self._check_open()
        pending = self._pending
        if pending:
            if not final and (time.time() - _item_time(pending[0]) > HOLD_S
                              or self._pending_size > 4 * self.flush_bytes):
                final = True
            data, done = self._renderer.render(pending, final)
            self._pending = pending[done:]
            self._pending_size = sum(_item_size(it) for it in self._pending)
            try:
                _write_all(self._fd, data)  # type: ignore[arg-type]
            except OSError:
                # Disk full or similar: drop the partly written batch and whatever was held
                # (no torn line stays in the file, and its space is free again) and reuse
                # their seqs, so a later append keeps seq contiguous. The caller learns of it.
                self.next_seq -= len(pending)
                self._pending, self._pending_size = [], 0
                try:
                    os.ftruncate(self._fd, self._good_size)  # type: ignore[arg-type]
                except OSError:
                    pass
                raise
            self._good_size += len(data)
            self._dirty = self._dirty or bool(data)
        if not self._pending:
            self._due = None
        self._last_flush = time.time()

    def tick(self, now: float | None = None) -> None:
        """The timer flush, for a driver that waits on a silent tool: records buffered
        for 0.9 ``flush_interval`` are written (on disk within the interval) (a stream's held-back records too once
        nothing was appended for that long: a secret that spans records never spans a
        pause that long), and written data is fsynced every ``fsync_interval`` seconds."""
        if self._fd is None:
            return
        now = time.time() if now is None else now
        if self._due is not None and now >= self._due:
            quiet = now - self._last_append >= self.flush_interval
            self._flush(final=quiet)
            if self._pending:  # held back: write them once the tool is quiet
                self._due = self._last_append + self.flush_interval
        if self._dirty and now - self._last_fsync >= self.fsync_interval:
            self._fsync()

    def due_in(self, now: float | None = None) -> float | None:
        """Seconds until tick() has work (0: now), or None while it has none."""
        if self._fd is None:
            return None
        now = time.time() if now is None else now
        times = [t for t in (self._due, self._last_fsync + self.fsync_interval
                             if self._dirty else None) if t is not None]
        return max(0.0, min(times) - now) if times else None

    def _fsync(self) -> None:
        os.fsync(self._fd)  # type: ignore[arg-type]
        self._dirty = False
        self._last_fsync = time.time()

    def turn_end(self) -> None:
        """Flush and fsync: the turn so far survives a crash."""
        self.flush()
        self._fsync()

    def close(self) -> None:
        """turn_end(), release the lock, close the file. Idempotent."""
        if self._fd is None:
            return
        fd = self._fd
        try:
            self.turn_end()
        finally:
            self._fd = None
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    @property
    def closed(self) -> bool:
        return self._fd is None

    def _check_open(self) -> None:
        if self._fd is None:
            raise ValueError(f"transcript {self.path} is closed")

    def __enter__(self) -> TranscriptWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # a writer dropped without close(): keep its records and free the lock
        if getattr(self, "_fd", None) is not None:
            try:
                self.close()
            except Exception:
                pass

    def __repr__(self) -> str:
        state = "closed" if self._fd is None else f"next_seq={self.next_seq}"
        return f"<TranscriptWriter {self.path} {state}>"


HOLD_S = 2.0  # a stream holds records back at most this long (see csa.redact_stream)


def _item_time(item: Any) -> float:
    return item[1] if isinstance(item, tuple) else time.time()


def _item_size(item: Any) -> int:
    if isinstance(item, bytes):
        return len(item)
    return len(item[-1]) + 96
