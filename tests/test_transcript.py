"""Transcript writer/reader: seq continuity, crash recovery, locking, redaction on disk, odd data."""

from __future__ import annotations

import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csa.errors import CsaError
from csa.redact import Redactor
from csa.transcript import TranscriptBusy, TranscriptWriter, last_seq, read_events

redact_obj = Redactor().obj
redact_text = Redactor().text

TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
from helpers import SAMPLES  # noqa: E402


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def seqs(path: Path) -> list[int]:
    return [e["seq"] for e in read_events(path)]


def write_n(path: Path, n: int, **kw) -> None:
    with TranscriptWriter(path, **kw) as tw:
        for i in range(n):
            tw.append("note", i=i, text=f"line {i} " + "x" * (i % 7))


# -- basics ---------------------------------------------------------------------

def test_new_file_header_fields_mode_and_seq(tmp_path):
    p = tmp_path / "t.jsonl"
    with TranscriptWriter(p) as tw:
        assert tw.next_seq == 0
        assert tw.append("prompt", text="hello") == 0
        assert tw.append_stdout_line('{"type":"init","session_id":"abc"}\n') == 1
        assert tw.append_stdout_line("plain text\r\n") == 2
        assert tw.next_seq == 3
    assert stat.S_IMODE(p.stat().st_mode) == 0o600
    events = list(read_events(p))
    assert [list(e)[:4] for e in events] == [["v", "seq", "ts", "type"]] * 3
    assert all(e["v"] == 1 and TS_RE.match(e["ts"]) for e in events)
    assert events[0] == {**events[0], "type": "prompt", "text": "hello"}
    assert events[1]["type"] == "event" and events[1]["stream"] == "stdout"
    assert events[1]["event"] == {"type": "init", "session_id": "abc"}
    assert events[2]["type"] == "stdout" and events[2]["text"] == "plain text"
    assert p.read_bytes().endswith(b"\n") and p.read_bytes().count(b"\n") == 3


def test_parent_dir_must_exist(tmp_path):
    with pytest.raises(FileNotFoundError):
        TranscriptWriter(tmp_path / "missing" / "t.jsonl")


def test_seq_continues_across_resumes(tmp_path):
    p = tmp_path / "t.jsonl"
    total = 0
    for turn in range(4):
        with TranscriptWriter(p) as tw:
            assert tw.next_seq == total
            for i in range(turn + 2):
                tw.append("turn", n=turn, i=i)
                tw.append_stdout_line(f"out {turn}.{i}")
                total += 2
            tw.turn_end()
    assert seqs(p) == list(range(total))
    assert last_seq(p) == total - 1


def test_reserved_fields_and_closed_writer(tmp_path):
    tw = TranscriptWriter(tmp_path / "t.jsonl")
    with pytest.raises(ValueError, match="seq"):
        tw.append("x", seq=5)
    tw.close()
    tw.close()  # idempotent
    assert tw.closed
    with pytest.raises(ValueError, match="closed"):
        tw.append("x")
    with pytest.raises(ValueError, match="closed"):
        tw.append_stdout_line("x")


# -- locking ---------------------------------------------------------------------

def test_second_writer_is_refused(tmp_path):
    p = tmp_path / "t.jsonl"
    with TranscriptWriter(p) as tw:
        tw.append("a")
        with pytest.raises(TranscriptBusy) as exc:
            TranscriptWriter(p)
        assert isinstance(exc.value, CsaError)
        assert str(p) in str(exc.value) and "another" in str(exc.value)
        tw.append("b")  # the first writer is unaffected
    with TranscriptWriter(p) as tw2:  # free again once closed
        assert tw2.next_seq == 2
    assert seqs(p) == [0, 1]


def test_writer_in_another_process_blocks_this_one(tmp_path):
    p = tmp_path / "t.jsonl"
    code = (
        "import sys, time; from csa.transcript import TranscriptWriter\n"
        "w = TranscriptWriter(sys.argv[1]); w.append('held'); w.flush()\n"
        "print('locked', flush=True); sys.stdin.readline(); w.close()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(p)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(TranscriptBusy):
            TranscriptWriter(p)
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)
    with TranscriptWriter(p) as tw:
        assert tw.next_seq == 1


# -- crash recovery --------------------------------------------------------------

def test_torn_last_line_every_truncation_point(tmp_path):
    p = tmp_path / "t.jsonl"
    write_n(p, 5)
    full = p.read_bytes()
    lines = lines_of(p)
    head, last = b"".join(lines[:-1]), lines[-1]
    assert len(last) > 40
    for cut in range(len(last) + 1):
        p.write_bytes(head + last[:cut])
        complete = cut == len(last)
        assert last_seq(p) == (4 if complete else 3)
        with TranscriptWriter(p) as tw:
            assert tw.next_seq == (5 if complete else 4), cut
            assert p.read_bytes() == (full if complete else head), cut
            tw.append("after", cut=cut)
        got = seqs(p)
        assert got == list(range(len(got))) and len(got) == (6 if complete else 5)
        assert list(read_events(p))[-1]["cut"] == cut


