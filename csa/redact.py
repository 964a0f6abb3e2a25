"""Secret redaction applied to every string before it reaches disk.

A :class:`Redactor` is built from explicit inputs: a rule set (default: the data
in :mod:`csa.secret_rules`) and literal secrets it must know (values of
secret-named environment variables and config entries, passed in by the caller).
Provider tokens, private keys, JWTs, credentials in URLs, command lines and
config files, and the values of secret-named keys, flags and headers become
``[REDACTED:<kind>]``. A cheap byte gate (:mod:`csa.redact_gate`) decides which
strings may hold a secret; only those go through the rules.

Example::

    >>> from csa.redact import Redactor
    >>> r = Redactor.for_environment({"MY_TOKEN": "s3cr3t-value-42"})
    >>> r.text("db password: hunter2 (rotate monthly)")
    'db password: [REDACTED:secret-value] (rotate monthly)'
    >>> r.text("echo s3cr3t-value-42")
    'echo [REDACTED:known-secret]'
    >>> r.obj({"api_key": "abc123", "usage": {"input_tokens": 10}})
    {'api_key': '[REDACTED:secret-value]', 'usage': {'input_tokens': 10}}
    >>> r.cut("see ghp_" + "a1B2" * 9 + " now", 12)   # redact first, then cut
    'see [REDACTE'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import Any, NamedTuple

from csa.redact_entropy import keyed_token, names_a_word, near_spans
from csa.redact_gate import Gate
from csa.redact_names import REDACTED_PREFIX, ascii_lower, assignment_spans, is_secret_name
from csa.secret_rules import COMMAND_FLAGS, SHAPES, TOKENS, Token

__all__ = ["SECRET_VALUE", "Redactor", "config_secrets", "decode_line", "safe_cut"]

SECRET_VALUE = "[REDACTED:secret-value]"
_TAG_RE = re.compile(r"\[REDACTED:[a-z0-9-]+\]")
# A token ends at a word boundary and starts at one, or right after an escaped
# \n, \t, \r or \u00XX (text printed from inside a JSON string): checked in
# Python (_starts_word), so that the patterns keep their literal prefix, which
# is what makes re's search fast.
_END = r"(?![A-Za-z0-9])"
_WORD_START = r"(?:(?<![A-Za-z0-9_])|(?<=\\[ntr]))"  # for patterns that run only where a keyword is
_ESCAPED = re.compile(r"\\(?:[ntr]|u00[0-9a-fA-F]{2})\Z")


def _starts_word(text: str, i: int) -> bool:
    if i == 0 or not text[i - 1].isascii() or not text[i - 1].isalnum():
        return True
    return _ESCAPED.search(text, max(0, i - 6), i) is not None
# Patterns start with a literal: re then searches for it fast.
_URL_CREDS = re.compile(
    r":(?://|\\/\\/)(?:[^\s:/?#\[\]@\"'<>\\]*:(?P<secret>[^\s/?#\[\]\"'<>\\]+)"
    r"|(?P<user>[A-Za-z0-9_.~+=-]{20,}))(?=@)"
)
_BEARER = re.compile(r"bearer[ \t]+(?P<secret>[a-z0-9._~+/-]{8,}=*)")  # on lower-cased text


class _Rule(NamedTuple):
    pattern: str  # compiled on first use (_rx): most rules never run in a process
    keywords: tuple[str, ...]
    tag: str
    group: int | str
    check: Callable[[str], bool] | None
    word: bool  # must start at a word boundary


def _mixed(token: str) -> bool:
    # Real keys are random: a digit or an upper-case letter after the prefix.
    # Hyphenated slugs such as "sk-learn-compatible-estimators" are not keys.
    body = token[3:]
    return any(c.isdigit() for c in body) or (any(c.isupper() for c in body) and any(c.islower() for c in body))


def _bearer_ok(token: str) -> bool:
    # "Bearer authentication", "Bearer tokens" are prose; tokens carry digits
    # or are long mixed-case strings.
    return any(c.isdigit() for c in token) or (len(token) >= 24 and not token.islower() and not token.isupper())


_CHECKS: dict[str, Callable[[str], bool]] = {"openai-api-key": _mixed, "discord-bot-token": _mixed}
# Rules whose match starts with its context (a look-behind, a separator, a header):
# no word boundary is required before them.
_IN_CONTEXT = frozenset({
    "telegram-bot-token", "slack-webhook-url", "discord-webhook", "microsoft-teams-webhook",
    "azure-sas-signature", "okta-api-token", "postmark-server-token", "gitlab-session-cookie",
    "azure-storage-account-key", "maxmind-license-key",
})


def _command_rules() -> tuple[Token, ...]:
    out = []
    for keywords, command, flag in COMMAND_FLAGS:
        names = tuple(k.replace("|", " ") for k in keywords.split())
        # The gap to the flag never passes another start of the command: the match from
        # that one covers the rest ("curl ... curl -u a:b"), and a line of many commands
        # is scanned once, not once per command (quadratic: "curl -u " x 32,000, minutes).
        gap = rf"(?:(?!{_WORD_START}{command}\b)[^\n;&|])*?"
        out.append(Token(f"cmdline-{names[0]}", "secret-value", names,
                         rf"{_WORD_START}{command}\b{gap}{flag}", "csa:password given as a command-line flag"))
    return tuple(out)


DEFAULT_RULES: tuple[Token, ...] = TOKENS + SHAPES + _command_rules()


class _Compiled(NamedTuple):
    rules: tuple[_Rule, ...]
    keywords: tuple[tuple[str, int], ...]
    words: tuple[str, ...]  # every rule keyword once (spans() looks each up once per text)


@cache
def _compile(rules: tuple[Token, ...]) -> _Compiled:
    """Compile a rule set once per process (a pure function of the rule data)."""
    compiled = []
    gate_keywords: list[tuple[str, int]] = []
    for r in rules:
        shape = r in SHAPES or r.id.startswith("cmdline-")
        pattern = r.pattern if shape else "(?:" + r.pattern + ")" + _END
        words = []
        for kw in r.keywords:
            word, _, body = kw.partition("{")
            words.append(word)
            gate_keywords.append((word, int(body.rstrip("}") or 0)))
        if r.id == "private-key":
            pattern = "(?s)" + pattern
        group = "secret" if "(?P<secret>" in pattern else 0
        compiled.append(_Rule(pattern, tuple(words), f"[REDACTED:{r.kind}]", group, _CHECKS.get(r.id), not shape and r.id not in _IN_CONTEXT))
    words = tuple(sorted({w for rule in compiled for w in rule.keywords}))
    return _Compiled(tuple(compiled), tuple(gate_keywords), words)


_PLACEHOLDER_PARTS = ("dummy", "placeholder", "changeme", "example", "your_", "your-", "xxxx", "****", "fake", "mock")


def _worth_remembering(value: str, min_len: int) -> bool:
    low = value.strip().lower()
    if len(low) < min_len or len(set(low)) < 4 or low.isdigit():
        return False
    if low in ("none", "null", "true", "false") or any(p in low for p in _PLACEHOLDER_PARTS):
        return False
    return not low.startswith(("$", "/", "~", "http://localhost", "http://127."))


def _encode(s: str) -> bytes:
    # surrogatepass: a lone surrogate must not crash the gate; it cannot be part
    # of an (ASCII) secret pattern anyway.
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError:
        return s.encode("utf-8", "surrogatepass")


class Redactor:
    """Redacts text, parsed JSON and byte batches with one rule set and known secrets."""

    def __init__(self, rules: Iterable[Token] | None = None, known: Iterable[str] = ()):
        self.rules = DEFAULT_RULES if rules is None else tuple(rules)
        kept = {v.strip() for v in known if isinstance(v, str) and _worth_remembering(v, 6)}
        # JSON encoders may write "/" as "\/"; the raw-line gate must still see them
        variants = sorted(kept | {k.replace("/", "\\/") for k in kept}, key=len, reverse=True)
        self.known = tuple(sorted(kept))
        self._known_re = re.compile("|".join(re.escape(k) for k in variants)) if variants else None
        self._known_b = tuple(_encode(v) for v in variants)
        self._ready: tuple[_Compiled, Gate] | None = None

    @classmethod
    def for_environment(cls, environ: Mapping[str, str], extra: Iterable[str] = (),
                        rules: Iterable[Token] | None = None) -> Redactor:
        """Know the values (>= 8 chars) of the secret-named variables of environ, plus extra.

        >>> Redactor.for_environment({"GITHUB_TOKEN": "abcdef123456", "HOME": "/root"}).known
        ('abcdef123456',)
        """
        values = [v for k, v in environ.items() if is_secret_name(k) and _worth_remembering(v, 8)]
        return cls(rules, [*values, *extra])

    def _compiled(self) -> tuple[_Compiled, Gate]:
        # built on first use, not at construction: `csa --help` never pays for it
        if self._ready is None:
            comp = _compile(self.rules)
            self._ready = (comp, _gate(comp.keywords, self._known_b))
        return self._ready

    # -- the gate -----------------------------------------------------------

    def may_hold(self, s: str) -> bool:
        """Cheap check: False means s surely holds no secret this redactor knows."""
        return bool(s) and self._compiled()[1].any(_encode(s))

    def hits(self, buf: bytes) -> list[int]:
        """Byte offsets in buf where the gate saw something that may be a secret."""
        return self._compiled()[1].hits(buf)

    def suspects(self, buf: bytes, starts: list[int]) -> set[int]:
        """Indices of the parts of buf (joined by b"\\n", part i at starts[i]) that may hold a secret.

        The transcript writer's fast path: one batch of byte scans for many lines.
        """
        return self._compiled()[1].suspects(buf, starts)

    # -- finding and replacing ------------------------------------------------

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """Non-overlapping (start, end, tag) of the secrets in text, in order."""
        comp, _ = self._compiled()
        low = ascii_lower(text)
        found: list[tuple[int, int, int, str]] = []
        if self._known_re is not None:
            found += [(m.start(), m.end(), 0, "[REDACTED:known-secret]") for m in self._known_re.finditer(text)]
        present = {w for w in comp.words if w in low}
        for rule in comp.rules:
            if rule.keywords and present.isdisjoint(rule.keywords):
                continue
            for m in _rx(rule.pattern).finditer(text):
                s, e = m.span(rule.group)
                if rule.word and not _starts_word(text, m.start()):
                    continue
                if s < e and not text.startswith(REDACTED_PREFIX, s) and (rule.check is None or rule.check(text[s:e])):
                    found.append((s, e, 1, rule.tag))
        if "@" in text:
            for m in _URL_CREDS.finditer(text):
                s, e = m.span("secret") if m.group("secret") else m.span("user")
                if not text.startswith(REDACTED_PREFIX, s):
                    found.append((s, e, 1, "[REDACTED:url-credentials]"))
        for m in _BEARER.finditer(low) if "bearer" in low else ():
            s, e = m.span("secret")
            if _starts_word(low, m.start()) and _bearer_ok(text[s:e]) and not text.startswith(REDACTED_PREFIX, s):
                found.append((s, e, 1, "[REDACTED:bearer]"))
        found += [(s, e, 2, SECRET_VALUE) for s, e in assignment_spans(text)]
        found += [(s, e, 2, SECRET_VALUE) for s, e in near_spans(text)]
        return _merge(found)

    def text(self, s: str) -> str:
        """s with every secret replaced by ``[REDACTED:<kind>]``; idempotent."""
        if not s or not self._compiled()[1].any(_encode(s)):
            return s
        return _apply(s, self.spans(s))

    def cut(self, s: str, n: int) -> str:
        """Redact, then keep the first n characters (never a token's head)."""
        red = self.text(s)
        if len(red) <= n:
            return red
        head = red[:n]
        k = head.rfind("[REDACTED")
        if k >= 0 and "]" not in head[k:] and n - k < 12:
            head = head[:k].rstrip()  # no half of our own tag at the very end
        return head

    def line(self, s: str, n: int) -> str:
        """Redact, then fold onto one line, then cut to n characters (summaries, descriptions).

        Redaction sees the text's own lines: a rule may need them (a .pgpass line, a key block).

        >>> Redactor().line("$ cat .pgpass\\ndb:5432:app:deploy:hunter2x", 80)
        '$ cat .pgpass db:5432:app:deploy:[REDACTED:secret-value]'
        """
        return self.cut(" ".join(self.text(s).split()), n)

    def obj(self, obj: Any, flagged: bool = False) -> Any:
        """A redacted copy of parsed JSON (dict/list/str/number/bool/None).

        Non-empty string values of secret-named keys (``api_key``, ``password``,
        ``Authorization``...) become ``[REDACTED:secret-value]``; counters such
        as ``input_tokens`` stay. Every other string (keys too) goes through
        :meth:`text`. flagged: the gate flagged the object's raw line; its strings are
        gated as they were written there too (JSON-escaped), since decoding may hide
        what the raw line showed: ``{\\"twilio\\":\\"...\\"}`` printed inside a string.
        """
        strings: list[str] = []
        keyed: set[int] = set()
        _collect(obj, strings, keyed)
        bad = self.suspects(*_joined(strings, keyed)) if strings else set()
        if flagged and strings:
            import orjson

            bad |= self.suspects(*_joined([orjson.dumps(s).decode() for s in strings], keyed))
        return _Rebuild(self, bad).walk(obj)

    def objs(self, objs: list[Any]) -> list[Any]:
        """`[self.obj(o) for o in objs]`, with one gate pass over all of their strings
        (an import redacts thousands of events: one scan of a batch instead of one per
        event, which made the gate's per-call cost most of an import's time)."""
        strings: list[str] = []
        keyed: set[int] = set()
        _collect(objs, strings, keyed)
        bad = self.suspects(*_joined(strings, keyed)) if strings else set()
        rebuild = _Rebuild(self, bad)  # walks them in the order _collect visited them
        return [rebuild.walk(o) for o in objs]

    def env(self, env: Mapping[str, str]) -> dict[str, str]:
        """Copy of an environment with secret-named variables' values replaced.

        >>> Redactor().env({"GITHUB_TOKEN": "abc12345", "HOME": "/root"})
        {'GITHUB_TOKEN': '[REDACTED:secret-value]', 'HOME': '/root'}
        """
        return {k: (SECRET_VALUE if v and is_secret_name(k) else self.text(v)) for k, v in env.items()}


@cache
def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@cache
def _gate(keywords: tuple[tuple[str, int], ...], known: tuple[bytes, ...]) -> Gate:
    return Gate.build(keywords, known)


def _merge(found: list[tuple[int, int, int, str]]) -> list[tuple[int, int, str]]:
    """Resolve overlaps: earliest start wins (rules before names), overlaps are unioned."""
    found.sort(key=lambda f: (f[0], f[2], -f[1]))
    out: list[tuple[int, int, str]] = []
    for s, e, _, tag in found:
        if out and s < out[-1][1]:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e, out[-1][2])
            continue
        out.append((s, e, tag))
    return out


