"""Helpers shared by the stress suite (tests/stress): chaos processes, invariant checks.

Every check here is about what a user may rely on after chaos: a session that csa
announced exists, its state.toml parses, its transcript has contiguous `seq` (a torn
tail only where the next writer drops it), no lock blocks a resume, and nothing is
written or deleted outside the state dir.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import psutil

from csa.transcript import TranscriptWriter, read_events
from runkit import CSA, ULID_RE

TOOLS = ("claude-code", "codex", "gemini-cli", "opencode")
LOCKED_RE = re.compile(r"Session [0-9A-Z]{26} is locked by PID \d+ \(")


def seed_rng(name: str) -> tuple[random.Random, int]:
    """A seeded RNG; STRESS_SEED=N replays a failing run."""
    seed = int(os.environ.get("STRESS_SEED") or random.SystemRandom().randrange(2**32))
    return random.Random(f"{name}:{seed}"), seed


def no_crash(stderr: str, what: str = "") -> None:
    """csa answered with a message, never a traceback or its last-resort 'internal error'."""
    assert "Traceback" not in stderr, f"{what}: traceback on stderr:\n{stderr}"
    assert "internal error" not in stderr, f"{what}: internal error:\n{stderr}"


def project_state(state_dir: Path, project: Path) -> Path:
    return state_dir / str(project).lstrip("/")


def sessions_dir(state_dir: Path, project: Path) -> Path:
    return project_state(state_dir, project) / "sessions"


def session_ids_on_disk(state_dir: Path, project: Path) -> set[str]:
    try:
        names = os.listdir(sessions_dir(state_dir, project))
    except FileNotFoundError:
        return set()
    return {n for n in names if ULID_RE.fullmatch(n)}


def leftovers(state_dir: Path, project: Path) -> list[str]:
    """Unfinished creations, half-deleted sessions and temp files left in the project dir."""
    out = []
    sdir = sessions_dir(state_dir, project)
    if sdir.is_dir():
        out += [n for n in os.listdir(sdir) if n.startswith((".new-", ".trash-"))]
    for root, _dirs, files in os.walk(project_state(state_dir, project)):
        out += [os.path.join(root, f) for f in files if f.endswith(".tmp")]
    return sorted(out)


# -- transcripts ---------------------------------------------------------------------------

def good_prefix(path: Path) -> bytes:
    """The transcript's bytes up to its last newline (what no later writer may change)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return b""
    return data[:data.rfind(b"\n") + 1]


def check_transcript(path: Path, what: str = "") -> list[dict]:
    """Contiguous seq from 0 and no corrupt line; then a reopen by the next writer leaves
    only complete lines with contiguous seq. Returns the events."""
    if not path.exists():
        return []
    errors: list = []
    events = list(read_events(path, errors=errors))
    assert errors == [], f"{what}: corrupt transcript lines {errors}"
    seqs = [e.get("seq") for e in events]
    assert seqs == list(range(len(events))), f"{what}: seq not contiguous: {seqs[:50]}..."
    TranscriptWriter(path).close()  # what the next run does first: drop a torn tail
    data = path.read_bytes()
    assert data == b"" or data.endswith(b"\n"), f"{what}: torn tail survived a reopen"
    after = list(read_events(path, errors=errors))
    assert errors == [] and [e["seq"] for e in after] == list(range(len(after))), what
    assert len(after) == len(events), f"{what}: reopen changed the complete events"
    return after


def turns_of(events: list[dict]) -> list[list[dict]]:
    """Split a transcript into turns, each starting at its `prompt` event."""
    turns: list[list[dict]] = []
    for e in events:
        if e["type"] == "prompt":
            turns.append([e])
        else:
            assert turns, f"event before any prompt: {e}"
            turns[-1].append(e)
    return turns


# -- processes ------------------------------------------------------------------------------

