"""The byte gate: which UTF-8 strings may hold a secret (the rest skip the rules).

Built from the rules' keywords. Python's ``re`` only searches fast for a pattern
that starts with one literal character, and every such pattern is one pass over
the bytes, so keywords are grouped under a few *anchor* characters that are rare
in ordinary output: each anchor is one regex, ``<anchor>`` followed by a trie of
the keywords' remaining characters (a branch of literals is cheap to reject),
with a look-behind for the part of the keyword before the anchor and a
look-ahead for the token body that must follow. A keyword with none of those
letters is filed under a separator in it (``_ - . / = ? &``): every rule keyword has a
way through (tests/test_redact_gate.py). Secret *names* (``token``,
``password``...) count only when something is assigned to them, which the
look-ahead checks and :func:`name_hit` confirms.

Escape-aware: keywords carry no word boundary here, so a key right after an
escaped ``\\n``, ``\\t``, ``\\r`` or ``\\"`` is still found; a ``\\u00XX`` escape
of a printable character (which could spell any keyword) sends the line to the
careful path, as does anything the engine cannot see at byte level.

Example::

    >>> from csa.redact_gate import Gate
    >>> gate = Gate.build([("dop_v1_", 16)], known=())
    >>> gate.any(b'{"text":"x\\\\ndop_v1_' + b"a1" * 32 + b'"}'), gate.any(b"nothing to see")
    (True, False)
"""

from __future__ import annotations

import os
import re
from bisect import bisect_right
from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

from csa.recache import compile_all
from csa.redact_entropy import GATE_WORDS as NEAR_GATE_WORDS
from csa.redact_entropy import WORDS, near_hit
from csa.redact_names import is_secret_name

if TYPE_CHECKING:
    from csa.redact_prefilter import Prefilter

# Inputs shorter than this skip the prefilter (Hyperscan's import and set-up are not worth
# it for a description or a short turn; the regexes alone are quick there).
PREFILTER_MIN = 16 * 1024

_WORD_BYTES = tuple(w.encode() for w in WORDS)  # with the names counted only when assigned

__all__ = ["Gate", "name_hit"]

# Anchor characters in order of preference (rarest in typical tool output first;
# measured on the transcript benchmark's corpus). A keyword is filed under the
# first of these it contains.
ANCHORS = "jxvkyhgpqb"
# Keywords that _EXTRA finds.
EXTRA_KEYWORDS = frozenset({"curl", "redis-cli", "keydb-cli", "smbclient", "rpcclient", "secret_", "-us"})
# For keywords with no anchor letter: the separator in them (``r8_``, ``ico-``, ``sat.``,
# ``1//``, ``sessionid=``); each is one more pass.
SEPARATORS = "_-./=?&"
# Keywords that only _RAW_PATTERNS find (their tokens are upper case: AKIA..., ATATT3...,
# SSWS, Twilio's SK/AC): no lower-case pass of their own.
RAW_KEYWORDS = frozenset({"atbb", "atatt3", "asia", "abia", "acca", "a3t", "aiza", "ltai", "eaaa",
                          "ezak", "eaam", "eaac", "sk", "ac", "ssws", "q~", "dt0c01.", "sl.", "a3-",
                          ".acc_", ".acc-", "sat.", "pat."})
# The characters of a token body (lower-cased): what rules allow after a prefix, dots,
# slashes and base64 padding included (glpat-<base64>.01.<...>, whsec_<base64>), and
# the backslash of a JSON encoder's "\/".
_BODY = rb"[a-z0-9_\-.+/=%\\]"
# A cookie or parameter name ending at "=": its value, as the rules take it.
_VALUE_AHEAD = rb"(?=[^\s'\"`;,&<>\\]{8})"
# A keyword ending at its anchor: the body look-ahead first (see _keyword_alt); the
# shortest body any such keyword needs (each rule's own length is checked later).
_ENDS_AT_ANCHOR = b"(?=" + _BODY + b"{8})"

