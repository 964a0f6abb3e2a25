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
