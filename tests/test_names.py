"""Names, `-s NAME`, rename, provider-id lookup and `--last` on every session command,
through the real `csa` executable and the fake CLIs (issue 16)."""

from __future__ import annotations

import json

import pytest

from csa.errors import UsageError
from csa.names import check_name, is_name
from runkit import csa, fake_env, session_id_from

TOOLS = ["claude-code", "codex", "gemini-cli", "opencode"]


@pytest.fixture
def env(tmp_path, project):
    return fake_env(tmp_path)


def show(env, project, *sel) -> dict:
    res = csa("session", "show", *sel, "--json", env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


@pytest.mark.parametrize("tool", TOOLS)
def test_name_resume_rename_resolve(tool, env, project):
    res = csa("run", "--tool", tool, "--name", "auth-fix", "first", env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    sid = session_id_from(res.stderr)
    res = csa("run", "-s", "auth-fix", "second", env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    assert "user turns seen: 2" in res.stdout  # the tool's own conversation went on
    assert show(env, project, "-s", "auth-fix")["meta_session_id"] == sid
    res = csa("session", "rename", "-s", "auth-fix", "auth.v2", env=env, cwd=project)
    assert res.returncode == 0 and "auth.v2" in res.stderr and "was auth-fix" in res.stderr
    state = show(env, project, "-s", "AUTH.V2")  # names are matched in lower case
    assert state["meta_session_id"] == sid and state["name"] == "auth.v2"
    assert csa("session", "show", "-s", "auth-fix", env=env, cwd=project).returncode == 1
    listed = json.loads(csa("session", "list", "--json", env=env, cwd=project).stdout)
    assert listed[0]["name"] == "auth.v2"
    table = csa("session", "list", env=env, cwd=project).stdout
    assert table.splitlines()[0].split()[:2] == ["ID", "NAME"] and "auth.v2" in table
    provider = state["tools"][tool]["provider_session_id"]
    assert show(env, project, "-s", provider)["meta_session_id"] == sid  # the tool's id
    res = csa("run", "-s", provider, "third", env=env, cwd=project)
    assert res.returncode == 0 and "user turns seen: 3" in res.stdout, res.stderr


def test_name_rules_and_uniqueness(env, project):
    for bad in ("Auth", "a b", "x" * 65, "", "../etc", "deadbeef", "01jh4q"):
        with pytest.raises(UsageError):
            check_name(bad)
    assert is_name("a-1") and is_name("io") and is_name("x" * 63 + "-")
    res = csa("run", "--tool", "codex", "--name", "dead", "p", env=env, cwd=project)
    assert res.returncode == 2 and "id prefix" in res.stderr
    assert csa("run", "--tool", "codex", "--name", "one-1", "p", env=env,
               cwd=project).returncode == 0
    res = csa("run", "--tool", "codex", "--name", "one-1", "p", env=env, cwd=project)
    assert res.returncode == 1 and "already used" in res.stderr
    assert len(json.loads(csa("session", "list", "--json", env=env, cwd=project).stdout)) == 1
    res = csa("run", "--last", "--name", "x-1", "p", env=env, cwd=project)
    assert res.returncode == 2 and "rename" in res.stderr
    other = session_id_from(csa("run", "--tool", "codex", "p2", env=env, cwd=project).stderr)
    res = csa("session", "rename", "-s", other, "one-1", env=env, cwd=project)
    assert res.returncode == 1 and "already used" in res.stderr
    assert csa("session", "rename", "-s", other, "--clear", env=env, cwd=project).returncode == 0
    assert csa("session", "rename", "-s", other, env=env, cwd=project).returncode == 2


def test_ambiguous_name_and_prefix_list_both(env, project):
    a = session_id_from(csa("run", "--tool", "codex", "--name", "auth-a", "p", env=env,
                            cwd=project).stderr)
    b = session_id_from(csa("run", "--tool", "codex", "--name", "auth-b", "p", env=env,
                            cwd=project).stderr)
    res = csa("session", "show", "-s", "auth", env=env, cwd=project)
    assert res.returncode == 1 and "ambiguous" in res.stderr
    assert a in res.stderr and b in res.stderr and "[auth-a]" in res.stderr
    # an exact name wins over a longer name it is a prefix of
    assert csa("session", "rename", "-s", a, "auth", env=env, cwd=project).returncode == 0
    assert show(env, project, "-s", "auth")["meta_session_id"] == a
    # a unique name prefix finds its session
    assert show(env, project, "-s", "auth-")["meta_session_id"] == b
    # ids share their time prefix: a short prefix matches both
    common = next(i for i in range(26) if a[i] != b[i])
    res = csa("session", "show", "-s", a[:common], env=env, cwd=project)
    assert res.returncode == 1 and a in res.stderr and b in res.stderr


def test_name_that_looks_like_a_path_is_rejected(env, project):
    res = csa("session", "show", "-s", "../../etc", env=env, cwd=project)
    assert res.returncode == 1 and "No session matches" in res.stderr


COMMANDS = [
    ("session", "show", "--json"), ("session", "result", "--json"), ("session", "logs"),
    ("session", "artifacts"), ("session", "is-alive"), ("session", "journal"),
    ("session", "note", "--progress", "a note"), ("session", "checkpoint", "-m", "x"),
    ("session", "checkpoints", "--json"), ("session", "log"), ("session", "verify"),
    ("session", "export", "--format", "jsonl"), ("session", "wait", "--timeout", "1"),
    ("session", "kill"), ("session", "scrub", "--dry-run", "--json"),
    ("session", "compress"), ("session", "delete"), ("session", "fork"),
    ("session", "rename", "last-one"), ("session", "diff", "--stat"),
]


def test_every_session_command_takes_last(env, project):
    """--last is accepted wherever -s is, and means the newest last_accessed."""
    from csa.cli import cli

    old = session_id_from(csa("run", "--tool", "claude-code", "old", env=env, cwd=project).stderr)
    new = session_id_from(csa("run", "--tool", "claude-code", "new", env=env, cwd=project).stderr)
    assert show(env, project, "--last")["meta_session_id"] == new
    with_s = []

    def walk(group, path):
        for name in group.list_commands(None):
            cmd = group.get_command(None, name)
            if hasattr(cmd, "list_commands"):
                walk(cmd, [*path, name])
                continue
            opts = {o for p in cmd.params for o in getattr(p, "opts", [])}
            if "-s" in opts:
                with_s.append(" ".join([*path, name]))
                assert "--last" in opts, f"csa {' '.join([*path, name])} takes -s, not --last"

    walk(cli, [])
    assert {"run", "events", "session show", "session export"} <= set(with_s)
    tested = {" ".join(c[:2]) for c in COMMANDS} | {"run", "events"}
    assert tested >= set(with_s), set(with_s) - tested
    for args in COMMANDS:
        res = csa(*args, "--last", env=env, cwd=project)
        assert "No such option" not in res.stderr and res.returncode in (0, 1), (args, res.stderr)
        assert "Traceback" not in res.stderr, (args, res.stderr)
        if args[1] == "delete":
            break  # what --last means changed: the newest is gone
    assert old != new
    res = csa("events", "--last", "--json", env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    res = csa("session", "show", "--last", "-s", old, env=env, cwd=project)
    assert res.returncode == 2 and "cannot be combined" in res.stderr


def test_last_picks_newest_accessed(env, project):
    a = session_id_from(csa("run", "--tool", "codex", "a", env=env, cwd=project).stderr)
    csa("run", "--tool", "codex", "b", env=env, cwd=project)
    assert csa("run", "-s", a, "again", env=env, cwd=project).returncode == 0
    assert show(env, project, "--last")["meta_session_id"] == a
    res = csa("session", "result", "--last", "--json", env=env, cwd=project)
    assert res.returncode == 0 and "again" in json.loads(res.stdout)["final_text"]


def test_no_sessions_last_is_one_line(env, project):
    res = csa("session", "show", "--last", env=env, cwd=project)
    assert res.returncode == 1 and "No sessions yet" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_of_names_and_ids(shell, env, project):
    sid = session_id_from(csa("run", "--tool", "codex", "--name", "auth-fix", "p", env=env,
                              cwd=project).stderr)

    def complete(words: str, cword: int) -> str:
        # fish passes the word being completed itself, bash and zsh its index
        current = words.split(" ")[-1] if shell == "fish" else str(cword)
        cenv = {**env, "_CSA_COMPLETE": f"{shell}_complete", "COMP_WORDS": words,
                "COMP_CWORD": current}
        res = csa(env=cenv, cwd=project)
        assert res.returncode == 0, res.stderr
        return res.stdout

    assert "auth-fix" in complete("csa session show -s au", 4)
    assert sid in complete(f"csa run -s {sid[:6].lower()}", 3)
    assert sid in complete("csa session export -s ", 4)
    assert "auth-fix" not in complete("csa session show -s zz", 4)


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_contrib_completion_scripts_are_clicks(shell, env, project):
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "contrib" / "completion" / f"csa.{shell}"
    res = csa(env={**env, "_CSA_COMPLETE": f"{shell}_source"}, cwd=project)
    assert res.returncode == 0 and res.stdout == script.read_text()
