"""Secret-named assignments: the values of keys, variables, flags and headers
whose *name* says they are secret, in any syntax.

    FOO_API_KEY=v   export GITHUB_TOKEN="v"   password: v   "api_key": "v"
    \\"api_key\\": \\"v\\"   secret = v (INI)   --api-key v   --token=v
    Authorization: <any scheme> v   <password>v</password>   name: DB_PASSWORD / value: v

Example::

    >>> from csa.redact_names import assignment_spans, is_secret_name
    >>> is_secret_name("AWS_SECRET_ACCESS_KEY"), is_secret_name("max_tokens")
    (True, False)
    >>> text = "db password: hunter2 (rotate)"
    >>> [text[s:e] for s, e in assignment_spans(text)]
    ['hunter2']
"""

from __future__ import annotations

import re
from functools import lru_cache

from csa.secret_rules import (
    AUTH_SCHEMES,
    BENIGN_LEADERS,
    BENIGN_TRAILERS,
    KEY_QUALIFIERS,
    PLACEHOLDERS,
    SECRET_SUFFIXES,
    SECRET_WORDS,
    WHOLE_VALUE_NAMES,
)

__all__ = ["REDACTED_PREFIX", "WORD_RE", "assignment_spans", "is_secret_name"]

REDACTED_PREFIX = "[REDACTED"
WORD_RE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z\u00f1]+|[A-Z\u00d1]+|[0-9]+")


@lru_cache(maxsize=16384)
def is_secret_name(name: str) -> bool:
    """True when a key/variable/flag/header name says its value is a secret."""
    if not name or len(name) > 100:
        return False
    words = [w.lower() for w in WORD_RE.findall(name)]
    if not words or words[0] in BENIGN_LEADERS:
        return False
    if words in (["pwd"], ["old", "pwd"], ["oldpwd"]):  # the shell's working directory
        return False
    last = -1
    for i, w in enumerate(words):
        if (
            w in SECRET_WORDS
            or (w.endswith(SECRET_SUFFIXES) and w != "tokens")
            or (w in ("key", "keys") and any(p in KEY_QUALIFIERS for p in words[:i]))
            or (w == "pass" and i > 0)
        ):
            last = i
    if last < 0:
        return False
    return not any(w in BENIGN_TRAILERS for w in words[last + 1:])


# The secret word inside a name (lower-cased text), the name's characters, and the
# separator after it: closing quotes (escaped to any depth), then := => = : or
# '>' (an XML element), or ' value=' (XML <add key="Password" value="...">).
_NAME_KEYWORDS = ("token", "key", "cookie", "pass", "pw", "secret", "cred", "auth", "dsn", "sess", "contrase")
NAME_MAX = 256  # a name run longer than this (a line of "secret_secret_...") is no name
VALUE_MAX = 4096  # an assigned value is judged by this much of it (a longer one is
#                   redacted whole when its head is a secret)
_NAME_RUN = re.compile(r"[A-Za-z0-9_.\-\u00f1\u00d1]*")  # ñ: WORD_RE splits "contraseña" too
_SEP = re.compile(
    r"""(?P<q1>[\\"'`\]]{0,8})[ \t]{0,8}(?P<op>:{1,3}=|=>|(?:\?\?|[?+.])?=(?![=~>])|:(?![:=])|>(?=[^<\s])"""
    r"""|(?<=["'])[ \t]+value[ \t]*=)"""
    r"""[ \t]{0,8}(?P<q2>\\{0,3}["'`])?"""
)
_FLAG_SEP = re.compile(r"""(?P<op>=|[ \t]+)(?P<q2>\\{0,3}["'`])?""")
_BARE = re.compile(r"""[^\s"'`,;&|<>(){}\[\]\\]+""")
_BARE_REST = re.compile(_BARE.pattern[:-1] + "*")
_QUOTED = {q: re.compile(rf"[^{q}\\\r\n]*") for q in "\"'`"}
_AUTH_SCHEME = re.compile(r"(?i)(?:" + "|".join(re.escape(s) for s in AUTH_SCHEMES) + r")[ \t]+")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Conventional identifiers (snake_case, camelCase, PascalCase, UPPER_CASE): a
# variable in code. Random-looking mixed case ("DVWqyfkr") is a literal.
_CODE_IDENT = re.compile(
    r"[a-z_][a-z_]*[0-9]*|[a-z]+(?:[A-Z][a-z]+)+[0-9]*|(?:[A-Z][a-z]+)+[0-9]*|[A-Z][A-Z_]*[0-9]*"
)
# An expression on the right of "=" (code), not a multi-word literal.
_CODE_EXPR = re.compile(
    r"[()\[\]{}]|==|!=| [-+*/%] |\b(?:if|else|or|and|not|in|is|for|lambda|await|return|new)\b"
)
_NUMBER = re.compile(r"-?\d{1,5}\.\d+(?:[eE][-+]?\d+)?")
_FORMAT_ONLY = re.compile(r"(?:%[sdr]|\{\}|[^A-Za-z0-9])+")
_LINE_LEAD = re.compile(r"[ \t]*(?:-[ \t]+|export[ \t]+|set[ \t]+|\$env:)?")
# k8s/ECS style pairs: name: DB_PASSWORD <newline> value: v, {"name":"X_TOKEN","value":"v"}
_NAME_VALUE = re.compile(
    r"""(?i)["']?name["']?[ \t]*[:=][ \t]*["']?(?P<name>[\w.-]+)["']?[ \t]*(?:,|\n|\\{1,3}n)?[ \t]*(?:-[ \t]*)?"""
    r"""["']?value["']?[ \t]*[:=][ \t]*(?P<q>["']?)(?P<value>[^"'\s,}\\]+)"""
)


