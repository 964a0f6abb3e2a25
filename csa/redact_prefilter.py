"""The gate's prefilter: one Hyperscan pass in place of the gate's twenty-odd ``re`` passes.

The byte gate (csa.redact_gate) decides which lines of tool output the redaction rules
see; its regexes, one ``re`` pass each over every batch, were most of the transcript
writer's time. Hyperscan runs all of them in one pass of a compiled automaton, in the
loosened form csa.redact_loosen makes of them (no look-around; they match wherever the
gate's regexes do). For each loosened match, the exact regex it came from then runs at
each place in the match's reach where the exact regex's literal head occurs, with the
gate's own confirmations. On typical output that is a few thousand places per 10 MB
instead of twenty passes over every byte. Without Hyperscan (another platform, a failed
import or compile) the gate runs its regexes over everything, as before: the prefilter
changes how fast the gate is, never what it flags.

    >>> import re
    >>> pre = Prefilter.build([(re.compile(rb"k(?:ey(?<=apikey)(?=[a-z0-9]{8}))"), True)])
    >>> pre is None or pre.suspects(b"x\\nAPIKEY12345678\\nkey", [0, 2, 17], set(), lambda b, m, low: True)
    {1}
"""

from __future__ import annotations

import os
import re
import zlib
from bisect import bisect_right
from collections.abc import Callable, Sequence

from csa.redact_loosen import literal_head, loosen, width

__all__ = ["Prefilter"]

# A loosened regex whose match may be longer than this: no prefilter (the exact regex's
# start is looked for this far back from the loosened match's end).
MAX_WIDTH = 4096


class Prefilter:
    """A compiled Hyperscan database of the gate's loosened regexes."""

    def __init__(self, regexes: Sequence[tuple[re.Pattern[bytes], bool]], db,
                 widths: list[int], sources: list[int]):
        import threading

        self._regexes = regexes  # the gate's regexes, and whether each runs on lower-cased bytes
        self._heads = [literal_head(rx.pattern) for rx, _ in regexes]
        self._db = db
        self._widths = widths  # per loosened regex: its longest match
        self._sources = sources  # per loosened regex: the index of the gate regex it loosens
        # a scan's scratch space serves one scan at a time: one per thread (the gate is
        # shared by the whole process; python-hyperscan holds the GIL today, but need not)
        self._local = threading.local()

    @classmethod
    def build(cls, regexes: Sequence[tuple[re.Pattern[bytes], bool]]) -> Prefilter | None:
        """regexes: the gate's, each with whether it runs on lower-cased bytes. None
        without Hyperscan, or for a regex it cannot take."""
        if not all(literal_head(rx.pattern) for rx, _ in regexes):
            return None  # a match that begins with no literal cannot be placed
        try:
            import hyperscan
        except ImportError:
            return None
        try:
            found = _load_or_compile(hyperscan, tuple((rx.pattern, low) for rx, low in regexes))
        except Exception:  # noqa: BLE001 - an engine problem: the exact gate alone
            return None
        return None if found is None else cls(regexes, *found)

    def suspects(self, buf: bytes, starts: list[int], found: set[int],
                 ok: Callable[[bytes, re.Match[bytes], bool], bool]) -> set[int]:
        """Add to found the parts of buf (part i begins at starts[i]) where a gate regex
        matches and ok(buf, match, lowered) confirms it."""
        low = None
        n, size = len(starts), len(buf)
        heads, regexes, widths, sources = self._heads, self._regexes, self._widths, self._sources
        # per loosened regex: offsets below this were looked at (its matches come in the
        # order of their ends, so the places they reach back to come in order too)
        done = [0] * len(widths)
        for hi, e in sorted(self._ends(buf)):
            k = sources[e]
            rx, lowered = regexes[k]
            if lowered and low is None:
                low = buf.lower()
            text = low if lowered else buf
            head = heads[k]
            lo = hi - widths[e]
            # the regex's matches begin where its literal head does, in [lo, hi)
            at = text.find(head, lo if lo > done[e] else done[e], hi)
            while at >= 0:
                part = bisect_right(starts, at) - 1
                if part not in found:
                    # a regex looks at most one line ahead (a name's value on the next line)
                    m = rx.match(text, at, starts[part + 2] - 1 if part + 2 < n else size)
                    if m and ok(buf, m, lowered):
                        found.add(part)
                at = text.find(head, at + 1, hi)
            done[e] = hi - len(head) + 1
        return found

    def _ends(self, buf: bytes) -> list[tuple[int, int]]:
        """(end, loosened regex) of every loosened match: the gate regex it loosens may have
        a match beginning in the loosened regex's width before that end (and nowhere else).
        Hyperscan does not promise to report them in order."""
        out: list[tuple[int, int]] = []
        add = out.append

        def seen(expr, _lo, hi, _flags, _ctx):
            add((hi, expr))

        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            import hyperscan

            scratch = self._local.scratch = hyperscan.Scratch(self._db)
        self._db.scan(buf, match_event_handler=seen, scratch=scratch)
        return out


def _compile(hyperscan, patterns: tuple[tuple[bytes, bool], ...]):
    exprs, sources = [], []
    for i, (pattern, lowered) in enumerate(patterns):
        for expr in loosen(pattern, lowered):
            exprs.append(expr)
            sources.append(i)
    widths = [width(e) for e in exprs]
    if max(widths) > MAX_WIDTH:
        return None
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(expressions=exprs, ids=list(range(len(exprs))), elements=len(exprs),
               flags=[0] * len(exprs))
    return db, widths, sources


def _load_or_compile(hyperscan, patterns: tuple[tuple[bytes, bool], ...]):
    """(database, widths, sources), from the per-machine cache when it holds them for the
    same regexes, loosening code and Hyperscan (loosening and compiling take a few
    hundred ms; loading, well under one); None when a regex loosens past MAX_WIDTH."""
    import marshal

    from csa import recache, redact_loosen
    from csa.paths import cache_home

    key = ("csa-hs-1", getattr(hyperscan, "__version__", ""),
           os.stat(redact_loosen.__file__).st_mtime_ns, patterns)
    path = cache_home() / "re" / f"{zlib.crc32(repr(key).encode()):08x}.hs"
    try:
        stored, widths, sources, blob = marshal.loads(path.read_bytes())
        if stored == key:
            return hyperscan.loadb(blob, hyperscan.HS_MODE_BLOCK), widths, sources
    except Exception:  # noqa: BLE001 - missing, damaged, or made for another CPU: compile
        pass
    made = _compile(hyperscan, patterns)
    if made is None:
        return None
    db, widths, sources = made
    if recache.writable:
        from csa.fsutil import atomic_write

        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # a cache: no fsync (a torn or missing file is compiled again)
            atomic_write(path, marshal.dumps((key, widths, sources, hyperscan.dumpb(db))),
                         durable=False)
        except OSError:  # read-only or full cache dir: compile every time
            pass
    return db, widths, sources
