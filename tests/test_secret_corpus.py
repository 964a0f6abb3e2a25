"""Held-out-grade redaction: a corpus of 170+ secrets of 100+ kinds (tests/secret_corpus.py),
each in many settings, through the redactor and through the transcript writer (stdout
events, stderr lines, streamed deltas cut anywhere): no secret reaches the disk.
Plus the false-positive rate on the Python standard library's own sources and docs."""

from __future__ import annotations

import random
import sysconfig
from pathlib import Path

import orjson
import pytest
from secret_corpus import Secret, build, contexts, split_points

from csa.redact import Redactor, safe_cut
from csa.secret_rules import COMMAND_FLAGS, SHAPES, TOKENS
from csa.transcript import TranscriptWriter, read_events

R = Redactor()
CORPUS = build(random.Random(20261203))


def test_corpus_is_big_and_varied():
    assert len(CORPUS) >= 150
    assert len({s.kind for s in CORPUS}) >= 100
    assert len({s.secret for s in CORPUS}) == len(CORPUS)
    # and the rule set covers the field: provider rules, csa's shapes, each citing its source
    assert len(TOKENS) + len(SHAPES) + len(COMMAND_FLAGS) >= 130
    assert all(r.source for r in TOKENS + SHAPES)


@pytest.mark.parametrize("s", CORPUS, ids=[s.kind for s in CORPUS])
def test_no_secret_survives_the_redactor(s: Secret):
    for text in contexts(s):
        assert s.secret in text
        out = R.text(text)
        assert s.secret not in out, (s.kind, text, out)
        assert R.text(out) == out  # idempotent
        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError:
            continue
        assert s.secret not in orjson.dumps(R.obj(obj)).decode(), (s.kind, text)


def _delta(text: str) -> str:
    """One streamed message delta as the fake gemini prints it."""
    return orjson.dumps({"type": "message", "timestamp": "2026-12-03T00:00:00.000Z",
                         "role": "assistant", "content": text, "delta": True}).decode()


def _deltas_of(events: list[dict]) -> str:
    return "".join(e["event"]["content"] for e in events
                   if e.get("type") == "event" and e["event"].get("delta"))


def test_no_secret_reaches_the_transcript_by_any_stream(tmp_path):
    """stdout events and text lines, stderr lines, deltas cut inside the secret or
    between its name and value, and in 7-character chunks: all in one transcript."""
    path = tmp_path / "transcript.jsonl"
    with TranscriptWriter(path, redactor=R, flush_bytes=4096) as tw:
        for s in CORPUS:
            for text in contexts(s)[:3]:
                for line in text.splitlines():
                    tw.append_stdout_line(line)
                    tw.append("stderr", text=line)
                cuts = [0, *split_points(text, s.secret), len(text)]
                for a, b in zip(cuts, cuts[1:], strict=False):
                    tw.append_stdout_line(_delta(text[a:b]))
                tw.append_stdout_line('{"type":"result","status":"success"}')
                for i in range(0, len(text), 7):
                    tw.append_stdout_line(_delta(text[i:i + 7]))
                tw.append_stdout_line('{"type":"result","status":"success"}')
    data = path.read_bytes()
    events = list(read_events(path))
    assert [e["seq"] for e in events] == list(range(len(events)))
    streams = {
        "file": data.decode(),
        "stdout": "\n".join(e.get("text", "") for e in events if e["type"] == "stdout"),
        "stderr": "\n".join(e["text"] for e in events if e["type"] == "stderr"),
        "deltas": _deltas_of(events),
    }
    leaks = [(s.kind, name) for s in CORPUS for name, text in streams.items() if s.secret in text]
    assert leaks == [], leaks


def test_a_private_key_on_stderr_is_held_and_redacted_whole(tmp_path):
    key = next(s for s in CORPUS if s.kind == "pem-openssh").text
    path = tmp_path / "t.jsonl"
    with TranscriptWriter(path, redactor=R, flush_bytes=64, flush_interval=0) as tw:
        tw.append("stderr", text="loading key:")
        for line in key.splitlines():
            tw.append("stderr", text=line)  # every append flushes: the block is held back
        tw.append("stderr", text="done")
    texts = [e["text"] for e in read_events(path)]
    assert texts[0] == "loading key:" and texts[-1] == "done"
    assert len(texts) == len(key.splitlines()) + 2
    body = key.splitlines()[1:-1]
    assert not any(b in t for b in body for t in texts)
    assert all(t.startswith("[REDACTED:private-key]") for t in texts[1:-1])


