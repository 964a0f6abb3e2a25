"""Issue 14 fuzz (hypothesis): state dirs built with FIFOs, /dev/zero links, symlinks out of
the state dir, foreign ownership and random modes. Every command ends within its time limit
with exit 0 or a one-line error, and nothing outside the state dir changes (the checksums of
a canary tree the links point into).

Short (default): 5 examples (~60 s on a loaded 2-core machine), each running every command
at once as separate processes, then `clean`.
`stress` variant: 40 examples (--stress-long: 200).
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runkit import CSA, csa, fake_env, session_id_from

TIME_LIMIT = 45  # seconds per command, on a loaded 2-core machine
NOBODY = pwd.getpwnam("nobody").pw_uid
KINDS = ["keep", "keep", "fifo", "devzero", "link-file", "link-dir", "dir", "foreign", "mode",
         "huge"]
# Session files, project files and shared files an attacker (or damage) could replace.
TARGETS = ["S/state.toml", "S/transcript.jsonl", "S/output/result.toml", "S/locks",
           "S/journal.md", "P/events.jsonl", "P/cache/summaries.db", "P/usage_stats.toml",
           "P/sessions/.git/HEAD", "P/sessions/.git/config", "B/slots/codex/0.lock",
           "B/index.sqlite", "B/trust.toml", "G/config.toml", "P/.csa-project.toml"]
DIRS = ["B", "P", "P/sessions", "S"]


def commands(sid: str) -> list[list[str]]:
    return [["session", "list"], ["session", "show", "-s", sid], ["session", "result", "-s", sid],
            ["session", "logs", "-s", sid], ["run", "-s", sid, "--timeout", "30", "again"],
            ["run", "--last", "--timeout", "30", "again"], ["session", "search", "first"],
            ["session", "checkpoint", "-s", sid], ["gc"], ["doctor"],
            ["session", "clean", "--days", "0"]]


def tree_digest(root: Path) -> str:
    """Names, modes, owners and contents of everything under `root` (links not followed)."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in sorted(os.walk(root)):
        dirnames.sort()
        for name in sorted([*dirnames, *filenames]):
            p = Path(dirpath, name)
            st_ = os.lstat(p)
            h.update(f"{p}\0{st_.st_mode}\0{st_.st_uid}\0{st_.st_size}\0".encode())
            if os.path.isfile(p) and not os.path.islink(p):
                h.update(p.read_bytes())
    return h.hexdigest()


class World:
    """One project with a session that ran twice, was checkpointed, searched and noted."""

    def __init__(self, tmp_path: Path, project: Path, state_dir: Path, env: dict):
        self.env, self.project, self.state_dir = env, project, state_dir
        self.canary = tmp_path / "canary"
        (self.canary / "dir").mkdir(parents=True)
        (self.canary / "file.toml").write_text('meta_session_id = "x"\n')
        (self.canary / "dir" / "keep").write_text("keep\n")
        res = csa("run", "--tool", "codex", "first", env=env, cwd=project)
        assert res.returncode == 0, res.stderr
        self.sid = session_id_from(res.stderr)
        for cmd in (["run", "-s", self.sid, "second"], ["session", "checkpoint", "-s", self.sid],
                    ["session", "note", "-s", self.sid, "--next", "x"],
                    ["session", "search", "first"]):
            assert csa(*cmd, env=env, cwd=project).returncode == 0
        self.pristine = tmp_path / "pristine"
        shutil.copytree(state_dir, self.pristine, symlinks=True)
        self.glob = Path(os.environ["XDG_CONFIG_HOME"]) / "csa"
        self.canary_sum = tree_digest(self.canary)
        self.canary_pristine = tmp_path / "canary-pristine"
        shutil.copytree(self.canary, self.canary_pristine, symlinks=True)

    def path(self, target: str) -> Path:
        pdir = self.state_dir / str(self.project).lstrip("/")
        roots = {"B": self.state_dir, "P": pdir, "S": pdir / "sessions" / self.sid,
                 "G": self.glob}
        head, _, rest = target.partition("/")
        return roots[head] / rest if rest else roots[head]

    def restore(self) -> None:
        for p in (self.state_dir, self.glob):
            if p.exists():
                subprocess.run(["chmod", "-R", "u+rwX", str(p)], check=False)
                shutil.rmtree(p)
        shutil.copytree(self.pristine, self.state_dir, symlinks=True)
        # each example starts from an untouched canary, so a change is pinned on its damage
        subprocess.run(["chmod", "-R", "u+rwX", str(self.canary)], check=False)
        shutil.rmtree(self.canary)
        shutil.copytree(self.canary_pristine, self.canary, symlinks=True)

    def damage(self, target: str, kind: str, mode: int) -> None:
        p = self.path(target)
        if kind == "keep":
            return
        p.parent.mkdir(parents=True, exist_ok=True)
        if kind in ("foreign", "mode"):
            if p.is_symlink():  # the link itself (chown and chmod would change its target,
                if kind == "foreign":  # the canary; a link has no mode of its own)
                    os.lchown(p, NOBODY, -1)
                return
            if not p.exists():
                p.write_text("x = 1\n")
            os.chown(p, NOBODY, -1) if kind == "foreign" else os.chmod(p, mode)
            return
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        elif p.exists() or p.is_symlink():
            p.unlink()
        if kind == "fifo":
            os.mkfifo(p)
        elif kind == "devzero":
            p.symlink_to("/dev/zero")
        elif kind == "link-file":
            p.symlink_to(self.canary / "file.toml")
        elif kind == "link-dir":
            p.symlink_to(self.canary / "dir")
        elif kind == "dir":
            p.mkdir()
        elif kind == "huge":
            with open(p, "wb") as f:
                f.truncate(300 << 20)  # sparse: 300 MB that must never be read whole


