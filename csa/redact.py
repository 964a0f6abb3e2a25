"""Secret redaction applied to every string before it reaches disk.

Provider tokens, private keys, JWTs, bearer tokens, credentials in URLs and the
values of secret-named keys or variables are replaced by ``[REDACTED:<kind>]``.
The work is split in two: a cheap gate (a few literal-prefixed scans over the
UTF-8 bytes, batched over many strings at once) decides which strings may hold
a secret, and only those go through the full rule set.

Example::

    >>> from csa.redact import redact, redact_obj
    >>> redact("db password: hunter2 (rotate monthly)")
    'db password: [REDACTED:secret-value] (rotate monthly)'
    >>> redact_obj({"api_key": "abc123", "usage": {"input_tokens": 10}})
    {'api_key': '[REDACTED:secret-value]', 'usage': {'input_tokens': 10}}

Pattern sources (cited per rule below): the gitleaks default rule set
(https://github.com/gitleaks/gitleaks, ``config/gitleaks.toml`` and
``cmd/generate/config/rules/*.go``) and the Yelp detect-secrets plugins
(https://github.com/Yelp/detect-secrets, ``detect_secrets/plugins/*.py``).
"""

from __future__ import annotations

import os
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

__all__ = [
    "add_known_secrets",
    "decode_line",
    "redact",
    "redact_env",
    "redact_obj",
    "suspect_indices",
    "suspect_indices_joined",
]

SECRET_VALUE = "[REDACTED:secret-value]"
_REDACTED_PREFIX = "[REDACTED"
_TAG_RE = re.compile(r"\[REDACTED:[a-z-]+\]")


def _tag(kind: str) -> str:
    return f"[REDACTED:{kind}]"


# --------------------------------------------------------------------------
# Secret-looking names (keys, env vars, flags, YAML/INI/.env assignments)
# --------------------------------------------------------------------------

# Words that make a name secret on their own. Base list: detect-secrets'
# KeywordDetector DENYLIST (plugins/keyword.py) and gitleaks' generic-api-key
# keywords; plurals that are usage counters ("tokens") are deliberately absent.
_SECRET_WORDS = frozenset({
    "password", "passwd", "passphrase", "passcode", "secret", "secrets", "token",
    "apikey", "credential", "credentials", "creds", "cred", "cookie", "cookies",
    "authorization", "auth", "privatekey", "privkey", "secretkey", "accesskey",
    "authkey", "keypass",
})
# Compound all-caps/lowercase words ("ACCESSTOKEN", "dbpassword", "GITHUBTOKEN").
_SECRET_SUFFIXES = ("token", "secret", "password", "passwd", "apikey", "privatekey")
# "<qualifier> key" is a secret ("API_KEY", "privateKey", "x-api-key"); a bare
# "key" is not (dict keys, cache keys, sort keys).
_KEY_QUALIFIERS = frozenset({
    "api", "private", "priv", "secret", "access", "client", "auth", "encryption",
    "encrypt", "decrypt", "signing", "sign", "master", "session", "license",
    "consumer", "subscription", "app", "application", "account", "service", "deploy",
    "ssh", "gpg", "pgp", "webhook", "admin", "root", "hmac", "jwt", "aes", "rsa",
    "shared", "db", "database", "write", "openai", "anthropic", "claude", "gemini",
    "google", "groq", "mistral", "cohere", "deepseek", "xai", "perplexity",
    "openrouter", "together", "fireworks", "azure", "aws", "gcp", "stripe", "twilio",
    "sendgrid", "mailgun", "slack", "github", "gitlab", "huggingface", "hf", "npm",
    "pypi", "sentry", "datadog", "algolia",
})
# After the secret word, these turn the name into metadata about the secret
# ("token_count", "apiKeySource", "password_file", "aws_access_key_id").
_BENIGN_TRAILERS = frozenset({
    "id", "ids", "name", "names", "source", "src", "type", "types", "kind", "mode",
    "method", "methods", "provider", "providers", "url", "urls", "uri", "endpoint",
    "path", "paths", "file", "files", "filename", "dir", "env", "var", "vars", "field",
    "fields", "ref", "refs", "count", "counts", "counter", "size", "length", "len",
    "limit", "limits", "max", "min", "usage", "used", "enabled", "required",
    "present", "exists", "status", "expires", "expiry", "expiration", "expired", "ttl",
    "scope", "scopes", "format", "version", "hint", "label", "policy", "store",
    "manager", "arn", "location", "helper", "command", "cmd", "option", "options",
    "flag", "flags", "strategy", "index", "idx", "budget", "rate", "ratio", "prefix",
    "suffix", "input", "prompt", "placeholder", "description", "desc", "help", "doc",
    "docs", "regex", "pattern", "rules", "strength", "validator", "validation",
    "timeout", "interval", "age", "domain", "secure", "samesite", "httponly",
    "lifetime", "duration", "estimate", "estimator", "stats", "metrics", "cost",
    "price", "tier", "error", "errors", "exception", "class", "schema", "spec",
    "template", "bytes", "bits", "algorithm", "alg", "reset", "changed", "updated",
    "created", "at", "stream", "streams", "parser", "reader", "writer",
})
# A leading verb or quantifier names an action or a boolean, not a secret
# ("no-auth", "max_token", "require_password", "has_token").
_BENIGN_LEADERS = frozenset({
    "no", "skip", "disable", "disabled", "enable", "enabled", "use", "with", "without",
    "require", "requires", "required", "allow", "has", "have", "is", "show", "print",
    "hide", "mask", "redact", "redacted", "max", "min", "num", "total", "should",
    "can", "need", "needs", "validate", "verify", "check", "count", "n",
})
_WORD_RE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


