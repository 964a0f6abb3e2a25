"""The one JSONL reader: torn tails, corrupt lines, foreign files, offsets, size caps."""

from __future__ import annotations

import os

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csa import jsonl
from csa.jsonl import JsonlReader, scan_tail


def read(path, **kw):
    bad: list = []
    r = JsonlReader(path, on_bad=lambda no, why: bad.append((no, why)), **kw)
    return list(r), bad, r


def test_objects_in_order_blank_lines_skipped_and_counted(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_bytes(b'{"a":1}\n\n  \n{"b":2}\r\n{"c":3}\n')
    objs, bad, r = read(p)
    assert objs == [{"a": 1}, {"b": 2}, {"c": 3}] and bad == []
    assert (r.offset, r.line_no, r.pending) == (p.stat().st_size, 5, False)


def test_corrupt_middle_lines_are_reported_and_can_stand_in(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_bytes(b'{"a":1}\nnot json\n[1, 2]\nnull\n{"b":2}\n')
    r = JsonlReader(p, on_bad=lambda no, why: {"bad": no, "why": why})
    out = list(r)
    assert [o.get("a", o.get("b", o.get("bad"))) for o in out] == [1, 2, 3, 4, 2]
    assert out[1]["why"].startswith("invalid JSON") and out[2]["why"] == "not a JSON object: list"
    assert out[3]["why"] == "not a JSON object: NoneType"


@pytest.mark.parametrize("tail", [b'{"c":', b"garbage\n", b"[1]\n", b"x\n\ny\n{\"c\":3}",
                                  b'{"c":3}'])
def test_own_file_torn_tail_is_left_alone(tmp_path, tail):
    p = tmp_path / "a.jsonl"
    good = b'{"a":1}\n{"b":2}\n'
    p.write_bytes(good + tail)
    objs, bad, r = read(p)
    assert objs == [{"a": 1}, {"b": 2}] and bad == []
    assert r.offset == len(good) and r.line_no == 2 and r.pending


def test_foreign_file_takes_a_complete_last_line_and_reports_every_bad_line(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_bytes(b'{"a":1}\ngarbage\n{"b":2}')
    objs, bad, r = read(p, foreign=True)
    assert objs == [{"a": 1}, {"b": 2}] and [no for no, _ in bad] == [2]
    assert (r.offset, r.line_no, r.pending) == (p.stat().st_size, 3, False)
    p.write_bytes(b'{"a":1}\ngarbage\n{"b":')  # still being written: left for next time
    objs, bad, r = read(p, foreign=True)
    assert objs == [{"a": 1}] and [no for no, _ in bad] == [2]
    assert (r.offset, r.line_no, r.pending) == (16, 2, True)


def test_reading_on_from_an_offset_sees_only_what_was_appended(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_bytes(b'{"a":1}\n{"b":')
    first = JsonlReader(p)
    assert list(first) == [{"a": 1}]
    with open(p, "ab") as f:
        f.write(b'2}\n{"c":3}\n')
    nxt = JsonlReader(p, offset=first.offset, line_no=first.line_no)
    assert list(nxt) == [{"b": 2}, {"c": 3}] and nxt.line_no == 3


def test_a_line_over_the_cap_is_bad_and_skipped(tmp_path):
    p = tmp_path / "a.jsonl"
    long = orjson.dumps({"x": "y" * 500})
    p.write_bytes(b'{"a":1}\n' + long + b'\n{"b":2}\n' + long)
    objs, bad, r = read(p, max_line=100)
    assert objs == [{"a": 1}, {"b": 2}] and bad == [(2, "line longer than 100 bytes")]
    assert r.pending  # the unterminated long tail
    objs, bad, _ = read(p, max_line=1000)
    assert len(objs) == 3 and bad == []


def test_limit_stops_after_the_line_that_crosses_it(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_bytes(b'{"a":1}\n{"b":2}\n{"c":3}\n')
    assert list(JsonlReader(p, limit=9)) == [{"a": 1}, {"b": 2}]


def test_what_only_the_stdlib_parses_is_read_from_foreign_files_only(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_bytes(b'{"s": "\\ud800"}\n{"a":1}\n')
    assert [list(o) for o in JsonlReader(p, foreign=True)] == [["s"], ["a"]]
    objs, bad, _ = read(p)
    assert objs == [{"a": 1}] and [no for no, _ in bad] == [1]
    assert jsonl.loads(b"nope") is jsonl.BAD


line = st.one_of(
    st.dictionaries(st.text(max_size=5), st.integers(-(2**63), 2**63 - 1) | st.text(max_size=30), max_size=4)
    .map(orjson.dumps),
    st.sampled_from([b"", b"garbage", b"[1]", b'{"torn":', b"   "]),
)


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(line, max_size=25), tail=st.sampled_from([b"", b'{"t":', b"\n", b'{"x":1}']),
       cut=st.integers(0, 2000), cap=st.integers(1, 80))
def test_resuming_never_changes_what_is_read(tmp_path_factory, lines, tail, cut, cap):
    p = tmp_path_factory.mktemp("j") / "a.jsonl"
    data = b"\n".join(lines) + (b"\n" if lines else b"") + tail
    p.write_bytes(data)
    whole, whole_bad, r = read(p)
    # the writer's cut (scan_tail) and the reader's torn tail are the same rule
    fd = os.open(p, os.O_RDONLY)
    try:
        keep, _ = scan_tail(fd, lambda o: True)
    finally:
        os.close(fd)
    assert r.offset == keep
    # stopping anywhere (a reader of a growing file) and going on reads the same
    first = JsonlReader(p, limit=max(1, cut % (len(data) + 1)))
    part = list(first)
    rest = list(JsonlReader(p, offset=first.offset, line_no=first.line_no))
    assert part + rest == whole
    # a cap drops exactly the lines over it, whatever their content
    capped, capped_bad, _ = read(p, max_line=cap)
    assert capped == [o for o in whole if len(orjson.dumps(o)) <= cap]
    assert all(why == f"line longer than {cap} bytes" or len(data.splitlines()[no - 1]) <= cap
               for no, why in capped_bad)
