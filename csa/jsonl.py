"""The one reader of JSON-lines files: transcripts, the events log, the AI tools' own stores.

Example::

    r = JsonlReader(path)                   # csa's own file: a torn tail is left alone
    for obj in r:
        ...
    r.offset, r.line_no                     # the end of what was consumed
    for obj in JsonlReader(path, offset=r.offset, line_no=r.line_no):
        ...                                 # only what was appended since (follow, indexing)
    bad = []
    JsonlReader(path, foreign=True, on_bad=lambda no, why: bad.append((no, why)))

Rules, the same for every caller:
- Only JSON objects are yielded. Blank lines are skipped (they carry nothing; they are
  consumed with the line after them).
- A line that is not a JSON object is reported to ``on_bad(line_no, reason)``; what that
  returns, unless None, is yielded in the line's place (a transcript shows the corruption
  where it happened). Line numbers start at 1.
- A line longer than ``max_line`` bytes is bad; it is skipped without being held in memory.
- The tail of csa's own append-only files (an unterminated last line, and the run of
  lines before it that are not JSON objects) is a write cut short by a crash: it is
  neither yielded nor reported nor consumed, and the transcript writer cuts it off by
  the same rule (:func:`scan_tail`).
- ``foreign=True`` is for files another program writes: a last line without its newline
  counts once it parses (else it is left for later), every bad line is reported, and
  what only the stdlib parses (lone surrogate escapes) is accepted:
  csa repairs it when it writes it back. csa's own files never hold such lines, so
  there they are corrupt (and could not be printed).
- ``pending`` tells that a non-blank tail was left unconsumed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from csa.safeio import open_fd

__all__ = ["BAD", "JsonlReader", "loads", "scan_tail"]

_BUFFER = 256 * 1024
MAX_LINE = 64 << 20  # a line longer than this is reported bad, never read into memory
_TAIL_BLOCK = 64 * 1024

BAD = object()  # what loads() returns for text that is not JSON
_BLANK = object()


def loads(raw: bytes | str) -> Any:
    """``raw`` parsed as JSON, or BAD.

    orjson first; it refuses lone surrogate escapes, which the stdlib accepts (csa repairs
    them when it writes them back).
    """
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _stdlib_loads(raw)


def _stdlib_loads(raw: bytes | str) -> Any:
    import json

    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return BAD


class JsonlReader:
    """Iterate the JSON objects of one JSON-lines file (see the module docstring)."""

    def __init__(self, path: str | os.PathLike[str], *, offset: int = 0, line_no: int = 0,
                 foreign: bool = False, on_bad: Callable[[int, str], Any] | None = None,
                 max_line: int = MAX_LINE, limit: int | None = None) -> None:
        self.path = path
        self.offset = offset          # end of the last consumed line
        self.line_no = line_no        # number of the last consumed line
        self.foreign = foreign
        self.on_bad = on_bad
        self.max_line = max_line
        self.limit = limit            # stop once this many bytes past `offset` are consumed
        self.pending = False

    def __iter__(self) -> Iterator[Any]:
        loads_, decode_error = orjson.loads, orjson.JSONDecodeError
        offset, line_no = self.offset, self.line_no
        stop = None if self.limit is None else offset + self.limit
        held: list[tuple[int, int, str]] = []  # bad lines that may yet be a torn tail
        lenient = self.foreign
        # csa.safeio: never a FIFO, device or (for csa's own files) a symlink; never blocks.
        fd = open_fd(self.path, "import" if self.foreign else "transcript")
        with os.fdopen(fd, "rb", buffering=_BUFFER) as f:
            f.seek(offset)
            readline, cap = f.readline, self.max_line + 1
            while True:
                raw = readline(cap)
                if raw[-1:] == b"\n":
                    size = len(raw)
                    try:
                        obj = loads_(raw)
                    except decode_error as e:
                        obj = _BLANK if not raw.strip() else _stdlib_loads(raw) if lenient \
                            else BAD
                        why = f"invalid JSON: {e}"
                elif len(raw) < cap:  # the end of the file
                    break
                else:  # a line over the cap: skipped, never held in memory
                    size = _skip_line(readline, cap, len(raw))
                    if size is None:
                        raw = None
                        break
                    obj, why = BAD, f"line longer than {self.max_line} bytes"
                line_no += 1
                offset += size
                if type(obj) is dict:
                    if held:
                        yield from self._report(held)
                    self.offset, self.line_no = offset, line_no
                    yield obj
                elif obj is not _BLANK:  # (blank lines are consumed with the next line)
                    held.append((line_no, offset, why if obj is BAD
                                 else f"not a JSON object: {type(obj).__name__}"))
                    if self.foreign:
                        yield from self._report(held)
                if stop is not None and offset >= stop:
                    return
        yield from self._tail(raw, line_no, offset, held)

    def _report(self, held: list[tuple[int, int, str]]) -> Iterator[Any]:
        for line_no, end, reason in held:
            self.offset, self.line_no = end, line_no
            if self.on_bad is not None:
                shown = self.on_bad(line_no, reason)
                if shown is not None:
                    yield shown
        held.clear()

    def _tail(self, rest: bytes | None, line_no: int, offset: int,
              held: list) -> Iterator[Any]:
        """The unterminated last line (None: one over the cap): a torn write, or
        (foreign) one still being written."""
        if rest is not None and not (held or rest.strip()):
            return
        if self.foreign and rest is not None:
            obj = loads(rest)
            if type(obj) is dict:
                self.offset, self.line_no = offset + len(rest), line_no + 1
                yield obj
                return
        self.pending = True


def _skip_line(readline, cap: int, size: int) -> int | None:
    """Read to the end of a line over the cap; its length, or None when it has no end yet."""
    while True:
        more = readline(cap)
        size += len(more)
        if more[-1:] == b"\n":
            return size
        if len(more) < cap:
            return None


# --------------------------------------------------------------------------------------
# The writer's side of the torn-tail rule: read backwards from the end
# --------------------------------------------------------------------------------------

def _newlines_backward(fd: int, size: int) -> Iterator[int]:
    """Offsets of b'\\n' in the file, last first, reading 64 KiB blocks from the end."""
    pos = size
    while pos > 0:
        start = max(0, pos - _TAIL_BLOCK)
        block = os.pread(fd, pos - start, start)
        i = len(block)
        while True:
            i = block.rfind(b"\n", 0, i)
            if i < 0:
                break
            yield start + i
        pos = start


def scan_tail(fd: int, wanted: Callable[[dict], bool]) -> tuple[int, dict | None]:
    """(length to keep, last wanted object) of a JSON-lines file open as ``fd``.

    Anything after the last newline is a torn write; so is a final line (or run of final
    lines) that is not a JSON object: the tail :class:`JsonlReader` leaves alone. Reads
    only as far back as the last wanted object.
    """
    size = os.fstat(fd).st_size
    newlines = _newlines_backward(fd, size)
    end = next(newlines, -1)
    keep = end + 1
    while end >= 0:
        prev = next(newlines, -1)
        try:
            obj = orjson.loads(os.pread(fd, end - prev - 1, prev + 1))
        except orjson.JSONDecodeError:
            obj = None
        if type(obj) is not dict:
            if keep == end + 1:
                keep = prev + 1
        elif wanted(obj):
            return keep, obj
        end = prev
    return keep, None
