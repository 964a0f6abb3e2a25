"""`csa demo`: csa's main job on the spot, offline and without an API key.

    >>> run_demo(keep=False)          # prints each command and its output; returns 0

In a temp dir (its own HOME, config and state dir; `--state-dir` keeps the state
elsewhere), with the demo agent (csa.demo.agent, speaking claude's and codex's real
output formats) first on PATH as `claude` and `codex`, it runs:

    csa run --tool claude "Plan the parser work and delegate it"   # spawns two children
    csa run -s <prefix> "What did you ask them to do?"             # resume by prefix
    csa session list --tree
    csa session search parser

Nothing is read from or written to your own HOME, config or csa state.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from csa.errors import CsaError

PARENT_PROMPT = "Plan the parser work and delegate it"
RESUME_PROMPT = "What did you ask them to do?"


def _launchers(bin_dir: Path) -> None:
    """`claude` and `codex` on PATH that run the demo agent with this Python."""
    bin_dir.mkdir(parents=True)
    for tool in ("claude", "codex"):
        script = bin_dir / tool
        script.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m csa.demo.agent "
                          f'{tool} "$@"\n')
        script.chmod(0o755)


def _env(work: Path, state: Path) -> dict[str, str]:
    home = work / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CSA_", "XDG_"))}
    csa_root = str(Path(__file__).resolve().parent.parent.parent)  # csa importable as is
    env.update(PATH=f"{work / 'bin'}{os.pathsep}{env.get('PATH', '')}", HOME=str(home),
               CSA_STATE_DIR=str(state), CSA_DEMO_HOME=str(work / "agent"),
               XDG_CONFIG_HOME=str(home / ".config"), XDG_CACHE_HOME=str(home / ".cache"),
               XDG_DATA_HOME=str(home / ".local" / "share"),
               PYTHONPATH=os.pathsep.join(filter(None, [csa_root, env.get("PYTHONPATH")])),
               NO_COLOR="1")
    return env


class Demo:
    """The temp project and the way each step runs and is shown."""

    def __init__(self, work: Path, state: Path, out=None):
        self.work, self.project = work, work / "project"
        self.env = _env(work, state)
        self.out = out or sys.stdout

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def csa(self, *args: str) -> subprocess.CompletedProcess:
        """Show `$ csa ARGS`, run it, show its stderr then its stdout."""
        self.say("\n$ csa " + " ".join(shlex.quote(a) for a in args))
        done = subprocess.run([sys.executable, "-m", "csa", *args], cwd=self.project,
                              env=self.env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=120)
        for text in (done.stderr, done.stdout):
            if text.strip():
                self.say(text.rstrip("\n"))
        if done.returncode != 0:
            raise CsaError(f"csa demo: `csa {args[0]}` failed (exit {done.returncode}); "
                           f"its files are kept in {self.work}")
        return done


def run_demo(*, keep: bool = False, state_dir: str | None = None, out=None) -> int:
    """Run the demo; the temp dir goes at the end unless `keep` (or a step failed)."""
    import re

    work = Path(tempfile.mkdtemp(prefix="csa-demo-"))
    state = Path(state_dir).expanduser().absolute() if state_dir else work / "state"
    failed = True
    try:
        _launchers(work / "bin")
        (work / "project").mkdir()
        demo = Demo(work, state, out)
        demo.say(f"csa demo: a small agent tree in {work} (offline, no API key; the demo "
                 "agent plays claude and codex)")
        first = demo.csa("run", "--tool", "claude", PARENT_PROMPT)
        sid = re.search(r"session ([0-9A-Z]{26})", first.stderr)
        if sid is None:
            raise CsaError(f"csa demo: no session id in csa's output; files kept in {work}")
        demo.csa("run", "-s", sid.group(1)[:10].lower(), RESUME_PROMPT)
        demo.csa("session", "list", "--tree")
        demo.csa("session", "search", "parser")
        failed = False
        demo.say("\nThe parent (claude) ran two children (codex, claude) through \"$CSA_BIN\" "
                 "run; the resume found its conversation by the stored provider id.\n"
                 "Next: csa doctor (which AI CLIs csa finds), then csa run --tool codex "
                 "\"...\" in your project.")
        return 0
    finally:
        if keep or failed:
            if keep:
                print(f"csa demo: kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