def test_a_torn_private_key_is_redacted_to_the_end(tmp_path):
    key = next(s for s in CORPUS if s.kind == "pem-rsa").text.splitlines()[:-3]  # no END line
    path = tmp_path / "t.jsonl"
    with TranscriptWriter(path, redactor=R) as tw:
        for line in key:
            tw.append_stdout_line(line)
    texts = [e["text"] for e in read_events(path)]
    assert not any(b in t for b in key[1:] for t in texts)


def test_a_value_cut_from_its_name_across_deltas(tmp_path):
    pw = "Vq7" + "xT2" + "mP9!" + "zz"
    path = tmp_path / "t.jsonl"
    with TranscriptWriter(path, redactor=R, flush_bytes=1, flush_interval=0) as tw:
        for part in ("Set it:\nexport DB_PASSWORD", " = ", pw[:5], pw[5:], "\nthen restart"):
            tw.append_stdout_line(_delta(part))
        tw.append_stdout_line('{"type":"result"}')
    events = list(read_events(path))
    assert pw not in _deltas_of(events) and pw[:5] not in _deltas_of(events)
    assert _deltas_of(events).startswith("Set it:\nexport DB_PASSWORD = [REDACTED")
    assert [e["seq"] for e in events] == list(range(6))


def test_stream_holding_keeps_seq_order(tmp_path):
    path = tmp_path / "t.jsonl"
    with TranscriptWriter(path, redactor=R, flush_bytes=1, flush_interval=0) as tw:
        seqs = [tw.append_stdout_line(_delta(f"part {i} ")) for i in range(5)]
        seqs.append(tw.append("stderr", text="a warning"))
        seqs.append(tw.append_stdout_line("plain text"))
    events = list(read_events(path))
    assert [e["seq"] for e in events] == seqs == list(range(7))


def test_cut_redacts_first():
    tok = "gh" + "p_" + "A1b2C3d4E5" * 4
    text = "x" * 70 + " " + tok + " tail"
    assert tok[:8] not in R.cut(text, 80)
    assert len(R.cut(text, 80)) <= 80
    assert "ghp_" not in safe_cut(text, 80)


# --------------------------------------------------------------------------
# False positives on the standard library's own sources and prose docs
# --------------------------------------------------------------------------

STDLIB_FILES = ["argparse.py", "subprocess.py", "inspect.py", "pathlib.py", "typing.py",
                "logging/__init__.py", "email/message.py", "http/client.py", "smtplib.py",
                "ftplib.py", "urllib/request.py", "getpass.py", "netrc.py", "hmac.py",
                "secrets.py", "ssl.py", "imaplib.py", "poplib.py", "configparser.py"]


def _stdlib_lines() -> list[str]:
    base = Path(sysconfig.get_paths()["stdlib"])
    lines: list[str] = []
    for name in STDLIB_FILES:
        p = base / name
        if p.is_file():
            lines += p.read_text(encoding="utf-8", errors="replace").splitlines()
    return lines


def test_false_positives_on_the_stdlib_are_at_most_a_tenth_of_a_percent():
    lines = _stdlib_lines()
    if len(lines) < 3000:
        pytest.skip("the Python standard library sources are not installed")
    changed = [ln for ln in lines if R.text(ln) != ln]
    assert len(changed) <= len(lines) / 1000, (len(changed), len(lines), changed[:20])


def test_false_positives_on_stdlib_docstrings():
    import ast

    base = Path(sysconfig.get_paths()["stdlib"])
    docs: list[str] = []
    for name in STDLIB_FILES:
        p = base / name
        if not p.is_file():
            continue
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8", errors="replace"))):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef, ast.Module)):
                doc = ast.get_docstring(node)
                if doc:
                    docs += doc.splitlines()
    if len(docs) < 1000:
        pytest.skip("the Python standard library sources are not installed")
    changed = [ln for ln in docs if R.text(ln) != ln]
    assert len(changed) <= len(docs) / 1000, (len(changed), len(docs), changed[:20])