def outcome_ok(cmd: list[str], rc: int, stderr: str) -> str | None:
    """Why this outcome breaks the contract (None when it is fine)."""
    if "Traceback" in stderr or "internal error" in stderr:
        return "crash"
    if rc == 0 or (cmd[0] == "run" and rc in (3, 124)):
        return None
    if rc not in (1, 2):
        return f"exit {rc}"
    chatter = ("csa: session ", "csa: resuming", "csa: ignoring", "[codex]", "csa: running in")
    errors = [ln for ln in stderr.strip().splitlines() if not ln.startswith(chatter)]
    if cmd[0] == "doctor":  # doctor reports problems on stdout and exits 1; stderr stays quiet
        return None if len(errors) <= 1 else f"{len(errors)} stderr lines"
    if rc == 2:  # click usage errors: the usage lines, then one Error: line
        errors = [ln for ln in errors if ln.startswith("Error:")]
    return None if len(errors) == 1 else f"{len(errors)} error lines"


def run_all(world: World) -> list[str]:
    """Every command at once (each its own process), then clean (which removes the session)."""
    *others, clean = commands(world.sid)
    return _run(world, others) + _run(world, [clean])


def _run(world: World, cmds: list[list[str]]) -> list[str]:
    procs = [(cmd, subprocess.Popen([*CSA, *cmd], env=world.env, cwd=world.project,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True))
             for cmd in cmds]
    problems, deadline = [], time.monotonic() + TIME_LIMIT
    for cmd, proc in procs:
        try:
            _, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            problems.append(f"{cmd}: did not end within {TIME_LIMIT} s")
            continue
        why = outcome_ok(cmd, proc.returncode, err)
        if why:
            problems.append(f"{cmd}: {why}: {err.strip()[-400:]}")
    return problems


DAMAGE = st.lists(st.tuples(st.sampled_from(TARGETS + DIRS), st.sampled_from(KINDS),
                            st.integers(0, 0o777)), min_size=1, max_size=4)


def _fuzz(tmp_path, project, state_dir, examples: int, derandomize: bool) -> None:
    if os.geteuid() != 0:
        pytest.skip("foreign ownership needs root")
    world = World(tmp_path, project, state_dir, fake_env(tmp_path))

    @settings(max_examples=examples, deadline=None, database=None, derandomize=derandomize,
              suppress_health_check=list(HealthCheck))
    @given(damage=DAMAGE)
    def inner(damage):
        world.restore()
        for target, kind, mode in damage:
            if target in DIRS and kind not in ("foreign", "mode"):
                kind = "foreign"  # a whole dir swapped for a FIFO is covered by its files
            world.damage(target, kind, mode)
        problems = run_all(world)
        assert tree_digest(world.canary) == world.canary_sum, f"{damage}: canary changed"
        assert not problems, f"{damage}: {problems}"

    inner()


def test_fuzz_hostile_state_dirs(tmp_path, project, state_dir):
    _fuzz(tmp_path, project, state_dir, examples=5, derandomize=True)


@pytest.mark.stress
def test_fuzz_hostile_state_dirs_long(tmp_path, project, state_dir, stress_long):
    _fuzz(tmp_path, project, state_dir, examples=200 if stress_long else 40,
          derandomize=not stress_long)
