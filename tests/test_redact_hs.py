"""The Hyperscan-accelerated byte gate (csa.redact_hs) returns exactly what the pure-re gate
returns: the same hits in the same order, so the same suspect lines, on random texts, on
every corpus secret in every context, and on the false-positive corpus (the stdlib)."""

from __future__ import annotations

import os
import random

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from secret_corpus import build, contexts
from test_secret_corpus import _stdlib_lines

from csa import recache, redact_gate, redact_hs
from csa.redact import Redactor

hyperscan = pytest.importorskip("hyperscan")


@pytest.fixture(scope="module")
def gates(tmp_path_factory):
    """(accelerated gate, re-only gate) for the default rule set."""
    gate = Redactor()._compiled()[1]
    fast = redact_gate.Gate(gate._low, gate._raw, gate._known, gate._provider, gate._keywords)
    slow = redact_gate.Gate(gate._low, gate._raw, gate._known, gate._provider, None)
    with pytest.MonkeyPatch.context() as mp:  # these tests compare both ways, whatever the run
        mp.delenv("CSA_NO_HYPERSCAN", raising=False)
        fast._accel = redact_hs.load(redact_gate._inputs(gate._keywords),
                                     lambda: redact_gate._hs_sources(gate._keywords))
    assert isinstance(fast._accel, redact_hs.Accelerator)
    return fast, slow


@pytest.fixture(autouse=True)
def every_buffer_accelerated(monkeypatch):
    monkeypatch.setattr(redact_gate, "ACCEL_MIN", 0)


def _same(gates, lines: list[str]) -> None:
    fast, slow = gates
    buf = "\n".join(lines).encode("utf-8", "surrogatepass")
    starts, pos = [], 0
    for ln in lines:
        starts.append(pos)
        pos += len(ln.encode("utf-8", "surrogatepass")) + 1
    assert fast.hits(buf) == slow.hits(buf), lines
    assert fast.any(buf) == slow.any(buf)
    assert fast.suspects(buf, starts) == slow.suspects(buf, starts)


def test_every_corpus_secret_in_every_context_alone_and_together(gates):
    texts = [t for s in build(random.Random(20261203)) for t in contexts(s)]
    texts += [orjson.dumps(t).decode() for t in texts]  # as a JSON string, escaped
    for t in texts:
        _same(gates, [t])
    rnd = random.Random(5)
    fp = _stdlib_lines()
    mixed = fp[:4000] + texts
    rnd.shuffle(mixed)
    _same(gates, mixed)
    assert gates[1].hits("\n".join(mixed).encode("utf-8", "surrogatepass"))  # it saw secrets


def test_the_false_positive_corpus(gates):
    fp = _stdlib_lines()
    for i in range(0, len(fp), 3000):
        _same(gates, fp[i:i + 3000])


# Fragments that make the gate's regexes match, nearly match and cross lines.
_FRAGMENTS = ["token", "tokens", "tokenize", "key", "KEY", "api_key", "password", "pass", "pw",
              "secret", "credential", "auth", "bearer ", "curl ", "cookie", "github", "stripe",
              "ghp_", "xoxb-", "sk_live_", "AKIA", "dop_v1_", "=", "=>", ": ", ":", '\\":', '"',
              "'", "\\", "\\n", "\n", "\\u0041", " ", "\t", "-", "--", "value", "https://", "@",
              "Q~", "dt0c01.", ".", "redis-cli", "AB12cd34EF56gh78IJ90kl", "abcdefghijklmnop",
              "0123456789abcdef0123456789abcdef", "é", "[REDACTED:token]"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_FRAGMENTS),
                          st.text(alphabet="aAkKyY09_-=: \n\"'\\.+/", max_size=30)), max_size=60))
def test_random_texts(gates, parts):
    text = "".join(parts)
    _same(gates, text.split("\n"))


def test_forced_off_and_refused_patterns_fall_back_to_re(monkeypatch):
    monkeypatch.setenv("CSA_NO_HYPERSCAN", "1")
    assert redact_hs.load(("x",), lambda: [(rb"abc", 0, False)]) is None
    monkeypatch.delenv("CSA_NO_HYPERSCAN")
    # a regex that consumes a line break cannot be confined to one line: re alone
    assert redact_hs.load(("y",), lambda: [(rb"a\nb", 0, False)]) is None
    gate = Redactor()._compiled()[1]
    off = redact_gate.Gate(gate._low, gate._raw, gate._known, gate._provider, gate._keywords)
    monkeypatch.setenv("CSA_NO_HYPERSCAN", "1")
    assert off.any(b"export GITHUB_TOKEN=ghp_" + b"a1B2" * 9) and off._accel is False


def test_superset_source_drops_lookbehinds_and_keeps_a_fixed_prefix_of_lookaheads():
    assert redact_hs.hs_source(rb"ab(?<=xab)(?=[0-9]{4,9})(?P<n1>)") == \
        rb"\x61\x62(?:(?:[\x30-\x39]){4,9})"
    # a variable run before the end of a look-ahead stops it there: one end per occurrence
    assert redact_hs.hs_source(rb"k(?=[a-z]{0,9}=)") == rb"\x6b(?:)"
    assert redact_hs.hs_source(rb"k(?=x{2}\n)") == rb"\x6b(?:(?:\x78){2,2})"


def test_the_database_is_cached_and_an_ephemeral_run_compiles_none(monkeypatch):
    src = [(rb"needle(?=[0-9]{3})", 0, True)]
    monkeypatch.setattr(recache, "writable", False)  # --ephemeral: no compile, no file
    assert redact_hs.load(("keep",), lambda: src) is None
    assert not os.path.exists(recache.cache_file(("keep",), "hs"))
    monkeypatch.setattr(recache, "writable", True)
    first = redact_hs.load(("keep",), lambda: src)
    assert os.path.exists(recache.cache_file(("keep",), "hs"))
    monkeypatch.setattr(recache, "writable", False)  # a database already there is used
    again = redact_hs.load(("keep",), lambda: pytest.fail("compiled again"))
    assert again.regions(b"x NEEDLE123\ny") == first.regions(b"x NEEDLE123\ny") == {0: [(0, 11)]}
