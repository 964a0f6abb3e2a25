"""The events log as seed 000 describes it: pointers to the tool's own transcript,
age-based pruning (`events.max_age_days`) and one view of every project's events."""

from __future__ import annotations

import json
import os
import time

import orjson

from runkit import csa, fake_env, session_id_from, state_of

DAY = 86_400


def events_of(env, cwd, *args) -> list[dict]:
    res = csa("events", "--json", *args, env=env, cwd=cwd)
    assert res.returncode == 0, res.stderr
    return [json.loads(x) for x in res.stdout.splitlines()]


def run(env, project, *args) -> str:
    res = csa("run", *args, env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    return session_id_from(res.stderr)


def old_line(n: int, ts: str = "2020-01-01T00:00:00.000Z") -> bytes:
    return orjson.dumps({"ts": ts, "type": "gc", "pid": 1, "n": n}) + b"\n"


def test_turn_events_point_at_the_tools_conversation(tmp_path, project, state_dir):
    env = fake_env(tmp_path)
    for tool in ("claude-code", "codex"):
        sid = run(env, project, "--tool", tool, "hello")
        run(env, project, "-s", sid, "again")
        provider = state_of(state_dir, project, sid)["tools"][tool]["provider_session_id"]
        evs = [e for e in events_of(env, project, "-s", sid)
               if e["type"] in ("session_start", "resume", "session_end")]
        assert [e["type"] for e in evs] == ["session_start", "session_end",
                                            "resume", "session_end"]
        assert all(e["tool"] == tool for e in evs)
        # codex prints its id only once running: the start of its first turn cannot know it.
        pointed = evs[1:] if tool == "codex" else evs
        assert {e["provider_session_id"] for e in pointed} == {provider}
    text = csa("events", env=env, cwd=project).stdout
    assert f"provider_session_id={provider}" in text


def test_rotation_drops_lines_and_files_older_than_max_age(tmp_path, project, state_dir):
    env = fake_env(tmp_path)
    (project / ".csa").mkdir()
    (project / ".csa" / "config.toml").write_text(
        "[events]\nmax_bytes = 2000\nkeep = 3\nmax_age_days = 30\n")
    pdir = state_dir / str(project).lstrip("/")
    pdir.mkdir(parents=True)
    log = pdir / "events.jsonl"
    old_rotated = pdir / "events.jsonl.1"
    old_rotated.write_bytes(old_line(0))
    os.utime(old_rotated, (time.time() - 40 * DAY,) * 2)
    log.write_bytes(b"".join(old_line(i) for i in range(1, 20)))
    sid = run(env, project, "--tool", "codex", "hello")
    for i in range(8):  # grows the live file past max_bytes: it rotates
        assert csa("session", "checkpoint", "-s", sid, "-m", f"n{i}", env=env,
                   cwd=project).returncode == 0
    evs = events_of(env, project)
    assert not [e for e in evs if e["ts"].startswith("2020")]
    assert [e["type"] for e in evs][:2] == ["session_start", "session_end"]
    assert all(int(p.suffix[1:]) <= 3 for p in pdir.glob("events.jsonl.*"))
    assert not any(p.read_bytes().startswith(old_line(0)) for p in pdir.glob("events.jsonl.*"))


def test_gc_removes_rotated_files_older_than_max_age(tmp_path, project, state_dir):
    env = fake_env(tmp_path)
    (project / ".csa").mkdir()
    (project / ".csa" / "config.toml").write_text("[events]\nmax_age_days = 7\n")
    run(env, project, "--tool", "codex", "hello")
    pdir = state_dir / str(project).lstrip("/")
    fresh, stale = pdir / "events.jsonl.1", pdir / "events.jsonl.2"
    fresh.write_bytes(old_line(1, "2026-01-01T00:00:00.000Z"))
    stale.write_bytes(old_line(2))
    os.utime(fresh, (time.time() - 6 * DAY,) * 2)
    os.utime(stale, (time.time() - 8 * DAY,) * 2)
    assert csa("gc", "--dry-run", env=env, cwd=project).returncode == 0
    assert stale.exists()
    assert csa("gc", env=env, cwd=project).returncode == 0
    assert fresh.exists() and not stale.exists()
    assert events_of(env, project, "--type", "gc")[-1]["events_files_pruned"] == 1


def test_max_age_days_zero_keeps_everything(tmp_path, project, state_dir):
    env = fake_env(tmp_path)
    (project / ".csa").mkdir()
    (project / ".csa" / "config.toml").write_text("[events]\nmax_age_days = 0\n")
    run(env, project, "--tool", "codex", "hello")
    old = state_dir / str(project).lstrip("/") / "events.jsonl.1"
    old.write_bytes(old_line(1))
    os.utime(old, (time.time() - 4000 * DAY,) * 2)
    assert csa("gc", env=env, cwd=project).returncode == 0
    assert old.exists()
    bad = csa("config", "set", "events.max_age_days", "-1", env=env, cwd=project)
    assert bad.returncode != 0 and "max_age_days" in bad.stderr


def test_events_of_every_project_merged_by_time(tmp_path, state_dir):
    env = fake_env(tmp_path)
    projects = [tmp_path / "p1", tmp_path / "p2"]
    for p in projects:
        p.mkdir()
    sids = [run(env, projects[0], "--tool", "codex", "a"),
            run(env, projects[1], "--tool", "codex", "b")]
    run(env, projects[0], "-s", sids[0], "c")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    evs = events_of(env, elsewhere, "--all-projects")
    assert [e["ts"] for e in evs] == sorted(e["ts"] for e in evs)
    by = {(e["project"], e["session_id"]) for e in evs if e["type"] == "session_start"}
    assert by == {(str(projects[0]), sids[0]), (str(projects[1]), sids[1])}
    assert [e["project"] for e in evs if e["type"] == "resume"] == [str(projects[0])]
    assert events_of(env, elsewhere) == []
    only = events_of(env, elsewhere, "--all-projects", "--type", "resume", "--limit", "1")
    assert [e["session_id"] for e in only] == [sids[0]]
    text = csa("events", "--all-projects", env=env, cwd=elsewhere).stdout
    assert f"project={projects[1]}" in text
    bad = csa("events", "--all-projects", "-s", sids[0], env=env, cwd=elsewhere)
    assert bad.returncode == 2 and "--all-projects" in bad.stderr