# Secret words inside names, per anchor: the word, then (checked inside the regex,
# so ordinary "key"/"token" words of code and prose cost nothing in Python) an
# assignment: the rest of the name, closing quotes (escaped to any depth), then
# := => = : or '>' (XML) or ' value=' (XML add key=...), or a command-line flag
# followed by a value, or a name/value pair's "value".
_ASSIGNED = (
    rb"""(?=[a-z0-9_.-]{0,64}[\\"'`\]]{0,8}[ \t]{0,8}(?::{1,3}=|=>|(?:\?\?|[?+.])?=(?![=~])|:(?!:)|>[^<\s]"""
    rb"""|[ \t]+value[ \t]*=|[\\"']{0,4}[ \t]*(?:,|\\n|\n)[ \t-]{0,12}[\\"']{0,2}value))"""
)
# After a secret word or provider name: a run of token characters starts soon on
# the same line (csa.redact_entropy.near_hit then judges whether it looks random).
# Or on the next line, when only punctuation follows on this one (YAML "|", XML).
_NEAR_AHEAD = (rb"(?=(?:[^\n\\]|\\[^nr]){0,40}?[a-z0-9_+/=.~-]{14}"
               rb"|[^a-z0-9\n\\]{0,8}(?:\n|\\[nr])[ \t]{0,16}[a-z0-9_+/=.~-]{14})")
_FLAG_VALUE = rb"(?=[a-z0-9_-]{0,40}[ \t]+[^\s-])"


def _assigned(*flags: bytes) -> bytes:
    behind = b"|".join(b"(?<=-" + f + b")" for f in flags)
    return b"(?:" + _ASSIGNED + b"|(?:" + behind + b")" + _FLAG_VALUE + b")"


