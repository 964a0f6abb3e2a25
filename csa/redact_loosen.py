r"""Loosening a regex: look-around-free regexes that match wherever it does.

Hyperscan (csa.redact_prefilter) runs many regexes in one pass but knows no look-around;
the byte gate's regexes (csa.redact_gate) are full of it. Each gate regex is rewritten,
on its `re` parse tree, into regexes that match wherever it does, each of its matches
beginning inside one of theirs:

- a look-behind of literals is matched as a part of the regex (``(?<=mariadb)`` after
  the anchor ``b`` makes the regex begin at ``m``); any other look-behind is dropped;
- a look-ahead at the end becomes part of the match, and may be cut short anywhere (a
  prefix of a match is a looser condition); a negative one of single characters (the
  ``s`` of ``(?!s|iz)``) is kept as what the first consumed character may not be;
- a repeat whose count may vary widely matches its least count, then either what
  follows it or one more repetition, where the regex ends (Hyperscan reports every end
  of every match: ``.{0,40}`` would be forty reports);
- a regex that runs on lower-cased bytes is made to match either case of a letter.

    >>> loosen(rb"k(?:ey(?<=apikey)(?=[a-z0-9]{8}))")
    [b'\\x61\\x70\\x69\\x6b\\x65\\x79(?:[\\x61-\\x7a\\x30-\\x39]){8}']
"""

from __future__ import annotations

__all__ = ["literal_head", "loosen", "width"]


def _byte(c: int) -> bytes:
    return b"\\x%02x" % c


_CATEGORIES = {"CATEGORY_DIGIT": b"\\d", "CATEGORY_NOT_DIGIT": b"\\D", "CATEGORY_SPACE": b"\\s",
               "CATEGORY_NOT_SPACE": b"\\S", "CATEGORY_WORD": b"\\w", "CATEGORY_NOT_WORD": b"\\W"}
# A repeat whose count may vary more than this is cut after its least count (see _seq).
SPREAD = 8
NARROW_SPREAD = 64  # the same for a repeat of a class of at most 64 bytes (a name's characters)


def _broad(sub) -> bool:
    items = list(sub)
    if len(items) != 1:
        return True
    op, av = items[0]
    name = str(op)
    if name == "LITERAL":
        return False
    if name == "IN":
        return not all(str(o) in ("LITERAL", "RANGE") for o, _ in av) or \
            sum(1 if str(o) == "LITERAL" else a[1] - a[0] + 1 for o, a in av) > 64
    return True


class _Cut(Exception):
    """Raised inside a tail: the match may end here (the rest of a look-ahead is dropped)."""


def _set(items: list) -> bytes:
    out = []
    negate = b""
    for op, av in items:
        name = str(op)
        if name == "NEGATE":
            negate = b"^"
        elif name == "LITERAL":
            out.append(_byte(av))
        elif name == "RANGE":
            out.append(_byte(av[0]) + b"-" + _byte(av[1]))
        elif name == "CATEGORY":
            out.append(_CATEGORIES[str(av)])
        else:
            raise ValueError(f"set item {name}")
    return b"[" + negate + b"".join(out) + b"]"


def _zero_width(item: tuple) -> bool:
    op, av = item
    name = str(op)
    if name in ("ASSERT", "ASSERT_NOT", "AT"):
        return True
    if name == "SUBPATTERN":
        return all(_zero_width(i) for i in av[3])
    if name == "BRANCH":
        return all(all(_zero_width(i) for i in alt) for alt in av[1])
    return False


def _has_ahead(item: tuple) -> bool:
    op, av = item
    name = str(op)
    if name == "ASSERT":
        return av[0] == 1
    if name == "SUBPATTERN":
        return any(_has_ahead(i) for i in av[3])
    if name == "BRANCH":
        return any(any(_has_ahead(i) for i in alt) for alt in av[1])
    return False


