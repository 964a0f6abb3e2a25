"""Running the real `csa` executable against the fake CLIs, as a user would."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FAKE_BIN = REPO / "tools" / "fake_clis" / "bin"
CSA = [sys.executable, "-m", "csa"]
ULID_RE = re.compile(r"\b[0-7][0-9A-HJKMNP-TV-Z]{25}\b")


def fake_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """os.environ (already isolated by conftest) with the fakes first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CSA_", "FAKE_"))}
    env["CSA_STATE_DIR"] = os.environ["CSA_STATE_DIR"]
    env["PATH"] = f"{FAKE_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["FAKE_CLI_HOME"] = str(tmp_path / "fake-home")
    env["FAKE_CSA"] = f"{sys.executable} -m csa"
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


def csa(*args: str, env: dict, cwd: Path, input: str | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*CSA, *args], env=env, cwd=cwd, input=input, capture_output=True,
                          text=True, timeout=timeout,
                          stdin=None if input is not None else subprocess.DEVNULL)


# Runs csa with an audit hook that lists the top-level modules imported before the tool
# was spawned.
BEFORE_SPAWN = """
import runpy, sys
seen = []
def hook(event, args):
    if event == "subprocess.Popen" and "codex" in str(args[0]) and not seen:
        seen.append(sorted(m for m in sys.modules if "." not in m))
        print("BEFORE-SPAWN", *seen[0], file=sys.stderr)
sys.addaudithook(hook)
sys.argv = ["csa", *sys.argv[1:]]
runpy.run_module("csa", run_name="__main__")
"""


def imported_before_spawn(*args: str, env: dict, cwd: Path) -> list[str]:
    """The top-level modules `csa *args` had imported when it spawned the fake codex."""
    res = subprocess.run([sys.executable, "-c", BEFORE_SPAWN, *args], env=env, cwd=cwd,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return next(line.split()[1:] for line in res.stderr.splitlines()
                if line.startswith("BEFORE-SPAWN"))


def spawn(*args: str, env: dict, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([*CSA, *args], env=env, cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)


def session_id_from(stderr: str) -> str:
    m = ULID_RE.search(stderr)
    assert m, f"no session id in stderr: {stderr!r}"
    return m.group(0)


def sessions(env: dict, cwd: Path) -> list[dict]:
    res = csa("session", "list", "--json", env=env, cwd=cwd)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def transcript(state_dir: Path, project: Path, sid: str) -> list[dict]:
    path = state_dir / str(project).lstrip("/") / "sessions" / sid / "transcript.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def wait_for(predicate, timeout: float = 15.0, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("condition not met in time")


def read_log(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


GIT_ID = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
          "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}


def git(cwd: Path, *args: str, env: dict | None = None) -> str:
    """`git ARGS` in cwd with a fixed identity; its stdout, stripped."""
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env={**os.environ, **GIT_ID, **(env or {})}).stdout.strip()


def init_repo(path: Path) -> Path:
    """A git repository on branch main with one commit (a.txt)."""
    git(path, "init", "-q", "-b", "main")
    (path / "a.txt").write_text("a\n")
    git(path, "add", "a.txt")
    git(path, "commit", "-qm", "initial")
    return path


def state_of(state_dir: Path, project: Path, sid: str) -> dict:
    """A session's state.toml, parsed."""
    import tomllib

    path = state_dir / str(project).lstrip("/") / "sessions" / sid / "state.toml"
    return tomllib.loads(path.read_text())


def on_tty(args, env, cwd, timeout=60.0) -> str:
    """Run csa with stdout and stderr on a pseudo-terminal; everything it wrote."""
    import pty
    import select

    main, sub = pty.openpty()
    proc = subprocess.Popen([*CSA, *args], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=sub, stderr=sub)
    os.close(sub)
    out = b""
    while True:
        ready, _, _ = select.select([main], [], [], timeout)
        if not ready:
            proc.kill()
            break
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        out += chunk
    proc.wait(timeout=timeout)
    os.close(main)
    return out.decode("utf-8", "replace")