def test_torn_tail_spanning_several_lines_and_garbage(tmp_path):
    p = tmp_path / "t.jsonl"
    write_n(p, 3)
    good = p.read_bytes()
    # a crash mid-flush: a complete-looking but broken line, then half a line, then NULs
    p.write_bytes(good + b'{"v":1,"seq":3,"ts":"x","ty\n' + b'{"v":1,"se' + b"\x00" * 50)
    assert last_seq(p) == 2
    with TranscriptWriter(p) as tw:
        assert tw.next_seq == 3
        assert p.read_bytes() == good
    errors: list = []
    assert [e["seq"] for e in read_events(p, errors=errors)] == [0, 1, 2] and errors == []


def test_torn_last_line_is_skipped_silently_by_the_reader(tmp_path):
    p = tmp_path / "t.jsonl"
    write_n(p, 3)
    data = p.read_bytes()
    for tail in (data[:-1], data[:-10], data + b'{"v":1', data + b"garbage\n"):
        p.write_bytes(tail)
        errors: list = []
        events = list(read_events(p, errors=errors))
        assert errors == [] and all(e["type"] == "note" for e in events)


def test_corrupt_middle_line_is_reported_not_hidden(tmp_path):
    p = tmp_path / "t.jsonl"
    write_n(p, 4)
    lines = lines_of(p)
    lines[1] = b'{"v":1,"seq":1, broken\n'
    lines.insert(3, b"[1, 2, 3]\n")
    p.write_bytes(b"".join(lines))
    errors: list = []
    events = list(read_events(p, errors=errors))
    assert [e.get("seq", e["type"]) for e in events] == [0, "corrupt", 2, "corrupt", 3]
    assert [no for no, _ in errors] == [2, 4]
    assert events[1]["line"] == 2 and "invalid JSON" in events[1]["error"]
    assert "not a JSON object" in events[3]["error"]
    # the writer keeps the middle corruption (it is evidence) and continues after seq 3
    with TranscriptWriter(p) as tw:
        assert tw.next_seq == 4
    assert b"broken" in p.read_bytes()


def test_last_seq_and_open_read_only_the_tail_of_a_big_file(tmp_path):
    p = tmp_path / "big.jsonl"
    one = b'{"v":1,"seq":%d,"ts":"2026-11-21T14:17:39.059Z","type":"x","pad":"' + b"p" * 200 + b'"}\n'
    with open(p, "wb") as f:
        f.write(b"".join(one % i for i in range(40_000)))  # ~10 MB
        f.write(b'{"v":1,"seq":40000,"ts":"2026-')  # torn
    t0 = time.perf_counter()
    assert last_seq(p) == 39_999
    with TranscriptWriter(p) as tw:
        assert tw.next_seq == 40_000
    assert time.perf_counter() - t0 < 0.5
    assert last_seq(tmp_path / "nope.jsonl") is None
    (tmp_path / "empty.jsonl").write_bytes(b"")
    assert last_seq(tmp_path / "empty.jsonl") is None


def test_huge_torn_last_line(tmp_path):
    p = tmp_path / "t.jsonl"
    write_n(p, 2)
    good = p.read_bytes()
    p.write_bytes(good + b'{"v":1,"seq":2,"text":"' + b"y" * 300_000)
    with TranscriptWriter(p) as tw:
        assert tw.next_seq == 2
    assert p.read_bytes() == good


# -- flushing --------------------------------------------------------------------

def test_buffering_by_size_and_interval(tmp_path):
    p = tmp_path / "t.jsonl"
    tw = TranscriptWriter(p, flush_bytes=10_000, flush_interval=3600)
    tw.append("a", text="short")
    tw.append_stdout_line("short")
    assert p.read_bytes() == b""  # buffered
    tw.append("big", text="z" * 10_000)
    assert p.read_bytes().count(b"\n") == 3  # size threshold crossed
    tw.append_stdout_line("again")
    tw.flush()
    assert p.read_bytes().count(b"\n") == 4
    tw.close()

    p2 = tmp_path / "t2.jsonl"
    tw = TranscriptWriter(p2, flush_bytes=1 << 30, flush_interval=0.05)
    tw.append("a")
    time.sleep(0.08)
    tw.append_stdout_line("b")  # the interval is checked on append
    assert p2.read_bytes().count(b"\n") == 2
    tw.turn_end()
    tw.close()