def _apply(text: str, spans: list[tuple[int, int, str]]) -> str:
    if not spans:
        return text
    parts = []
    prev = 0
    for s, e, tag in spans:
        parts.append(text[prev:s])
        parts.append(tag)
        prev = e
    parts.append(text[prev:])
    return "".join(parts)


def _joined(strings: list[str], keyed: set[int] | None = None) -> tuple[bytes, list[int]]:
    """The strings as one buffer for the gate, and where each starts: a key and its string
    value are joined by "=" (the gate then sees {"twilio": "..."} as twilio=...), all else
    by newlines."""
    parts = [_encode(s) for s in strings]
    starts = []
    off = 0
    for p in parts:
        starts.append(off)
        off += len(p) + 1
    if not keyed:
        return b"\n".join(parts), starts
    return b"".join(p + (b"=" if i in keyed else b"\n") for i, p in enumerate(parts))[:-1], starts


def _collect(obj: Any, out: list[str], keyed: set[int]) -> None:
    if isinstance(obj, str):
        out.append(obj)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(k, str):
                # only a key that names a provider or a secret word is joined to its value
                # (the gate sees {"twilio": "..."} as twilio=...; a secret-named key is
                # redacted by name anyway): "sessionId=<uuid>" would read as a cookie
                if isinstance(v, str) and names_a_word(k):
                    keyed.add(len(out))
                out.append(k)
            _collect(v, out, keyed)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _collect(v, out, keyed)


