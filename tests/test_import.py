"""`csa import`: the AI CLIs' own transcripts (real captured formats) become csa sessions."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sqlite3
import string
import sys
from pathlib import Path

import pytest

from csa.ids import ulid_timestamp_ms
from csa.importers import import_sessions
from csa.store import Store
from csa.transcript import read_events
from helpers import invoke

FIX = Path(__file__).resolve().parent / "fixtures" / "import"
SIDECHAIN = FIX / "synthetic" / "claude-sidechain"
SIDE_PARENT = "c7110c51-d3da-4dad-90c5-aeeb34198ddc"
LEGACY_PARENT = "5e1dc0de-0000-4000-8000-00000000a11e"
TOOL_DIR = {"claude": "claude-code", "codex": "codex", "gemini": "gemini-cli",
            "opencode": "opencode"}


@pytest.fixture(autouse=True)
def no_tool_env(monkeypatch):
    # A developer's own tool settings must not point the readers at real stores.
    for var in ("CODEX_HOME", "CLAUDE_CONFIG_DIR"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def home(isolated_env):
    return isolated_env / "home"


def capture(source: str) -> dict:
    return json.loads((FIX / TOOL_DIR[source] / "capture.json").read_text())


def fixture_files(source: str) -> list[Path]:
    cap = capture(source)
    return [FIX / TOOL_DIR[source] / name for name in cap["files"]]


def rewritten(path: Path, cap: dict, project: Path, home: Path) -> str:
    """A fixture's text with the capture's project/home paths replaced by the test's."""
    text = path.read_text()
    return text.replace(cap["project_dir"], str(project)).replace(cap["home"], str(home))


def mangle(path: Path) -> str:
    return "".join(c if c.isalnum() else "-" for c in str(path))


def place(source: str, project: Path, home: Path, text_filter=None) -> list[Path]:
    """Copy a real fixture where its tool keeps it, cwd rewritten to `project`."""
    cap = capture(source)
    out = []
    for f in fixture_files(source):
        text = rewritten(f, cap, project, home)
        if text_filter is not None:
            text = text_filter(text)
        if source == "claude":
            dest = home / ".claude" / "projects" / mangle(project) / f.name
        elif source == "codex":
            dest = home / ".codex" / "sessions" / "2026" / "11" / "21" / f.name
        elif source == "gemini":
            slug = home / ".gemini" / "tmp" / "proj"
            dest = slug / "chats" / f.name
            slug.mkdir(parents=True, exist_ok=True)
            (slug / ".project_root").write_text(str(project))
        else:  # opencode: the stdout of `opencode export <id>`, given with --path
            dest = home / "exports" / f.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text)
        out.append(dest)
    return out


def run(source: str, home: Path, **kw):
    if source == "opencode" and "paths" not in kw:
        kw["paths"] = [str(home / "exports")]
    return import_sessions(source, **kw)


def events_of(store: Store, sid: str) -> list[dict]:
    return list(read_events(store.session(sid).transcript_path))


def tree_hash(root: Path) -> str:
    h = hashlib.sha256()
    if not root.exists():
        return "absent"
    for dirpath, dirnames, filenames in sorted(os.walk(root)):
        dirnames.sort()
        for name in sorted(filenames):
            p = Path(dirpath) / name
            h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes() + b"\0")
        h.update(("D:" + os.path.relpath(dirpath, root)).encode())
    return h.hexdigest()


def all_state_bytes(state_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in state_dir.rglob("*") if p.is_file())


# -- the real formats -----------------------------------------------------------------