@lru_cache(maxsize=16384)
def _is_secret_name(name: str) -> bool:
    """True when a key/variable/flag name says its value is a secret."""
    if not name or len(name) > 100:
        return False
    words = [w.lower() for w in _WORD_RE.findall(name)]
    if not words or words[0] in _BENIGN_LEADERS:
        return False
    if words in (["pwd"], ["old", "pwd"], ["oldpwd"]):  # the shell's working directory
        return False
    last = -1
    for i, w in enumerate(words):
        prev = words[i - 1] if i else ""
        if (
            w in _SECRET_WORDS
            or (w.endswith(_SECRET_SUFFIXES) and w != "tokens")
            or (w in ("key", "keys") and prev in _KEY_QUALIFIERS)
            or (w in ("pass", "pwd") and i > 0)
        ):
            last = i
    if last < 0:
        return False
    return not any(w in _BENIGN_TRAILERS for w in words[last + 1:])


# --------------------------------------------------------------------------
# The gate: cheap scans over UTF-8 bytes. Every pattern starts with a literal
# so sre can use its fast prefix search (a character-class start, or a plain
# alternation of literals, makes sre try every position and runs 5-50x slower).
# Each rule further down must be reachable through at least one gate pattern.
# --------------------------------------------------------------------------

# Scanned on the original bytes (case matters for these prefixes).
_GATE_RAW = [
    # gitleaks aws-access-token, gcp-api-key; detect-secrets TwilioKeyDetector (AC sid)
    re.compile(rb"A(?:KIA|SIA|BIA|CCA|3T[A-Z0-9]|Iza|C[0-9a-f]{32})"),
    # gitleaks jwt, header and payload are base64 of '{"', i.e. "eyJ"
    re.compile(rb"J(?<=eyJ)"),
    # A JSON string may spell a printable ASCII character as \u00XX (Go escapes
    # <, > and &); that could hide any pattern above from the byte scans, so such
    # lines take the parsing path. (Control characters such as \u001b are fine.)
    re.compile(rb"\\u00[2-7][0-9a-fA-F]"),
]
# Scanned on buf.lower() (same offsets: bytes.lower only touches ASCII). A match
# without the group "n" is a token prefix and counts as is. A match of "n" is a
# secret word inside a name; it only counts when the whole name is secret (see
# _name_hit) and, checked inside the regex so that the many "key"/"pass"/"token"
# words of ordinary code and prose cost nothing in Python, when the name is
# assigned a value: the rest of the name, closing quotes (escaped to any depth,
# as in JSON inside a JSON string) or a bracket, then := => = or : -- or, right
# after a dash, when it is a command-line flag followed by a value (--api-key v).
_ASSIGNED = rb"""(?=[a-z0-9_.-]{0,64}[\\"'`\]]{0,8}[ \t]{0,8}(?::=|=>|=(?![=~])|:(?!:)))"""
_FLAG_VALUE = rb"(?=[a-z0-9_-]{0,40}[ \t]+[^\s-])"


def _name_word(word: bytes, *flag_behind: bytes) -> bytes:
    behind = b"|".join(b"(?<=-" + f + b")" for f in flag_behind)
    return word + b"(?:" + _ASSIGNED + b"|(?:" + behind + b")" + _FLAG_VALUE + b")"