# Secret words in names, as (anchor, literal after it, condition): merged into the
# anchor's trie with the keywords, so shared first letters are checked once.
_NAME_WORDS: list[tuple[str, bytes, bytes]] = [
    ("k", b"en", rb"(?<=token)(?!s|iz)" + _assigned(b"token", b"authtoken", b"accesstoken")),
    ("k", b"ey", b"(?<=key)" + _assigned(b"key", b"apikey")),
    ("k", b"ie", b"(?<=cookie)" + _assigned(b"cookie")),
    ("p", b"ass", _assigned(b"pass")),
    ("p", b"wd", _assigned(b"pwd")),
    ("p", b"w", b"(?![a-z])" + _assigned(b"pw")),
    ("x", b"srf", _assigned(b"xsrf")),
]
# Multi-character anchors (cheaper than a frequent single one), one pass each.
_EXTRA = [
    # one pass for the words led by "c" (their second bytes differ, so no alternative
    # hides another): secret, cred(s), the Notion-style "secret_" token; curl (its -u
    # user:password); redis-cli and the like; contraseña (the name is the word)
    rb"c(?:r(?:et_(?<=secret_)(?=[a-z0-9]{30})|(?P<n0>(?:(?<=secr)et|ed)" + _assigned(b"secret", b"cred")
    + rb")|(?:(?<=secr)et|ed)" + _NEAR_AHEAD + b"(?P<a0>))"
    rb"|url\b|li(?:(?<=redis-cli)|(?<=keydb-cli)|ent(?<=smbclient)|ent(?<=rpcclient))"
    # (its ñ as UTF-8, plain, or a JSON \u00f1 escape: json.dumps' default)
    b"|ontrase(?:\xc3[\xb1\x91]a|na|\\\\u00[df]1a)?" + _assigned(b"contrasena") + b")",
    rb"auth(?:(?P<n00>" + _assigned(b"auth") + rb")|" + _NEAR_AHEAD + b"(?P<a00>))",
    # secret words with no anchor letter, as assigned names ({"dsn":"..."})
    b"dsn" + _assigned(b"dsn") + b"(?P<n1>)",
    b"sess(?:ion)?id" + _assigned(b"sessid", b"sessionid") + b"(?P<s1>)",
]
# Tried first in the pass of the anchor they start with (one scan fewer each); they
# need no confirmation, so when one matches, no alternative after it is hidden.
# Look-aheads: they consume nothing past the anchor, so they hide no later match either.
_FIRST = {
    "b": rb"(?=earer[ \t]+[a-z0-9._~+/-]{8})",  # a bare "Bearer <token>" (gitleaks curl-auth-header)
    "-": rb"(?=us[0-9](?<=[0-9a-f]{32}-us[0-9]))",  # Mailchimp: <32 hex>-us<datacenter>, not "tool-use"
}
# A provider's name assigned a random-looking token with no secret word in sight
# ("datadog = <32 hex>", "TWILIO: <token>", "stripe => '<token>'"): found from the
# operator, whatever letters the name has (a name without the anchors above costs
# nothing more). The look-aheads keep it in C: a run of 14 token characters with a
# digit or a capital follows; provider_hit then reads the name and judges the token
# (the empty group "p" asks for that).
_TOKEN_CH = rb"[A-Za-z0-9_+/=.~-]"
_ASSIGNED_TOKEN = (rb"[\\\"'`]{0,8}(?=" + _TOKEN_CH + rb"{14})(?=" + _TOKEN_CH + rb"{0,48}?[0-9A-Z])")
_PROVIDER_EQ = rb"=>?[ \t]{0,3}" + _ASSIGNED_TOKEN + b"(?P<p>)"
# On the original bytes (case matters): upper-case token prefixes, JSON \u00XX escapes
# of printable characters (they could spell any keyword), and the provider operators.
_RAW_PATTERNS = [
    rb"A(?:KIA|SIA|BIA|CCA|3T[A-Z0-9]|3-[A-Z0-9]{6}|Iza|KCp|TATT3|TBB|KID|C[0-9a-f]{32}|GE-SECRET"
    rb"|K(?<=EZAK)[A-Za-z0-9]{20}"
    rb"|I(?<=LTAI)|A[MCA](?<=EAA.)[\w-]{20}|A(?<=[0-9]:AA)[\w-]{20})",
    # one pass for both backslash-led forms: a \u00XX escape, or compact JSON printed inside
    # a JSON string (\":<token>; a look-ahead, so it hides no escape after it)
    rb'\\(?:u00[2-7][0-9a-fA-F]|(?=":' + _ASSIGNED_TOKEN + b")(?P<p>))",
    rb"S(?:K[0-9a-fA-F]{32}|SWS [\w-]{20})",  # Twilio API key, Okta SSWS header
    rb"~(?<=[0-9]Q~)[\w~.-]{30}",  # Azure AD client secret
    # Discord bot token (base64 user id . 6 . 27+), Dynatrace dt0c01., Dropbox sl.
    rb"\.(?:[\w-]{6}\.[\w-]{27}(?:(?<=[MNO][\w-]{23}\.[\w-]{6}\.[\w-]{27})"
    rb"|(?<=[MNO][\w-]{24}\.[\w-]{6}\.[\w-]{27})|(?<=[MNO][\w-]{25}\.[\w-]{6}\.[\w-]{27}))"
    rb"|(?<=dt0c01\.)[A-Za-z0-9]{24}|(?<=sl\.)[\w=-]{100}"
    rb"|(?<=pat[A-Za-z0-9]{14}\.)[a-fA-F0-9]{64}"  # ... an Airtable PAT,
    rb"|acc[_-][A-Za-z0-9-]{10}|(?<=[ps]at\.)[\w-]{22}\.)",  # Authress, Harness
    _PROVIDER_EQ,
    rb":[ \t]{1,3}" + _ASSIGNED_TOKEN + b"(?P<p>)",  # YAML, INI, prose, JSON with spaces
]
_NAME_RUN = re.compile(rb"[A-Za-z0-9_.\-]*")
_NAME_BACK = re.compile(rb"[ \t\\\"'`\]:+?.]{0,8}")  # what may stand between a name and its = or :


def provider_hit(buf: bytes, pos: int) -> bool:
    """Whether the name before the operator at pos holds a secret word or a provider's
    name and a random-looking token follows (the careful path redacts it: near_spans)."""
    lo = max(0, pos - 80)
    back = buf[lo:pos][::-1]
    gap = _NAME_BACK.match(back).end()
    n = _NAME_RUN.match(back, gap).end() - gap
    if n == 0:
        return False
    start = pos - gap - n
    return _names_a_provider(buf[start:pos - gap]) and near_hit(buf, start)


@lru_cache(maxsize=4096)
def _names_a_provider(name: bytes) -> bool:
    low = name.lower()
    return any(w in low for w in _WORD_BYTES)