_PAIR_NAMES = ("name", "Name", "key", "Key")
_PAIR_VALUES = ("value", "Value")


class _Rebuild:
    """Second walk: same order as _collect, replacing suspect strings."""

    __slots__ = ("i", "bad", "r")

    def __init__(self, r: Redactor, bad: set[int]) -> None:
        self.i = 0
        self.bad = bad
        self.r = r

    def text(self, s: str) -> str:
        i = self.i
        self.i = i + 1
        return _apply(s, self.r.spans(s)) if i in self.bad else s

    def walk(self, obj: Any, secret: bool = False) -> Any:
        if isinstance(obj, str):
            s = self.text(obj)
            return SECRET_VALUE if secret and s and not _TAG_RE.fullmatch(s) else s
        if isinstance(obj, dict):
            out = {}
            pair = _secret_pair(obj)
            for k, v in obj.items():
                if isinstance(k, str):
                    before = k
                    flagged = self.i in self.bad or self.i + 1 in self.bad
                    k = self.text(k)
                    if flagged and isinstance(v, str) and keyed_token(before, v):
                        # {"twilio": "<token>"}: the name is the key, the value alone says nothing
                        self.i += 1
                        out[k] = SECRET_VALUE
                        continue
                    # judged before and after redaction, so a second pass agrees
                    if (is_secret_name(before) or is_secret_name(k) or before == pair) and not isinstance(v, dict):
                        # numbers, booleans and None stay (flags, counters);
                        # strings, and strings inside lists, are replaced
                        out[k] = self.walk(v, True)
                        continue
                out[k] = self.walk(v)
            return out
        if isinstance(obj, (list, tuple)):
            return [self.walk(v, secret) for v in obj]
        return obj


