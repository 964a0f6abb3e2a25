"""`csa session scrub`: a secret an older rule set let through (written raw, as an older csa
would have) leaves every file, index page and git object; --dry-run changes nothing."""

from __future__ import annotations

import hashlib
import json
import secrets
import string
import subprocess

import orjson
import pytest
from gone_scan import where

from csa.store import Store
from runkit import csa, fake_env, session_id_from


@pytest.fixture
def env(tmp_path, project):
    return fake_env(tmp_path, FAKE_LOG=str(tmp_path / "fake.log"))


def ok(res):
    assert res.returncode == 0, res.stderr
    return res


def snapshot(state_dir) -> dict:
    """Content of every file a dry run must leave alone (SQLite's shared memory, an empty
    WAL a reader opens and lock files are not content)."""
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in state_dir.rglob("*")
            if p.is_file() and not p.name.endswith(("-shm", ".lock"))
            and not (p.name.endswith("-wal") and p.stat().st_size == 0)}


def plant(session, secret: str) -> None:
    """Write `secret` raw where an older csa's rules would have let it through."""
    path = session.transcript_path
    last = orjson.loads(path.read_bytes().splitlines()[-1])
    with open(path, "ab") as f:
        f.write(orjson.dumps({"v": 1, "seq": last["seq"] + 1, "ts": last["ts"], "type": "stdout",
                              "text": f"export KEY {secret}"}) + b"\n")
    state = session.state_path.read_text()
    session.state_path.write_text(state.replace('description = "', f'description = "{secret} ', 1))
    with open(session.journal_path, "a") as f:
        f.write(f"\n- found the key {secret}\n")
    result = session.output_file("result.toml")
    result.write_text(result.read_text().replace("FAKE-REPLY", f"FAKE-REPLY {secret}", 1))


def test_scrub_removes_a_secret_older_rules_missed(env, project, state_dir):
    secret = "ghp_" + "".join(secrets.choice(string.ascii_letters + string.digits)
                              for _ in range(36))
    sid = session_id_from(ok(csa("run", "--tool", "codex", "plain words", env=env,
                                 cwd=project)).stderr)
    other = session_id_from(ok(csa("run", "--tool", "codex", "clean one", env=env,
                                   cwd=project)).stderr)
    ok(csa("session", "checkpoint", "-s", sid, "-m", "first", env=env, cwd=project))
    session = Store.open(cd=str(project)).session(sid)
    plant(session, secret)
    ok(csa("session", "checkpoint", "-s", sid, "-m", "second", env=env, cwd=project))
    sessions = session.store.sessions_dir
    git = ["git", "-C", str(sessions)]
    commit = subprocess.run([*git, "rev-parse", f"refs/csa/sessions/{sid}"], capture_output=True,
                            text=True, check=True).stdout.strip()
    note = subprocess.run([*git, "notes", "--ref", f"refs/notes/csa/{sid}", "show", commit],
                          capture_output=True, text=True, check=True).stdout
    subprocess.run([*git, "notes", "--ref", f"refs/notes/csa/{sid}", "add", "-f", "-m",
                    note.replace('note = "second"', f'note = "second {secret}"'), commit],
                   check=True, capture_output=True)
    ok(csa("session", "search", "plain", env=env, cwd=project))  # indexes the planted line
    seqs = [orjson.loads(x)["seq"] for x in session.transcript_path.read_bytes().splitlines()]
    found = where(state_dir, secret.encode())
    assert any("index.sqlite3" in h for h in found) and any("git objects" in h for h in found)
    assert any(h.endswith("transcript.jsonl") for h in found)

    before = snapshot(state_dir)
    dry = json.loads(ok(csa("session", "scrub", "--dry-run", "--json", env=env,
                            cwd=project)).stdout)
    assert snapshot(state_dir) == before
    assert [s["id"] for s in dry["sessions"]] == [sid]
    files = {f["file"] for f in dry["sessions"][0]["files"]}
    assert {"transcript.jsonl", "state.toml", "journal.md", "output/result.toml",
            "search index", "checkpoints"} <= files, files
    human = ok(csa("session", "scrub", "--dry-run", env=env, cwd=project)).stdout
    assert "would change" in human and "transcript.jsonl" in human

    done = json.loads(ok(csa("session", "scrub", "--json", env=env, cwd=project)).stdout)
    assert {f["file"] for f in done["sessions"][0]["files"]} == files
    assert where(state_dir, secret.encode(), secret[-16:].lower().encode()) == []
    # seq kept, history and search still work, and a second scrub finds nothing.
    assert [orjson.loads(x)["seq"] for x in
            session.transcript_path.read_bytes().splitlines()] == seqs
    assert b"[REDACTED" in session.transcript_path.read_bytes()
    ok(csa("session", "verify", "-s", sid, env=env, cwd=project))
    cps = json.loads(ok(csa("session", "checkpoints", "-s", sid, "--json", env=env,
                            cwd=project)).stdout)
    assert [c["note"] for c in cps][-1] == "first" and "REDACTED" in cps[0]["note"]
    hits = json.loads(ok(csa("session", "search", "plain", "--json", env=env,
                             cwd=project)).stdout)
    assert sid in {h["session_id"] for h in hits}
    assert other not in {s["id"] for s in done["sessions"]}
    again = json.loads(ok(csa("session", "scrub", "-s", sid, "--json", env=env, cwd=project)).stdout)
    assert again["sessions"] == [] and again["changed"] == 0


def test_scrub_catches_a_secret_split_across_stored_records(env, project, state_dir):
    """A key printed on stderr one line per record and a password cut across streamed
    deltas, stored raw by an older csa: no record alone holds a secret."""
    sid = session_id_from(ok(csa("run", "--tool", "codex", "plain words", env=env,
                                 cwd=project)).stderr)
    session = Store.open(cd=str(project)).session(sid)
    body = ["".join(secrets.choice(string.ascii_letters + string.digits + "+/") for _ in range(64))
            for _ in range(6)]
    dashes = "-" * 5
    key = [f"{dashes}BEGIN OPENSSH PRIVATE KEY{dashes}", *body, f"{dashes}END OPENSSH PRIVATE KEY{dashes}"]
    password = "Zq" + secrets.token_hex(6) + "!x"
    deltas = ["export DB_PASSWORD", "=" + password[:5], password[5:] + " and more", " words"]
    path = session.transcript_path
    last = orjson.loads(path.read_bytes().splitlines()[-1])
    seq, ts = last["seq"], last["ts"]
    with open(path, "ab") as f:
        for line in key:
            seq += 1
            f.write(orjson.dumps({"v": 1, "seq": seq, "ts": ts, "type": "stderr", "text": line}) + b"\n")
        for d in deltas:
            seq += 1
            ev = {"type": "message", "role": "assistant", "content": d, "delta": True}
            f.write(orjson.dumps({"v": 1, "seq": seq, "ts": ts, "type": "event", "stream": "stdout",
                                  "event": ev}) + b"\n")
    seqs = [orjson.loads(x)["seq"] for x in path.read_bytes().splitlines()]
    rep = json.loads(ok(csa("session", "scrub", "-s", sid, "--json", env=env, cwd=project)).stdout)
    assert rep["changed"] >= len(body) + 2
    data = path.read_bytes()
    for line in body:
        assert line.encode() not in data
    assert password[:5].encode() not in data and password[5:].encode() not in data
    assert [orjson.loads(x)["seq"] for x in data.splitlines()] == seqs
    assert b"export DB_PASSWORD" in data and b" words" in data  # the rest stays