@pytest.mark.parametrize("source", ["claude", "codex", "gemini", "opencode"])
def test_real_fixture_becomes_a_session(source, project, home):
    cap = capture(source)
    place(source, project, home)
    report = run(source, home)
    assert (report.created, report.updated, report.bad_lines) == (1, 0, 0), report.to_json()
    store = Store.open()
    [sid] = store.ids()
    st = store.session(sid).load()
    tool = TOOL_DIR[source]
    assert st.tools[tool].provider_session_id == cap["provider_session_id"]
    assert st.description == "first prompt"
    assert st.extra["import"]["provider_session_id"] == cap["provider_session_id"]
    assert st.extra["import"]["source"] == source
    evs = events_of(store, sid)
    assert [e["seq"] for e in evs] == list(range(len(evs)))
    assert all(e["type"] == "imported" and e["source"] == source and e.get("source_ts")
               for e in evs)
    said = [e["text"] for e in evs if e["role"] == "user"]
    replies = [e["text"] for e in evs if e["role"] == "assistant"]
    assert said == cap["prompts"] and replies == cap["replies"]
    digest = st.extra["digest"]
    assert digest["turns"] >= 2 and digest["outcome"] == "success"
    assert digest["tokens"]["input_tokens"] == 20 and digest["tokens"]["output_tokens"] == 10
    assert st.turn_count == 2
    # times come from the source, and the ULID sorts by the source's start
    assert st.created_at.year == 2026 and st.created_at <= st.last_accessed
    assert abs(int(st.created_at.timestamp() * 1000) - ulid_timestamp_ms(sid)) < 1000


@pytest.mark.parametrize("source", ["claude", "codex", "gemini", "opencode"])
def test_rerun_imports_nothing_new(source, project, home):
    place(source, project, home)
    run(source, home)
    store = Store.open()
    sessions_before = tree_hash(store.sessions_dir)
    report = run(source, home)
    assert (report.created, report.updated, report.events) == (0, 0, 0)
    assert report.unchanged == 1
    assert tree_hash(store.sessions_dir) == sessions_before
    cursors = store.dir / "import" / "cursors.json"
    assert oct(cursors.stat().st_mode & 0o777) == "0o600"


def split_fixture(source: str, project: Path, home: Path, first_lines: int) -> tuple[Path, str]:
    """Place only the first lines of a JSONL fixture; returns (path, the rest)."""
    [dest] = place(source, project, home)
    lines = dest.read_text().splitlines(keepends=True)
    dest.write_text("".join(lines[:first_lines]))
    return dest, "".join(lines[first_lines:])


def first_turn_end(source: str) -> int:
    """Index after the first line that holds the first reply as a model message."""
    reply = capture(source)["replies"][0]
    lines = fixture_files(source)[0].read_text().splitlines()
    return next(i for i, line in enumerate(lines)
                if reply in line and ('"assistant"' in line or '"gemini"' in line)) + 1


@pytest.mark.parametrize("source", ["claude", "codex", "gemini"])
def test_grown_source_appends_only_new_lines(source, project, home):
    cap = capture(source)
    dest, rest = split_fixture(source, project, home, first_turn_end(source))
    r1 = run(source, home)
    assert r1.created == 1
    store = Store.open()
    [sid] = store.ids()
    assert [e["text"] for e in events_of(store, sid) if e["role"] == "user"] == \
        cap["prompts"][:1]
    with open(dest, "a") as f:
        f.write(rest)
    r2 = run(source, home)
    assert (r2.created, r2.updated) == (0, 1) and r2.events > 0
    assert store.ids() == [sid]
    evs = events_of(store, sid)
    assert [e["seq"] for e in evs] == list(range(len(evs)))
    # gemini's resume replays the whole history through `$set`: nothing is doubled
    assert [e["text"] for e in evs if e["role"] == "user"] == cap["prompts"]
    assert [e["text"] for e in evs if e["role"] == "assistant"] == cap["replies"]
    st = store.session(sid).load()
    assert st.extra["digest"]["turns"] == 2 and st.turn_count == 2
    assert st.extra["import"]["last_seq"] == evs[-1]["seq"]
    assert run(source, home).events == 0


