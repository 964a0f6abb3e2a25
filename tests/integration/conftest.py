"""Fixtures for the `realcli` tests: csa driving the real AI CLIs against tools/mock_llm.py.

Every test here is marked `realcli`. A tool's tests are skipped when node or that CLI is
not installed (run `tools/install-real-clis`), except under `CSA_REQUIRE_REAL_CLIS=1`
(CI), where a missing CLI fails the test instead.

Environment knobs (read once, at import):
* `CSA_REAL_CLIS_BIN`: the bin dir holding claude/codex/gemini/opencode (default:
  `tools/realcli_env.real_clis_bin()`, i.e. `<repo>/.cache/real-clis/node_modules/.bin`).
* `CSA_REQUIRE_REAL_CLIS=1`: missing node or CLIs fail instead of skip.
* `CSA_REALCLI_NETNS=0`: do not use a private network namespace even where possible.
* `CSA_CAPTURE_FIXTURES=1`: the lifecycle test copies the CLIs' own transcripts into
  `tests/fixtures/import/<tool>/` (see the README there).

Each test gets a `RealCli` (fixture `realcli`, needs a `tool` parameter): its own HOME,
CSA_STATE_DIR and project dir under tmp_path, a MockLLM on 127.0.0.1, and
`<project>/.csa/config.toml` with `tools.<tool>.binary` = the real binary and
`tools.<tool>.env` = the offline env from `realcli_env.prepare`, the way a user points
csa at a custom endpoint. csa itself runs as `python -m csa` with a minimal env (PATH
with node, HOME, CSA_STATE_DIR, XDG dirs, TMPDIR).

Network isolation: as root on Linux (where `realcli_env.netns_available()`), one private
network namespace is created for the session (`NetNamespace`); each mock binds its socket
inside it (`MockLLM(netns=...)`) and every csa command runs under `nsenter --net=...`, so
csa and the CLIs it spawns can reach that loopback and nothing else. Elsewhere the tests
run without it (the summary says so) and rely on the env/config pointing at 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from csa.tomldoc import dumps as toml_dumps

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "tools"))  # tools/ is not a package

import realcli_env  # noqa: E402
from mock_llm import MockLLM  # noqa: E402

# csa tool name -> the realcli_env / npm binary name.
TOOLS: dict[str, str] = {
    "claude-code": "claude",
    "codex": "codex",
    "gemini-cli": "gemini",
    "opencode": "opencode",
}
TOOL_IDS = list(TOOLS)
ULID_RE = re.compile(r"\b[0-7][0-9A-HJKMNP-TV-Z]{25}\b")
CALL_TIMEOUT = 120.0

# Read at import time: tests/conftest.py's autouse fixture drops CSA_* vars per test.
REQUIRE = os.environ.get("CSA_REQUIRE_REAL_CLIS") == "1"
USE_NETNS = os.environ.get("CSA_REALCLI_NETNS", "1") != "0"
BIN_DIR = Path(os.environ.get("CSA_REAL_CLIS_BIN") or realcli_env.real_clis_bin())
NODE = shutil.which("node")
NPM = shutil.which("npm")

# Filled during the run, printed by pytest_terminal_summary.
VERSIONS: dict[str, str] = {}
TIMINGS: list[tuple[str, str, float, int]] = []  # (tool, label, seconds, exit code)
ISOLATION: dict[str, str] = {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test collected from this directory `realcli`."""
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.realcli)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not (TIMINGS or VERSIONS or ISOLATION):
        return
    tr = terminalreporter
    tr.section("real CLIs via csa: versions and wall time per csa call")
    if ISOLATION:
        tr.write_line(f"network isolation: {ISOLATION.get('mode')}")
    for tool in TOOL_IDS:
        if tool not in VERSIONS and not any(t == tool for t, *_ in TIMINGS):
            continue
        calls = [f"{label} {secs:.2f}s" + ("" if rc == 0 else f" (exit {rc})")
                 for t, label, secs, rc in TIMINGS if t == tool]
        tr.write_line(f"{tool:<12} {VERSIONS.get(tool, '?'):<24} " + ", ".join(calls))


