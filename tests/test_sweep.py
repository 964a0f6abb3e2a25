"""`csa sweep [--all-projects]` (seed 004): import -> digest -> gc and retention, through the
CLI with the fake CLIs and an import of a captured real claude transcript."""

from __future__ import annotations

import json
import tomllib

import pytest
from test_import import no_tool_env, place  # noqa: F401 - a fixture

from csa.store import Store
from runkit import csa, fake_env, session_id_from


def global_config(home, text: str) -> None:
    d = home / ".config" / "csa"
    d.mkdir(parents=True, exist_ok=True)
    (d / "config.toml").write_text(text)


def undigest(project, sid) -> None:
    session = Store.open(str(project)).session(sid)
    st = session.read_state()
    del st.extra["digest"]
    session.save(st)


def state(project, sid) -> dict:
    return tomllib.loads(Store.open(str(project)).session(sid).state_path.read_text())


@pytest.fixture
def two_projects(tmp_path, isolated_env):
    home = isolated_env / "home"
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    env = fake_env(tmp_path)
    ran = csa("run", "--tool", "codex", "first", env=env, cwd=one)
    assert ran.returncode == 0, ran.stderr
    sid = session_id_from(ran.stderr)
    undigest(one, sid)
    place("claude", two, home)  # a real claude session of project two, not yet imported
    global_config(home, '[sweep]\nimport = ["claude"]\n')
    return env, home, one, two, sid


def test_sweep_all_projects_imports_digests_and_reports(two_projects):
    env, home, one, two, sid = two_projects
    res = csa("sweep", "--all-projects", "--json", env=env, cwd=one)
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["ok"] is True and summary["imported"]["claude"]["created"] == 1
    by_project = {p["project"]: p for p in summary["projects"]}
    assert by_project[str(one)]["digested"] == 1
    assert state(one, sid)["digest"]["snippets"]["first_prompt"] == "first"
    (imported,) = Store.open(str(two)).sessions()
    assert state(two, imported.id)["digest"]["source"] == "import"
    # Idempotent: nothing new to import or digest.
    again = json.loads(csa("sweep", "--all-projects", "--json", env=env, cwd=one).stdout)
    assert again["imported"]["claude"]["created"] == 0
    assert all(p["digested"] == 0 for p in again["projects"])


def test_sweep_evicts_by_config_and_fails_on_an_unreachable_budget(two_projects):
    env, home, one, two, sid = two_projects
    global_config(home, '[sweep]\nimport = ["claude"]\n[retention]\nmax_bytes = 1\n')
    dry = csa("sweep", "--all-projects", "--dry-run", "--json", env=env, cwd=one)
    assert "evicted" not in state(one, sid)  # a dry run changes nothing
    assert json.loads(dry.stdout)["dry_run"] is True
    res = csa("sweep", "--all-projects", "--json", env=env, cwd=one)
    assert res.returncode == 1
    assert len(res.stderr.strip().splitlines()) == 1 and "retention.max_bytes" in res.stderr
    summary = json.loads(res.stdout)
    assert summary["ok"] is False
    by_project = {p["project"]: p for p in summary["projects"]}
    # digested first, so both projects' transcripts could go, and nothing was lost
    assert by_project[str(one)]["evicted"] == 1 and by_project[str(two)]["evicted"] == 1
    assert all(p["data_loss"] == [] for p in summary["projects"])
    st = state(one, sid)
    assert "evicted" in st and st["digest"]["turns"] == 1


def test_sweep_human_output_and_bad_config(two_projects):
    env, home, one, two, sid = two_projects
    res = csa("sweep", env=env, cwd=one)
    assert res.returncode == 0, res.stderr
    assert f"{one}: 1 digested, 0 transcript(s) evicted" in res.stderr
    global_config(home, '[sweep]\nimport = ["cursor"]\n')
    bad = csa("sweep", env=env, cwd=one)
    assert bad.returncode != 0 and "sweep.import" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