def _mixed(word: str) -> bool:
    """Upper case, lower case and digits in one word: generated (G0qeuEchsVEo), not a name."""
    return (any(c.isupper() for c in word) and any(c.islower() for c in word)
            and any(c.isdigit() for c in word))


def _bare_value_ok(value: str, name: str, nxt: str, spaced_eq: bool) -> bool:
    low = value.lower()
    if len(value) < 3 or low in PLACEHOLDERS or value.startswith(REDACTED_PREFIX):
        return False
    if value[0] in "$%<{*#/~.@-" or value.startswith(("http://localhost", "file:")):
        return False  # references ($X, ${X}, %(x)s, <x>), paths, comments, flags
    if (value.isdigit() and len(value) < 6) or _NUMBER.fullmatch(value):
        return False  # counts, ports, JSON numbers
    if nxt and nxt in "([" and all(_IDENT.fullmatch(p) and not _mixed(p) for p in value.split(".")):
        return False  # a call or an index: HTTPPasswordMgr(), base64.b64encode(...)
    code_name = all(_CODE_IDENT.fullmatch(p) for p in value.split("."))
    if code_name and "." in value:
        return False  # a call, an index, attribute access: os.environ[...], self.token
    if _IDENT.fullmatch(value):
        words = {w.lower() for w in WORD_RE.findall(name)}
        if low in words or low == name.lower() or low.replace("_", "") in name.lower():
            return False  # token=token, api_key=api_key (pass-through)
        if (spaced_eq or (nxt and nxt in ",)}")) and _CODE_IDENT.fullmatch(value):
            return False  # code: ``password = new_password``, ``f(token=tok)``
    return len(set(value)) > 1  # "xxxxxxxx", "********"


def _quoted_value_ok(value: str, name: str) -> bool:
    low = value.strip().lower()
    if not low or low in PLACEHOLDERS or value.startswith(REDACTED_PREFIX):
        return False
    if value.startswith(("${", "{{", "%(", "$(")) or (value[0] + value[-1]) in ("<>", "{}"):
        return False  # templates and placeholders: ${X}, {{ x }}, %(x)s, <x>, {x}
    if _FORMAT_ONLY.fullmatch(value) or (value.replace("-", "").isalpha() and is_secret_name(value)):
        return False  # a format string ('%s:%s'), or the name of a header/field ('Authorization')
    return low != name.lower() and len(set(low)) > 1


