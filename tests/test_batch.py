"""`csa batch FILE`: tasks as child sessions of one batch session, re-runs, Ctrl-C, failures."""

import json
import signal
import time

import pytest

from tests.batchkit import batch_rows, global_config, logging_tool, max_concurrent, write_tasks
from tests.runkit import csa, fake_env, sessions, spawn, wait_for


@pytest.fixture
def env(tmp_path):
    return fake_env(tmp_path)


def test_fifty_tasks_are_fifty_children_and_a_rerun_makes_none(env, project, tmp_path):
    log = tmp_path / "runs.log"
    global_config(f'[tools.codex]\nbinary = "{logging_tool(tmp_path, log)}"\n'
                  "max_concurrent = 3\n")
    tasks = write_tasks(project / "tasks.jsonl", 50)
    res = csa("batch", str(tasks), "--tool", "codex", "--parallel", "8", "--json", env=env,
              cwd=project, timeout=300)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["counts"] == {"ok": 50}
    batch, kids = batch_rows(env, project)
    assert out["batch_session_id"] == batch["id"]
    assert len(kids) == 50 and {k["description"] for k in kids} == {f"t{i}" for i in range(1, 51)}
    assert all(k["depth"] == 1 for k in kids)
    assert len(log.read_text().splitlines()) == 100
    assert max_concurrent(log) <= 3  # --parallel 8, but codex's max_concurrent is 3
    tree = csa("session", "list", "--tree", env=env, cwd=project).stdout.splitlines()
    assert tree[1].split()[-2:] == ["batch", "tasks.jsonl"]
    assert sum(ln.lstrip().startswith(("├─", "└─")) for ln in tree) == 50

    again = csa("batch", str(tasks), "--tool", "codex", "--json", env=env, cwd=project)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["counts"] == {"skipped": 50}
    assert len(log.read_text().splitlines()) == 100  # nothing ran
    assert len(batch_rows(env, project)[1]) == 50


def test_ctrl_c_interrupts_cleanly_and_a_rerun_completes_the_rest(env, project, tmp_path):
    log = tmp_path / "runs.log"
    global_config(f'[tools.codex]\nbinary = "{logging_tool(tmp_path, log)}"\n')
    tasks = write_tasks(project / "tasks.jsonl", 12)
    slow = {**env, "FAKE_SLEEP": "3"}
    proc = spawn("batch", str(tasks), "--tool", "codex", "-j", "3", "--json", env=slow,
                 cwd=project)
    wait_for(lambda: log.exists() and len(log.read_text().splitlines()) >= 3, timeout=60)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    report = json.loads(out)
    assert report["interrupted"] is True
    assert report["counts"].get("interrupted", 0) >= 1
    assert sum(report["counts"].values()) == 12
    batch, kids = batch_rows(env, project)
    assert all(k["status"] != "running" for k in [batch, *kids])
    states = {k["id"]: k for k in kids}
    interrupted = [t["session_id"] for t in report["tasks"] if t["status"] == "interrupted"]
    assert interrupted and all(sid in states for sid in interrupted)

    res = csa("batch", str(tasks), "--tool", "codex", "-j", "4", "--json", env=env,
              cwd=project, timeout=300)
    assert res.returncode == 0, res.stderr
    rerun = json.loads(res.stdout)
    assert rerun["counts"].get("ok", 0) + rerun["counts"].get("skipped", 0) == 12
    assert rerun["batch_session_id"] == report["batch_session_id"]
    again_ids = {t["session_id"] for t in rerun["tasks"]}
    assert set(interrupted) <= again_ids  # interrupted tasks continue in their own sessions
    assert len(batch_rows(env, project)[1]) == 12


