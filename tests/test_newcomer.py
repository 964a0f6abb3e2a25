"""Issue 18, the newcomer's list: each surprise of a first hour with csa, through the CLI."""

from __future__ import annotations

import json
import re
import sys

import pytest

from helpers import REPO, invoke, make_session
from runkit import ULID_RE, csa, fake_env, session_id_from, spawn, wait_for


@pytest.fixture
def env(tmp_path, project):
    return fake_env(tmp_path)


@pytest.fixture
def store(project):
    from csa.store import Store

    return Store.open()


def _ids(res) -> list[str]:
    return [r["id"] for r in json.loads(res.stdout)]


# -- a failed turn says why, once, and does not list as active ------------------------------

def test_a_tools_own_error_is_shown_once_on_failure(env, project):
    res = csa("run", "--tool", "codex", "fail please", env={**env, "FAKE_EXIT": "1"},
              cwd=project)
    assert res.returncode == 1
    lines = [x for x in res.stderr.splitlines() if "simulated failure" in x]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("csa: codex failed (exit 1): FAKE_EXIT=1: simulated failure")
    assert "csa session logs -s" in lines[0]
    sid = session_id_from(res.stderr)
    shown = csa("session", "result", "-s", sid, env=env, cwd=project).stdout
    assert shown.count("simulated failure") == 1, shown


def test_an_error_the_tool_printed_on_stderr_is_not_repeated(env, project):
    res = csa("run", "--tool", "codex", "x", cwd=project,
              env={**env, "FAKE_EXIT": "2", "FAKE_STDERR": "FAKE_EXIT=2: simulated failure"})
    assert res.returncode == 2
    assert res.stderr.count("simulated failure") == 1, res.stderr
    assert "csa: codex failed (exit 2)" in res.stderr


def test_a_crash_without_a_word_still_gets_a_message(env, project):
    res = csa("run", "--tool", "codex", "crash", env={**env, "FAKE_CRASH": "1"}, cwd=project)
    assert res.returncode == 3
    assert "csa: codex failed (exit 3) without an error message" in res.stderr, res.stderr


def test_a_failure_the_tool_explained_in_its_answer_is_not_called_wordless(env, project):
    csa("run", "--tool", "claude", "hello", env=env, cwd=project)
    res = csa("run", "--last", "/compact", env=env, cwd=project)  # too early: claude refuses
    assert res.returncode == 1
    assert "Not enough messages to compact." in res.stdout, res.stdout
    assert "csa: claude-code failed (exit 1); see: csa session logs" in res.stderr, res.stderr
    assert "without an error message" not in res.stderr


def test_failed_runs_do_not_list_as_active(env, project):
    ok = session_id_from(csa("run", "--tool", "codex", "fine", env=env, cwd=project).stderr)
    bad = session_id_from(csa("run", "--tool", "codex", "x", env={**env, "FAKE_EXIT": "1"},
                              cwd=project).stderr)
    rows = {r["id"]: r["status"] for r in json.loads(
        csa("session", "list", "--json", env=env, cwd=project).stdout)}
    assert rows == {ok: "active", bad: "failed"}
    failed = csa("session", "list", "--status", "failed", "--json", env=env, cwd=project)
    assert _ids(failed) == [bad]


# -- compress, config, doctor, state dir ----------------------------------------------------

def test_compress_on_a_running_session_says_it_is_running(env, project):
    proc = spawn("run", "--tool", "codex", "slow", env={**env, "FAKE_SLEEP": "5"}, cwd=project)
    try:
        sid = wait_for(lambda: (lambda r: r[0]["id"] if r else None)(json.loads(
            csa("session", "list", "--json", env=env, cwd=project).stdout)))
        wait_for(lambda: csa("session", "is-alive", "-s", sid, env=env,
                             cwd=project).returncode == 0)
        res = csa("session", "compress", "-s", sid, env=env, cwd=project)
        assert res.returncode == 1
        assert "a turn is running" in res.stderr and "has not run any tool" not in res.stderr
    finally:
        proc.kill()
        proc.communicate()


def test_an_invalid_default_tool_is_caught_by_config_show_and_doctor(project):
    (project / ".csa").mkdir()
    (project / ".csa" / "config.toml").write_text('default_tool = "bogus"\n')
    res = invoke("config", "show")
    assert res.exit_code == 1 and "default_tool 'bogus'" in res.stderr
    assert "choose from claude-code" in res.stderr
    res = invoke("doctor")
    assert res.exit_code == 1 and "problem: default_tool 'bogus'" in res.stdout


@pytest.mark.parametrize("kind", ["file", "under-a-file"])
def test_doctor_checks_the_state_dir_is_a_writable_dir(kind, tmp_path, project, monkeypatch):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    state = blocker if kind == "file" else blocker / "state"
    monkeypatch.setenv("CSA_STATE_DIR", str(state))
    res = invoke("doctor")
    assert res.exit_code == 1 and "problem: state dir" in res.stdout, res.stdout
    assert "CSA_STATE_DIR" in res.stdout


