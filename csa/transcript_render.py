"""Turning a transcript writer's pending records into redacted JSONL bytes.

The hot path of :class:`csa.transcript.TranscriptWriter`: raw stdout lines are
gated for secrets as one batch and clean JSON is written as it came; flagged
lines are parsed, walked and redacted. Records of one *stream* (stderr, plain
stdout text, each tool's streamed message deltas) go through a
:class:`csa.redact_stream.StreamRedactor` together, which may hold the last of
them back until the next batch (a private key still open, a delta that may
continue). Records are always written in seq order, so a held record holds back
the ones after it.

Example::

    renderer = Renderer(store.redactor)
    data, done = renderer.render(pending, final=False)   # write data, keep pending[done:]
"""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson

from csa import catalogue
from csa import transcript as T
from csa.catalogue import envelope
from csa.redact import Redactor
from csa.redact_stream import KEY_MARKS, StreamRedactor, delta_path

__all__ = ["Renderer", "StreamRecord"]

# The hot path's spelling of envelope() + catalogue.stdout_event / stdout_text
_EVENT_HEAD = b'{"v":1,"seq":%d,"ts":"%b","type":"event","stream":"stdout","event":%b}\n'
_TEXT_HEAD = b'{"v":1,"seq":%d,"ts":"%b","type":"stdout","text":%b}\n'


class StreamRecord(NamedTuple):
    """A pending ``{"type": <type>, "text": ...}`` record of a text stream (stderr)."""

    seq: int
    t: float
    type: str
    text: str


class _Entry(NamedTuple):
    stream: str
    text: str
    seq: int
    ts: str
    event: Any  # dict with the delta text at path, or None for a text record
    path: tuple[str, ...]
    raw: Any = None  # the line as it came, when nothing but the delta text may need redaction


