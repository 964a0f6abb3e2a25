"""The gate's Hyperscan prefilter flags every line the gate's regexes flag.

The prefilter replaces the gate's regex passes by one Hyperscan pass over loosened
regexes, then runs each exact regex only where its loosened form matched. A loosened
regex that fails to match where the exact one does would let a secret through, so
the gate's verdicts are compared with and without it: on the secret corpus inside
real tool output, and on generated text made of the pieces the regexes look for.
tests/test_redact_gate.py also runs whole with the prefilter on every input.
"""

from __future__ import annotations

import platform
import random
import re
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from secret_corpus import build

from csa import redact_gate
from csa.redact import DEFAULT_RULES, _compile
from csa.redact_gate import Gate
from csa.redact_loosen import literal_head, loosen
from csa.redact_prefilter import Prefilter
from csa.secret_rules import SECRET_WORDS
from helpers import SAMPLES

KEYWORDS = _compile(DEFAULT_RULES).keywords


def _gates() -> tuple[Gate, Gate]:
    exact = Gate.build(KEYWORDS, ())
    exact._pre = False
    fast = Gate.build(KEYWORDS, ())
    assert fast._prefilter() is not None
    return exact, fast


@pytest.fixture(scope="module")
def gates(monkeypatch_module):
    if Gate.build(KEYWORDS, ())._prefilter() is None:
        pytest.skip("no Hyperscan on this platform (csa declares it for Linux x86-64 only)")
    monkeypatch_module.setattr(redact_gate, "PREFILTER_MIN", 0)
    return _gates()


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def _joined(parts: list[bytes]) -> tuple[bytes, list[int]]:
    starts, off = [], 0
    for p in parts:
        starts.append(off)
        off += len(p) + 1
    return b"\n".join(parts), starts


def _agree(gates, parts: list[bytes]) -> set[int]:
    exact, fast = gates
    buf, starts = _joined(parts)
    want = exact.suspects(buf, starts)
    got = fast.suspects(buf, starts)
    assert want <= got, [parts[i][:200] for i in want - got]
    return got


def test_hyperscan_is_installed_where_csa_declares_it():
    # pyproject: hyperscan on Linux x86-64; there the prefilter must be in use
    if sys.platform != "linux" or platform.machine() != "x86_64":
        pytest.skip("csa declares Hyperscan for Linux x86-64 only")
    assert Gate.build(KEYWORDS, ())._prefilter() is not None


def _corpus_batches(seeds: range = range(3)):
    """Batches of the shared tool-output samples with five corpus secrets each, and the
    secret at each part that holds one."""
    clean = [line.encode() for path in sorted(SAMPLES.glob("*.jsonl"))
             for line in path.read_text().splitlines()[:40]]
    rng = random.Random(5)
    secrets = [s for seed in seeds for s in build(random.Random(seed))]
    for i in range(0, len(secrets), 5):
        batch = clean[:]
        rng.shuffle(batch)
        for s in secrets[i:i + 5]:
            batch.insert(rng.randrange(len(batch) + 1), s.text.encode())
        yield batch, {j: s for s in secrets[i:i + 5] for j, part in enumerate(batch)
                      if part == s.text.encode()}


def test_every_corpus_secret_is_flagged_in_real_tool_output(gates):
    for batch, where in _corpus_batches():
        got = _agree(gates, batch)
        assert not [s.kind for j, s in where.items() if j not in got and "\n" not in s.text]


def test_the_order_hyperscan_reports_matches_in_does_not_matter(gates, monkeypatch):
    # Hyperscan does not promise matches in the order of their ends
    kind = type(gates[1]._prefilter())
    ends, rng = kind._ends, random.Random(9)

    def shuffled(self, buf):
        out = ends(self, buf)
        rng.shuffle(out)
        return out

    monkeypatch.setattr(kind, "_ends", shuffled)
    for batch, _ in _corpus_batches(range(1)):
        _agree(gates, batch)


# Generated text: the words the regexes start from, what follows them, and noise.
_WORDS = sorted({kw for kw, _ in KEYWORDS if kw} | set(SECRET_WORDS) | {
    "token", "tokens", "tokenize", "sessionID", "sessionId", "key", "pass", "pw", "auth",
    "bearer", "Bearer", "curl -u", "redis-cli -a", "mariadb-", "=>", "://", "@", "\\n",
    "\\u0070", "AKIA", "SK", "xoxb-", "ghp_", "sk-", "-----BEGIN"})