_GATE_LOW = [
    # sk- (gitleaks openai-api-key, anthropic-api-key), sk_/rk_ live|test|prod
    # (stripe-access-token), hooks.slack.com (slack-webhook-url), PEM header
    # (gitleaks private-key, detect-secrets PrivateKeyDetector), SK+hex (gitleaks
    # twilio-api-key); names: token, key, cookie
    re.compile(
        rb"k(?:-(?<=sk-)(?<![a-z0-9]sk-)[a-z0-9_-]{20}|_(?:live|test|prod)_"
        rb"|\.com[/\\](?<=slack\.com.)|(?<=private k)ey|(?<=sk)[0-9a-f]{32}"
        rb"|(?P<n>" + _name_word(rb"(?<=tok)en(?!s|iz)", b"token", b"authtoken", b"accesstoken")
        + b"|" + _name_word(b"ey", b"key", b"apikey") + b"|" + _name_word(b"(?<=cook)ie", b"cookie")
        + b"))"
    ),
    # gitleaks github-pat/-oauth/-app-token/-refresh-token/-fine-grained-pat,
    # gitlab-* prefixes, gitlab-rrt, huggingface-organization-api-token,
    # pypi-upload-token, sendgrid-api-token (SG.)
    re.compile(
        rb"g(?:h[pousr]_|ithub_pat_|l(?:pat|dt|rt|ptt|cbt|ft|imt|agent|oas|soat|ffct)-"
        rb"|r1348941|_(?<=api_org_)|(?<=pypi-ag)eichlwas5vcmc"
        rb"|\.(?<=sg\.)(?<![a-z0-9]sg\.)[a-z0-9_-]{16})"
    ),
    # gitleaks npm-access-token; names: password, passwd, passphrase, db_pass, pwd
    re.compile(rb"p(?:m_(?<=npm_)|(?P<n>" + _name_word(b"(?:ass|wd)", b"pass", b"pwd") + b"))"),
    # gitleaks slack-bot-token/-user-token/-app-token
    re.compile(rb"x(?:ox[a-z]-|app-)"),
    # gitleaks huggingface-access-token; names: auth, authorization, oauth
    re.compile(rb"h(?:f_|(?P<n>" + _name_word(b"(?<=auth)", b"auth") + b"))"),
    # bare "Bearer <token>" (gitleaks curl-auth-header, bearer variants)
    re.compile(rb"bearer[ \t]+[a-z0-9._~+/-]{8}"),
    # names: secret, credential(s), creds
    re.compile(rb"(?P<n>" + _name_word(rb"cr(?:(?<=secr)et|ed)", b"secret", b"cred") + b")"),
]
_NAME_RUN_B = re.compile(rb"[A-Za-z0-9_.\-]*")


def _name_hit(buf: bytes, pos: int) -> bool:
    """Whether the assigned name (or --flag) around pos, a secret word's offset, is secret."""
    end = _NAME_RUN_B.match(buf, pos).end()
    lo = max(0, pos - 80)
    start = pos - _NAME_RUN_B.match(buf[lo:pos][::-1]).end()
    if start < pos and buf[start - 1:start] == b"\\" and buf[start:start + 1] in b"ntr":
        start += 1  # an escaped newline/tab before the name: "\npassword=..."
    if buf.endswith(b"[REDACTED:", 0, start):
        return False  # the kind inside our own tag ("[REDACTED:secret-value]")
    name = buf[start:end].strip(b"-.")
    return bool(name) and _is_secret_name(name.decode("ascii"))


def _low_hit(buf: bytes, m: re.Match[bytes]) -> bool:
    return m.lastgroup is None or _name_hit(buf, m.start())


def _url_hit(buf: bytes, at: int) -> bool:
    # user:password@host needs a scheme shortly before the '@' ("://", or
    # ":\/\/" from JSON encoders that escape slashes)
    lo = max(0, at - 256)
    j = max(buf.rfind(b"://", lo, at), buf.rfind(b":\\/\\/", lo, at))
    return j >= 0 and buf.find(b":", j + 3, at) >= 0


_known: tuple[str, ...] = ()
_known_b: tuple[bytes, ...] = ()
_known_re: re.Pattern[str] | None = None
_env_loaded = False


def _has_hit(buf: bytes) -> bool:
    """Whether buf may contain a secret (the gate for one string)."""
    for rx in _GATE_RAW:
        if rx.search(buf):
            return True
    at = buf.find(b"@")
    while at >= 0:
        if _url_hit(buf, at):
            return True
        at = buf.find(b"@", at + 1)
    for k in _known_b:
        if k in buf:
            return True
    low = buf.lower()
    for rx in _GATE_LOW:
        for m in rx.finditer(low):
            if _low_hit(buf, m):
                return True
    return False


def _scan_all(buf: bytes) -> list[int]:
    """Every offset in buf where a secret may start."""
    hits: list[int] = []
    for rx in _GATE_RAW:
        hits.extend(m.start() for m in rx.finditer(buf))
    at = buf.find(b"@")
    while at >= 0:
        if _url_hit(buf, at):
            hits.append(at)
        at = buf.find(b"@", at + 1)
    for k in _known_b:
        i = buf.find(k)
        while i >= 0:
            hits.append(i)
            i = buf.find(k, i + 1)
    low = buf.lower()
    for rx in _GATE_LOW:
        hits.extend(m.start() for m in rx.finditer(low) if _low_hit(buf, m))
    return hits