# JSON keys whose name name_hit reads whole and finds benign, which a tool prints on
# every event (opencode's "sessionID"): known without reading the name.
_BENIGN_KEYS = frozenset({b'"sessionID"', b'"sessionId"'})


def name_hit(buf: bytes, pos: int) -> bool:
    """Whether the assigned name (or --flag) around pos, a secret word's anchor, is secret."""
    if pos and buf[pos - 1:pos + 10] in _BENIGN_KEYS:
        return False
    end = _NAME_RUN.match(buf, pos).end()
    lo = max(0, pos - 80)
    start = pos - _NAME_RUN.match(buf[lo:pos][::-1]).end()
    if start < pos and buf[start - 1:start] == b"\\" and buf[start:start + 1] in (b"n", b"t", b"r"):
        start += 1  # an escaped newline/tab before the name: "\npassword=..."
    elif buf[start:start + 5] == b"u0022" and buf[start - 1:start] == b"\\":
        start += 5
    if buf.endswith(b"[REDACTED:", 0, start):
        return False  # the kind inside our own tag ("[REDACTED:secret-value]")
    name = buf[start:end].strip(b"-.")
    return bool(name) and is_secret_name(name.decode("ascii"))


def _trie(items: list[tuple[bytes, bytes]]) -> bytes:
    """Alternation of (literal, condition) items, factored by common first bytes."""
    groups: dict[int, list[tuple[bytes, bytes]]] = {}
    ends: list[bytes] = []
    for lit, cond in items:
        if lit:
            groups.setdefault(lit[0], []).append((lit[1:], cond))
        else:
            ends.append(cond)
    alts = [re.escape(bytes([c])) + _group(_trie(sub)) for c, sub in sorted(groups.items())]
    if ends:
        alts.append(_ends(ends))
    return b"|".join(alts)


class _Ends(NamedTuple):
    """A keyword that ends at its anchor: the character before the anchor, and the
    rest of the condition (see _keyword_alt)."""

    before: bytes
    ahead: bytes  # the token's look-ahead, shared with the keywords ending at this anchor
    cond: bytes


def _ends(ends: list) -> bytes:
    """The alternation of conditions for keywords that end where the trie is; those
    ending at their anchor share their first checks: the character before the anchor
    (one look-behind rejects most occurrences: the "is" of "is_function"), then the
    body look-ahead, then each keyword's own look-behind."""
    plain = [e for e in ends if not isinstance(e, _Ends)]
    by_ahead: dict[bytes, list[_Ends]] = {}
    for e in ends:
        if isinstance(e, _Ends):
            by_ahead.setdefault(e.ahead, []).append(e)
    for ahead, shared in sorted(by_ahead.items()):
        before = b"".join(sorted({re.escape(e.before) for e in shared}))
        plain.append(b"(?<=[" + before + b"].)" + ahead + _group(b"|".join(e.cond for e in shared)))
    return b"|".join(plain) if all(plain) else b""


def _group(p: bytes) -> bytes:
    return b"(?:" + p + b")" if p else b""


def _keyword_alt(kw: str, body: int) -> tuple[str, bytes, bytes] | None:
    """(anchor, literal after the anchor, conditions) for one lower-case keyword.

    The anchor is the first anchor letter with something after it: a branch of
    literals after it is cheap to reject. A keyword that ends at its anchor would
    cost a look-behind at *every* occurrence of that character, so it is filed so
    only when a token body must follow (its look-ahead comes first and fails at once
    almost everywhere: ``eztk`` under ``k``, ``r8_`` under ``_``) or when it is long
    (``mariadb``). Keywords without an anchor letter fall back to a separator in them
    (``ico-``, ``sat.``, ``1//``); there a token must start a word, as the rules
    require (``re_`` is not the end of ``signature_``). None: nothing to anchor on.
    """
    raw = kw.encode()
    for anchors, fallback in ((ANCHORS, False), (SEPARATORS, True)):
        start = _word_start(raw) if fallback else b""
        for a in anchors if not (fallback and kw.endswith("=")) else ():
            i = kw.find(a)
            if 0 <= i < len(kw) - 1:
                cond = b"(?<=" + re.escape(raw) + b")" if i > 0 else b""
                if body:
                    cond += b"(?=" + _BODY + b"{%d})" % body
                return kw[i], raw[i + 1:], start + cond if i > 0 else cond
        if kw[-1:] in tuple(anchors) and (body >= 8 or len(kw) >= 5):
            if kw.endswith("="):  # a cookie or parameter name: any value, any name before it
                ahead, start = _VALUE_AHEAD, b""
            else:
                ahead = _ENDS_AT_ANCHOR if body >= 8 else b""
            return kw[-1], b"", _Ends(raw[-2:-1], ahead, b"(?<=" + re.escape(raw) + b")" + start)
    return None