def test_gemini_resume_stub_file_is_merged_by_session_id(project, home):
    [dest] = place("gemini", project, home)
    lines = dest.read_text().splitlines(keepends=True)
    # What a resume in a later minute writes: header + replayed history, no new turn.
    resume_at = [i for i, line in enumerate(lines) if '"kind"' in line][1]
    stub = dest.with_name("session-2026-11-21T14-57-cd52a4fa.jsonl")
    stub.write_text("".join(lines[resume_at:resume_at + 4]))
    report = run("gemini", home)
    assert report.created == 1
    store = Store.open()
    [sid] = store.ids()
    users = [e["text"] for e in events_of(store, sid) if e["role"] == "user"]
    assert users == capture("gemini")["prompts"]
    # a stub appearing later is merged into the same session too
    stub2 = dest.with_name("session-2026-11-21T14-59-cd52a4fa.jsonl")
    stub2.write_text("".join(lines[resume_at:resume_at + 4]))
    r2 = run("gemini", home)
    assert (r2.created, r2.events) == (0, 0) and store.ids() == [sid]


def test_lost_cursor_file_never_duplicates(project, home):
    dest, rest = split_fixture("codex", project, home, first_turn_end("codex"))
    run("codex", home)
    store = Store.open()
    (store.dir / "import" / "cursors.json").unlink()
    assert run("codex", home).created == 0
    with open(dest, "a") as f:
        f.write(rest)
    report = run("codex", home)
    assert (report.created, report.updated) == (0, 1)
    [sid] = store.ids()
    assert [e["text"] for e in events_of(store, sid) if e["role"] == "user"] == \
        capture("codex")["prompts"]


def test_session_made_by_csa_run_is_not_imported_again(project, home):
    from helpers import make_session

    store = Store.open()
    made = make_session(store, "from csa run",
                        tools={"codex": capture("codex")["provider_session_id"]})
    dest, rest = split_fixture("codex", project, home, first_turn_end("codex"))
    report = run("codex", home)
    assert report.created == 0 and store.ids() == [made.meta_session_id]
    assert "already a csa session" in report.skipped_sources[0]["reason"]
    assert run("codex", home).unchanged == 1  # quiet until the tool writes more
    with open(dest, "a") as f:
        f.write(rest)
    grown = run("codex", home)
    assert (grown.created, grown.updated) == (0, 0) and store.ids() == [made.meta_session_id]
    assert not store.session(made.meta_session_id).transcript_path.exists()


# -- secrets, sidechains, bad input ----------------------------------------------------

def _alnum(n: int) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(n))


def test_planted_secrets_are_redacted_everywhere(project, home, state_dir):
    gh = "ghp_" + _alnum(36)
    ant = "sk-ant-api03-" + _alnum(93) + "AA"
    # The GitHub token straddles the 80-char description cut: cut after redacting.
    prompt = "please use this token for the push, it is " + "x" * 18 + " " + gh + " ok"

    def plant(text: str) -> str:
        return text.replace('"first prompt"', json.dumps(prompt)).replace(
            "MOCK-REPLY #2 (user turns seen: 2)", f"the key is {ant} keep it")

    place("claude", project, home, plant)
    report = run("claude", home)
    assert report.created == 1
    store = Store.open()
    [sid] = store.ids()
    texts = " ".join(e["text"] for e in events_of(store, sid))
    assert "[REDACTED" in texts and "please use this token" in texts
    blob = all_state_bytes(state_dir)
    for secret in (gh, ant, gh[:24], ant[:30]):
        assert secret.encode() not in blob
    assert "[REDACTED" in store.session(sid).load().description


def place_sidechains(project: Path, home: Path) -> Path:
    dest = home / ".claude" / "projects" / mangle(project)
    for src in SIDECHAIN.rglob("*"):
        if src.is_file() and src.name != "README.md":
            out = dest / src.relative_to(SIDECHAIN)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(src.read_text().replace("/tmp/csa-fixture/proj", str(project))
                           .replace("/tmp/csa-fixture/home", str(home)))
    return dest