def test_run_never_shows_a_raw_os_error(env, tmp_path, project):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    res = csa("run", "--tool", "codex", "hi", env={**env, "CSA_STATE_DIR": str(blocker / "s")},
              cwd=project)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "internal error" not in res.stderr and "CSA_STATE_DIR" in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_a_relative_state_dir_is_refused(env, project):
    res = csa("run", "--tool", "codex", "hi", env={**env, "CSA_STATE_DIR": "rel"}, cwd=project)
    assert res.returncode == 2 and "CSA_STATE_DIR must be an absolute path" in res.stderr
    assert not (project / "rel").exists()


# -- names and filters ----------------------------------------------------------------------

def test_short_aliases_are_accepted_everywhere(env, project):
    for alias, name in (("claude", "claude-code"), ("gemini", "gemini-cli")):
        res = csa("run", "--tool", alias, "hi", env=env, cwd=project)
        assert res.returncode == 0 and f"({name})" in res.stderr, res.stderr
        listed = csa("session", "list", "--tool", alias, "--json", env=env, cwd=project)
        assert listed.returncode == 0 and len(json.loads(listed.stdout)) == 1


def test_unknown_filter_values_are_errors_listing_valid_values(store):
    make_session(store, "a", tools={"codex": "t1"})
    res = invoke("session", "list", "--tool", "bogus")
    assert res.exit_code == 2 and "unknown tool 'bogus'" in res.stderr
    assert "codex" in res.stderr and "gemini-cli" in res.stderr
    res = invoke("events", "--type", "bogus")
    assert res.exit_code == 2 and "unknown event type 'bogus'" in res.stderr
    assert "session_start" in res.stderr


def test_an_empty_filtered_list_does_not_suggest_csa_run(store):
    make_session(store, "a", tools={"codex": "t1"})
    res = invoke("session", "list", "--tool", "opencode")
    assert res.exit_code == 0 and "csa run" not in res.stderr
    assert "No sessions match" in res.stderr


def test_switching_tools_on_resume_says_the_conversation_is_not_carried(env, project):
    sid = session_id_from(csa("run", "--tool", "codex", "one", env=env, cwd=project).stderr)
    res = csa("run", "-s", sid[:10], "--tool", "claude", "two", env=env, cwd=project)
    assert res.returncode == 0
    assert "the earlier one with codex is not carried over" in res.stderr, res.stderr
    same = csa("run", "-s", sid[:10], "--tool", "codex", "three", env=env, cwd=project)
    assert "carried over" not in same.stderr


# -- one format for times and ids, no Python-isms -------------------------------------------

STAMP = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\b")
ANY_TIME = re.compile(r"\d\d:\d\d:\d\d")


def test_one_timestamp_format_and_one_id_width(env, project):
    sid = session_id_from(csa("run", "--tool", "codex", "hello there", env=env,
                              cwd=project).stderr)
    csa("run", "--tool", "claude", "another one", env=env, cwd=project)
    assert csa("session", "checkpoint", "-s", sid, env=env, cwd=project).returncode == 0
    outputs = {cmd: csa(*cmd.split(), env=env, cwd=project).stdout for cmd in (
        f"session show -s {sid}", f"session result -s {sid}", f"session logs -s {sid}",
        "session checkpoints", f"session log -s {sid}", "events", "session search hello")}
    for cmd, out in outputs.items():
        for line in out.splitlines():
            for t in ANY_TIME.finditer(line):  # every time of day is part of one format
                whole = line[max(0, t.start() - 11):t.end() + 5]
                assert STAMP.search(whole), f"{cmd}: {line!r}"
    widths = set()
    for cmd in ("session list", "session list --tree", "session search hello",
                "session checkpoints"):
        out = csa(*cmd.split(), env=env, cwd=project).stdout
        widths |= {len(m.group(0)) for m in re.finditer(r"\b01[0-9A-HJKMNP-TV-Z]{6,24}\b", out)
                   if sid.startswith(m.group(0)) or True}
    assert widths == {10}, widths


def test_no_python_isms_in_output(env, project):
    sid = session_id_from(csa("run", "--tool", "codex", "hi", env=env, cwd=project).stderr)
    assert csa("session", "checkpoint", "-s", sid, env=env, cwd=project).returncode == 0
    text = "".join(csa(*cmd, env=env, cwd=project).stdout for cmd in (
        ("session", "show", "-s", sid), ("events",), ("session", "log", "-s", sid),
        ("session", "logs", "-s", sid)))
    for bad in ("None", "False", "True", "{'", "''"):
        assert bad not in text, (bad, text)
    assert re.search(r"^compacted\s+no$", text, re.M)


# -- gc, import, usage errors, search, terminals --------------------------------------------