def _word_start(raw: bytes) -> bytes:
    """Look-behind: the keyword raw (just matched) starts a word, or follows an escaped
    \\n, \\t or \\r (text printed inside a JSON string)."""
    e = re.escape(raw)
    return b"(?:(?<![a-z0-9]" + e + b")|(?<=\\\\[ntr]" + e + b"))"


def _patterns(keywords: tuple[tuple[str, int], ...]) -> list[bytes]:
    """The gate's regexes: one per anchor and separator, then one per keyword that has
    neither, then _EXTRA (all on lower-cased bytes), then _RAW_PATTERNS (on the original
    bytes)."""
    by_anchor: dict[str, list[tuple[bytes, bytes]]] = {}
    alone: list[bytes] = []
    for kw, body in keywords:
        if not kw or kw in RAW_KEYWORDS or kw in EXTRA_KEYWORDS:
            continue
        alt = _keyword_alt(kw, body)
        if alt is not None:
            by_anchor.setdefault(alt[0], []).append(alt[1:])
        else:
            alone.append(re.escape(kw.encode()) + (b"(?=" + _BODY + b"{%d})" % body if body else b""))
    for n, (anchor, lit, cond) in enumerate(_NAME_WORDS, 1):
        # the empty named group, closed when the condition held, tells a secret name
        # (to be confirmed) from a token
        by_anchor.setdefault(anchor, []).append((lit, cond + b"(?P<n%d>)" % n))
    near: dict[str, list[tuple[bytes, bytes]]] = {}
    for n, word in enumerate(NEAR_GATE_WORDS, 1):
        # a secret word or provider name: confirmed when a random-looking token follows
        alt = _keyword_alt(word, 0)
        if alt is not None:
            tail = b"(?!s|iz)" if word == "token" else b""
            more = tail + _NEAR_AHEAD + b"(?P<a%d>)" % n
            cond = alt[2]._replace(cond=alt[2].cond + more) if isinstance(alt[2], _Ends) else alt[2] + more
            near.setdefault(alt[0], []).append((alt[1], cond))
    # tokens and assigned names first; the near words only where neither matched
    low = [re.escape(a.encode()) + b"(?:" + b"|".join(
               [*([_FIRST[a]] if a in _FIRST else []),
                *(_trie(part) for part in (by_anchor.get(a, []), near.get(a, [])) if part)]) + b")"
           for a in sorted(set(by_anchor) | set(near) | set(_FIRST))]
    raw = list(_RAW_PATTERNS)
    eq = next((p for p in low if p.startswith(b"=(?:")), None)
    if eq is not None and b"(?P<" not in eq:
        # the cookie and parameter names ending at "=" share the provider operator's scan:
        # case-insensitive there, as on the lower-cased bytes, and tried first (they need
        # no confirmation and consume nothing past the "=")
        low.remove(eq)
        raw[raw.index(_PROVIDER_EQ)] = b"=(?:(?i:" + eq[4:-1] + b")|" + _PROVIDER_EQ[1:] + b")"
    return [*low, *sorted(set(alone)), *_EXTRA, *raw]


