"""A third-party tool, installed as a real package into a temp venv, runs turns through
`csa run --tool` and appears in `csa doctor` (entry point group `csa.tools`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# The plugin: one module with a Tool subclass, declared by an entry point.
PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "csa-echo-tool"
version = "0.1"

[project.entry-points."csa.tools"]
echo = "csa_echo:Echo"

[tool.hatch.build.targets.wheel]
packages = ["csa_echo"]
"""

MODULE = '''\
"""echo: a toy AI CLI that prints `{"k": ..., "v": ...}` lines."""

from csa.tools.base import Tool


class Echo(Tool):
    name, binary, package, family = "echo", "echo-cli", "csa-echo-tool", "toy"
    id_pattern = r"e[0-9a-f]{8}"
    failure_patterns = (("rate_limit", r"slow down"),)

    def new_argv(self, t):
        return [t.binary, *t.extra_args, self.safe_prompt(t.prompt)]

    def resume_argv(self, t):
        return [t.binary, "--resume", t.provider_session_id, self.safe_prompt(t.prompt)]

    def observe(self, event, turn):
        if event.get("k") == "id":
            self.take_id(turn, event.get("v"))
        elif event.get("k") == "say":
            turn.texts.append(event["v"])
        elif event.get("k") == "err":
            turn.is_error = True
            turn.errors.append(event["v"])

    def render(self, event):
        return event.get("v", "") if event.get("k") == "say" else ""
'''

# The tool's binary: a new conversation gets a fresh id, a resume keeps the one given.
FAKE_BIN = '''\
import json, sys, uuid
args = sys.argv[1:]
conv = args[args.index("--resume") + 1] if "--resume" in args else "e" + uuid.uuid4().hex[:8]
print(json.dumps({"k": "id", "v": conv}))
print(json.dumps({"k": "say", "v": "ECHO " + args[-1] + (" (resumed)" if "--resume" in args else "")}))
'''


def _sh(argv, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=180,
                          stdin=subprocess.DEVNULL, **kw)


@pytest.fixture(scope="module")
def plugin_venv(tmp_path_factory) -> Path:
    """A venv that sees the system packages (click, orjson, hatchling...) and has the
    plugin pip-installed from its source tree, offline."""
    try:
        import hatchling  # noqa: F401
    except ImportError:
        pytest.fail("hatchling (a test extra: pip install -e '.[test]') builds the plugin")
    root = tmp_path_factory.mktemp("plugin")
    src = root / "src"
    (src / "csa_echo").mkdir(parents=True)
    (src / "pyproject.toml").write_text(PYPROJECT)
    (src / "csa_echo" / "__init__.py").write_text(MODULE)
    venv = root / "venv"
    res = _sh([sys.executable, "-m", "venv", "--system-site-packages", str(venv)])
    assert res.returncode == 0, res.stderr
    res = _sh([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps",
               "--no-build-isolation", "--no-index", "--disable-pip-version-check", str(src)])
    assert res.returncode == 0, res.stdout + res.stderr
    return venv


@pytest.fixture
def echo_env(tmp_path) -> dict[str, str]:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "echo-cli"
    exe.write_text(f"#!{sys.executable}\n" + FAKE_BIN)
    exe.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSA_")}
    env.update(CSA_STATE_DIR=os.environ["CSA_STATE_DIR"], PYTHONPATH=str(REPO),
               PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}")
    return env


def test_third_party_tool_runs_turns_and_shows_in_doctor(plugin_venv, echo_env, project):
    py = str(plugin_venv / "bin" / "python")
    first = _sh([py, "-m", "csa", "run", "--tool", "echo", "--json", "hi"], env=echo_env,
                cwd=project)
    assert first.returncode == 0, first.stderr
    res = json.loads(first.stdout)
    assert res["tool"] == "echo" and res["final_text"] == "ECHO hi"
    pid = res["provider_session_id"]
    assert pid.startswith("e") and len(pid) == 9

    again = _sh([py, "-m", "csa", "run", "-s", res["session_id"], "--json", "again"],
                env=echo_env, cwd=project)
    assert again.returncode == 0, again.stderr
    res2 = json.loads(again.stdout)
    assert res2["final_text"] == "ECHO again (resumed)" and res2["provider_session_id"] == pid

    doctor = _sh([py, "-m", "csa", "doctor", "--json"], env=echo_env, cwd=project)
    report = json.loads(doctor.stdout)
    assert [(p["tool"], p["package"], p["status"]) for p in report["plugins"]] == \
        [("echo", "csa-echo-tool 0.1", "ok")]
    echo = next(t for t in report["tools"] if t["tool"] == "echo")
    assert echo["found"] and not echo["builtin"]
    text = _sh([py, "-m", "csa", "doctor"], env=echo_env, cwd=project).stdout
    assert "Third-party tools" in text and "csa_echo:Echo" in text

    # Without the package installed, the same name is unknown (one line, exit 2).
    bare = _sh([sys.executable, "-m", "csa", "run", "--tool", "echo", "hi"], env=echo_env,
               cwd=project)
    assert bare.returncode == 2 and "unknown tool 'echo'" in bare.stderr
    assert len(bare.stderr.strip().splitlines()) == 1


def test_entry_points_are_not_read_on_the_normal_path():
    code = textwrap.dedent("""
        import sys
        from csa.tools import get_tool
        for name in ("claude", "codex", "gemini-cli", "opencode"):
            get_tool(name).argv
        print("importlib.metadata" in sys.modules)
    """)
    res = _sh([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(REPO)})
    assert res.stdout.strip() == "False", res.stderr