def test_claude_sidechains_become_child_sessions_in_the_tree(project, home):
    place_sidechains(project, home)
    res = invoke("import", "claude", "--json")
    assert res.exit_code == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["created"] == 4
    rows = json.loads(invoke("session", "list", "--tree", "--json").stdout)
    by_desc = {r["description"]: r for r in rows}
    for parent_desc, child_desc in [("please delegate this", "SUBAGENT-TASK: say hi"),
                                    ("where is the config loaded? use an agent",
                                     "Find where the config is loaded")]:
        parent, child = by_desc[parent_desc], by_desc[child_desc]
        assert parent["level"] == 0 and child["level"] == 1
        assert child["parent_session_id"] == parent["id"]
        assert rows.index(child) == rows.index(parent) + 1
    store = Store.open()
    child = store.session(by_desc["SUBAGENT-TASK: say hi"]["id"]).load()
    assert child.depth == 1
    assert child.extra["import"]["agent_id"] == "ac887a4caade171cf"
    assert child.extra["import"]["provider_session_id"] == SIDE_PARENT
    # not resumable on its own: no provider id of its own
    assert child.tools["claude-code"].provider_session_id is None
    assert child.tools["claude-code"].model == "claude-opus-5-5"
    parent = store.session(by_desc["please delegate this"]["id"]).load()
    assert parent.tools["claude-code"].provider_session_id == SIDE_PARENT
    assert parent.extra["digest"]["tool_calls"] == {"Agent": 1}
    legacy_child = store.session(by_desc["Find where the config is loaded"]["id"]).load()
    assert legacy_child.extra["digest"]["tool_calls"] == {"Grep": 1}
    assert legacy_child.extra["import"]["agent_id"] == "a1b2c3d4"
    assert legacy_child.git_branch == "main"
    # idempotent for children too
    again = json.loads(invoke("import", "claude", "--json").stdout)
    assert (again["created"], again["updated"]) == (0, 0)
    assert len(store.ids()) == 4


def test_in_file_sidechain_growing_appends_to_the_same_child(project, home):
    dest = place_sidechains(project, home) / f"{LEGACY_PARENT}.jsonl"
    lines = dest.read_text().splitlines(keepends=True)
    dest.write_text("".join(lines[:4]))  # summary, prompt, Task call, sub-agent prompt
    run("claude", home)
    store = Store.open()
    assert len(store.ids()) == 4  # both parents, both sub-agents
    with open(dest, "a") as f:
        f.write("".join(lines[4:]))
    report = run("claude", home)
    assert report.created == 0 and report.updated == 2  # the legacy parent and its child
    assert len(store.ids()) == 4
    kid = next(s for s in store.ids() if store.session(s).load().parent_session_id
               and store.session(s).load().extra["import"].get("agent_id") == "a1b2c3d4")
    evs = events_of(store, kid)
    assert [e["seq"] for e in evs] == list(range(len(evs)))
    assert [e["role"] for e in evs] == ["user", "tool_call", "tool_result", "assistant"]


def test_corrupt_and_unknown_lines_are_skipped_and_reported(project, home):
    [dest] = place("codex", project, home)
    lines = dest.read_text().splitlines(keepends=True)
    lines.insert(3, "{this is not json\n")
    lines.insert(8, '{"timestamp": "2026-11-21T14:54:53.9Z", "type": "respo\n')  # truncated
    lines.insert(10, "[1, 2, 3]\n")
    lines.insert(12, json.dumps({"timestamp": "2026-11-21T14:54:53.95Z",
                                 "type": "brand_new_record", "payload": {}}) + "\n")
    dest.write_text("".join(lines))
    res = invoke("import", "codex")
    assert res.exit_code == 0, res.stderr
    assert "Traceback" not in res.stderr
    assert "3 corrupt line(s) skipped" in res.stderr
    assert f"{dest}:4: invalid JSON" in res.stderr
    store = Store.open()
    [sid] = store.ids()
    evs = events_of(store, sid)
    assert [e["text"] for e in evs if e["role"] == "user"] == capture("codex")["prompts"]
    unknown = [e for e in evs if e.get("unknown")]
    assert len(unknown) == 1 and unknown[0]["role"] == "system"
    assert "brand_new_record" in unknown[0]["text"]
    report = json.loads(invoke("import", "codex", "--json").stdout)
    assert report["bad_lines"] == 0  # consumed: not reported again


def test_incomplete_last_line_waits_for_the_next_run(project, home):
    dest, rest = split_fixture("codex", project, home, first_turn_end("codex"))
    half = len(rest) // 2
    with open(dest, "a") as f:
        f.write(rest[:half])  # the tool is in the middle of writing
    first = run("codex", home)
    with open(dest, "a") as f:
        f.write(rest[half:])
    second = run("codex", home)
    assert first.bad_lines == 0 and second.bad_lines == 0
    store = Store.open()
    [sid] = store.ids()
    assert [e["text"] for e in events_of(store, sid) if e["role"] == "user"] == \
        capture("codex")["prompts"]


