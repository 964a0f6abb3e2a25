"""Hyperscan as the byte gate's accelerator: one pass finds where each gate regex may match.

The gate (:mod:`csa.redact_gate`) runs ~20 ``re`` passes over every buffer. Here
each of its regexes gets a Hyperscan version that matches a *superset* and never
crosses a line break: look-behinds and negative look-aheads are dropped, and the
last positive look-ahead is consumed up to its first item of variable width or that
may match a line break. One Hyperscan scan then gives, per gate regex, the lines
where it may match (a match's end is on the line it starts on); the exact ``re``
regex runs on those lines only, with the whole buffer around them for its
look-arounds, so the gate's hits are exactly the pure ``re`` gate's, in the same
order. No Hyperscan (other platforms, ``CSA_NO_HYPERSCAN=1``, a regex the
translation or Hyperscan refuses): the gate scans with ``re`` alone.

Example::

    >>> from csa.redact_hs import hs_source
    >>> hs_source(rb"ab(?<=xab)(?=[0-9]{4,9})(?P<n1>)")
    b'\\\\x61\\\\x62(?:(?:[\\\\x30-\\\\x39]){4,9})'
"""

from __future__ import annotations

import marshal
import os
import re
from collections.abc import Callable, Iterator, Sequence
from re import _constants as C  # noqa: N812 - the sre opcodes
from re import _parser

__all__ = ["Accelerator", "hs_source", "load"]

# How far past a candidate line's newline a look-ahead may read: the gate's
# look-aheads cross at most one escaped or real line break and ~120 bytes.
MARGIN = 1024

_CAT = {C.CATEGORY_DIGIT: rb"\d", C.CATEGORY_NOT_DIGIT: rb"\D", C.CATEGORY_SPACE: rb"\s",
        C.CATEGORY_NOT_SPACE: rb"\S", C.CATEGORY_WORD: rb"\w", C.CATEGORY_NOT_WORD: rb"\W"}
_IGNORED = (C.ASSERT_NOT, C.AT)


def _lit(c: int) -> bytes:
    return b"\\x%02x" % c


def _set(items: list) -> bytes:
    out = [b"^"] if items and items[0][0] is C.NEGATE else []
    for op, av in items[len(out):]:
        if op is C.LITERAL:
            out.append(_lit(av))
        elif op is C.RANGE:
            out.append(_lit(av[0]) + b"-" + _lit(av[1]))
        elif op is C.CATEGORY:
            out.append(_CAT[av])
        else:
            raise ValueError(f"set item {op}")
    return b"[" + b"".join(out) + b"]"


def _skippable(op: object, av: object) -> bool:
    """Items dropped from the superset: look-behinds, negative look-aheads, anchors, empty groups."""
    return (op in _IGNORED or (op is C.ASSERT and av[0] < 0)
            or (op is C.SUBPATTERN and not av[3]))


_NL_CATS = (C.CATEGORY_SPACE, C.CATEGORY_NOT_DIGIT, C.CATEGORY_NOT_WORD)


def _newline(op: object, av: object) -> bool:
    """Whether the item may match a line break (assertions: only what they consume)."""
    if op is C.LITERAL:
        return av == 10
    if op is C.NOT_LITERAL:
        return av != 10
    if op is C.CATEGORY:
        return av in _NL_CATS
    if op is C.IN:
        hit = any((o is C.LITERAL and a == 10) or (o is C.RANGE and a[0] <= 10 <= a[1])
                  or (o is C.CATEGORY and a in _NL_CATS) for o, a in av)
        return hit != (bool(av) and av[0][0] is C.NEGATE)
    if op is C.BRANCH:
        return any(_newline(o, a) for alt in av[1] for o, a in alt)
    if op is C.SUBPATTERN:
        return any(_newline(o, a) for o, a in av[3])
    if op in (C.MAX_REPEAT, C.MIN_REPEAT):
        return av[1] > 0 and any(_newline(o, a) for o, a in av[2])
    return False  # ANY (no DOTALL), assertions, anchors


def _emit(seq: Sequence, extend: bool) -> bytes:
    """Hyperscan text for a parsed sequence (it never crosses a line break, so a match
    ends on the line it starts on). extend: the sequence ends the pattern, so its last
    positive look-ahead is consumed, up to where it could cross a line break, and its
    last repeat cut to its minimum count (a prefix of a match is a superset)."""
    items = list(seq)
    last = max((i for i, (op, av) in enumerate(items) if not _skippable(op, av)), default=-1)
    out = []
    for i, (op, av) in enumerate(items):
        ext = extend and i == last
        if op is C.ASSERT:  # a positive look-ahead (look-behinds are skippable)
            if ext:
                out.append(b"(?:" + _emit_ahead(av[1]) + b")")
            continue
        if _newline(op, av):
            raise ValueError("a gate regex consumes a line break")
        out.append(_item(op, av, ext))
    return b"".join(out)


def _emit_ahead(seq: Sequence) -> bytes:
    """A consumed look-ahead, up to its first item that may match a line break or, but for
    the last, has a variable width (a prefix of a match is a superset; a fixed width keeps
    the match ends Hyperscan reports, each a Python call, to about one per occurrence)."""
    items = [(op, av) for op, av in seq if not _skippable(op, av) and op is not C.ASSERT]
    out = []
    for i, (op, av) in enumerate(items):
        if op is C.BRANCH and i == len(items) - 1:
            return b"".join(out) + b"(?:" + b"|".join(_emit_ahead(a) for a in av[1]) + b")"
        if _newline(op, av):
            break
        lo, hi = _parser.SubPattern(_parser.State(), [(op, av)]).getwidth()
        if lo != hi and i < len(items) - 1:
            if op in (C.MAX_REPEAT, C.MIN_REPEAT) and av[0]:
                out.append(_item(op, av, True))  # its minimum count
            break
        out.append(_item(op, av, False))
    return b"".join(out)