def test_a_failed_task_makes_the_exit_code_non_zero(env, project, tmp_path):
    failing = tmp_path / "failing-gemini"
    failing.write_text("#!/bin/sh\necho 'gemini: quota exhausted' >&2\nexit 3\n")
    failing.chmod(0o755)
    global_config(f'[tools.gemini-cli]\nbinary = "{failing}"\n')
    tasks = project / "tasks.jsonl"
    tasks.write_text('{"prompt": "fine", "name": "good"}\n\n'
                     '{"prompt": "doomed", "name": "bad", "tool": "gemini"}\n')
    res = csa("batch", str(tasks), "--tool", "codex", env=env, cwd=project)
    assert res.returncode == 1, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].split()[:4] == ["LINE", "NAME", "STATUS", "EXIT"]
    assert lines[1].split()[:4] == ["1", "good", "ok", "0"]
    assert lines[2].split()[:4] == ["3", "bad", "failed", "3"]
    assert "1 failed, 1 ok" in res.stderr
    again = csa("batch", str(tasks), "--tool", "codex", "--json", env=env, cwd=project)
    assert again.returncode == 1
    assert json.loads(again.stdout)["counts"] == {"skipped": 1, "failed": 1}


@pytest.mark.parametrize("line, message", [
    ("not json", "tasks.jsonl:2: not a JSON object"),
    ('["prompt"]', "tasks.jsonl:2: a task is a JSON object"),
    ('{"name": "x"}', 'tasks.jsonl:2: no "prompt"'),
    ('{"prompt": ""}', "tasks.jsonl:2: 'prompt' must be a non-empty string"),
    ('{"prompt": "x", "tol": "codex"}', "tasks.jsonl:2: unknown key 'tol'"),
    ('{"prompt": "x", "tool": "nope"}', "tasks.jsonl:2: unknown tool 'nope'"),
    ('{"prompt": "x", "cd": "missing"}', "tasks.jsonl:2: cd 'missing' is not a directory"),
])
def test_a_bad_line_is_named_before_anything_runs(env, project, line, message):
    tasks = project / "tasks.jsonl"
    tasks.write_text('{"prompt": "fine"}\n' + line + "\n")
    res = csa("batch", str(tasks), "--tool", "codex", env=env, cwd=project)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and message in res.stderr, res.stderr
    assert json.loads(csa("session", "list", "--json", env=env, cwd=project).stdout) == []


def test_a_missing_tool_stops_the_batch_before_it_starts(env, project):
    tasks = write_tasks(project / "tasks.jsonl", 2)
    res = csa("batch", str(tasks), "--tool", "opencode", env={**env, "PATH": "/usr/bin:/bin"},
              cwd=project)
    assert res.returncode == 1 and "opencode: binary" in res.stderr
    assert json.loads(csa("session", "list", "--json", env=env, cwd=project).stdout) == []


def test_a_task_cd_runs_there(env, project):
    (project / "sub").mkdir()
    tasks = project / "tasks.jsonl"
    tasks.write_text('{"prompt": "where", "cd": "sub", "model": "gpt-test"}\n')
    log = project.parent / "fake.log"
    res = csa("batch", str(tasks), "--tool", "codex", "--json", env={**env, "FAKE_LOG": str(log)},
              cwd=project)
    assert res.returncode == 0, res.stderr
    entry = json.loads(log.read_text().splitlines()[0])
    assert entry["cwd"] == str(project / "sub") and "gpt-test" in entry["argv"]
    assert entry["env"]["CSA_PARENT_SESSION"] == json.loads(res.stdout)["batch_session_id"]


def test_a_batch_session_is_not_resumed_as_a_chat(project, tmp_path):
    """`csa run -s BATCH` is refused with what to do instead; the batch is untouched."""
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text('{"prompt": "one"}\n')
    env = fake_env(tmp_path)
    res = csa("batch", str(tasks), "--tool", "codex", env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    [batch] = [r for r in sessions(env, project) if not r.get("parent_session_id")]
    for extra in ([], ["--tool", "codex"]):
        res = csa("run", "-s", batch["id"], *extra, "continue", env=env, cwd=project)
        assert res.returncode == 1 and "is a batch session" in res.stderr, res.stderr
        assert len(res.stderr.strip().splitlines()) == 1
    [again] = [r for r in sessions(env, project) if r["id"] == batch["id"]]
    assert again["turn_count"] == batch["turn_count"]