class Proc:
    """A `csa` subprocess whose stderr is read by a thread (so it can be killed any time)."""

    def __init__(self, args: list[str], env: dict, cwd: Path, stdout=subprocess.DEVNULL):
        self.args = args
        self.started = time.monotonic()
        self.popen = subprocess.Popen([*CSA, *args], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                      stdout=stdout, stderr=subprocess.PIPE)
        self.pid = self.popen.pid
        self.lines: list[str] = []
        self.announced = threading.Event()
        self._out = b""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if stdout == subprocess.PIPE:
            self._out_reader = threading.Thread(target=self._read_out, daemon=True)
            self._out_reader.start()
        else:
            self._out_reader = None
        self.ended: float | None = None

    def _read(self) -> None:
        assert self.popen.stderr is not None
        for raw in self.popen.stderr:
            line = raw.decode("utf-8", "replace")
            self.lines.append(line)
            if ULID_RE.search(line):
                self.announced.set()
        self.announced.set()

    def _read_out(self) -> None:
        assert self.popen.stdout is not None
        self._out = self.popen.stdout.read()

    def wait(self, timeout: float = 120) -> int:
        rc = self.popen.wait(timeout=timeout)
        self._reader.join(timeout=10)
        if self._out_reader is not None:
            self._out_reader.join(timeout=10)
        if self.ended is None:
            self.ended = time.monotonic()
        return rc

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    @property
    def stdout(self) -> str:
        return self._out.decode("utf-8", "replace")

    def sid(self) -> str | None:
        m = ULID_RE.search(self.stderr)
        return m.group(0) if m else None

    def tool_pids(self) -> list[int]:
        try:
            return [c.pid for c in psutil.Process(self.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def kill9(self, *, with_tool: bool = False, rng: random.Random | None = None) -> None:
        """SIGKILL csa; with_tool: its tool too, back to back, in random order."""
        rng = rng or random.Random()
        pids = [self.pid]
        if with_tool:
            tools = self.tool_pids()
            rng.shuffle(tools)
            pids = tools + pids if rng.random() < 0.5 else pids + tools
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def strays(marker_key: str, marker: str) -> list[psutil.Process]:
    """Processes started (indirectly) by this test: their env holds marker_key=marker."""
    out = []
    for p in psutil.process_iter():
        try:
            if p.pid != os.getpid() and p.environ().get(marker_key) == marker:
                out.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, OSError):
            continue
    return out


def wait_no_strays(marker_key: str, marker: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not strays(marker_key, marker):
            return
        time.sleep(0.1)


def kill_strays(marker_key: str, marker: str) -> None:
    for p in strays(marker_key, marker):
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass


# -- outside-the-state-dir canaries ----------------------------------------------------------

def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under root (not following symlinks) with its type, mode and content."""
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            if os.path.islink(p):
                out[rel] = ("link", os.readlink(p))
            elif os.path.isdir(p):
                out[rel] = ("dir", st.st_mode)
            else:
                with open(p, "rb") as f:
                    out[rel] = ("file", st.st_mode, f.read())
    return out


# -- the CLI in-process (fast enough for hundreds of fuzz examples) ---------------------------

def cli(*args: str, input: str | bytes | None = None):
    """Run csa in-process; the click Result (exit_code, stdout, stderr, exception)."""
    from click.testing import CliRunner

    from csa.cli import cli as group

    return CliRunner().invoke(group, list(args), input=input, catch_exceptions=True)


def check_cli(res, what: str, codes: tuple = (0, 1, 2)) -> None:
    """No crash: csa ended with a message and one of the documented exit codes."""
    import traceback

    exc = res.exception
    if exc is not None and not isinstance(exc, SystemExit):
        tb = "".join(traceback.format_exception(exc))
        raise AssertionError(f"{what}: uncaught {type(exc).__name__}\n{tb}")
    no_crash(res.stderr, what)
    assert res.exit_code in codes, f"{what}: exit {res.exit_code}\n{res.stderr}"


def inproc_env(monkeypatch, tmp_path: Path) -> None:
    """What fake_env gives a subprocess, for in-process runs: the fakes first on PATH."""
    from runkit import FAKE_BIN

    monkeypatch.setenv("PATH", f"{FAKE_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("FAKE_CLI_HOME", str(tmp_path / "fake-home"))
    for key in list(os.environ):
        if key.startswith("FAKE_") and key != "FAKE_CLI_HOME":
            monkeypatch.delenv(key)


def session_id_from_cli(res) -> str:
    m = ULID_RE.search(res.stderr)
    assert m, f"no session id in {res.stderr!r}"
    return m.group(0)