# -- redaction on disk -----------------------------------------------------------

def test_nothing_secret_reaches_the_file(tmp_path):
    gh = "gh" + "p_" + "aB3dE5" * 6
    ak = "AK" + "IA" + "QWERTYUIOP234567"
    p = tmp_path / "t.jsonl"
    with TranscriptWriter(p) as tw:
        tw.append("prompt", text=f"use {gh} please", env={"GITHUB_TOKEN": "v4lue-123", "HOME": "/h"})
        tw.append_stdout_line(orjson.dumps({"type": "x", "api_key": "v4lue-456", "usage": {"input_tokens": 3}}).decode())
        tw.append_stdout_line(orjson.dumps({"type": "x", "text": f"export AWS_KEY={ak}"}).decode())
        tw.append_stdout_line(f"plain {ak} text")
        tw.append("stderr", text="password: v4lue-789")
    data = p.read_bytes()
    for secret in (gh, ak, "v4lue-123", "v4lue-456", "v4lue-789"):
        assert secret.encode() not in data
    events = list(read_events(p))
    assert events[0]["env"] == {"GITHUB_TOKEN": "[REDACTED:secret-value]", "HOME": "/h"}
    assert events[1]["event"] == {"type": "x", "api_key": "[REDACTED:secret-value]", "usage": {"input_tokens": 3}}
    assert events[2]["event"]["text"] == "export AWS_KEY=[REDACTED:aws]"
    assert events[3]["text"] == "plain [REDACTED:aws] text"


def test_escaped_json_cannot_smuggle_a_secret_past_the_gate(tmp_path):
    p = tmp_path / "t.jsonl"
    url = "https:\\/\\/bob:s3cr3t-pw@host\\/x"
    with TranscriptWriter(p) as tw:
        tw.append_stdout_line('{"api\\u005fkey": "v4lue-999", "u": "' + url + '"}')
        tw.append_stdout_line('{"t": "\\u001b[31mred\\u001b[0m"}')
    data = p.read_bytes()
    assert b"v4lue-999" not in data and b"s3cr3t-pw" not in data
    events = list(read_events(p))
    assert events[0]["event"]["api_key"] == "[REDACTED:secret-value]"
    assert events[1]["event"] == {"t": "\x1b[31mred\x1b[0m"}


def test_writer_dropped_without_close_keeps_records_and_frees_lock(tmp_path):
    p = tmp_path / "t.jsonl"
    tw = TranscriptWriter(p)
    tw.append("a")
    del tw
    with TranscriptWriter(p) as tw2:
        assert tw2.next_seq == 1


def test_corpus_secrets_never_reach_the_file(tmp_path):
    from test_redact import CORPUS

    p = tmp_path / "t.jsonl"
    with TranscriptWriter(p) as tw:
        for _secret, text in CORPUS:
            tw.append_stdout_line(text.replace("\n", "\\n"))  # one stdout line each
            tw.append_stdout_line(orjson.dumps({"type": "msg", "text": text}).decode())
            tw.append("stderr", text=text)
    data = p.read_bytes().decode()
    for secret, _text in CORPUS:
        assert secret not in data
        assert secret.replace("\n", "\\n") not in data
    assert seqs(p) == list(range(3 * len(CORPUS)))


def test_sample_events_round_trip_unchanged(tmp_path):
    files = sorted(SAMPLES.glob("*.jsonl"))
    if not files:
        pytest.skip("no /work/shared/samples")
    raw = [line for f in files for line in f.read_text().splitlines() if line.strip()]
    p = tmp_path / "t.jsonl"
    with TranscriptWriter(p) as tw:
        for line in raw:
            tw.append_stdout_line(line + "\n")
    events = list(read_events(p))
    assert [e["event"] for e in events] == [orjson.loads(line) for line in raw]
    assert all(e["type"] == "event" and e["stream"] == "stdout" for e in events)


# -- odd data ----------------------------------------------------------------------

class Odd:
    def __str__(self) -> str:
        return "odd\ud800object"