def _item(op: object, av: object, ext: bool) -> bytes:
    if op is C.LITERAL:
        return _lit(av)
    if op is C.NOT_LITERAL:
        return b"[^" + _lit(av) + b"]"
    if op is C.ANY:
        return b"."
    if op is C.IN:
        return _set(av)
    if op is C.CATEGORY:
        return _CAT[av]
    if op is C.BRANCH:
        return b"(?:" + b"|".join(_emit(b, ext) for b in av[1]) + b")"
    if op is C.SUBPATTERN:
        return b"(?:" + _emit(av[3], ext) + b")" if av[3] else b""
    if op in (C.MAX_REPEAT, C.MIN_REPEAT):
        lo, hi, sub = av
        if ext:  # the shortest count: a superset, and fewer match ends to report
            return b"(?:" + _emit(sub, True) + b"){%d}" % lo if lo else b""
        if hi == 0:
            return b""
        hi_s = b"" if hi == C.MAXREPEAT else b"%d" % hi
        return b"(?:" + _emit(sub, False) + b"){%d,%s}" % (lo, hi_s)
    if op is C.AT:
        return rb"\b" if av is C.AT_BOUNDARY else b""
    if op is C.ASSERT_NOT:
        return b""
    raise ValueError(f"opcode {op}")


def hs_source(pattern: bytes) -> bytes:
    """A Hyperscan regex matching wherever `pattern` (a gate regex) matches, and more."""
    return _emit(_parser.parse(pattern.decode("latin-1")), True)


class Accelerator:
    """One Hyperscan database for a gate's regexes; `regions` says where each may match."""

    def __init__(self, db: object, ids: list[int]):
        self._db = db
        self._ids = ids  # Hyperscan id -> the gate regex's index

    def regions(self, buf: bytes) -> dict[int, list[tuple[int, int]]]:
        """{gate regex index: merged [line start, line end) ranges, in order} for buf."""
        found: dict[int, list[tuple[int, int]]] = {}
        ids = self._ids

        def on_match(i: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
            found.setdefault(ids[i], []).append(end - 1)  # on the line the match starts on

        self._db.scan(buf, match_event_handler=on_match)
        return {k: _lines(buf, v) for k, v in found.items()}


def _lines(buf: bytes, ends: list[int]) -> list[tuple[int, int]]:
    """The [start, newline) of the lines holding the offsets, merged and sorted."""
    out: list[tuple[int, int]] = []
    for at in sorted(ends):
        if out and at <= out[-1][1]:
            continue
        nl = buf.find(b"\n", at)
        out.append((buf.rfind(b"\n", 0, at) + 1, len(buf) if nl < 0 else nl))
    return out


def confirmed(rx: re.Pattern[bytes], text: bytes, regions: list[tuple[int, int]]) -> Iterator[re.Match]:
    """`rx.finditer(text)`'s matches that start in the regions (which hold all of them)."""
    n = len(text)
    for lo, hi in regions:
        end = min(n, hi + MARGIN)
        m = rx.search(text, lo, end)
        while m is not None and m.start() <= hi:
            yield m
            m = rx.search(text, m.end(), end)


def load(inputs: object, make: Callable[[], list[tuple[bytes, int, bool]]]) -> Accelerator | None:
    """An Accelerator for the (regex, gate index, caseless) sources make() returns, or None:
    no Hyperscan here, CSA_NO_HYPERSCAN=1, or a regex it refuses (the gate then scans with
    re alone). The compiled database is kept like csa.recache keeps re's, by the same key:
    compiling costs ~0.2-0.4 s once per machine and rule set, loading it under 1 ms. An
    --ephemeral run writes nothing, so it uses a database only if one is there."""
    if os.environ.get("CSA_NO_HYPERSCAN"):
        return None
    try:
        import hyperscan
    except ImportError:
        return None
    from csa import recache

    me = os.stat(__file__)  # this module turns the regexes into Hyperscan's: part of the key
    key = ("csa-hs-1", hyperscan.__version__, me.st_mtime_ns, me.st_size, inputs)
    try:
        path = recache.cache_file(inputs, "hs")
        with open(path, "rb") as f:
            stored, blob, ids = marshal.loads(f.read())
        if stored == key:
            db = hyperscan.loadb(blob, mode=hyperscan.HS_MODE_BLOCK)
            db.scratch = hyperscan.Scratch(db)
            return Accelerator(db, ids)
    except Exception:  # noqa: BLE001 - missing, damaged, foreign: compile instead
        pass
    if not recache.writable:  # --ephemeral: compiling (~0.4 s) would pay off only past ~50 MB
        return None
    try:  # a keyword's name and near-word sources often come out the same: one each
        sources = list(dict.fromkeys((hs_source(src), i, caseless) for src, i, caseless in make()))
    except ValueError:  # a construct the superset cannot express: re alone
        return None
    exprs = [src for src, _i, _c in sources]
    flags = [hyperscan.HS_FLAG_CASELESS if caseless else 0 for _s, _i, caseless in sources]
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    try:
        db.compile(expressions=exprs, ids=list(range(len(exprs))), elements=len(exprs), flags=flags)
    except hyperscan.error:  # too large or unsupported: re alone
        return None
    ids = [i for _s, i, _c in sources]
    try:
        recache.store_bytes(recache.cache_file(inputs, "hs"), marshal.dumps((key, hyperscan.dumpb(db), ids)))
    except (ValueError, hyperscan.error):
        pass
    return Accelerator(db, ids)