def _encode(s: str) -> bytes:
    # surrogatepass: a lone surrogate must not crash the gate; it cannot be part
    # of an (ASCII) secret pattern anyway.
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError:
        return s.encode("utf-8", "surrogatepass")


def suspect_indices(parts: list[bytes]) -> set[int]:
    """Indices of the UTF-8 byte strings that may contain a secret.

    One batch of scans over all parts joined by newlines: much cheaper than
    scanning each part on its own.

    >>> sorted(suspect_indices([b"hello", b"Authorization: Bearer abcdef0123456789"]))
    [1]
    """
    if not parts:
        return set()
    if len(parts) == 1:
        if not _env_loaded:
            _load_env_secrets(os.environ)
        return {0} if _has_hit(parts[0]) else set()
    starts = []
    off = 0
    for p in parts:
        starts.append(off)
        off += len(p) + 1
    return suspect_indices_joined(b"\n".join(parts), starts)


def suspect_indices_joined(buf: bytes, starts: list[int]) -> set[int]:
    """Like :func:`suspect_indices` for parts already joined by b"\\n" into buf;
    ``starts[i]`` is the offset of part i. The transcript writer's hot path."""
    if not _env_loaded:
        _load_env_secrets(os.environ)
    hits = _scan_all(buf)
    if not hits:
        return set()
    return {bisect_right(starts, h) - 1 for h in hits}


# --------------------------------------------------------------------------
# The rules (run only on strings that passed the gate)
# --------------------------------------------------------------------------

class _Rule:
    """A regex whose ``secret`` group (or whole match) becomes [REDACTED:kind]."""

    __slots__ = ("kind", "rx", "hints", "check", "tag", "group")

    def __init__(
        self,
        kind: str,
        pattern: str,
        hints: tuple[str, ...] = (),
        check: Callable[[str], bool] | None = None,
        flags: int = 0,
    ) -> None:
        self.kind = kind
        self.rx = re.compile(pattern, flags)
        self.hints = hints
        self.check = check
        self.tag = _tag(kind)
        self.group = "secret" if "secret" in self.rx.groupindex else 0

    def apply(self, text: str) -> str:
        if self.hints and not any(h in text for h in self.hints):
            return text
        return self.rx.sub(self._sub, text)

    def _sub(self, m: re.Match[str]) -> str:
        value = m.group(self.group)
        if value.startswith(_REDACTED_PREFIX) or (self.check and not self.check(value)):
            return m.group(0)
        if self.group == 0:
            return self.tag
        s, e = m.span(self.group)
        whole = m.group(0)
        base = m.start()
        return whole[: s - base] + self.tag + whole[e - base:]


def _mixed(token: str) -> bool:
    # Real keys are random base62: they contain a digit or an upper-case letter.
    # Hyphenated slugs such as "sk-learn-compatible-estimators" do not.
    return any(c.isdigit() or c.isupper() for c in token[3:])


def _bearer_ok(token: str) -> bool:
    # "Bearer authentication", "Bearer tokens" are prose; tokens carry digits
    # or are long mixed-case strings.
    return any(c.isdigit() for c in token) or (
        len(token) >= 24 and not token.islower() and not token.isupper()
    )


_ALNUM_BEFORE = r"(?<![A-Za-z0-9])"
_ALNUM_AFTER = r"(?![A-Za-z0-9])"