class Renderer:
    """Serializes pending items with one redactor and per-stream state."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor
        self.streams: dict[str, StreamRedactor] = {}
        self._carry: str | None = None  # the end of the last plain stdout line already written

    def _stream(self, name: str) -> StreamRedactor:
        s = self.streams.get(name)
        if s is None:
            delta = name.startswith("delta")
            s = self.streams[name] = StreamRedactor(self.redactor, sep="" if delta else "\n", hold_last=delta)
        return s

    def render(self, items: list, final: bool) -> tuple[bytes, int]:
        """(bytes for items[:n], n): every item unless a stream holds some back (never when final)."""
        out: list[Any] = self._first_pass(items)
        lines = [i for i, it in enumerate(items) if type(it) is tuple]
        runs = _runs(out, lines)
        cut = len(items)
        for name, where, ended in runs:
            k = self._stream(name).hold([out[i].text for i in where], final or ended)
            if k < len(where):
                cut = min(cut, where[k])
        for name, where, ended in runs:
            stream = self._stream(name)
            texts = [out[i].text for i in where]
            clean = [out[i].raw is not None for i in where]
            k = sum(1 for i in where if i < cut)
            for i, red in zip(where[:k], stream.release(texts, k, clean), strict=True):
                out[i] = self._record(out[i], red)
            if ended and k == len(where):
                stream.reset()  # the message is over: the next one starts afresh
        return b"".join(out[:cut]), cut

    def _record(self, e: _Entry, text: str) -> bytes:
        if e.raw and text == e.text:  # a clean delta is written as it came
            return _EVENT_HEAD % (e.seq, e.ts.encode("ascii"), e.raw)
        if e.event is None:
            event = catalogue.stderr(text) if e.stream == "stderr" else catalogue.stdout_text(text)
            return T._dumps(envelope(e.seq, e.ts, event)) + b"\n"
        event = dict(e.event)
        node = event
        for key in e.path[:-1]:  # copy the dicts on the way down to the delta text
            node[key] = dict(node[key])
            node = node[key]
        node[e.path[-1]] = ""
        if not e.raw:  # the gate flagged the line: its other fields are redacted too
            event = self.redactor.obj(event, flagged=True)
        node = event
        for key in e.path[:-1]:
            node = node[key]
        node[e.path[-1]] = text
        return T._dumps(_record(e.seq, e.ts, event)) + b"\n"

    def _first_pass(self, items: list) -> list:
        """Ready bytes for every item that needs no stream, an _Entry for the others."""
        where = [i for i, it in enumerate(items) if type(it) is tuple]
        out: list[Any] = items[:]
        for i, it in enumerate(items):
            if type(it) is StreamRecord:
                out[i] = _Entry(it.type, it.text, it.seq, T._ts(it.t).decode("ascii"), None, ())
        if not where:
            return out
        texts: list[str] = [items[i][2] for i in where]
        buf, starts, unencodable = _encode_batch(texts)
        suspects = self.redactor.suspects(buf, starts) | unencodable
        starts.append(len(buf) + 1)
        view = memoryview(buf)
        loads, dumps, decode_error = orjson.loads, orjson.dumps, orjson.JSONDecodeError
        find = buf.find
        # a raw CR/LF inside a JSON line would split it in the file; rare, so look once
        inner_breaks = buf.count(b"\n") != len(texts) - 1 or find(b"\r") >= 0
        # 2: every line joins the stream (a key block may be open); 1: the next line does
        text_stream = max(self._seam(texts[0], 0 in suspects), self._stream("stdout").busy)
        last_ms, ts = -1, b""
        for j, (i, s, e) in enumerate(zip(where, starts[:-1], starts[1:], strict=False)):
            seq, t, line = items[i]
            e -= 1
            ms = int(t * 1000)
            if ms != last_ms:
                ts, last_ms = T._ts(t), ms
            if j in suspects:
                out[i] = self._careful(seq, ts.decode("ascii"), line, flagged=True)
                if type(out[i]) is _Entry and out[i].event is None:
                    # a key block may follow, or the value of a name on this line
                    text_stream = 2 if any(m in line for m in KEY_MARKS) else max(text_stream, 1)
            elif s < e and buf[s] == 123:  # "{"
                obj = None
                if not inner_breaks or (find(b"\n", s, e) < 0 and find(b"\r", s, e) < 0):
                    try:
                        obj = loads(view[s:e])
                    except decode_error:
                        obj = None
                if type(obj) is dict:
                    path = None
                    if obj.get("delta") is not None or obj.get("type") in ("stream_event",
                                                                            "acp"):
                        path = delta_path(obj)
                    out[i] = _EVENT_HEAD % (seq, ts, view[s:e]) if path is None else \
                        _delta(obj, path, seq, ts.decode("ascii"), bytes(view[s:e]))
                else:
                    out[i] = self._careful(seq, ts.decode("ascii"), line)
            elif line[:1].isspace() and line.lstrip()[:1] == "{":
                out[i] = self._careful(seq, ts.decode("ascii"), line)
            elif text_stream:  # a key block may be open on this stream: its lines stay together
                out[i] = _Entry("stdout", line, seq, ts.decode("ascii"), None, (), b"")  # clean
                text_stream = text_stream if text_stream == 2 else 0
            else:
                out[i] = _TEXT_HEAD % (seq, ts, dumps(line))
        last = items[where[-1]][2]
        self._carry = last[-200:] if type(out[where[-1]]) is bytes and last[:1] != "{" else None
        return out

    def _seam(self, first: str, flagged: bool) -> int:
        """1 when the last plain line of the previous batch and the first of this one
        hold a secret together (a name, then its value): that line joins the stream."""
        carry, self._carry = self._carry, None
        if carry is None or flagged or first[:1] == "{" or not self.redactor.may_hold(carry + "\n" + first):
            return 0
        self._stream("stdout").prime(carry)
        return 1

    def _careful(self, seq: int, ts: str, line: str, flagged: bool = False) -> bytes | _Entry:
        """Parse, walk and redact: the path for lines the gate flagged, for deltas, and
        for JSON-looking lines that are not plain compact objects (pretty-printed, or
        only the stdlib parser accepts them: lone-surrogate escapes, which may also
        spell out text the byte gate could not see)."""
        obj = T._parse_object(line) if line.lstrip()[:1] == "{" else None
        if obj is not None:
            path = delta_path(obj)
            if path is not None:
                return _delta(obj, path, seq, ts, None)
            try:
                event = self.redactor.obj(obj, flagged)
            except RecursionError:
                event = None
            if event is not None:
                return T._dumps(_record(seq, ts, event)) + b"\n"
        return _Entry("stdout", line, seq, ts, None, ())


def _runs(out: list, lines: list[int]) -> list[tuple[str, list[int], bool]]:
    """(stream, indices of its entries, ended) per run: a message's deltas end when
    the tool prints anything else on stdout; other streams are one run each."""
    by_stream: dict[str, list[list[int]]] = {}
    for i, it in enumerate(out):
        if type(it) is _Entry:
            runs = by_stream.setdefault(it.stream, [[]])
            if it.stream.startswith("delta") and runs[-1] and _line_between(lines, runs[-1][-1], i):
                runs.append([])
            runs[-1].append(i)
    last = lines[-1] if lines else -1
    return [(name, run, name.startswith("delta") and last > run[-1])
            for name, runs in by_stream.items() for run in runs]


def _line_between(lines: list[int], a: int, b: int) -> bool:
    from bisect import bisect_right

    j = bisect_right(lines, a)
    return j < len(lines) and lines[j] < b


def _delta(obj: dict, path: tuple[str, ...], seq: int, ts: str, raw: bytes | None) -> _Entry:
    node: Any = obj
    for key in path:
        node = node[key]
    return _Entry("delta:" + ".".join(path), node, seq, ts, obj, path, raw)


def _record(seq: int, ts: str, event: dict) -> dict:
    return envelope(seq, ts, catalogue.stdout_event(event))


def _encode_batch(texts: list[str]) -> tuple[bytes, list[int], set[int]]:
    """(texts joined by newlines as UTF-8, offset of each, indices that would not encode)."""
    joined = "\n".join(texts)
    try:
        buf = joined.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: encode line by line
        buf = b""
    starts: list[int] = []
    off = 0
    if buf and len(buf) == len(joined):  # ASCII: byte offsets equal str offsets
        for s in texts:
            starts.append(off)
            off += len(s) + 1
        return buf, starts, set()
    if buf and buf.count(b"\n") == len(texts) - 1:  # no line holds a newline of its own
        find = buf.find
        for _ in texts:
            starts.append(off)
            off = find(b"\n", off) + 1
        return buf, starts, set()
    encoded = []
    unencodable: set[int] = set()
    for j, s in enumerate(texts):
        try:
            e = s.encode("utf-8")
        except UnicodeEncodeError:  # the careful path repairs it
            e = b""
            unencodable.add(j)
        encoded.append(e)
        starts.append(off)
        off += len(e) + 1
    return b"\n".join(encoded), starts, unencodable