def test_gc_speaks_its_own_words_and_reports_an_unmet_budget(env, project):
    csa("run", "--tool", "codex", "hi", env=env, cwd=project)
    res = csa("gc", env=env, cwd=project)
    assert res.returncode == 0 and "session(s) removed" not in res.stderr
    assert re.search(r"^gc: 0 stale locks, 0 orphan dirs and 0 temp files removed, "
                     r"0 sessions retired", res.stderr, re.M), res.stderr
    res = csa("gc", "--max-bytes", "1", "--force", env=env, cwd=project)
    assert "NOT met" in res.stderr and "never evicted" in res.stderr, res.stderr
    res = csa("gc", "--max-bytes", "1G", env=env, cwd=project)
    assert "(met)" in res.stderr


def test_import_prints_a_summary_not_one_line_per_skipped_source(tmp_path, project,
                                                                  monkeypatch):
    home = tmp_path / "home"
    store_dir = home / ".claude" / "projects" / "-elsewhere"
    store_dir.mkdir(parents=True)
    for i in range(5):
        (store_dir / f"{i:08d}-0000-4000-8000-000000000000.jsonl").write_text(
            json.dumps({"type": "user", "cwd": "/elsewhere/nothere", "sessionId": "x",
                        "message": {"role": "user", "content": "hi"}}) + "\n")
    res = invoke("import", "claude", "--all-projects")
    skipped = [x for x in res.stderr.splitlines() if x.startswith("skipped")]
    assert len(skipped) <= 1, res.stderr


@pytest.mark.parametrize("args", [("--detach", "--ephemeral", "x"), ("--cd", "/nonexistent", "x")])
def test_usage_errors_exit_2(env, project, args):
    res = csa("run", *args, env=env, cwd=project)
    assert res.returncode == 2, res.stderr


def test_each_search_hit_appears_once(env, project):
    for tool in ("codex", "gemini", "claude"):
        csa("run", "--tool", tool, "find the pelican", env=env, cwd=project)
    res = csa("session", "search", "pelican", "--json", env=env, cwd=project)
    hits = json.loads(res.stdout)
    keys = [(h["session_id"], " ".join(h["snippet"].split())) for h in hits]
    assert len(keys) == len(set(keys)), keys
    assert len({h["session_id"] for h in hits}) == 3


def test_an_ascii_only_terminal_never_crashes(env, project):
    ascii_env = {**env, "LANG": "C", "LC_ALL": "C", "PYTHONIOENCODING": "ascii"}
    parent = session_id_from(csa("run", "--tool", "codex", "h\u00e9llo \u2192 \u2713",
                                 env=ascii_env, cwd=project).stderr)
    child_env = {**ascii_env, "CSA_SESSION_ID": parent, "CSA_DEPTH": "1"}
    csa("run", "--tool", "codex", "child \u2713", env=child_env, cwd=project)
    for cmd in (("session", "list", "--tree"), ("session", "logs", "-s", parent),
                ("session", "show", "-s", parent), ("session", "search", "llo")):
        res = csa(*cmd, env=ascii_env, cwd=project)
        assert res.returncode == 0 and "UnicodeEncodeError" not in res.stderr, (cmd, res.stderr)
        assert "internal error" not in res.stderr


# -- README and the offline demo ------------------------------------------------------------

def test_readme_tells_a_newcomer_what_they_need():
    text = (REPO / "README.md").read_text()
    setup = text[text.index("## Set up"):text.index("## Documentation")]
    assert "3.11" in setup and "venv" in setup
    assert "docs/offline-demo.md" in text and "tools/fake_clis/bin" in setup
    blocks = re.findall(r"```sh\n(.*?)```", setup, re.S)
    assert len(blocks) == 2 and all(len(b.strip().splitlines()) == 1 for b in blocks)
    assert blocks[0].strip() == "pip install -e . && csa demo"
    assert "pytest" in blocks[1] and "quick subset" in setup.lower()
    example = text[text.index("```console"):text.index("## Set up")]
    rows = [x for x in example.splitlines() if ULID_RE.pattern and x.startswith(("ID ", "01",
                                                                                  "\u2514"))]
    status_col = {row.index(" active") if " active" in row else row.index(" STATUS")
                  for row in rows}
    assert len(status_col) == 1, rows  # the columns line up
    shown_ids = re.findall(r"\b01[0-9A-Z]{8,}\b", "\n".join(rows[1:]))
    assert {len(i) for i in shown_ids} == {10}


def test_the_offline_demo_needs_nothing_csa_does_not_install():
    """tools/demo-offline runs with the python that imports csa: every module its inline
    Python, tools/realcli_env.py and the mock LLM import must be stdlib or a csa dependency."""
    import tomllib

    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[<>=\[ ]", d)[0].lower().replace("-", "_") for d in deps}
    local = {p.stem for p in (REPO / "tools").glob("*.py")}
    names |= {"ulid", "git", "csa"} | local
    sources = [(REPO / "tools" / "demo-offline").read_text()] + [
        (REPO / "tools" / f"{m}.py").read_text() for m in local
        if m == "realcli_env" or m.startswith("mock_")]
    for src in sources:
        for mod in re.findall(r"^\s*(?:from|import)\s+([A-Za-z_][\w]*)", src, re.M):
            assert mod in sys.stdlib_module_names or mod.lower() in names, mod
