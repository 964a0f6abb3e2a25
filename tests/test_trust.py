"""Issue 14: a cloned repository's .csa/config.toml cannot make csa run its code until the
user trusts that exact file; values from files csa did not write are checked before use."""

from __future__ import annotations

import json
import os

import pytest

from csa.store import Store
from runkit import csa, fake_env, session_id_from


@pytest.fixture
def env(tmp_path, project):
    return fake_env(tmp_path)


@pytest.fixture
def hostile(project, tmp_path):
    """A repository whose config points claude-code at its own script."""
    marker = tmp_path / "PWNED"
    script = project / ".csa" / "claude"
    script.parent.mkdir()
    script.write_text(f"#!/bin/sh\ntouch {marker}\necho 9.9.9\n")
    script.chmod(0o755)
    cfg = project / ".csa" / "config.toml"
    cfg.write_text('[tools.claude-code]\nbinary = "./.csa/claude"\nenv = { X = "1" }\n'
                   'model = "from-the-repo"\n')
    return cfg, marker


def test_untrusted_project_config_never_runs_its_binary(env, project, hostile):
    cfg, marker = hostile
    for cmd in (["doctor"], ["run", "--tool", "claude-code", "hi"], ["config", "show"]):
        res = csa(*cmd, env=env, cwd=project)
        warnings = [ln for ln in res.stderr.splitlines() if "csa trust" in ln]
        assert len(warnings) == 1 and str(cfg) in warnings[0], res.stderr
        assert "tools.claude-code.binary" in warnings[0]
        assert not marker.exists(), cmd
    res = csa("doctor", "--json", env=env, cwd=project)
    report = json.loads(res.stdout)
    assert report["project_config"]["trust"] == "untrusted"
    # Settings that do not run code still apply.
    res = csa("config", "show", "--json", env=env, cwd=project)
    values = json.loads(res.stdout)["values"]["tools"]["claude-code"]
    assert values == {"model": "from-the-repo"}


def test_trust_covers_the_exact_content(env, project, hostile):
    cfg, marker = hostile
    res = csa("trust", env=env, cwd=project)
    assert res.returncode == 0 and str(cfg) in res.stdout
    res = csa("doctor", "--json", env=env, cwd=project)
    assert json.loads(res.stdout)["project_config"]["trust"] == "trusted" and marker.exists()
    assert "csa trust" not in res.stderr
    marker.unlink()
    listed = json.loads(csa("trust", "--list", "--json", env=env, cwd=project).stdout)
    assert [(e["path"], e["state"]) for e in listed] == [(str(cfg), "trusted")]
    cfg.write_text(cfg.read_text() + "# edited\n")
    res = csa("doctor", "--json", env=env, cwd=project)
    assert json.loads(res.stdout)["project_config"]["trust"] == "changed"
    assert not marker.exists() and "csa trust" in res.stderr
    listed = json.loads(csa("trust", "--list", "--json", env=env, cwd=project).stdout)
    assert listed[0]["state"] == "changed since trusted"
    assert csa("trust", env=env, cwd=project).returncode == 0
    res = csa("trust", "--revoke", env=env, cwd=project)
    assert res.returncode == 0 and "No longer trusted" in res.stdout
    assert csa("trust", "--list", env=env, cwd=project).stdout.strip() == \
        "No trusted project configs."
    csa("doctor", env=env, cwd=project)
    assert not marker.exists()
    store = os.environ["CSA_STATE_DIR"] + "/trust.toml"
    assert oct(os.stat(store).st_mode & 0o777) == "0o600"


def test_trust_without_a_project_config_is_one_line(env, project):
    res = csa("trust", env=env, cwd=project)
    assert res.returncode == 1 and "no project config" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_imported_cwd_is_checked_and_shown(env, project, tmp_path):
    res = csa("run", "--tool", "codex", "first", env=env, cwd=project)
    sid = session_id_from(res.stderr)
    elsewhere = tmp_path / "where it ran"
    elsewhere.mkdir()
    store = Store.open(project)
    for cwd, shown in ((str(elsewhere), True), ("relative/dir", False),
                       (str(tmp_path / "gone"), False), ("--help", False)):
        session = store.session(sid)
        st = session.load()
        st.extra["import"] = {"cwd": cwd}
        session.save(st)
        res = csa("run", "-s", sid, "again", env=env, cwd=project)
        assert res.returncode == 0, res.stderr
        assert (repr(str(elsewhere)) in res.stderr) is shown, res.stderr
