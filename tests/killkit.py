"""Kill-point trials (issue 12): SIGKILL `csa run` at a known point of a turn, recover, check.

    >>> trial("codex", "after_id", env, project, state_dir, tmp_path, n=0)   # raises on a failure

Points: `announced` (right after `csa: session ID ...`), `after_id` (the tool printed its
provider id, nothing else yet), `mid` (the reply event is out, the final lines are not),
`result_write` (inside the write of output/result.toml, via tests/killhook.py). The fake
pauses at its point (FAKE_PAUSE_AT) after starting a grandchild that leaves its process
group (FAKE_GRANDCHILD). After the kill, odd trials first run `csa session list` (its
reconcile must do the recovery), then every trial resumes with `csa run -s ID continue`.
Checked: the prompt is in the transcript, `seq` has no gap or duplicate, the resume runs
the same tool and (once the id was printed) the same provider conversation, and no process
of the dead turn is left (each matched by pid and start time).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import tomllib
from pathlib import Path

import psutil

from runkit import CSA, REPO, ULID_RE, csa, read_log, wait_for

POINTS = ("announced", "after_id", "mid", "result_write")
TOOLS = ("claude-code", "codex", "gemini-cli", "opencode")
FAKE_NAME = {"claude-code": "claude", "codex": "codex", "gemini-cli": "gemini",
             "opencode": "opencode"}
PAUSE = {"announced": "start", "after_id": "after_id", "mid": "mid"}
KILLHOOK = REPO / "tests" / "killhook.py"


class Csa:
    """`csa run` in the background, its stderr read by a thread (it may be killed any time)."""

    def __init__(self, argv: list[str], env: dict, cwd: Path):
        self.popen = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.sid: str | None = None
        self.announced = threading.Event()
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stderr is not None
        for raw in self.popen.stderr:
            line = raw.decode("utf-8", "replace")
            self.lines.append(line)
            m = ULID_RE.search(line)
            if m and line.startswith("csa: session ") and self.sid is None:
                self.sid = m.group(0)
                self.announced.set()
        self.announced.set()

    def kill(self) -> None:
        os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=30)


def kill_strays(marker_key: str, marker: str) -> None:
    """Teardown: kill whatever a failed trial left (processes whose env has the marker)."""
    for p in psutil.process_iter():
        try:
            if p.pid != os.getpid() and p.environ().get(marker_key) == marker:
                p.kill()
        except psutil.Error:
            continue


def _marks(path: Path) -> list[list[str]]:
    try:
        return [line.split() for line in path.read_text().splitlines() if line.strip()]
    except FileNotFoundError:
        return []


def _state(session_dir: Path) -> dict:
    return tomllib.loads((session_dir / "state.toml").read_text())


def _living(pids: set[int]) -> dict[int, float]:
    """pid -> start time of those that run (a zombie counts as gone)."""
    out = {}
    for pid in pids:
        try:
            p = psutil.Process(pid)
            if p.status() != psutil.STATUS_ZOMBIE:
                out[pid] = p.create_time()
        except psutil.Error:
            continue
    return out


def _still_running(procs: dict[int, float]) -> list[int]:
    left = []
    for pid, start in procs.items():
        try:
            p = psutil.Process(pid)
            if abs(p.create_time() - start) < 1e-3 and p.status() != psutil.STATUS_ZOMBIE:
                left.append(pid)
        except psutil.Error:
            continue
    return left


def _kill_at(point: str, tool: str, proc: Csa, mark: Path, log: Path, sdir) -> None:
    """Wait until the turn reached `point`, then SIGKILL csa."""
    if point == "announced":
        assert proc.announced.wait(30) and proc.sid, "".join(proc.lines)
    else:
        wait_for(lambda: any(m[0] in ("pause", "result_write") for m in _marks(mark)), 30)
        assert proc.sid, "".join(proc.lines)
    if point in ("after_id", "mid"):
        # The id was printed: csa persists it as soon as it reads the line.
        printed = wait_for(lambda: read_log(log), 10)[0]["session_id"]
        wait_for(lambda: _state(sdir(proc.sid)).get("tools", {}).get(tool, {})
                 .get("provider_session_id") == printed, 10)
    proc.kill()


def trial(tool: str, point: str, env: dict, project: Path, state_dir: Path, work: Path,
          n: int) -> None:
    """One kill, recovery and resume; AssertionError says what went wrong."""
    mark, log = work / f"mark-{tool}-{point}-{n}", work / f"log-{tool}-{point}-{n}"
    run_env = {**env, "FAKE_LOG": str(log)}
    first_env = dict(run_env)
    argv = [*CSA]
    if point == "result_write":
        first_env["KILLHOOK_MARK"] = str(mark)
        argv = [sys.executable, str(KILLHOOK)]
    else:
        first_env.update(FAKE_PAUSE_AT=PAUSE[point], FAKE_MARK=str(mark), FAKE_GRANDCHILD="1")
    prompt = f"kill at {point}, trial {n}"

    def sdir(sid: str) -> Path:
        return state_dir / str(project).lstrip("/") / "sessions" / sid

    proc = Csa([*argv, "run", "--tool", tool, prompt], first_env, project)
    try:
        _kill_at(point, tool, proc, mark, log, sdir)
    finally:
        if proc.popen.poll() is None:
            proc.kill()
    sid = proc.sid
    assert sid is not None
    first = read_log(log)
    dead = _living({int(m[-1]) for m in _marks(mark) if m[0] in ("pause", "grandchild")}
                   | {e["pid"] for e in first})
    if point in ("after_id", "mid"):
        assert len(dead) == 2, f"the tool and its grandchild should outlive csa: {dead}"
    if n % 2:  # a listing's reconcile recovers the dead turn
        res = csa("session", "list", env=run_env, cwd=project)
        assert res.returncode == 0, res.stderr
        assert not _still_running(dead), f"left after `session list`: {_still_running(dead)}"
        assert _state(sdir(sid))["run"]["status"] == "died"
    res = csa("run", "-s", sid, "continue", env=run_env, cwd=project)
    assert res.returncode == 0, res.stderr
    assert not _still_running(dead), f"left after the resume: {_still_running(dead)}"
    _check_resume(tool, point, read_log(log), first, res.stderr)
    _check_transcript(sdir(sid), prompt, point)
    state = _state(sdir(sid))
    assert state["run"]["status"] == "finished" and state["run"]["tool"] == tool, state["run"]


def _check_resume(tool: str, point: str, log: list[dict], first: list[dict], err: str) -> None:
    again = log[-1]
    assert again["tool"] == FAKE_NAME[tool] and "continue" in again["argv"], (again, err)
    printed = first[0]["session_id"] if first else None
    if point != "announced" or (printed and tool in ("claude-code", "gemini-cli")):
        # The same provider conversation (a chosen id is the same even if never stored).
        assert again["session_id"] == printed, (again, first)
    if point != "announced":
        assert again["resume"] is True, again


def _check_transcript(sdir: Path, prompt: str, point: str) -> None:
    import json

    events = [json.loads(x) for x in (sdir / "transcript.jsonl").read_text().splitlines()]
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(len(events))), seqs
    prompts = [e for e in events if e["type"] == "prompt"]
    assert [p["text"] for p in prompts] == [prompt, "continue"], prompts
    ends = [e for e in events if e["type"] == "turn_end"]
    want = ["finished" if point == "result_write" else "died", "finished"]
    assert [e["status"] for e in ends] == want, ends
