"""Anchorless secrets: a random-looking token close after a secret word or a provider's name.

Most provider formats have a prefix (``ghp_``, ``xoxb-``) that the token rules
find anywhere. Many do not: a Datadog key is 32 hex characters, a Heroku key a
UUID, a generic "API key" whatever the provider chose. Those are told from hashes
and ids only by what stands before them: a secret word (``token``, ``key``,
``password``...) or a provider's name (``datadog``, ``heroku``...), then, within a
few characters on the same line (or the next line, for YAML block scalars and
XML elements), a token that looks generated: at least 14 characters, letters
mixed with digits (or upper with lower case), no dictionary-like parts, and a
Shannon entropy of at least 3 bits per character (2.8 below 20 characters). This is gitleaks'
``generic-api-key`` and keyword rules, and detect-secrets' high-entropy plugins,
applied to prose as well as to assignments.

Example::

    >>> from csa.redact_entropy import near_spans, looks_random
    >>> text = "the Datadog key is 3f9a1c0b7e5d42a8b6c1f0e9d8a7b6c5 for prod"
    >>> [text[s:e] for s, e in near_spans(text)]
    ['3f9a1c0b7e5d42a8b6c1f0e9d8a7b6c5']
    >>> looks_random("get_access_token_for_user"), looks_random("python3.11-dev")
    (False, False)
"""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache

from csa.redact_names import NAME_MAX, ascii_lower, in_own_tag
from csa.secret_rules import ASSIGNED_PROVIDER_WORDS, NEAR_WORDS, PROVIDER_WORDS

__all__ = ["keyed_token", "looks_random", "near_hit", "near_spans"]

# The same order in every process (hash seeds differ): it is part of the compiled gate's
# cache key (csa.recache), so a varying order made a new cache file per process.
GATE_WORDS = tuple(sorted(set(NEAR_WORDS) | set(PROVIDER_WORDS), key=lambda w: (-len(w), w)))
WORDS = tuple(sorted(set(GATE_WORDS) | set(ASSIGNED_PROVIDER_WORDS), key=lambda w: (-len(w), w)))
_PROVIDERS = frozenset(PROVIDER_WORDS) | frozenset(ASSIGNED_PROVIDER_WORDS)
_RUN = re.compile(r"[A-Za-z0-9_+/=.~-]{14,}")
_RUN_B = re.compile(rb"[A-Za-z0-9_+/=.~-]{14,}")
_NAME_B = re.compile(rb"[A-Za-z0-9_.-]*")
_LEAD = re.compile(r"[=+\-./~]*")  # before a token's value: "=value", "--value"
_PARTS = re.compile(r"[_./+=~-]+")
# A part of a name, path or version, not of a generated token: "python3", "x86",
# "getAccessToken", "11", "2fa", "64bit", "b64encode", "utf8mb4".
_WORDY = re.compile(r"[A-Za-z]+[0-9]{0,4}|[0-9]+|[0-9]{1,4}[a-z]{1,4}|[A-Za-z]+[0-9]{1,3}[a-z]+[0-9]{0,2}")
_NAME_PART = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
WINDOW = 64  # characters after the word in which the token must start
MIN_LEN = 14
LONGEST = 512  # a longer run is text (or a blob), not a token


def looks_random(tok: str) -> bool:
    """Whether tok (a run of token characters) looks generated rather than written."""
    n = len(tok)
    if n < MIN_LEN or n > LONGEST or tok[0] in "/.~=+-" or tok.startswith("[REDACTED"):
        return False
    digits = upper = lower = 0
    for c in tok:
        if c.isdigit():
            digits += 1
        elif c.isupper():
            upper += 1
        elif c.islower():
            lower += 1
    if upper + lower < 2 or (digits < 2 and (n < 20 or upper < 3 or lower < 3)):
        return False
    if all(_WORDY.fullmatch(p) for p in _PARTS.split(tok) if p):
        return False
    counts = Counter(tok).values()
    entropy = -sum(k / n * math.log2(k / n) for k in counts)
    return entropy >= (2.8 if n < 20 else 3.0)


# What may stand between the word and its token: a short gap on the way to a
# value, never the end of one JSON field and the start of another.
_FIELD_SEP = re.compile(r",[ \t]*\\{0,3}[\"']")
_FIELD_SEP_B = re.compile(_FIELD_SEP.pattern.encode())
GAP = 40


def _close(gap: str) -> bool:
    return len(gap) <= GAP and _FIELD_SEP.search(gap) is None


def _close_b(gap: bytes) -> bool:
    return len(gap) <= GAP and _FIELD_SEP_B.search(gap) is None


def _is_word_start(text: str, i: int) -> bool:
    if i == 0:
        return True
    prev = text[i - 1]
    if prev in "ntr" and text[i - 2:i - 1] == "\\":
        return True  # after an escaped newline or tab: JSON printed as text
    return not prev.isalpha() or (prev.islower() and text[i].isupper())