_RULES: list[_Rule] = [
    # gitleaks private-key, '-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----
    # [\s\S-]{64,}?KEY(?: BLOCK)?-----'; a torn block (no END) runs to the end.
    _Rule(
        "private-key",
        r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----.*?"
        r"(?:-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----|\Z)",
        ("PRIVATE KEY",),
        flags=re.S,
    ),
    # gitleaks jwt, ey[a-zA-Z0-9]{17,}\.ey[a-zA-Z0-9\/\\_-]{17,}\.(?:[a-zA-Z0-9\/\\_-]{10,}={0,2})?
    # (shorter minimums here; an unsigned JWT has an empty signature).
    _Rule("jwt", r"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_\-+/=]*", ("eyJ",)),
    # gitleaks anthropic-api-key / -admin-api-key / -oauth-token: sk-ant-(api03|admin01|oat01|ort01)-...
    _Rule("anthropic", _ALNUM_BEFORE + r"sk-ant-[A-Za-z0-9_-]{20,}", ("sk-ant-",)),
    # gitleaks openai-api-key (sk-, sk-proj-, sk-svcacct-, sk-admin-); also
    # OpenRouter/DeepSeek-style "sk-" keys. Min 20 body chars, must look random.
    _Rule("openai", _ALNUM_BEFORE + r"sk-[A-Za-z0-9_-]{20,}", ("sk-",), check=_mixed),
    # gitleaks stripe-access-token, (?:sk|rk)_(?:test|live|prod)_[a-zA-Z0-9]{10,99}
    _Rule(
        "stripe",
        _ALNUM_BEFORE + r"[sr]k_(?:live|test|prod)_[A-Za-z0-9]{10,}",
        ("k_live_", "k_test_", "k_prod_"),
    ),
    # gitleaks github-pat/oauth/app-token/refresh-token, gh[pousr]_[0-9a-zA-Z]{36};
    # github-fine-grained-pat, github_pat_\w{82}
    _Rule(
        "github",
        _ALNUM_BEFORE + r"(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})",
        ("gh", "github_pat_"),
    ),
    # gitleaks gitlab-pat, -pat-routable, -ptt, -rrt, -deploy-token, -cicd-job-token,
    # -feed-token, -incoming-mail-token, -kubernetes-agent-token, -oauth-app-secret,
    # -runner-authentication-token, -scim-token, -feature-flag-client-token
    _Rule(
        "gitlab",
        _ALNUM_BEFORE
        + r"(?:gl(?:pat|dt|rt|ptt|cbt|ft|imt|agent|oas|soat|ffct)-[A-Za-z0-9_.-]{20,}"
        r"|GR1348941[A-Za-z0-9_-]{20,})",
        ("gl", "GR1348941"),
    ),
    # gitleaks slack-bot-token, slack-user-token, slack-legacy-*, slack-app-token
    _Rule(
        "slack",
        _ALNUM_BEFORE + r"(?:xox[abposre]-[A-Za-z0-9-]{10,}|xapp-[0-9]-[A-Za-z0-9-]{10,})",
        ("xox", "xapp-"),
    ),
    # gitleaks slack-webhook-url, hooks.slack.com/(services|workflows|triggers)/...
    _Rule(
        "slack-webhook",
        r"(?<=hooks\.slack\.com/)(?:services|workflows|triggers)/[A-Za-z0-9_/+-]{16,}",
        ("hooks.slack.com/",),
    ),
    # gitleaks aws-access-token, \b((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b
    _Rule(
        "aws",
        _ALNUM_BEFORE + r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}" + _ALNUM_AFTER,
        ("A3T", "AKIA", "ASIA", "ABIA", "ACCA"),
    ),
    # gitleaks gcp-api-key, AIza[\w-]{35}
    _Rule("google", r"AIza[0-9A-Za-z_-]{35}", ("AIza",)),
    # gitleaks huggingface-access-token hf_[a-zA-Z]{34}, -organization-api-token api_org_[a-zA-Z]{34}
    _Rule("huggingface", _ALNUM_BEFORE + r"(?:hf_|api_org_)[A-Za-z0-9]{30,}", ("hf_", "api_org_")),
    # gitleaks npm-access-token, npm_[a-z0-9]{36} (case-insensitive)
    _Rule("npm", _ALNUM_BEFORE + r"npm_[A-Za-z0-9]{36}" + _ALNUM_AFTER, ("npm_",)),
    # gitleaks pypi-upload-token, pypi-AgEIcHlwaS5vcmc[\w-]{50,1000}
    _Rule("pypi", r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}", ("pypi-AgEI",)),
    # gitleaks twilio-api-key SK[0-9a-fA-F]{32}; detect-secrets TwilioKeyDetector
    # AC[a-z0-9]{32} (account sid), here together with a following ":<auth token>".
    _Rule(
        "twilio",
        _ALNUM_BEFORE + r"(?:SK[0-9a-fA-F]{32}|AC[0-9a-f]{32}(?::[0-9a-fA-F]{32})?)" + _ALNUM_AFTER,
        ("SK", "AC"),
    ),
    # gitleaks sendgrid-api-token, SG\.[a-z0-9=_\-\.]{66} (22 + '.' + 43)
    _Rule(
        "sendgrid",
        _ALNUM_BEFORE + r"SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}",
        ("SG.",),
    ),
    # detect-secrets BasicAuthDetector '://[^:]+:([^@]+)@', narrowed to the URL
    # authority; the scheme and user stay readable.
    _Rule(
        "url-credentials",
        r"\b[A-Za-z][A-Za-z0-9+.\-]{0,30}://[^\s:/?#\[\]@\"'<>\\]*:"
        r"(?P<secret>[^\s/?#\[\]\"'<>\\]+)(?=@)",
        ("://",),
    ),
    # bare "Bearer <token>" (gitleaks curl-auth-header's Bearer branch)
    _Rule(
        "bearer",
        r"\b[Bb][Ee][Aa][Rr][Ee][Rr][ \t]+(?P<secret>[A-Za-z0-9._~+/-]{8,}=*)",
        ("earer", "EARER"),
        check=_bearer_ok,
    ),
]


# --------------------------------------------------------------------------
# Assignments to secret-named keys/variables/flags, in any syntax:
#   FOO_API_KEY=v   export GITHUB_TOKEN="v"   password: v   "api_key": "v"
#   \"api_key\": \"v\"   secret: v (YAML)   --api-key v   --token=v
#   Authorization: Bearer v   x-api-key: v
# --------------------------------------------------------------------------

