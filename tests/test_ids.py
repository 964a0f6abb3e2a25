import pytest
import ulid as python_ulid

from csa import ids
from csa.errors import SessionNotFound


def test_new_ulid_is_canonical_and_parses_with_python_ulid():
    sid = ids.new_ulid()
    assert ids.is_ulid(sid)
    parsed = python_ulid.ULID.from_str(sid)
    assert str(parsed) == sid
    assert parsed.milliseconds == ids.ulid_timestamp_ms(sid)


def test_new_ulid_is_monotonic_within_a_millisecond():
    batch = [ids.new_ulid(now_ms=1_700_000_000_000) for _ in range(1000)]
    assert batch == sorted(batch)
    assert len(set(batch)) == 1000


def test_ulids_sort_by_time():
    assert ids.new_ulid(now_ms=1000) < ids.new_ulid(now_ms=2000)


@pytest.mark.parametrize("text", ["01jh4q", "01JH4Q", " 01jh4q "])
def test_normalize_prefix_upper_cases(text):
    assert ids.normalize_prefix(text) == "01JH4Q"


@pytest.mark.parametrize("bad", ["", "  ", "..", "../x", "/", "01JH/..", "01I", "01U",
                                 "01JH4Q!", "0" * 27, "é", "\x00"])
def test_normalize_prefix_rejects_non_base32(bad):
    with pytest.raises(SessionNotFound, match="No session matches"):
        ids.normalize_prefix(bad)


def test_is_ulid_rejects_lowercase_and_overflow():
    sid = ids.new_ulid()
    assert not ids.is_ulid(sid.lower())
    assert not ids.is_ulid("8" + sid[1:])
    assert not ids.is_ulid(sid[:-1])


def test_ids_made_back_to_back_sort_in_creation_order():
    batch = [ids.new_ulid() for _ in range(2000)]  # many share a millisecond
    assert batch == sorted(batch) and len(set(batch)) == len(batch)


def test_exhausting_a_millisecond_raises(monkeypatch):
    from ulid import StrictMonotonicPolicy, ULIDGenerator

    from csa.errors import CsaError

    top = ULIDGenerator(randomness=lambda _ts: b"\xff" * 10, policy=StrictMonotonicPolicy())
    monkeypatch.setattr(ids, "_generator", top)
    first = ids.new_ulid(now_ms=1_700_000_000_000)
    assert first.endswith("Z" * 16)
    with pytest.raises(CsaError, match="cannot make a session id"):
        ids.new_ulid(now_ms=1_700_000_000_000)
    assert ids.new_ulid(now_ms=1_700_000_000_001) > first  # the next millisecond is fine


def test_making_an_id_does_not_import_importlib_metadata():
    """python-ulid's own import reads its version through importlib.metadata (~20 ms
    before a new session's tool starts); csa.ids lends it a stand-in for that import."""
    out = _fresh_process("import sys; from csa import ids; sid = ids.new_ulid(); "
                         "print('importlib.metadata' in sys.modules); import ulid; "
                         "print(ulid.__version__); import importlib.metadata as m; "
                         "print(m.version('python-ulid')); print(ids.ulid_timestamp_ms(sid) > 0)")
    loaded, stand_in_version, real_version, parsed = out.split()
    assert loaded == "False" and parsed == "True"
    assert stand_in_version == real_version == python_ulid.__version__


def test_making_an_id_does_not_import_typing_extensions_and_leaves_the_real_one_importable():
    """On 3.11 python-ulid imports typing_extensions for `override` alone (~4 ms before a
    new session's tool starts); csa.ids lends it a stand-in for that import only."""
    out = _fresh_process("import sys; from csa import ids; sid = ids.new_ulid(); "
                         "print('typing_extensions' in sys.modules); import ulid; "
                         "print(str(ulid.ULID.from_str(sid)) == sid); "
                         "import typing_extensions as t; print(hasattr(t, 'TypedDict'))")
    assert out.split() == ["False", "True", "True"]


def _fresh_process(code: str) -> str:
    """The stdout of `code` run by a new interpreter on this checkout's csa."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, env={**os.environ, "PYTHONPATH": str(repo)}).stdout