def _window_end(text: str, start: int) -> int:
    """End of the window after a word: the line's end, or the next line's when nothing
    but punctuation follows the word on its line (``token: |``, ``<apiToken>``)."""
    end = min(len(text), start + WINDOW)
    for brk in ("\n", "\\n", "\\r"):
        j = text.find(brk, start, end)
        if j >= 0:
            if not _RUN.search(text[start:j].replace("[REDACTED", " ")) and not re.search(r"[A-Za-z0-9]{3}", text[start:j]):
                nxt = j + len(brk)
                line2 = min(len(text), nxt + WINDOW)
                for brk2 in ("\n", "\\n", "\\r"):
                    k = text.find(brk2, nxt, line2)
                    if k >= 0:
                        line2 = k
                return line2
            end = min(end, j)
    return end


def _in_url(text: str, i: int) -> bool:
    """Whether position i is inside a URL (a "://" earlier in the same run of non-space)."""
    j = text.rfind("://", max(0, i - 256), i)
    return j >= 0 and not any(c in text[j:i] for c in " \t\n\"'<>`")


def near_spans(text: str) -> list[tuple[int, int]]:
    """Spans of random-looking tokens close after a secret word or provider name."""
    spans: list[tuple[int, int]] = []
    done = 0
    last = -1
    # The last maximal run of token characters and its token's end: every word inside
    # one run shares them (a line that is one long run stays linear, not quadratic).
    run = (-1, -1, -1)
    for start, word_end in _word_positions(text):
        if start == last:
            continue  # "pass" where "password" starts: the longer word was tried
        last = start
        if start < done or not _is_word_start(text, start) or in_own_tag(text, start):
            continue  # inside a value already found, inside a word, or the kind in our own tag
        if word_end - start == 5 and text[word_end:word_end + 1] in ("s", "S") \
                and text[start:word_end].lower() == "token":
            continue  # "tokens": a count
        if _in_url(text, start) and text[start:word_end].lower() in _PROVIDERS:
            continue  # a provider's host or path: ids and commit hashes follow, not keys
        for r in _RUN.finditer(text, word_end, _window_end(text, word_end)):
            s = r.start()
            if not run[0] <= s < run[1]:  # a token may run past the window: take all of it
                run = _run_at(text, s)
            e = run[1]
            s = _LEAD.match(text, s, e).end()  # "=value": the value
            k = text.find("=", s, min(e, s + 40))
            if 0 < k - s < 40 and e - k > MIN_LEN and _NAME_PART.fullmatch(text, s, k) \
                    and all(_WORDY.fullmatch(p) for p in _PARTS.split(text[s:k]) if p):
                s = k + 1  # the rest of the name, then its value: "DATADOG_API=<value>"
            if not _close(text[word_end:s]) or "[REDACTED" in text[word_end:s]:
                break  # too far, another field, or this word's value is already taken
            end = e if e - s >= 2 and text.startswith("==", e - 2) else max(run[2], s)
            if MIN_LEN <= end - s <= LONGEST and looks_random(text[s:end]) \
                    and not text.startswith("[REDACTED", s):
                spans.append((s, end))
                done = end
                break
    return spans


def _run_at(text: str, s: int) -> tuple[int, int, int]:
    """(s, end of the run of token characters from s, that end less its trailing . - =)."""
    e = _RUN.match(text, s).end()
    j = e
    while j > s and text[j - 1] in ".-=":
        j -= 1
    return s, e, j


def _word_positions(text: str) -> list[tuple[int, int]]:
    """(start, end) of every secret word and provider name in text, in order, the longest
    first where several start together (str.find per word: a case-insensitive
    alternation of them is some twenty times slower)."""
    low = ascii_lower(text)
    found = []
    for w in WORDS:
        i = low.find(w)
        while i >= 0:
            found.append((i, -len(w)))
            i = low.find(w, i + 1)
    found.sort()
    return [(i, i - n) for i, n in found]


def keyed_token(key: str, value: str) -> bool:
    """Whether value, under a key that names a provider or a secret word, is one random token.

    >>> keyed_token("twilio", "dd311ca871902316d9841aab4ccec38d"), keyed_token("id", "dd311ca871902316d9841aab4ccec38d")
    (True, False)
    """
    return names_a_word(key) and looks_random(value.strip())


@lru_cache(maxsize=4096)
def names_a_word(key: str) -> bool:
    """Whether a key (at most 64 characters) holds a secret word or a provider's name.

    >>> names_a_word("TWILIO_SID"), names_a_word("sessionId")
    (True, False)
    """
    low = key.lower()
    return len(low) <= 64 and any(w in low for w in WORDS)


def near_hit(buf: bytes, pos: int) -> bool:
    """The byte gate's check at pos (inside a secret word or provider name in buf):
    whether a random-looking token follows closely."""
    end = _NAME_B.match(buf, pos, pos + NAME_MAX).end()
    if end - pos >= NAME_MAX:
        return True  # no name: the careful path judges the line (in linear time)
    for r in _RUN_B.finditer(buf, end, end + 2 * WINDOW):
        if not _close_b(buf[end:r.start()]):
            return False
        if looks_random(r.group().decode("ascii").lstrip("=+-./~")):
            return True
    return False
