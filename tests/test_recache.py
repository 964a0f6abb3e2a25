"""csa.recache: compiled regexes loaded from the cache behave exactly like re.compile's,
and a damaged, foreign or stale cache file only costs a recompile."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from csa import recache
from csa.redact import Redactor
from csa.redact_gate import Gate, _patterns

REPO = Path(__file__).resolve().parent.parent
SAMPLES = [b"nothing here", b'{"text":"x\\ndop_v1_' + b"a1" * 32 + b'"}', b"api_key = 'abc'",
           b"AKIAABCDEFGHIJKLMNOP", b"password=hunter22", b"\\u0041", b"Bearer abcdefghijkl",
           b"curl -u me:pw https://x", b"token: 123", b"secret_" + b"a" * 40]


def _cached(inputs, patterns):
    return recache.compile_all(inputs, lambda: patterns)


def _same(a: re.Pattern, b: re.Pattern) -> None:
    assert (a.pattern, a.flags, a.groups, a.groupindex) == (b.pattern, b.flags, b.groups,
                                                            b.groupindex)
    for s in SAMPLES:
        assert [m.span() for m in a.finditer(s.lower())] == \
            [m.span() for m in b.finditer(s.lower())]
        assert [(m.lastgroup, m.span()) for m in a.finditer(s)] == \
            [(m.lastgroup, m.span()) for m in b.finditer(s)]


def _parse_forbidden(monkeypatch):
    def boom(*_a, **_k):
        raise AssertionError("compiled instead of loaded from the cache")

    monkeypatch.setattr(recache, "_parts", boom)
    monkeypatch.setattr(re, "compile", boom)


def test_gate_patterns_from_the_cache_match_re_compile(monkeypatch):
    keywords = Redactor()._compiled()[0].keywords
    patterns = _patterns(keywords)
    first = _cached(("gate", keywords), patterns)
    _parse_forbidden(monkeypatch)
    second = _cached(("gate", keywords), patterns)  # loaded: nothing compiled
    monkeypatch.undo()
    assert len(first) == len(second) == len(patterns)
    for got, fresh in zip(second, (re.compile(p) for p in patterns), strict=True):
        _same(got, fresh)


def test_cache_file_is_private_and_found_by_a_new_process(tmp_path):
    code = ("from csa.redact import Redactor; import sys; "
            "r = Redactor(); print(r.text('password=hunter22 and AKIAABCDEFGHIJKLMNOP'))")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    outs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, check=True).stdout for _ in range(2)]
    cache = Path(os.environ["XDG_CACHE_HOME"]) / "csa" / "re"
    files = {p: p.stat().st_mtime_ns for p in cache.iterdir()}
    assert files and all(p.stat().st_mode & 0o077 == 0 for p in files)
    # a third process finds every set it compiles in the cache: nothing new, nothing rewritten
    subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, check=True)
    assert {p: p.stat().st_mtime_ns for p in cache.iterdir()} == files
    assert outs[0] == outs[1] and "hunter22" not in outs[0] and "AKIA" not in outs[0]


@pytest.mark.parametrize("damage", [b"", b"garbage", None])
def test_damaged_or_foreign_cache_file_recompiles(damage):
    patterns = [rb"ab+c", rb"(?P<x>d)e"]
    path = Path(recache._cache_file(("t", 1)))
    _cached(("t", 1), patterns)
    if damage is None:  # a valid file of other inputs under this name (a CRC collision)
        path.write_bytes(Path(recache._cache_file(("t", 2))).read_bytes()
                         if _cached(("t", 2), [rb"zz"]) else b"")
    else:
        path.write_bytes(damage)
    got = _cached(("t", 1), patterns)
    assert [p.pattern for p in got] == patterns
    assert got[1].match(b"de").group("x") == b"d"
    assert _cached(("t", 1), patterns)[0].search(b"xabbbc")  # rewritten, loads again


def test_another_interpreter_key_recompiles(monkeypatch):
    _cached(("k", 1), [rb"q+"])
    monkeypatch.setattr(recache, "_key", lambda: ("csa-recache-1", (9, 9), 0))
    calls = []
    real = recache._parts
    monkeypatch.setattr(recache, "_parts", lambda p: calls.append(p) or real(p))
    assert _cached(("k", 1), [rb"q+"])[0].fullmatch(b"qq")
    assert calls == [rb"q+"]


def test_unwritable_cache_dir_still_compiles(monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # cache dir under a file
    assert _cached(("u", 1), [rb"a"])[0].match(b"a")


def test_gate_build_uses_the_cache(monkeypatch):
    keywords = (("dop_v1_", 16),)
    Gate.build(keywords, ())
    _parse_forbidden(monkeypatch)
    gate = Gate.build(keywords, ())
    assert gate.any(b'{"text":"x\\ndop_v1_' + b"a1" * 32 + b'"}')
    assert not gate.any(b"nothing to see")
