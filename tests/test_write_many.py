"""Batch redaction for imports: Redactor.objs and TranscriptWriter.write_many give exactly
what obj() and write() one by one give."""

from __future__ import annotations

import orjson
import pytest

from csa.redact import Redactor
from csa.transcript import TranscriptWriter

EVENTS = [
    {"type": "imported", "role": "user", "text": "use password=hunter2hunter2 please"},
    {"type": "imported", "role": "assistant", "text": "ok", "tool": {"api_key": "x"}},
    {"type": "stderr", "text": "token=ghp_" + "a" * 36},
    {"type": "imported", "role": "tool_result", "text": "AKIAABCDEFGHIJKLMNOP and more",
     "extra": [{"name": "Authorization", "value": "Bearer abcdefghijklmnop"}]},
    {"type": "imported", "role": "system", "text": "nothing secret here"},
] * 3


def _lines(path) -> list[dict]:
    out = []
    for line in path.read_bytes().splitlines():
        rec = orjson.loads(line)
        rec.pop("ts")
        out.append(rec)
    return out


def test_objs_is_obj_one_by_one():
    r = Redactor(known=["hunter2hunter2"])
    fields = [{k: v for k, v in e.items() if k != "type"} for e in EVENTS]
    assert r.objs(fields) == [r.obj(f) for f in fields]


def test_write_many_writes_what_write_writes(tmp_path):
    one, many = tmp_path / "one.jsonl", tmp_path / "many.jsonl"
    with TranscriptWriter(one) as tw:
        for ev in EVENTS:
            tw.write(ev)
    with TranscriptWriter(many) as tw:
        tw.write_many(EVENTS[:4])
        tw.write_many(EVENTS[4:])
        assert tw.next_seq == len(EVENTS)
    assert _lines(one) == _lines(many)
    text = many.read_text()
    assert "hunter2hunter2" not in text and "AKIA" not in text and "ghp_" not in text


def test_write_many_refuses_reserved_fields(tmp_path):
    with TranscriptWriter(tmp_path / "t.jsonl") as tw:
        with pytest.raises(ValueError, match="reserved"):
            tw.write_many([{"type": "imported", "seq": 3}])