def test_dry_run_leaves_the_state_dir_byte_identical(project, home, state_dir):
    dest, rest = split_fixture("claude", project, home, first_turn_end("claude"))
    assert tree_hash(state_dir) == "absent"
    dry = run("claude", home, dry_run=True)
    assert dry.created == 1 and dry.sessions[0]["session_id"] is None
    assert tree_hash(state_dir) == "absent"
    run("claude", home)
    with open(dest, "a") as f:
        f.write(rest)
    before = tree_hash(state_dir)
    res = invoke("import", "claude", "--dry-run")
    assert res.exit_code == 0 and res.stdout.startswith("WOULD")
    assert "update" in res.stdout and "would create 0 session(s), update 1" in res.stderr
    assert tree_hash(state_dir) == before
    assert run("claude", home).updated == 1


def test_since_filters_by_source_activity(project, home):
    dest = place_sidechains(project, home) / f"{LEGACY_PARENT}.jsonl"
    old = 1_700_000_000  # 2023: the legacy session's file was last written long ago
    os.utime(dest, (old, old))
    report = run("claude", home, since="30d")
    assert {s["description"] for s in report.sessions} == {"please delegate this",
                                                           "SUBAGENT-TASK: say hi"}
    assert any(s["reason"] == "no activity since --since" for s in report.skipped_sources)
    later = run("claude", home)
    assert later.created == 2  # the old one (and its sub-agent) come without --since


def test_other_projects_only_with_all_projects(project, home, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    place("codex", other, home)
    report = run("codex", home)
    assert report.created == 0 and Store.open().ids() == []
    report = run("codex", home, all_projects=True)
    assert report.created == 1
    assert report.sessions[0]["project"] == str(other.resolve())
    assert len(Store.open(other).ids()) == 1


def test_busy_session_is_skipped_and_retried(project, home):
    from csa.lock import SessionLock

    dest, rest = split_fixture("codex", project, home, first_turn_end("codex"))
    run("codex", home)
    store = Store.open()
    [sid] = store.ids()
    with open(dest, "a") as f:
        f.write(rest)
    with SessionLock(store.session(sid).locks_dir, sid, reason="test", grace=0):
        busy = run("codex", home)
    assert busy.updated == 0 and "locked" in busy.skipped_sources[0]["reason"]
    assert run("codex", home).updated == 1


def test_session_continued_with_csa_run_is_not_doubled(project, home):
    from csa.state import RunRecord

    dest, rest = split_fixture("codex", project, home, first_turn_end("codex"))
    run("codex", home)
    store = Store.open()
    [sid] = store.ids()
    st = store.session(sid).load()
    st.run = RunRecord(status="finished", tool="codex", exit_code=0)
    store.session(st.meta_session_id).save(st)
    n = len(events_of(store, sid))
    with open(dest, "a") as f:
        f.write(rest)
    report = run("codex", home)
    assert report.updated == 0 and "continued with csa run" in report.skipped_sources[0]["reason"]
    assert len(events_of(store, sid)) == n


# -- opencode without --path: its SQLite store, or the binary ---------------------------

def build_opencode_db(db: Path, export: dict, child: dict | None = None) -> None:
    db.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(db)
    con.executescript("""
        CREATE TABLE session (id TEXT PRIMARY KEY, project_id TEXT, parent_id TEXT,
            directory TEXT, title TEXT, time_created INTEGER, time_updated INTEGER,
            cost REAL DEFAULT 0, tokens_input INTEGER DEFAULT 0, tokens_output INTEGER DEFAULT 0,
            model TEXT);
        CREATE TABLE message (id TEXT PRIMARY KEY, session_id TEXT, time_created INTEGER,
            time_updated INTEGER, data TEXT);
        CREATE TABLE part (id TEXT PRIMARY KEY, message_id TEXT, session_id TEXT,
            time_created INTEGER, time_updated INTEGER, data TEXT);
    """)
    for exp, parent in ((export, None), (child, export["info"]["id"] if child else None)):
        if exp is None:
            continue
        info = exp["info"]
        con.execute("INSERT INTO session VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (info["id"], "global", parent, info["directory"], info["title"],
                     info["time"]["created"], info["time"]["updated"], 0, 20, 10,
                     json.dumps(info.get("model"))))
        for m in exp["messages"]:
            mi = {k: v for k, v in m["info"].items() if k not in ("id", "sessionID")}
            con.execute("INSERT INTO message VALUES (?,?,?,?,?)",
                        (m["info"]["id"], info["id"], mi["time"]["created"],
                         mi["time"]["created"], json.dumps(mi)))
            for p in m["parts"]:
                pd = {k: v for k, v in p.items() if k not in ("id", "sessionID", "messageID")}
                con.execute("INSERT INTO part VALUES (?,?,?,?,?,?)",
                            (p["id"], m["info"]["id"], info["id"], mi["time"]["created"],
                             mi["time"]["created"], json.dumps(pd)))
    con.commit()
    con.close()