_NAME_KEYWORDS = re.compile(r"token(?!s|iz)|key|cookie|pass|pwd|secret|cred|auth")
_NAME_RUN = re.compile(r"[A-Za-z0-9_.\-]*")
_SEP = re.compile(
    r"""(?P<q1>[\\"'`\]]{0,8})[ \t]{0,8}(?P<op>:=|=>|=(?![=~>])|:(?![:=]))[ \t]{0,8}"""
    r"""(?P<q2>\\{0,3}["'`])?"""
)
_FLAG_SEP = re.compile(r"""(?P<op>=|[ \t]+)(?P<q2>\\{0,3}["'`])?""")
_BARE = re.compile(r"""[^\s"'`,;&|<>(){}\[\]\\]+""")
_QUOTED = {q: re.compile(rf"[^{q}\\\r\n]*") for q in "\"'`"}
_AUTH_SCHEME = re.compile(
    r"(?i)(?:bearer|basic|token|digest|bot|negotiate|apikey|api-key|sso-key|hmac)[ \t]+"
)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Conventional identifiers (snake_case, camelCase, PascalCase, UPPER_CASE): a
# variable in code. Random-looking mixed case ("DVWqyfkr") is a literal.
_CODE_IDENT = re.compile(
    r"[a-z_][a-z_]*[0-9]*|[a-z]+(?:[A-Z][a-z]+)+[0-9]*|(?:[A-Z][a-z]+)+[0-9]*|[A-Z][A-Z_]*[0-9]*"
)
# An expression on the right of "=" (code), not a multi-word literal.
_CODE_EXPR = re.compile(
    r"[()\[\]{}]|==|!=|\b(?:if|else|or|and|not|in|is|for|lambda|await|return|new)\b"
)
_LINE_LEAD = re.compile(r"[ \t]*(?:-[ \t]+|export[ \t]+|set[ \t]+)?")
# Values that are not secrets: empties, nulls, types, placeholders
# (after detect-secrets' KeywordDetector FALSE_POSITIVES).
_PLACEHOLDERS = frozenset({
    "none", "null", "nil", "true", "false", "undefined", "undef", "empty", "str",
    "string", "int", "bytes", "bool", "any", "optional", "secretstr", "text", "dict",
    "list", "test", "todo", "dummy", "redacted", "hidden", "masked", "required",
    "prompt", "not", "default", "unset", "the", "a", "an", "is", "are", "was", "to",
    "for", "of", "in", "on", "and", "or", "be", "this", "that", "it", "with", "from",
    "see", "set", "use", "your", "my", "our", "if", "when", "must", "should", "will",
    "can", "may", "get", "xxx", "...", "***",
})


def _bare_value_ok(value: str, name: str, nxt: str, spaced_eq: bool) -> bool:
    low = value.lower()
    if len(value) < 3 or low in _PLACEHOLDERS or value.startswith(_REDACTED_PREFIX):
        return False
    if value[0] in "$%<{*#/~.@-" or value.startswith(("http://localhost", "file:")):
        return False  # references ($X, ${X}, %(x)s, <x>), paths, comments, flags
    if value.isdigit() and len(value) < 6:
        return False  # counts and ports
    code_name = all(_CODE_IDENT.fullmatch(p) for p in value.split("."))
    if code_name and (nxt and nxt in "([" or "." in value):
        return False  # a call, an index, attribute access: os.environ[...], self.token
    if _IDENT.fullmatch(value):
        words = {w.lower() for w in _WORD_RE.findall(name)}
        if low in words or low == name.lower() or low.replace("_", "") in name.lower():
            return False  # token=token, api_key=api_key (pass-through)
        if (spaced_eq or (nxt and nxt in ",)}")) and _CODE_IDENT.fullmatch(value):
            return False  # code: ``password = new_password``, ``f(token=tok)``
    return len(set(value)) > 1  # "xxxxxxxx", "********"


def _quoted_value_ok(value: str, name: str) -> bool:
    low = value.strip().lower()
    if not low or low in _PLACEHOLDERS or value.startswith(_REDACTED_PREFIX):
        return False
    if value.startswith(("${", "{{", "%(", "$(")) or (value[0] + value[-1]) in ("<>", "{}"):
        return False  # templates and placeholders: ${X}, {{ x }}, %(x)s, <x>, {x}
    if low == name.lower() or len(set(low)) == 1:
        return False
    return True