def _unavailable(reason: str) -> None:
    if REQUIRE:
        pytest.fail(f"CSA_REQUIRE_REAL_CLIS=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def _base_path() -> str:
    """PATH for csa and the CLIs: node's dir, python's dir, the system dirs (no CLI bin dir:
    csa must find each CLI through `tools.<tool>.binary`)."""
    dirs = [os.path.dirname(NODE)] if NODE else []
    dirs += [os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin",
             "/usr/sbin", "/sbin"]
    seen: list[str] = []
    for d in dirs:
        if d and d not in seen:
            seen.append(d)
    return os.pathsep.join(seen)


@pytest.fixture(scope="session")
def netns():
    """A private network namespace shared by the mocks and csa, or None where unavailable."""
    ns = None
    why = ""
    if not USE_NETNS:
        why = "disabled by CSA_REALCLI_NETNS=0"
    elif not sys.platform.startswith("linux") or os.geteuid() != 0:
        why = "needs root on Linux"
    elif not realcli_env.netns_available():
        why = "`unshare -n` with loopback up does not work here"
    else:
        try:
            ns = realcli_env.NetNamespace().start()
        except RuntimeError as exc:
            why = str(exc)
    if ns is None:
        ISOLATION["mode"] = (f"NONE ({why}); relying on config/env pointing every CLI at "
                             "127.0.0.1")
        print(f"\nrealcli: no private network namespace: {why}", file=sys.stderr)
    else:
        ISOLATION["mode"] = (f"private network namespace {ns.path} (mock bound inside, "
                             "csa run under nsenter --net)")
    yield ns
    if ns is not None:
        ns.stop()


def _wrap(ns: Any, argv: list[str]) -> list[str]:
    return ns.wrap(argv) if ns is not None else argv


def run_cmd(argv: list[str], *, env: dict[str, str], cwd: Path, ns: Any = None,
            timeout: float = CALL_TIMEOUT, input: str | None = None,
            ) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run argv (inside the namespace when there is one); return (result, seconds).

    On timeout SIGTERM goes first (csa forwards it to the tool's process group).
    """
    start = time.monotonic()
    proc = subprocess.Popen(_wrap(ns, argv), env=env, cwd=cwd, text=True,
                            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        pytest.fail(f"timed out after {timeout:.0f}s: {argv}\nstdout:\n{out}\nstderr:\n{err}")
    secs = time.monotonic() - start
    return subprocess.CompletedProcess(argv, proc.returncode, out, err), secs


def _version(tool: str, binary: Path, ns: Any, root: Path) -> str:
    """`<cli> --version` (cached per session), run with a throwaway HOME."""
    if tool in VERSIONS:
        return VERSIONS[tool]
    home = root / f"version-home-{TOOLS[tool]}"
    tool_env, _args, _files = realcli_env.prepare(TOOLS[tool], 9, home)
    env = {**realcli_env.minimal_env(), "PATH": _base_path(), **tool_env}
    res, _ = run_cmd([str(binary), "--version"], env=env, cwd=home, ns=ns, timeout=60)
    if res.returncode != 0 or not res.stdout.strip():
        _unavailable(f"{binary} --version failed (exit {res.returncode}): "
                     f"{(res.stderr or res.stdout).strip()[-500:]}")
    VERSIONS[tool] = res.stdout.strip().splitlines()[-1]
    return VERSIONS[tool]


@pytest.fixture(scope="session")
def versions_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("realcli-versions")


def require_cli(tool: str, netns: Any, versions_root: Path) -> Path:
    """The real CLI for `tool`: skip (or fail under CSA_REQUIRE_REAL_CLIS=1) when missing."""
    cli = TOOLS[tool]
    if NODE is None:
        _unavailable("node is not on PATH: install Node.js >= 20 and npm, then run "
                     "tools/install-real-clis")
    binary = BIN_DIR / cli
    if not binary.exists():
        hint = (f"tools/install-real-clis {cli}" if NPM else
                f"npm is not on PATH; install npm, then tools/install-real-clis {cli}")
        _unavailable(f"{cli} is not installed in {BIN_DIR} (run {hint}, or set "
                     "CSA_REAL_CLIS_BIN)")
    _version(tool, binary, netns, versions_root)
    return binary


@pytest.fixture
def real_binary(tool: str, netns: Any, versions_root: Path) -> Path:
    """The real CLI for the test's `tool` parameter (see require_cli)."""
    return require_cli(tool, netns, versions_root)


@dataclass
class RealCli:
    """One tool, its own HOME/state/project, a mock, and csa run as a user would."""

    tool: str
    binary: Path
    root: Path
    ns: Any
    mock: MockLLM
    tool_env: dict[str, str]
    env: dict[str, str] = field(default_factory=dict)

    @property
    def cli(self) -> str:
        return TOOLS[self.tool]

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def project(self) -> Path:
        return self.root / "proj"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def version(self) -> str:
        return VERSIONS.get(self.tool, "?")

    def csa(self, *args: str, label: str, input: str | None = None,
            ) -> subprocess.CompletedProcess[str]:
        """`python -m csa ARGS` in the project dir; the wall time is recorded as `label`."""
        res, secs = run_cmd([sys.executable, "-m", "csa", *args], env=self.env,
                            cwd=self.project, ns=self.ns, input=input)
        TIMINGS.append((self.tool, label, secs, res.returncode))
        print(f"[{self.tool} {self.version}] csa {label}: {secs:.2f}s exit {res.returncode}")
        return res

    def tool_cmd(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The real CLI itself, with the same env csa gives it (e.g. `opencode export`)."""
        env = {**self.env, **self.tool_env}
        res, _ = run_cmd([str(self.binary), *args], env=env, cwd=self.project, ns=self.ns)
        return res

    def session_dir(self, sid: str) -> Path:
        return self.state_dir / str(self.project).lstrip("/") / "sessions" / sid

    def state(self, sid: str) -> dict[str, Any]:
        return tomllib.loads((self.session_dir(sid) / "state.toml").read_text())

    def transcript(self, sid: str) -> list[dict[str, Any]]:
        text = (self.session_dir(sid) / "transcript.jsonl").read_text()
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def mark(self) -> int:
        return len(self.mock.requests)

    def model_requests_since(self, mark: int) -> list[dict[str, Any]]:
        return [r for r in self.mock.requests[mark:] if "n" in r]

    def explain(self, res: subprocess.CompletedProcess[str]) -> str:
        reqs = [(r["method"], r["path"], r.get("user_turns"), r.get("status"))
                for r in self.mock.requests[-8:]]
        return (f"{self.tool} ({self.version}) exit {res.returncode}\nargv: {res.args}\n"
                f"stdout:\n{res.stdout[-3000:]}\nstderr:\n{res.stderr[-3000:]}\n"
                f"last mock requests: {reqs}")


@contextmanager
def make_realcli(binaries: dict[str, Path], netns: Any, tmp_path: Path, configure: Any = None):
    """A `RealCli` whose tool is the first of `binaries` (csa tool name -> real binary);
    every tool listed is configured in the project, all against one mock and one HOME.
    `configure(tools_cfg, rc)`, when given, edits the `[tools]` table before it is written
    and trusted (e.g. an ACP command, test_realcli_acp.py)."""
    root = tmp_path / "rc"
    root.mkdir()
    tool = next(iter(binaries))
    with MockLLM(netns=netns.path if netns is not None else None) as mock:
        rc = RealCli(tool=tool, binary=binaries[tool], root=root, ns=netns, mock=mock,
                     tool_env={})
        rc.project.mkdir()
        rc.state_dir.mkdir()
        tools_cfg: dict[str, Any] = {}
        for name, binary in binaries.items():
            tool_env, extra_args, _files = realcli_env.prepare(TOOLS[name], mock, rc.home)
            cfg: dict[str, Any] = {"binary": str(binary), "env": dict(tool_env)}
            if extra_args:
                cfg["args"] = list(extra_args)
            tools_cfg[name] = cfg
            if name == tool:
                rc.tool_env = tool_env
        if configure is not None:
            configure(tools_cfg, rc)
        (rc.project / ".csa").mkdir()
        (rc.project / ".csa" / "config.toml").write_text(
            toml_dumps({"tools": tools_cfg}), encoding="utf-8")
        tool_env = rc.tool_env
        # csa's own environment: nothing from the developer's shell but PATH dirs.
        rc.env = {
            "PATH": _base_path(),
            "HOME": str(rc.home),
            "CSA_STATE_DIR": str(rc.state_dir),
            "XDG_CONFIG_HOME": tool_env["XDG_CONFIG_HOME"],
            "XDG_DATA_HOME": tool_env["XDG_DATA_HOME"],
            "XDG_STATE_HOME": tool_env["XDG_STATE_HOME"],
            "XDG_CACHE_HOME": tool_env["XDG_CACHE_HOME"],
            "TMPDIR": tool_env["TMPDIR"],
            "LANG": "C.UTF-8",
            "TERM": "dumb",
            "GIT_CONFIG_NOSYSTEM": "1",
            # csa is pip-installed editable; this only matters where it is not.
            "PYTHONPATH": str(REPO),
        }
        # The project config sets the binary, env and args: trusted, as a user would (issue 14).
        trusted = rc.csa("trust", label="trust")
        assert trusted.returncode == 0, trusted.stderr
        yield rc
        stray = [r for r in mock.requests if r["api"] == "unknown"
                 and not r["path"].startswith("/npm-registry/")]
        if stray:
            print(f"[{tool}] note: mock answered 404 to {[r['path'] for r in stray]}")


@pytest.fixture
def realcli(tool: str, real_binary: Path, netns: Any, tmp_path: Path):
    """A ready `RealCli` for `tool` (parametrize the test with `tool`)."""
    with make_realcli({tool: real_binary}, netns, tmp_path) as rc:
        yield rc