_PIECES = st.one_of(
    st.sampled_from(_WORDS).flatmap(lambda w: st.lists(st.booleans(), min_size=len(w), max_size=len(w)).map(
        lambda upper: "".join(c.upper() if u else c for c, u in zip(w, upper, strict=True)))),
    st.sampled_from(["=", ":", ": ", '"', "'", '":"', "\\\"", " ", "\t", "-", "_", ".", "/", "\n", ",", "\\n"]),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFXYZ0123456789_-+/=.", min_size=1, max_size=40),
)


@settings(max_examples=400, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(_PIECES, max_size=12).map("".join), min_size=1, max_size=8))
def test_generated_lines_flagged_by_the_regexes_are_flagged_by_the_prefilter(gates, lines):
    _agree(gates, [line.encode() for line in lines])


@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.data())
def test_each_gate_regex_is_found_where_it_matches(gates, data):
    # text generated from one gate regex itself (look-arounds and all)
    exact, _ = gates
    k = data.draw(st.integers(0, len(exact._all) - 1))
    rx, lowered = exact._all[k]
    text = data.draw(st.from_regex(rx, fullmatch=False).filter(lambda b: len(b) < 2000))
    assume_found = [m.start() for m in rx.finditer(text.lower() if lowered else text)]
    if not assume_found:
        return
    _agree(gates, [b"noise before", text, b"noise after"])


def test_loosened_regexes_widen_literal_look_behinds_and_keep_negative_first_characters():
    # the word whole, not its anchor letter alone
    assert loosen(rb"b(?:(?<=[d].)(?:(?<=mariadb)))") == [b"\\x6d\\x61\\x72\\x69\\x61\\x64\\x62"]
    # "tokens" is not "token" followed by a value: the s cannot begin it
    [token] = loosen(rb"k(?:en(?<=token)(?!s|iz)(?=[a-z]{0,3}=))")
    assert re.fullmatch(token, b"token=") and re.fullmatch(token, b"tokenab=")
    assert not re.match(token, b"tokens=")
    # a wide repeat ends the regex after its least count, or takes what follows
    [near] = loosen(rb"x(?=.{0,40}?[a-z]{14})")
    assert re.match(near, b"x!") and re.match(near, b"x" + b"a" * 14)


def test_lower_cased_regexes_match_either_case_on_the_original_bytes():
    [expr] = loosen(rb"t(?:oken(?<=token)(?=[^a-z]))", lowered=True)
    assert re.fullmatch(expr, b"ToKeN=") and re.fullmatch(expr, b"token=")
    assert not re.fullmatch(expr, b"tokenZ")  # Z is z to the regex: a letter
    [cookie] = loosen(rb"=(?:(?i:(?<=sid=)(?=[^\s]{4})))")
    assert re.fullmatch(cookie, b"SID=abcd") and re.fullmatch(cookie, b"sId=abcd")


def test_literal_head():
    assert literal_head(rb"sess(?:ion)?id") == b"sess"
    assert literal_head(rb"\.(?:x|y)") == b"."


def test_without_hyperscan_the_gate_runs_its_regexes(monkeypatch):
    monkeypatch.setitem(sys.modules, "hyperscan", None)  # import hyperscan fails
    monkeypatch.setattr(redact_gate, "PREFILTER_MIN", 0)
    gate = Gate.build(KEYWORDS, ())
    assert gate._prefilter() is None
    text = b'{"text":"x\\npassword=' + b"hunter2Xy9" + b'"}'
    assert gate.suspects(b"clean\n" + text, [0, 6]) == {1}


def test_the_compiled_database_is_cached_and_a_damaged_cache_recompiled(tmp_path, monkeypatch):
    if Gate.build(KEYWORDS, ())._prefilter() is None:
        pytest.skip("no Hyperscan on this platform")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    regexes = Gate.build(KEYWORDS, ())._all
    assert Prefilter.build(regexes) is not None
    [cached] = list((tmp_path / "xdg").rglob("*.hs"))
    assert Prefilter.build(regexes) is not None  # from the file
    cached.write_bytes(b"\0garbage")
    pre = Prefilter.build(regexes)
    line = b"apikey=abcdefgh12345678"
    assert pre is not None and pre.suspects(line, [0], set(), lambda *_: True) == {0}
    assert cached.read_bytes() != b"\0garbage"  # written again