def _line_end(text: str, i: int, lim: int | None = None) -> int:
    """End of the (possibly JSON-escaped) line at i (at most `lim`)."""
    lim = len(text) if lim is None else lim
    return min(j for j in (text.find("\n", i, lim), text.find("\\n", i, lim),
                           text.find("\\r", i, lim), lim) if j >= 0)


def _whole_value(text: str, vs: int, quote: str | None, opened: str, lim: int) -> int:
    """End of a header-like value: its closing quote, the quote the whole header was
    written in (``-H 'Authorization: ...'``), else the end of the line (at most `lim`)."""
    eol = _line_end(text, vs, lim)
    quote = quote or opened
    if quote:
        q = text.find(quote, vs, eol)
        return q if q >= 0 else eol
    return len(text[vs:eol].rstrip()) + vs


def _value_span(text: str, name_start: int, name_end: int, name: str, flag: bool) -> tuple[int, int] | None:
    """Span of the literal value assigned to a secret-named name, if any."""
    m = (_FLAG_SEP if flag else _SEP).match(text, name_end)
    if not m:
        return None
    vs = m.end()
    # Every scan stops VALUE_MAX characters on: from each secret word of a long line
    # of them, a scan to its end made the line quadratic ("apikey=-" x 36,000: minutes).
    # A value found longer is judged by its head, and redacted to its end (_whole).
    lim = min(len(text), vs + VALUE_MAX)
    q2 = m.group("q2")
    low_name = name.lower()
    if m.group("op") == ">":  # <password>v</password>
        ve = text.find("<", vs, lim)
        ve = lim if ve < 0 else ve
        value = text[vs:ve].strip()
        if not (value and _quoted_value_ok(value, name)):
            return None
        return vs, (ve if ve < lim else _found(text.find("<", lim), text))
    if low_name in WHOLE_VALUE_NAMES or low_name.endswith("cookie"):
        before = text[max(0, name_start - 64):name_start].rstrip(" \t")[-2:]
        opened = '\\"' if before.endswith('\\"') else before[-1:] if before[-1:] in ("'", '"') else ""
        quote = q2[-1] if q2 else None
        ve = _whole_value(text, vs, quote, opened, lim)
        scheme = _AUTH_SCHEME.match(text, vs, ve)
        if scheme and ve > scheme.end():
            vs = scheme.end()  # "Bearer <credentials>": the credentials are the secret
        value = text[vs:ve]
        if not (value.strip() and _quoted_value_ok(value.strip(), name)):
            return None
        return vs, (ve if ve < lim else _whole_value(text, lim, quote, opened, len(text)))
    if q2:
        ve = _QUOTED[q2[-1]].match(text, vs, lim).end()
        scheme = _AUTH_SCHEME.match(text, vs, ve)
        if scheme:
            vs = scheme.end()
        if not _quoted_value_ok(text[vs:ve], name):
            return None
        return vs, (ve if ve < lim else _QUOTED[q2[-1]].match(text, ve).end())
    scheme = _AUTH_SCHEME.match(text, vs, lim)
    if scheme and text.startswith(REDACTED_PREFIX, scheme.end()):
        return None  # "Bearer [REDACTED...]": its credentials are already gone (idempotent)
    if scheme and _BARE.match(text, scheme.end(), lim):
        vs = scheme.end()
    bm = _BARE.match(text, vs, lim)
    if not bm:
        return None
    ve = bm.end()
    value = text[vs:ve]
    if value.startswith(REDACTED_PREFIX) or (len(value) < 64 and value.lower() in PLACEHOLDERS):
        return None
    # A YAML/.env/INI line: the value runs to the end of the line (minus a
    # comment), so a multi-word passphrase is covered entirely.
    back = max(0, name_start - VALUE_MAX)  # (a line longer than that is no .env line)
    esc = text.rfind("\\n", back, name_start)
    line_start = max(text.rfind("\n", back, name_start) + 1, esc + 2 if esc >= 0 else back)
    if _LINE_LEAD.fullmatch(text, line_start, name_start):
        rest = text[vs:_line_end(text, ve, lim)]
        for mark in (" #", "\t#", " ;"):
            k = rest.find(mark)
            if k >= 0:
                rest = rest[:k]
        rest = rest.rstrip()
        if len(rest) > len(value) and not _CODE_EXPR.search(rest):
            return vs, vs + len(rest)
    spaced_eq = m.group("op").endswith("=") and " " in m.group(0)  # code: x = y, x += y
    if m.group("op") == "=" and not spaced_eq and name.isupper():
        # NAME=value (.env, shell, docker -e): always a literal, never code
        ok = len(value) >= 3 and value[0] not in "$%<{*#" and len(set(value)) > 1
    else:
        ok = _bare_value_ok(value, name, text[ve:ve + 1], spaced_eq)
    if not ok:
        return None
    return vs, (ve if ve < lim else _BARE_REST.match(text, ve).end())