def _value_span(text: str, name_start: int, name_end: int, name: str, flag: bool) -> tuple[int, int] | None:
    """Span of the literal value assigned to a secret-named name, if any."""
    if flag:
        m = _FLAG_SEP.match(text, name_end)
        if not m:
            return None
    else:
        m = _SEP.match(text, name_end)
        if not m:
            return None
    vs = m.end()
    q2 = m.group("q2")
    if q2:
        qv = _QUOTED[q2[-1]].match(text, vs)
        ve = qv.end()
        value = text[vs:ve]
        scheme = _AUTH_SCHEME.match(value)
        if scheme:
            vs += scheme.end()
            value = text[vs:ve]
        if not _quoted_value_ok(value, name):
            return None
        return vs, ve
    scheme = _AUTH_SCHEME.match(text, vs)
    if scheme:
        # "Bearer <credentials>": the credentials are the secret, not the scheme
        if text.startswith(_REDACTED_PREFIX, scheme.end()) or not _BARE.match(text, scheme.end()):
            return None
        vs = scheme.end()
    bm = _BARE.match(text, vs)
    if not bm:
        return None
    ve = bm.end()
    value = text[vs:ve]
    if value.lower() in _PLACEHOLDERS or value.startswith(_REDACTED_PREFIX):
        return None
    # A YAML/.env/INI/header line: the value runs to the end of the line (minus
    # a comment), so a multi-word passphrase is covered entirely; cookies carry
    # several name=value pairs.
    # (escaped "\\n" counts as a line break: text printed from a JSON string)
    esc = text.rfind("\\n", 0, name_start)
    line_start = max(text.rfind("\n", 0, name_start) + 1, esc + 2 if esc >= 0 else 0)
    if _LINE_LEAD.fullmatch(text, line_start, name_start) or "cookie" in name.lower():
        eol = min(i for i in (text.find("\n", ve), text.find("\\n", ve), len(text)) if i >= 0)
        rest = text[vs:eol]
        for mark in (" #", "\t#"):
            k = rest.find(mark)
            if k >= 0:
                rest = rest[:k]
        rest = rest.rstrip()
        if len(rest) > len(value) and (not _CODE_EXPR.search(rest) or "cookie" in name.lower()):
            return vs, vs + len(rest)
    spaced_eq = m.group("op") == "=" and " " in m.group(0)
    if m.group("op") == "=" and not spaced_eq and name.isupper():
        # NAME=value (.env, shell, docker -e): always a literal, never code
        ok = len(value) >= 3 and value[0] not in "$%<{*#" and len(set(value)) > 1
    else:
        ok = _bare_value_ok(value, name, text[ve:ve + 1], spaced_eq)
    return (vs, ve) if ok else None


def _redact_assignments(text: str) -> str:
    low = _ascii_lower(text)
    spans: list[tuple[int, int]] = []
    done_upto = -1
    for m in _NAME_KEYWORDS.finditer(low):
        pos = m.start()
        if pos < done_upto:
            continue
        end = _NAME_RUN.match(text, pos).end()
        lo = max(0, pos - 80)
        start = pos - _NAME_RUN.match(text[lo:pos][::-1]).end()
        if start < pos and text[start - 1:start] == "\\" and text[start] in "ntr":
            start += 1  # an escaped newline/tab before the name: "\npassword=..."
        if text.endswith("[REDACTED:", 0, start):
            continue  # the kind inside our own tag ("[REDACTED:secret-value]")
        raw = text[start:end]
        flag = raw.startswith("-") and (start == 0 or text[start - 1] in " \t\"'=(")
        core = raw.strip("-.")
        if not core or not _is_secret_name(core):
            continue
        name_end = start + len(raw.rstrip("-."))
        span = _value_span(text, start, name_end, core, flag)
        if span is None:
            continue
        vs, ve = span
        if ve > vs:
            spans.append((vs, ve))
            done_upto = ve
    if not spans:
        return text
    out: list[str] = []
    prev = 0
    for vs, ve in spans:
        if vs < prev:
            continue
        out.append(text[prev:vs])
        out.append(SECRET_VALUE)
        prev = ve
    out.append(text[prev:])
    return "".join(out)


def _ascii_lower(s: str) -> str:
    low = s.lower()
    if len(low) != len(s):  # e.g. "İ" lowers to two code points; keep offsets aligned
        low = "".join(c.lower() if c.isascii() else c for c in s)
    return low


def _redact_slow(text: str) -> str:
    if _known_re is not None:
        text = _known_re.sub(_tag("known-secret"), text)
    for rule in _RULES:
        text = rule.apply(text)
    return _redact_assignments(text)


# --------------------------------------------------------------------------
# Known literal secrets (values of secret-named environment variables)
# --------------------------------------------------------------------------

_PLACEHOLDER_PARTS = ("dummy", "placeholder", "changeme", "example", "your_", "your-", "xxxx", "****", "fake", "mock")