def _seq(items: list, tail: bool) -> bytes:
    """A sequence; tail: nothing consuming follows it in the whole pattern, so it may be
    cut short anywhere (a shorter match is a looser condition)."""
    # the trailing zero-width items: the first of them holding a look-ahead is consumed
    # (in tail position), the others' look-aheads are dropped (two look-aheads at one
    # place cannot both become consumption: one of them is kept, a condition less)
    n = len(items)
    k = n
    while k and _zero_width(items[k - 1]):
        k -= 1
    chosen = None
    if tail:  # else the last consuming item ends the pattern (its own look-aheads count)
        chosen = next((i for i in range(k, n) if _has_ahead(items[i])), k - 1)
        singles = frozenset().union(*map(_single_chars, items[k:]))
        if chosen >= k and singles and str(items[chosen][0]) == "ASSERT":
            # a negative look-ahead's single characters ("s" of "(?!s|iz)") cannot
            # begin what the positive one consumes
            ahead = _exclude_first(list(items[chosen][1][1]), singles)
            items = [*items[:chosen], (items[chosen][0], (1, [(_op("BRANCH"), (None, ahead))]
                                                          if ahead else [])), *items[chosen + 1:]]
    out = []
    for i, item in enumerate(items):
        if _loose(item):
            # X{lo,hi} Y with a wide or open count: every count would end a match at
            # another place (Hyperscan reports every end). X{lo} then either Y (the
            # count was lo) or one more X (where the match is cut short) is looser.
            out.append(_loose_repeat(item, items[i + 1:], tail and chosen is not None and chosen > i))
            if not tail:
                raise _Cut(b"".join(out))
            return b"".join(out)
        try:
            out.append(_node(item, i == chosen))
        except _Cut as cut:
            out.append(cut.args[0])
            if not tail:
                raise _Cut(b"".join(out)) from None
            return b"".join(out)
    return b"".join(out)


def _loose(item: tuple) -> bool:
    op, av = item
    if str(op) not in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        return False
    lo, hi, sub = av
    return hi - lo > (SPREAD if _broad(sub) else NARROW_SPREAD)


def _loose_repeat(item: tuple, rest: list, tail: bool) -> bytes:
    lo, _, sub = item[1]
    try:
        body = _seq(list(sub), False)
    except _Cut as cut:  # a first repetition may end inside: the match may end there
        return b"(?:" + cut.args[0] + b")" if lo and cut.args[0] else b""
    if not body:
        return b""
    try:
        after = _seq(rest, tail)
    except _Cut as cut:
        after = cut.args[0]
    head = b"(?:" + body + b")" + (b"{%d}" % lo if lo else b"")
    if not lo:
        head = b""
    return head + (b"(?:" + after + b"|" + body + b")" if after else b"")


def _op(name: str):
    from re import _constants

    return getattr(_constants, name)


def _single_chars(item: tuple) -> frozenset:
    """The one-character alternatives of a negative look-ahead."""
    op, av = item
    if str(op) != "ASSERT_NOT" or av[0] != 1:
        return frozenset()
    sub = list(av[1])
    alts = sub[0][1][1] if len(sub) == 1 and str(sub[0][0]) == "BRANCH" else [sub]
    return frozenset().union(*(_char_set(alt[0]) or () for alt in alts if len(alt) == 1))


def _char_set(item: tuple) -> frozenset | None:
    """The bytes one item matches, when it matches exactly one byte."""
    op, av = item
    name = str(op)
    if name == "LITERAL":
        return frozenset([av])
    if name == "NOT_LITERAL":
        return frozenset(range(256)) - {av}
    if name != "IN":
        return None
    out: set[int] = set()
    negate = False
    for o, a in av:
        o = str(o)
        if o == "NEGATE":
            negate = True
        elif o == "LITERAL":
            out.add(a)
        elif o == "RANGE":
            out.update(range(a[0], a[1] + 1))
        elif o == "CATEGORY":
            out.update(c for c in range(256) if _CATEGORY_TEST[str(a)](bytes([c])))
        else:
            return None
    return frozenset(range(256)) - out if negate else frozenset(out)


_CATEGORY_TEST = {
    "CATEGORY_DIGIT": lambda b: b.isdigit(), "CATEGORY_NOT_DIGIT": lambda b: not b.isdigit(),
    "CATEGORY_SPACE": lambda b: b in b" \t\n\r\f\v", "CATEGORY_NOT_SPACE": lambda b: b not in b" \t\n\r\f\v",
    "CATEGORY_WORD": lambda b: b.isalnum() or b == b"_", "CATEGORY_NOT_WORD": lambda b: not (b.isalnum() or b == b"_"),
}