def opencode_export(project: Path, home: Path) -> dict:
    cap = capture("opencode")
    return json.loads(rewritten(fixture_files("opencode")[0], cap, project, home))


def test_opencode_database_sessions_and_child_sessions(project, home, monkeypatch):
    monkeypatch.setenv("PATH", str(home / "no-bin"))  # the DB is read without the binary
    export = opencode_export(project, home)
    child = json.loads(json.dumps(export).replace(export["info"]["id"], "ses_child0001")
                       .replace("first prompt", "child task").replace('"msg_', '"msg_c')
                       .replace('"prt_', '"prt_c'))
    db = home / ".local" / "share" / "opencode" / "opencode.db"
    build_opencode_db(db, export, child)
    report = run("opencode", home, paths=[])
    assert report.created == 2, report.to_json()
    store = Store.open()
    by_pid = {store.session(s).load().tools["opencode"].provider_session_id: store.session(s).load()
              for s in store.ids()}
    parent, kid = by_pid[export["info"]["id"]], by_pid["ses_child0001"]
    assert kid.parent_session_id == parent.meta_session_id and kid.depth == 1
    assert kid.description == "child task"
    assert [e["text"] for e in events_of(store, parent.meta_session_id)
            if e["role"] == "assistant"] == capture("opencode")["replies"]
    assert run("opencode", home, paths=[]).unchanged == 2


def test_opencode_through_its_binary(project, home, monkeypatch):
    export = opencode_export(project, home)
    (home / "export.json").write_text(json.dumps(export))
    bindir = home / "bin"
    bindir.mkdir()
    fake = bindir / "opencode"
    listing = [{"id": export["info"]["id"], "title": "t", "updated": export["info"]["time"]
                ["updated"], "created": export["info"]["time"]["created"],
                "projectId": "global", "directory": str(project)}]
    fake.write_text(f"""#!{sys.executable}
import sys
if sys.argv[1:3] == ["session", "list"]:
    print({json.dumps(json.dumps(listing))})
elif sys.argv[1] == "export" and sys.argv[2] == {export['info']['id']!r}:
    sys.stdout.write(open({str(home / 'export.json')!r}).read())
else:
    sys.exit(1)
""")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    report = run("opencode", home, paths=[])
    assert report.created == 1, report.to_json()
    [sid] = Store.open().ids()
    assert Store.open().session(sid).load().tools["opencode"].provider_session_id == export["info"]["id"]
    assert run("opencode", home, paths=[]).unchanged == 1


# -- the command line ------------------------------------------------------------------