class Gate:
    """Compiled byte gate for one rule set plus known literal secrets."""

    def __init__(self, low: list[re.Pattern[bytes]], raw: list[re.Pattern[bytes]],
                 known: tuple[bytes, ...]):
        self._low = low
        self._raw = raw
        self._known = known
        # the regexes in csa.redact_prefilter's order (theirs: low first), and whether each
        # runs on lower-cased bytes
        self._all = [(rx, True) for rx in low] + [(rx, False) for rx in raw]
        self._pre: Prefilter | None | bool = None  # built on the first large input; False: none here

    @classmethod
    def build(cls, keywords: Iterable[tuple[str, int]], known: Iterable[bytes]) -> Gate:
        """keywords: (lower-case literal, token characters that must follow)."""
        keywords = tuple(keywords)
        # compiled once per machine, not per process (csa.recache): a new session pays
        # this before its tool starts. The key: the keywords and this module's version.
        me = os.stat(__file__)
        inputs = (keywords, NEAR_GATE_WORDS, me.st_mtime_ns, me.st_size)
        compiled = compile_all(inputs, lambda: _patterns(keywords))
        n_raw = len(_RAW_PATTERNS)
        return cls(compiled[:-n_raw], compiled[-n_raw:], tuple(known))

    def _literal_hits(self, buf: bytes, first: bool) -> list[int]:
        """URL credentials (at their "@") and the known secrets."""
        hits: list[int] = []
        at = buf.find(b"@")
        while at >= 0:
            if _url_hit(buf, at):
                hits.append(at)
                if first:
                    return hits
            at = buf.find(b"@", at + 1)
        for k in self._known:
            i = buf.find(k)
            while i >= 0:
                hits.append(i)
                if first:
                    return hits
                i = buf.find(k, i + 1)
        return hits

    def _hits(self, buf: bytes, first: bool) -> list[int]:
        hits: list[int] = []
        for rx in self._raw:
            for m in rx.finditer(buf):
                if _raw_ok(buf, m):
                    hits.append(m.start())
                    if first:
                        return hits
        hits += self._literal_hits(buf, first)
        if first and hits:
            return hits
        low = buf.lower()
        for rx in self._low:
            for m in rx.finditer(low):
                if _low_ok(buf, m):
                    hits.append(m.start())
                    if first:
                        return hits
        return hits

    def hits(self, buf: bytes) -> list[int]:
        """Offsets in buf where a secret may start (unordered)."""
        return self._hits(buf, False)

    def any(self, buf: bytes) -> bool:
        """Whether buf may contain a secret."""
        if len(buf) >= PREFILTER_MIN and self._prefilter() is not None:
            return bool(self.suspects(buf, [0]))
        return bool(self._hits(buf, True))

    def suspects(self, buf: bytes, starts: list[int]) -> set[int]:
        """Indices of the parts (joined by newlines into buf, part i at starts[i]) that may hold one."""
        pre = self._prefilter() if len(buf) >= PREFILTER_MIN else None
        if pre is None:
            hits = self._hits(buf, False)
            return {bisect_right(starts, h) - 1 for h in hits} if hits else set()
        found = {bisect_right(starts, h) - 1 for h in self._literal_hits(buf, False)}
        return pre.suspects(buf, starts, found, _confirmed)

    def _prefilter(self) -> Prefilter | None:
        if self._pre is None:
            from csa.redact_prefilter import Prefilter

            self._pre = Prefilter.build(self._all) or False
        return self._pre or None


def _confirmed(buf: bytes, m: re.Match, lowered: bool) -> bool:
    return _low_ok(buf, m) if lowered else _raw_ok(buf, m)


def _raw_ok(buf: bytes, m: re.Match) -> bool:
    # p: an operator; the name before it must be a provider's or secret
    return m.lastgroup is None or provider_hit(buf, m.start())


def _low_ok(buf: bytes, m: re.Match) -> bool:
    # each condition's group closes at its end: lastgroup names the branch that matched
    # n: an assigned name (else perhaps a secret word before a token); s: a name only
    g = m.lastgroup
    return g is None or (g[0] in "ns" and name_hit(buf, m.start())) \
        or (g[0] != "s" and near_hit(buf, m.start()))


def _url_hit(buf: bytes, at: int) -> bool:
    # user:password@host, or a token as the user (https://<token>@github.com,
    # Sentry DSNs), needs a scheme shortly before the '@' ("://", or ":\/\/"
    # from JSON encoders that escape slashes)
    lo = max(0, at - 256)
    j = max(buf.rfind(b"://", lo, at), buf.rfind(b":\\/\\/", lo, at))
    if j < 0:
        return False
    if buf.find(b":", j + 3, at) >= 0:
        return True
    user = buf[j + 3:at].lstrip(b"/\\")
    return len(user) >= 20 and not any(c in user for c in b" /\"'")
