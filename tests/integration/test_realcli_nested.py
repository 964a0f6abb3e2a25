"""Real agents spawning children: a real CLI's shell tool runs `"$CSA_BIN" run --tool X ...`.

The mock LLM is scripted (tools/mock_script.py): the parent's prompt is answered with a
call of the parent CLI's own shell tool (claude `Bash`, codex `exec_command`, gemini
`run_shell_command`, opencode `bash`) whose command records the shell's CSA_* variables
and PATH, then runs csa for the child tool. The child is a real CLI against the same mock,
scripted the same way to record the CSA_* variables its own shell sees. The mock answers
each tool result with a final text that quotes it, so the parent's answer carries the
child's exit status.

Run: `python -m pytest -s tests/integration/test_realcli_nested.py`.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path
from typing import Any

import pytest
from conftest import TOOLS, make_realcli, require_cli

# Each tool is a parent once and a child once.
PAIRS = [("claude-code", "codex"), ("codex", "gemini-cli"), ("gemini-cli", "opencode"),
         ("opencode", "claude-code")]
PARENT_PROMPT, CHILD_PROMPT = "PARENT-TASK spawn a child", "CHILD-TASK report your env"
API = {"claude-code": "anthropic", "codex": "responses", "gemini-cli": "gemini",
       "opencode": "chat"}


def _script(out: Path, child_tool: str) -> list[dict[str, Any]]:
    q = shlex.quote
    parent_cmd = (
        f"env | grep '^CSA_' | sort > {q(str(out / 'parent-env'))}; "
        f"printf '%s' \"$PATH\" > {q(str(out / 'parent-path'))}; "
        f"\"$CSA_BIN\" run --tool {child_tool} {q(CHILD_PROMPT)} --json "
        f"> {q(str(out / 'child.json'))} 2> {q(str(out / 'child.err'))}; "
        "echo \"child exit $?\"")
    child_cmd = f"env | grep '^CSA_' | sort > {q(str(out / 'child-env'))}; echo recorded"
    return [
        {"when": "PARENT-TASK", "shell": parent_cmd, "then": "PARENT-DONE: {output}"},
        {"when": "CHILD-TASK", "shell": child_cmd, "then": "CHILD-DONE: {output}"},
    ]


def _env_file(path: Path) -> dict[str, str]:
    assert path.is_file(), f"the shell tool did not run: {path} is missing"
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


@pytest.fixture
def tree(request, netns, versions_root, tmp_path):
    parent, child = request.param
    binaries = {t: require_cli(t, netns, versions_root) for t in (parent, child)}
    with make_realcli(binaries, netns, tmp_path) as rc:
        yield rc, parent, child


@pytest.mark.parametrize("tree", PAIRS, ids=[f"{p}->{c}" for p, c in PAIRS], indirect=True)
def test_real_parent_spawns_child_through_csa_bin(tree) -> None:
    rc, parent, child = tree
    out = rc.root / "out"
    out.mkdir()
    rc.mock.script = _script(out, child)
    # A dir only csa's PATH has: the agent's shell must still have it (a login shell's
    # profile would reset PATH; csa turns codex's off).
    marker = out / "marker-bin"
    rc.env["PATH"] = f"{marker}{os.pathsep}{rc.env['PATH']}"

    res = rc.csa("run", "--tool", parent, PARENT_PROMPT, "--json", label=f"parent->{child}")
    assert res.returncode == 0, "parent: " + rc.explain(res)
    data = json.loads(res.stdout)
    psid = data["session_id"]
    calls = [r for r in rc.mock.requests if r.get("tool_call")]
    assert [r["api"] for r in calls] == [API[parent], API[child]], \
        f"expected one shell call by {parent} then one by {child}: {calls}"

    # The parent agent's shell: its session's variables, and the PATH csa gave the tool.
    penv = _env_file(out / "parent-env")
    assert penv["CSA_SESSION_ID"] == psid and penv["CSA_DEPTH"] == "1", penv
    assert penv["CSA_TOOL"] == parent and "CSA_PARENT_SESSION" not in penv, penv
    assert os.access(penv["CSA_BIN"], os.X_OK), penv
    shell_path = (out / "parent-path").read_text().split(os.pathsep)
    assert str(marker) in shell_path, \
        f"{parent}'s shell lost the PATH csa gave it: {shell_path}"

    # The child session: created by the nested csa run, linked to the parent.
    child_out = (out / "child.json").read_text()
    assert child_out.strip(), "child csa printed nothing; stderr:\n" + \
        (out / "child.err").read_text()[-3000:]
    cdata = json.loads(child_out)
    csid = cdata["session_id"]
    assert cdata["tool"] == child and cdata["exit_code"] == 0, cdata
    assert cdata["final_text"].startswith("CHILD-DONE: "), cdata["final_text"]
    assert "child exit 0" in data["final_text"], data["final_text"]
    st = rc.state(csid)
    assert st["genealogy"]["parent_session_id"] == psid and st["genealogy"]["depth"] == 1, st
    assert rc.state(psid)["genealogy"].get("depth", 0) == 0

    # The child agent's shell: every CSA_* variable of the child session.
    cenv = _env_file(out / "child-env")
    assert cenv["CSA_SESSION_ID"] == csid and cenv["CSA_DEPTH"] == "2", cenv
    assert cenv["CSA_PARENT_SESSION"] == psid and cenv["CSA_TOOL"] == child, cenv
    assert cenv["CSA_PROJECT_ROOT"] == str(rc.project), cenv
    assert cenv["CSA_SESSION_DIR"] == str(rc.session_dir(csid)), cenv
    assert os.access(cenv["CSA_BIN"], os.X_OK), cenv

    listing = rc.csa("session", "list", "--json", label="list")
    rows = {r["id"]: r for r in json.loads(listing.stdout)}
    assert rows[csid]["parent_session_id"] == psid
    print(f"[{parent} -> {child}] {TOOLS[parent]} ran `\"$CSA_BIN\" run --tool {child}`: "
          f"child {csid} at depth 1")