def test_cli_report_and_errors(project, home):
    place("gemini", project, home)
    res = invoke("import", "gemini")
    assert res.exit_code == 0
    assert res.stdout.splitlines()[0].split()[:2] == ["ACTION", "SESSION"]
    assert "Import from gemini: 1 session(s) created" in res.stderr
    data = json.loads(invoke("import", "gemini-cli", "--json").stdout)
    assert data["tool"] == "gemini-cli" and data["unchanged"] == 1 and data["events"] == 0
    assert invoke("import", "nope").exit_code == 2
    assert invoke("import", "codex", "--since", "soon-ish").exit_code == 2
    assert invoke("import", "codex", "--path", str(home / "missing")).exit_code == 2
    empty = invoke("import", "codex")  # no codex store at all: nothing to do
    assert empty.exit_code == 0 and "0 session(s) created" in empty.stderr


def test_concurrent_imports_never_duplicate(project, home):
    import subprocess
    import uuid

    [dest] = place("codex", project, home)
    text = dest.read_text()
    tid = capture("codex")["provider_session_id"]
    for _ in range(15):
        new = str(uuid.uuid4())
        (dest.parent / dest.name.replace(tid, new)).write_text(text.replace(tid, new))
    cmd = [sys.executable, "-m", "csa", "import", "codex", "--json"]
    # this checkout's csa, whatever (if anything) is pip-installed
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    procs = [subprocess.Popen(cmd, cwd=project, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(3)]
    reports = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    assert sum(r["created"] for r in reports) == 16
    store = Store.open()
    assert len(store.ids()) == 16
    pids = {store.session(s).load().tools["codex"].provider_session_id for s in store.ids()}
    assert len(pids) == 16


def test_imported_session_reads_and_resumes_like_any_other(project, home, tmp_path):
    """logs render imported events, result falls back to the last reply, and a resume
    runs the tool in the directory the conversation was recorded in (here a subdirectory
    of the git project, while csa runs from the project's top)."""
    from runkit import csa, fake_env, read_log

    (project / ".git").mkdir()
    sub = project / "pkg" / "sub"
    sub.mkdir(parents=True)
    cap = capture("codex")
    place("codex", sub, home)
    run("codex", home)
    [sid] = Store.open().ids()
    logs = invoke("session", "logs", "-s", sid)
    assert logs.exit_code == 0 and "user: first prompt" in logs.stdout
    res = json.loads(invoke("session", "result", "-s", sid, "--json").stdout)
    assert res["imported"] is True and res["final_text"]
    assert res["provider_session_id"] == cap["provider_session_id"]

    # The fake codex does not know the real thread id: seed its store with it.
    env = fake_env(tmp_path, FAKE_LOG=str(tmp_path / "fake.log"))
    store_dir = Path(env["FAKE_CLI_HOME"]) / "codex"
    store_dir.mkdir(parents=True)
    (store_dir / f"{cap['provider_session_id']}.json").write_text(json.dumps(
        {"tool": "codex", "id": cap["provider_session_id"], "cwd": str(sub),
         "model": None, "created_ms": 0, "updated_ms": 0,
         "turns": ["first prompt", "second prompt"], "replies": [], "compactions": 0,
         "transcript": None, "last_uuid": None}))
    r = csa("run", "-s", sid, "continue", env=env, cwd=project)
    assert r.returncode == 0, r.stderr
    assert "user turns seen: 3" in r.stdout
    assert read_log(tmp_path / "fake.log")[-1]["cwd"] == str(sub)


def test_description_is_redacted_before_it_is_cut():
    from csa.redact import Redactor
    from csa.turn.choose import default_description

    secret = "ghp_" + "A1b2C3d4E5" * 4  # crosses the 80-character cut
    desc = default_description(Redactor(), "x" * 60 + " " + secret)
    assert "ghp_" not in desc and "A1b2C3" not in desc


# -- ids from files are validated against the tool's id format ----------------------------

@pytest.mark.parametrize("bad", ["--last", "--output-last-message=/tmp/x", "not-a-uuid"])
def test_a_malformed_provider_id_is_never_imported(bad, project, home):
    cap = capture("codex")
    place("codex", project, home, text_filter=lambda t: t.replace(
        f'"id":"{cap["provider_session_id"]}"', json.dumps({"id": bad})[1:-1]))
    report = run("codex", home)
    assert report.created == 0 and Store.open().ids() == []
    [skipped] = report.skipped_sources
    assert "is not a valid codex id" in skipped["reason"] and bad[:20] in skipped["reason"]