def _worth_remembering(value: str, min_len: int) -> bool:
    low = value.strip().lower()
    if len(low) < min_len or len(set(low)) < 4:
        return False
    if low in _PLACEHOLDERS or any(p in low for p in _PLACEHOLDER_PARTS):
        return False
    if low.startswith(("$", "/", "~", "http://localhost", "http://127.")):
        return False
    return not low.isdigit()


def add_known_secrets(values: Iterable[str]) -> None:
    """Redact these literal strings wherever they appear (kind ``known-secret``).

    Values shorter than 6 characters or that look like placeholders are
    ignored: they would wreck ordinary text.
    """
    global _known, _known_b, _known_re
    new = set(_known)
    for v in values:
        if isinstance(v, str) and _worth_remembering(v, 6):
            new.add(v.strip())
    if len(new) == len(_known):
        return
    _known = tuple(sorted(new, key=len, reverse=True))
    # JSON encoders may write "/" as "\/"; the raw-line gate must still see them
    _known_b = tuple({_encode(k) for k in _known} | {_encode(k.replace("/", "\\/")) for k in _known})
    variants = sorted(set(_known) | {k.replace("/", "\\/") for k in _known}, key=len, reverse=True)
    _known_re = re.compile("|".join(re.escape(k) for k in variants))


def _load_env_secrets(environ: Mapping[str, str]) -> None:
    """Remember the values of secret-named environment variables (>= 8 chars)."""
    global _env_loaded
    _env_loaded = True
    values = [v for k, v in environ.items() if _is_secret_name(k) and _worth_remembering(v, 8)]
    if values:
        add_known_secrets(values)


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------

def redact(text: str) -> str:
    """Return text with secrets replaced by ``[REDACTED:<kind>]``; idempotent.

    >>> redact("see https://bob:s3cr3t@example.com/x")
    'see https://bob:[REDACTED:url-credentials]@example.com/x'
    """
    if not _env_loaded:
        _load_env_secrets(os.environ)
    if not text or not _has_hit(_encode(text)):
        return text
    return _redact_slow(text)


def _collect(obj: Any, out: list[str]) -> None:
    t = type(obj)
    if t is str:
        out.append(obj)
    elif t is dict or isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(k, str):
                out.append(k)
            _collect(v, out)
    elif t is list or t is tuple or isinstance(obj, (list, tuple)):
        for v in obj:
            _collect(v, out)
    elif isinstance(obj, str):
        out.append(obj)


class _Rebuild:
    """Second walk: same order as _collect, replacing suspect strings."""

    __slots__ = ("i", "bad")

    def __init__(self, bad: set[int]) -> None:
        self.i = 0
        self.bad = bad

    def text(self, s: str) -> str:
        i = self.i
        self.i = i + 1
        return _redact_slow(s) if i in self.bad else s

    def walk(self, obj: Any, secret: bool = False) -> Any:
        t = type(obj)
        if t is str or (t is not dict and t is not list and isinstance(obj, str)):
            s = self.text(obj)
            if secret and s and not _TAG_RE.fullmatch(s):
                return SECRET_VALUE
            return s
        if t is dict or isinstance(obj, dict):
            out = {}
            for k, v in obj.items():
                if isinstance(k, str):
                    before = k
                    k = self.text(k)
                    # judged before and after redaction, so a second pass agrees
                    if (_is_secret_name(before) or _is_secret_name(k)) and type(v) is not dict:
                        # numbers, booleans and None stay (flags, counters);
                        # strings, and strings inside lists, are replaced
                        out[k] = self.walk(v, True)
                        continue
                out[k] = self.walk(v)
            return out
        if t is list or t is tuple or isinstance(obj, (list, tuple)):
            return [self.walk(v, secret) for v in obj]
        return obj


def redact_obj(obj: Any) -> Any:
    """Return a redacted copy of parsed JSON (dict/list/str/number/bool/None).

    Values of secret-named keys (``api_key``, ``password``, ``GITHUB_TOKEN``,
    ``Authorization``...) become ``[REDACTED:secret-value]`` when they are
    non-empty strings; usage counters such as ``input_tokens`` are untouched.
    Every other string (keys included) goes through :func:`redact`.
    """
    strings: list[str] = []
    _collect(obj, strings)
    bad = suspect_indices([_encode(s) for s in strings]) if strings else set()
    return _Rebuild(bad).walk(obj)


def redact_env(env: Mapping[str, str]) -> dict[str, str]:
    """Copy of an environment with secret-named variables' values replaced.

    >>> redact_env({"GITHUB_TOKEN": "abc12345", "HOME": "/root"})
    {'GITHUB_TOKEN': '[REDACTED:secret-value]', 'HOME': '/root'}
    """
    return {
        k: (SECRET_VALUE if v and _is_secret_name(k) else redact(v)) for k, v in env.items()
    }


def decode_line(b: bytes) -> str:
    """Decode a tool's output line; invalid UTF-8 becomes U+FFFD, never an error."""
    return b.decode("utf-8", "replace")