def _secret_pair(d: dict) -> str | None:
    """The value key of a {"name": "DB_PASSWORD", "value": "..."} pair (k8s env, ECS, cookies)."""
    for n in _PAIR_NAMES:
        name = d.get(n)
        if isinstance(name, str) and is_secret_name(name):
            return next((v for v in _PAIR_VALUES if v in d), None)
    return None


def config_secrets(project_root: Any) -> list[str]:
    """Values of the secret-named entries of the config's ``tools.*.env`` tables."""
    from csa.config import load_config
    from csa.errors import CsaError

    try:
        cfg = load_config(project_root)
    except (CsaError, OSError):  # a broken config is reported by the command that reads it
        return []
    out = []
    for tool in (cfg.get("tools") or {}).values():
        env = tool.get("env") if isinstance(tool, Mapping) else None
        if isinstance(env, Mapping):
            out += [str(v) for k, v in env.items() if is_secret_name(str(k))]
    return out


_RUN_BACK = re.compile(r"[A-Za-z0-9+/=_.~:@%\\-]{0,512}")


def safe_cut(text: str, n: int) -> str:
    """text[:n], moved back so that no run of token characters is cut in half.

    For text that is redacted *after* cutting (a writer redacts it later): the
    head of a token, or of a value whose name is kept, must not survive the cut.
    A private key cut in the middle stays a (torn) key block and is redacted whole.

    >>> safe_cut("key is ghp_abcdef123456 ok", 14)
    'key is '
    """
    if len(text) <= n:
        return text
    if not text[n - 1:n + 1].strip() or not (_RUN_BACK.fullmatch(text[n - 1]) and _RUN_BACK.fullmatch(text[n])):
        return text[:n]
    back = _RUN_BACK.match(text[max(0, n - 512):n][::-1]).end()
    return text[:n - back]


def decode_line(b: bytes) -> str:
    """Decode a tool's output line; invalid UTF-8 becomes U+FFFD, never an error."""
    return b.decode("utf-8", "replace")
