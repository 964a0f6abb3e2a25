"""Stream-aware redaction: secrets that span records of one output stream.

A tool prints a private key on stderr one line per record, or streams its reply
as message deltas cut anywhere (``"PASSWORD ="`` in one chunk, the value in the
next, or a token cut in half). Record by record, nothing looks secret. A
:class:`StreamRedactor` redacts each new batch of a stream's records *joined*
with the tail of what the stream already wrote (so a name written earlier still
marks the value that follows), and tells the writer which records to hold back:
everything from an unterminated ``-----BEGIN ... PRIVATE KEY-----`` until its END
line arrives (or a size/line cap is reached: then the rest is redacted as a torn
key), and, for delta streams, the records of its last few hundred characters (a
secret they begin may continue in the next one).

Example::

    >>> from csa.redact import Redactor
    >>> s = StreamRedactor(Redactor(), sep="")
    >>> texts = ["export DB_PASSWORD", "=hunter2 and", " more"]
    >>> k = s.hold(texts, final=False)          # the last delta may continue
    >>> s.release(texts, k)
    ['export DB_PASSWORD', '=[REDACTED:secret-value] and']
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from csa.redact import Redactor

__all__ = ["StreamRedactor", "delta_path"]

# Key blocks: PEM (RSA, EC, OpenSSH, PKCS#8, PGP ... PRIVATE KEY [BLOCK]) and PuTTY .ppk
_BEGIN = re.compile(r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----|Private-Lines:")
_END = re.compile(r"-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----|Private-MAC:")
KEY_MARKS = ("PRIVATE KEY", "Private-Lines:")
_TORN = "-----BEGIN PRIVATE KEY-----\n"
HOLD_BYTES = 64 * 1024  # a held private-key block larger than this is redacted as torn
HOLD_RECORDS = 400
SEAM = 160  # characters each side of a seam between records that are looked at together
HOLD_TAIL = 320  # a delta stream holds back the records of its last this many characters


def _open_at(text: str) -> int:
    """Offset of a BEGIN line in text with no END after it, or -1."""
    last = -1
    for m in _BEGIN.finditer(text):
        last = m.start()
    if last >= 0 and _END.search(text, last):
        return -1
    return last


class StreamRedactor:
    """Joint redaction of one stream's consecutive records (see the module docstring)."""

    def __init__(self, redactor: Redactor, *, sep: str = "\n", hold_last: bool = False,
                 keep: int = 512) -> None:
        self.redactor = redactor
        self.sep = sep
        self.hold_last = hold_last
        self.keep = keep
        self._tail = ""     # the raw end of what was written (names, split tokens)
        self._torn = False  # a private key was written without its END line
        self._follow = False  # the last record written may be continued by the next (a name/value pair)

    def prime(self, text: str) -> None:
        """Take text (written without this stream's help) as what came before."""
        if not self._tail.endswith(text):
            self._tail = (self._tail + self.sep + text if self._tail else text)[-self.keep:]

    def reset(self) -> None:
        """The stream's current message ended: forget its tail (a torn key stays torn)."""
        self._tail = ""

    @property
    def busy(self) -> int:
        """How earlier records bear on the next ones: 2, a key block is open (every record
        joins the stream); 1, the last one may continue in the next (a name, then its
        value); 0, not at all."""
        return 2 if self._torn else 1 if self._follow else 0

    def hold(self, texts: list[str], final: bool) -> int:
        """How many of texts (the stream's unwritten records, in order) may be written now."""
        n = len(texts)
        if final or not n:
            return n
        k = n
        if self.hold_last:  # the records that make up the end of the stream may continue
            tail = 0
            while k > 0 and tail < HOLD_TAIL:
                k -= 1
                tail += len(texts[k])
        joined = self.sep.join(texts)
        at = _open_at(joined) if any(m in joined for m in KEY_MARKS) else -1
        if at >= 0:
            first = _record_at(texts, self.sep, at)
            held = texts[first:]
            if sum(map(len, held)) < HOLD_BYTES and len(held) < HOLD_RECORDS:
                k = min(k, first)
        return k

    def release(self, texts: list[str], k: int, clean: list[bool] | None = None) -> list[str]:
        """The redacted texts of the first k records, which the caller now writes.

        ``clean[i]`` says the gate already found nothing in record i on its own;
        then only the seams between records (and the tail written before) are
        looked at before the whole is redacted.
        """
        prefix = (_TORN if self._torn else "") + self._tail
        if prefix and texts:
            prefix += self.sep
        spans: list[tuple[int, int, str]] = []
        if self._worth_looking(prefix, texts, clean):
            spans = self.redactor.spans(prefix + self.sep.join(texts))
            outs = []
            pos = len(prefix)
            for t in texts[:k]:
                outs.append(_clip(t, pos, spans))
                pos += len(t) + len(self.sep)
        else:
            outs = texts[:k]
        if k:
            done = prefix + self.sep.join(texts[:k])
            self._torn = any(m in done for m in KEY_MARKS) and _open_at(done) >= 0
            self._tail = done[-self.keep:] if not self._torn else ""
            self._follow = bool(spans) or (not clean or not clean[k - 1])
        return outs


    def _worth_looking(self, prefix: str, texts: list[str], clean: list[bool] | None) -> bool:
        if self._torn or clean is None or not all(clean):
            return True
        if len(texts) == 1 and not prefix:
            return False  # one clean record and nothing before it: no seam at all
        # Each record alone is clean: look at the seams only (the end of one record,
        # or of what was written before, joined to the start of the next).
        seams = []
        prev = prefix[:-len(self.sep)] if self.sep and prefix.endswith(self.sep) else prefix
        for t in texts:
            seams.append(prev[-SEAM:] + self.sep + t[:SEAM])
            prev = t if len(t) >= SEAM else prev[-SEAM:] + self.sep + t
        return self.redactor.may_hold("\n\n".join(seams))