def _in(chars: frozenset) -> tuple:
    items, run = [], []
    for c in sorted(chars):
        if run and c == run[-1] + 1:
            run.append(c)
            continue
        if run:
            items.append(_run(run))
        run = [c]
    if run:
        items.append(_run(run))
    return (_op("IN"), items)


def _run(run: list[int]) -> tuple:
    return (_op("LITERAL"), run[0]) if len(run) == 1 else (_op("RANGE"), (run[0], run[-1]))


def _exclude_first(items: list, banned: frozenset) -> list[list]:
    """Alternatives that together match what items match, less what begins with a banned
    byte (or more: a construct it cannot see into is kept whole)."""
    if not items:
        return [[]]
    (op, av), rest = items[0], items[1:]
    name = str(op)
    one = _char_set(items[0])
    if one is not None:
        left = one - banned
        return [[_in(left), *rest]] if left else []
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        # the first repetition, then the others; or (none required) what follows
        from re._constants import MAXREPEAT

        lo, hi, sub = av
        more = [(op, (max(lo - 1, 0), hi if hi == MAXREPEAT else hi - 1, sub))] if hi > 1 else []
        first = _exclude_first([*sub, *more, *rest], banned)
        return (_exclude_first(rest, banned) if lo == 0 else []) + first
    if name == "BRANCH":
        return [a for alt in av[1] for a in _exclude_first([*alt, *rest], banned)]
    if name == "SUBPATTERN" and not av[1] and not av[2]:
        return _exclude_first([*av[3], *rest], banned)
    return [items]


def _node(item: tuple, tail: bool) -> bytes:
    op, av = item
    name = str(op)
    if name == "LITERAL":
        return _byte(av)
    if name == "NOT_LITERAL":
        return b"[^" + _byte(av) + b"]"
    if name == "ANY":
        return b"."
    if name == "IN":
        return _set(av)
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        lo, hi, sub = av
        try:
            body = _seq(list(sub), False)
        except _Cut as cut:  # a first repetition may end inside: the match may end there
            raise _Cut(b"(?:" + cut.args[0] + b")" if lo and cut.args[0] else b"") from None
        if not body:
            return b""
        if _loose(item):  # (met here only outside a sequence: see _seq) cut after `lo`
            raise _Cut(b"(?:" + body + b")" + b"{%d}" % lo if lo else b"")
        return b"(?:" + body + b")" + (b"{%d}" % lo if lo == hi else b"{%d,%d}" % (lo, hi))
    if name in ("SUBPATTERN", "ATOMIC_GROUP"):
        sub = av[3] if name == "SUBPATTERN" else av
        flags = av[1] if name == "SUBPATTERN" else 0
        opener = b"(?i:" if flags & 2 else b"(?:"
        try:
            body = _seq(list(sub), tail)
        except _Cut as cut:
            raise _Cut(opener + cut.args[0] + b")" if cut.args[0] else b"") from None
        return opener + body + b")" if body else b""
    if name == "BRANCH":
        alts, cut = [], False
        for alt in av[1]:
            try:
                alts.append(_seq(list(alt), tail))
            except _Cut as c:  # this alternative may end here: so may the branch
                alts.append(c.args[0])
                cut = True
        # an alternative that matches nothing more: the branch adds no condition
        joined = b"(?:" + b"|".join(alts) + b")" if all(alts) else b""
        if cut:
            raise _Cut(joined)
        return joined
    if name == "ASSERT":
        direction, sub = av
        return _seq(list(sub), True) if direction == 1 and tail else b""
    if name in ("ASSERT_NOT", "AT"):
        return b""
    raise ValueError(f"no Hyperscan form for {name}")