def _found(i: int, text: str) -> int:
    """A str.find result as an end: the text's end when not found."""
    return len(text) if i < 0 else i


def _name_at(text: str, pos: int, end: int) -> tuple[int, int]:
    """(start, end) of the name run around pos (it ends at `end`); an escaped \\n/\\t/\\r
    before it is not part of it."""
    lo = max(0, pos - 80)
    start = pos - _NAME_RUN.match(text[lo:pos][::-1]).end()
    if start < pos and text[start - 1:start] == "\\" and text[start] in "ntr":
        start += 1
    elif text[start:start + 5] == "u0022" and text[start - 1:start] == "\\":
        start += 5  # \u0022password
    return start, end


def assignment_spans(text: str) -> list[tuple[int, int]]:
    """Spans of values assigned to secret-named names, in order, not overlapping."""
    low = ascii_lower(text)
    spans: list[tuple[int, int]] = []
    done_upto = -1
    run_end = -1  # the end of the last name run: every keyword inside one run shares it
    for pos in _keyword_positions(low):
        if pos < done_upto:
            continue
        if pos >= run_end:
            run_end = _NAME_RUN.match(text, pos).end()
        if run_end - pos > NAME_MAX:
            continue  # a name is judged by its last NAME_MAX characters ("secret_secret_...")
        start, end = _name_at(text, pos, run_end)
        if in_own_tag(text, start):
            continue  # the kind inside our own tag ("[REDACTED:secret-value]")
        raw = text[start:end]
        flag = raw.startswith("-") and (start == 0 or text[start - 1] in " \t\"'=(")
        core = raw.strip("-.")
        if not core or not is_secret_name(core):
            continue
        span = _value_span(text, start, start + len(raw.rstrip("-.")), core, flag)
        if span is not None and span[1] > span[0]:
            spans.append(span)
            done_upto = span[1]
    for m in _NAME_VALUE.finditer(text) if "value" in low else ():
        if is_secret_name(m.group("name")) and _quoted_value_ok(m.group("value"), m.group("name")):
            spans.append(m.span("value"))
    return spans


def _keyword_positions(low: str) -> list[int]:
    """Sorted offsets of the secret words in low (str.find is much faster than one
    regex alternation of them)."""
    out = []
    for kw in _NAME_KEYWORDS:
        i = low.find(kw)
        while i >= 0:
            if not (kw == "token" and low.startswith(("tokens", "tokeniz"), i)):
                out.append(i)
            i = low.find(kw, i + 1)
    out.sort()
    return out


def in_own_tag(text: str, i: int) -> bool:
    """Whether position i is inside one of csa's own ``[REDACTED:<kind>]`` tags (the
    "credentials" of "[REDACTED:url-credentials]" is no secret word). A whole tag only:
    an unclosed "[REDACTED:" printed before a secret hides nothing."""
    j = text.rfind(REDACTED_PREFIX + ":", max(0, i - 48), i)
    if j < 0:
        return False
    k = text.find("]", i, i + 48)
    return k >= 0 and _TAG_KIND.fullmatch(text, j + len(REDACTED_PREFIX) + 1, k) is not None


_TAG_KIND = re.compile(r"[a-z0-9-]+")


def ascii_lower(s: str) -> str:
    """s lower-cased with every offset kept (str.lower, unless a character lowers to two)."""
    low = s.lower()
    if len(low) != len(s):  # e.g. "İ" lowers to two code points; keep offsets aligned
        low = "".join(c.lower() if c.isascii() else c for c in s)
    return low
