"""The transcript's event catalogue: builders, the writer's hot path, search text, logs lines."""

from __future__ import annotations

import orjson
import pytest

from csa import catalogue
from csa.transcript import TranscriptWriter, read_events

TS = "2026-11-21T14:17:39.059Z"


def ev(seq: int, event: dict, ts: str = TS) -> dict:
    return catalogue.envelope(seq, ts, event)


def test_builders_write_the_documented_records(tmp_path):
    p = tmp_path / "t.jsonl"
    with TranscriptWriter(p) as tw:
        tw.write(catalogue.prompt(tool="codex", text="fix", purpose="run", model="m",
                                  argv=["codex", "exec"]))
        tw.write(catalogue.warning("low memory"))
        tw.write(catalogue.stderr("oops"))
        tw.write(catalogue.turn_end(tool="codex", exit_code=0, status="finished",
                                    duration_s=1.5, tokens={"input_tokens": 3}))
        tw.write(catalogue.compaction(session_id="S", tool="codex", method="rollover",
                                      success=True, message="ok", old_provider_session_id="a",
                                      new_provider_session_id="b", compaction_count=1,
                                      exit_code=0))
        tw.write(catalogue.imported("user", "hi", source="claude", source_ts=TS,
                                    is_error=False, usage={}, name=None, id="u1"))
    evs = list(read_events(p))
    assert [list(e)[:4] for e in evs] == [["v", "seq", "ts", "type"]] * 6
    assert [e["type"] for e in evs] == ["prompt", "warning", "stderr", "turn_end", "compaction",
                                        "imported"]
    assert list(evs[0])[4:] == ["tool", "purpose", "text", "resume", "provider_session_id",
                                "model", "argv"]
    assert evs[3]["tokens"] == {"input_tokens": 3} and evs[3]["errors"] is None
    assert evs[5] == {"v": 1, "seq": 5, "ts": evs[5]["ts"], "type": "imported", "role": "user",
                      "text": "hi", "source": "claude", "source_ts": TS, "id": "u1"}


def test_the_hot_path_spells_the_stdout_builders(tmp_path):
    p = tmp_path / "t.jsonl"
    with TranscriptWriter(p) as tw:
        tw.append_stdout_line('{"type":"result","result":"done"}\n')
        tw.append_stdout_line("plain text\n")
    lines = p.read_bytes().splitlines()
    ts = [orjson.loads(x)["ts"] for x in lines]
    assert lines[0] == orjson.dumps(ev(0, catalogue.stdout_event({"type": "result",
                                                                  "result": "done"}), ts[0]))
    assert lines[1] == orjson.dumps(ev(1, catalogue.stdout_text("plain text"), ts[1]))


EVENTS = [  # (event, its logs line, its search text)
    (catalogue.prompt(tool="codex", text="fix   the\ntests", purpose="run", resume=True),
     "2026-11-21T14:17:39.059Z ▶ prompt (codex, resume): fix the tests", "fix   the\ntests"),
    (catalogue.stdout_event({"type": "assistant", "message": {"content": [
        {"type": "text", "text": "hi"}, {"type": "tool_use"}]}}),
     "2026-11-21T14:17:39.059Z   [assistant] hi <tool_use>", "hi"),
    (catalogue.stdout_event({"type": "result", "result": "done"}),
     "2026-11-21T14:17:39.059Z   [result] done", "done"),
    (catalogue.stdout_event({"type": "item.completed",
                             "item": {"type": "command_execution", "command": "ls -la"}}),
     "2026-11-21T14:17:39.059Z   [item.completed] command_execution: ls -la", "ls -la"),
    (catalogue.stdout_event({"type": "message", "role": "assistant", "content": "ok"}),
     "2026-11-21T14:17:39.059Z   [message] assistant: ok", "ok"),
    (catalogue.stdout_event({"type": "text", "part": {"text": "opencode says"}}),
     "2026-11-21T14:17:39.059Z   [text] opencode says", "opencode says"),
    (catalogue.stdout_event({"type": "turn.started"}), None, ""),
    (catalogue.stdout_text("plain"), "2026-11-21T14:17:39.059Z   plain", "plain"),
    (catalogue.stderr("oops"), "2026-11-21T14:17:39.059Z ! oops", "oops"),
    (catalogue.warning("low memory"), "2026-11-21T14:17:39.059Z · warning: text=low memory",
     "low memory"),
    (catalogue.turn_end(tool="codex", exit_code=0, status="finished", duration_s=1.5,
                        final_text=" all done \n"),
     "2026-11-21T14:17:39.059Z ■ turn end: finished exit=0 1.5s\nall done", " all done \n"),
    (catalogue.compaction(session_id="S", tool="codex", method="rollover", success=True,
                          message="ok", old_provider_session_id="a",
                          new_provider_session_id="b", compaction_count=1, exit_code=0),
     "2026-11-21T14:17:39.059Z ◆ compaction (rollover): ok; provider id a -> b", "ok"),
    (catalogue.imported("tool_call", "ls", source="claude", source_ts="2026-01-01T01:02:03Z",
                        name="Bash"),
     "2026-01-01T01:02:03Z · tool_call Bash: ls", "ls"),
    (catalogue.evicted(size=10, sha256="ab", last_seq=12),
     "2026-11-21T14:17:39.059Z · evicted: bytes=10 sha256=ab last_seq=12", ""),
]


@pytest.mark.parametrize("event,line,text", EVENTS, ids=[e[0]["type"] for e in EVENTS])
def test_each_type_renders_for_people_and_gives_its_search_text(event, line, text):
    record = ev(3, event)
    assert catalogue.render(record) == line
    assert catalogue.text(record) == text


def test_corrupt_and_odd_events_render_without_raising():
    assert catalogue.render(catalogue.corrupt(3, "invalid JSON: x")) == \
        "?? corrupt line 3: invalid JSON: x"
    odd = ev(14, {"type": "event", "event": {"type": "assistant", "message": "notadict"}})
    assert catalogue.render(odd).startswith("?? unreadable event (seq 14): {'v': 1")
    assert catalogue.render(ev(1, catalogue.prompt(tool=None, text="x" * 300))).endswith("x…")


def test_a_tools_own_render_shows_its_events(monkeypatch):
    from csa.tools.codex import Codex

    monkeypatch.setattr(Codex, "render", lambda self, e: f"mine: {e.get('n')}"
                        if e.get("type") == "mine" else "")
    record = ev(0, catalogue.stdout_event({"type": "mine", "n": 7}))
    assert catalogue.render(record) == "2026-11-21T14:17:39.059Z   [mine] mine: 7"


def test_eviction_stub_is_recognized_only_alone(tmp_path):
    p = tmp_path / "t.jsonl"
    stub = orjson.dumps(ev(5, catalogue.evicted(size=9, sha256="ab", last_seq=4))) + b"\n"
    p.write_bytes(stub)
    assert catalogue.is_eviction_stub(p)
    p.write_bytes(stub + orjson.dumps(ev(6, catalogue.stderr("more"))) + b"\n")
    assert not catalogue.is_eviction_stub(p)
    assert not catalogue.is_eviction_stub(tmp_path / "missing.jsonl")