def _paths(prefix: list, items: list, pending: tuple = ()) -> list[tuple[list, list]]:
    """Split a trie-shaped regex into its branches: (literal items consumed, the rest)
    for each path through its alternations, down to its first consuming item that is
    not a literal (zero-width items on the way stay at the rest's head, in order)."""
    for i, (op, av) in enumerate(items):
        name = str(op)
        if (name == "LITERAL" or (name == "IN" and _char_set((op, av)))) and not pending:
            prefix = [*prefix, (op, av)]
        elif name in ("ASSERT", "ASSERT_NOT", "AT"):
            pending = (*pending, (op, av))
        elif name == "BRANCH":
            return [p for alt in av[1] for p in _paths(prefix, [*alt, *items[i + 1:]], pending)]
        elif name == "SUBPATTERN" and not av[2] and not av[1] & ~2:
            inner = _fold(list(av[3])) if av[1] & 2 else list(av[3])  # (?i:...)
            return _paths(prefix, [*inner, *items[i + 1:]], pending)
        else:
            return [(prefix, [*pending, *items[i:]])]
    return [(prefix, list(pending))]


def _fold(items: list, lowered: bool = False) -> list:
    """items matching, on the original bytes, what they match on lower-cased bytes
    (lowered: the gate's low regexes) or case-insensitively (the inside of a (?i:...))."""
    out = []
    for op, av in items:
        name = str(op)
        one = _char_set((op, av)) if name in ("LITERAL", "IN", "NOT_LITERAL") else None
        if one is not None:
            folded = frozenset(x for x in range(256) if _case_match(one, x, lowered))
            out.append(_in(folded) if folded else (op, av))
        elif name in ("ASSERT", "ASSERT_NOT"):
            out.append((op, (av[0], _fold(list(av[1]), lowered))))
        elif name == "BRANCH":
            out.append((op, (av[0], [_fold(list(alt), lowered) for alt in av[1]])))
        elif name == "SUBPATTERN":
            out.append((op, (av[0], av[1], av[2], _fold(list(av[3]), lowered))))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            out.append((op, (av[0], av[1], _fold(list(av[2]), lowered))))
        else:
            out.append((op, av))
    return out


def _case_match(chars: frozenset, x: int, lowered: bool) -> bool:
    low = x | 32 if 65 <= x <= 90 else x
    if lowered:  # the regex saw x lower-cased
        return low in chars
    up = x & ~32 if 97 <= x <= 122 else x
    return x in chars or low in chars or up in chars  # (?i): either case of x


def _behind(prefix: list, rest: list) -> list:
    """The literal items matched so far, widened to the longest look-behind among the
    rest's leading zero-width items that ends with them (``(?<=mariadb)`` after ``b``:
    the match then starts at ``m``, on the same line, and checks the word whole)."""
    best = prefix
    for op, av in rest:
        if not _zero_width((op, av)):
            break
        if str(op) == "ASSERT" and av[0] == -1:
            seen = list(av[1])
            if len(seen) > len(best) and (not prefix or list(map(_char_set, seen[-len(prefix):]))
                                          == list(map(_char_set, prefix))) \
                    and all(str(o) in ("LITERAL", "IN") for o, _ in seen):
                best = seen
    return best


def loosen(pattern: bytes, lowered: bool = False) -> list[bytes]:
    """Look-around-free regexes that, between them, match wherever `pattern` does, each
    match of `pattern` beginning inside one of theirs (one regex per path through its
    leading alternations of literals). lowered: `pattern` runs on lower-cased bytes.

    >>> loosen(rb"ab(?<=xab)(?=cd)")
    [b'\\\\x78\\\\x61\\\\x62\\\\x63\\\\x64']
    """
    from re import _parser

    out = []
    items = list(_parser.parse(pattern, 0))
    for prefix, rest in _paths([], _fold(items, True) if lowered else items):
        head = _behind(prefix, rest)
        try:
            body = _seq(rest, True)
        except _Cut as cut:
            body = cut.args[0]
        out.append(_seq(head, False) + body)
    return out


def width(expr: bytes) -> int:
    """The longest match of a loosened regex."""
    from re import _parser

    return _parser.parse(expr, 0).getwidth()[1]


def literal_head(pattern: bytes) -> bytes:
    """The literal bytes every match of pattern begins with."""
    from re import _parser

    out = bytearray()
    for op, av in _parser.parse(pattern, 0):
        if str(op) != "LITERAL":
            break
        out.append(av)
    return bytes(out)