def _record_at(texts: list[str], sep: str, offset: int) -> int:
    pos = 0
    for i, t in enumerate(texts):
        pos += len(t) + len(sep)
        if offset < pos:
            return i
    return len(texts) - 1


def _clip(text: str, base: int, spans: list[tuple[int, int, str]]) -> str:
    """text (at offset base of the joined string) with the parts of spans inside it replaced."""
    end = base + len(text)
    parts = []
    prev = 0
    for s, e, tag in spans:
        if e <= base or s >= end:
            continue
        a, b = max(s, base) - base, min(e, end) - base
        parts.append(text[prev:a])
        parts.append(tag)
        prev = b
    if not parts:
        return text
    parts.append(text[prev:])
    return "".join(parts)


def delta_path(event: dict) -> tuple[str, ...] | None:
    """Where a streamed message delta keeps its text, if event is one.

    Gemini ``{"type":"message","delta":true,"content":"..."}``; Claude
    ``{"type":"stream_event","event":{"type":"content_block_delta","delta":{"text":...}}}``;
    ACP ``{"type":"acp","update":{"sessionUpdate":"agent_message_chunk","content":{"text":...}}}``.

    >>> delta_path({"type": "message", "role": "assistant", "content": "Hi", "delta": True})
    ('content',)
    """
    if event.get("delta") is True and isinstance(event.get("content"), str):
        return ("content",)
    if event.get("type") == "acp":  # an ACP message chunk (csa.acp.events)
        upd = event.get("update")
        content = upd.get("content") if isinstance(upd, dict) else None
        if isinstance(content, dict) and isinstance(content.get("text"), str) and \
                str(upd.get("sessionUpdate")).endswith("_chunk"):
            return ("update", "content", "text")
    if event.get("type") == "stream_event":
        inner = event.get("event")
        if isinstance(inner, dict) and inner.get("type") == "content_block_delta":
            delta = inner.get("delta")
            if isinstance(delta, dict):
                for key in ("text", "thinking", "partial_json"):
                    if isinstance(delta.get(key), str):
                        return ("event", "delta", key)
    return None


def _stream_of(ev: dict) -> tuple[str, tuple[str, ...]] | None:
    """(stream, path to its text) of a stored transcript event, or None (not a stream record)."""
    kind = ev.get("type")
    if kind in ("stderr", "stdout") and isinstance(ev.get("text"), str):
        return kind, ("text",)
    if kind == "event" and isinstance(ev.get("event"), dict):
        path = delta_path(ev["event"])
        if path is not None:
            return "delta:" + ".".join(path), ("event", *path)
    return None


def redact_stored_streams(events: list, redactor: Redactor, chunk: int = 256) -> set[int]:
    """Redact, in place, what spans consecutive records of one stream in stored events
    (a key printed on stderr one line per record, a password cut across deltas), as the
    writer does when they arrive; the indices of the events that changed.

    `events` are parsed transcript lines (anything not a dict is skipped). A message's
    deltas end where the tool printed anything else on stdout.
    """
    runs: dict[str, list[list[tuple[int, tuple[str, ...]]]]] = {}
    for i, ev in enumerate(events):
        if not isinstance(ev, dict):
            continue
        found = _stream_of(ev)
        if found is None:
            if ev.get("type") == "event":  # another stdout event: open deltas end here
                for name, rs in runs.items():
                    if name.startswith("delta") and rs[-1]:
                        rs.append([])
            continue
        name, path = found
        runs.setdefault(name, [[]])[-1].append((i, path))
    changed: set[int] = set()
    for name, rs in runs.items():
        for run in rs:
            stream = StreamRedactor(redactor, sep="" if name.startswith("delta") else "\n")
            for at in range(0, len(run), chunk):
                part = run[at:at + chunk]
                texts = [_get(events[i], path) for i, path in part]
                for (i, path), old, new in zip(part, texts, stream.release(texts, len(texts)),
                                               strict=True):
                    if new != old:
                        _set(events[i], path, new)
                        changed.add(i)
    return changed


def _get(ev: dict, path: tuple[str, ...]) -> str:
    for key in path:
        ev = ev[key]
    return ev  # type: ignore[return-value]


def _set(ev: dict, path: tuple[str, ...], value: str) -> None:
    for key in path[:-1]:
        ev = ev[key]
    ev[path[-1]] = value