def test_odd_data_never_raises(tmp_path):
    p = tmp_path / "t.jsonl"
    deep: object = "bottom"
    for _ in range(400):
        deep = [deep]
    deeper: object = {}
    for _ in range(5000):
        deeper = {"d": deeper}
    with TranscriptWriter(p) as tw:
        tw.append("odd", text="lone \ud800 and pair \ud83d\ude00 and \udfff", key_types={1: "a", None: "b", (1, 2): "c"})
        tw.append("odd", blob=b"\xff\xfebytes", big=2**80, neg=-(2**70), s={3}, obj=Odd(), deep=deep)
        tw.append("odd", **{"\ud800k": "v"}, deeper=deeper)
        tw.append_stdout_line("text with lone \ud800 surrogate")
        tw.append_stdout_line('{"a": "\\ud800 escaped lone surrogate", "b": 1}')
        tw.append_stdout_line('{"a": "escaped pair \\ud83d\\ude00"}')
        tw.append_stdout_line('  {"pretty": true,   "x": [1, 2]}  ')
        tw.append_stdout_line('{"big": 123456789012345678901234567890}')
        tw.append_stdout_line("[1, 2, 3]")
        tw.append_stdout_line("{not json")
        tw.append_stdout_line('{"a": 1}{"b": 2}')
        tw.append_stdout_line("[" * 300 + "]" * 300)
        tw.append_stdout_line('{"d":' + "[" * 300 + "]" * 300 + "}")
        tw.append_stdout_line("")
        tw.append_stdout_line("caf\u00e9 \u2028 \x00 \U0001f600")
    errors: list = []
    events = list(read_events(p, errors=errors))
    assert errors == [] and [e["seq"] for e in events] == list(range(15))
    assert events[0]["text"] == "lone \ufffd and pair \U0001f600 and \ufffd"
    assert events[0]["key_types"] == {"1": "a", "null": "b", "(1, 2)": "c"}
    assert events[1]["blob"] == "\ufffd\ufffdbytes" and events[1]["big"] == str(2**80)
    assert events[1]["s"] == [3] and events[1]["obj"] == "odd\ufffdobject"
    assert events[2]["\ufffdk"] == "v"
    assert events[3]["text"] == "text with lone \ufffd surrogate"
    assert events[4]["event"] == {"a": "\ufffd escaped lone surrogate", "b": 1}
    assert events[5]["event"] == {"a": "escaped pair \U0001f600"}
    assert events[6]["event"] == {"pretty": True, "x": [1, 2]}
    assert events[7]["type"] == "event"
    assert [events[i]["type"] for i in (8, 9, 10, 11)] == ["stdout"] * 4
    assert events[8]["text"] == "[1, 2, 3]" and events[10]["text"] == '{"a": 1}{"b": 2}'
    assert events[12]["type"] == "event"
    assert events[13]["text"] == "" and events[14]["text"] == "caf\u00e9 \u2028 \x00 \U0001f600"


def test_json_line_with_raw_newline_whitespace_stays_one_line(tmp_path):
    p = tmp_path / "t.jsonl"
    with TranscriptWriter(p) as tw:
        tw.append_stdout_line('{"a":\n1,\r"b":2}')
    assert p.read_bytes().count(b"\n") == 1
    assert next(read_events(p))["event"] == {"a": 1, "b": 2}


# -- properties --------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None, database=None)
@given(st.dictionaries(st.text(max_size=12), json_values, max_size=5))
def test_writer_reader_round_trip(tmp_path_factory, data):
    p = tmp_path_factory.mktemp("rt") / "t.jsonl"
    fields = {k: v for k, v in data.items() if k not in ("v", "seq", "ts", "type")}
    with TranscriptWriter(p) as tw:
        tw.append("data", **fields)
        tw.append_stdout_line(orjson.dumps(fields).decode())
        tw.append_stdout_line(orjson.dumps(fields).decode().replace("{", "[", 1))  # not JSON: text
    events = list(read_events(p))
    expected = redact_obj(fields)
    assert {k: v for k, v in events[0].items() if k not in ("v", "seq", "ts", "type")} == expected
    assert events[1]["event"] == expected
    if expected == fields:  # nothing secret-looking: the round trip is exact
        assert events[1]["event"] == fields
    # the not-JSON line is text: the redactor's judgement of that text, which may see an
    # assignment where the parsed object has none ('["Secret=":null}')
    text = orjson.dumps(fields).decode().replace("{", "[", 1)
    assert events[2]["text"] == redact_text(text)
    assert [e["seq"] for e in events] == [0, 1, 2]


@settings(max_examples=150, deadline=None, database=None)
@given(st.lists(st.text(max_size=60), max_size=20))
def test_stdout_text_lines_round_trip(tmp_path_factory, lines):
    redact = Redactor().text

    p = tmp_path_factory.mktemp("rt") / "t.jsonl"
    lines = [s.replace("\n", " ").replace("\r", " ") for s in lines]
    with TranscriptWriter(p, flush_bytes=200) as tw:
        for s in lines:
            tw.append_stdout_line(s)
    events = list(read_events(p))
    assert len(events) == len(lines)
    for s, e in zip(lines, events, strict=True):
        if e["type"] == "stdout":
            assert e["text"] == redact(s)
        else:  # the line happened to be a JSON object
            assert e["event"] == redact_obj(orjson.loads(s))
