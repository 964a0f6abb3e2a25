"""Work attribution: the commits made in the project while a session's turn ran.

    >>> mark = Mark.take(Path("/home/me/proj"))          # before the tool starts
    >>> commits_since(mark)                              # after it ended
    [{'sha': '3f2a...', 'subject': 'fix the parser'}]
    >>> trailer_commits(Path("/home/me/proj"), "01JH4Q...")   # `Csa-Session:` trailers

A turn's commits are those between HEAD before and HEAD after the turn, plus every
reflog line (any branch, this worktree's HEAD) appended during the turn that records a
commit (commit, amend, merge, cherry-pick, revert): an agent that committed on another
branch and switched back is still seen. The reflog files are read past the size they had
when the turn started, so a commit made just before it never counts. The `Attribution` hook records them on
the session (`[[commits]]` in state.toml: sha, subject, turn, tool) and as a `commits`
event in the transcript. Git runs only when a reflog file changed during the turn.

contrib/git-hooks/prepare-commit-msg adds a `Csa-Session: <id>` trailer to commits made
where CSA_SESSION_ID is set; `trailer_commits` finds them (`csa session show`).
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from csa.turn.outcome import RunResult
    from csa.turn.pipeline import Turn

MAX_COMMITS = 200  # of one turn (a rebase of a long branch is not 10,000 entries)
KEEP_COMMITS = 1000  # [[commits]] kept in state.toml
GIT_TIMEOUT_S = 10
TRAILER = "Csa-Session"
COMMIT_ACTIONS = ("commit", "merge", "cherry-pick", "revert")


@dataclass
class Mark:
    """Where the project's git stood when a turn started (HEAD, and each reflog's size)."""

    cwd: Path
    head: str | None
    started: float
    logs: dict[str, tuple[int, int]] = field(default_factory=dict)  # reflog -> (size, mtime)

    @classmethod
    def take(cls, cwd: Path) -> Mark | None:
        """The mark of the checkout at `cwd`, or None when it is not in a git checkout."""
        from csa.gitinfo import git_dirs

        dirs = git_dirs(cwd)
        if dirs is None:
            return None
        return cls(cwd, _head(cwd), time.time(), _reflogs(dirs))

    def changed(self) -> bool:
        from csa.gitinfo import git_dirs

        dirs = git_dirs(self.cwd)
        return dirs is not None and (_reflogs(dirs) != self.logs or _head(self.cwd) != self.head)


def _head(cwd: Path) -> str | None:
    from csa.gitinfo import head_of

    return head_of(cwd)


def _reflogs(dirs: tuple[Path, Path]) -> dict[str, tuple[int, int]]:
    """(size, mtime) of every reflog file: this worktree's HEAD and all refs."""
    out: dict[str, tuple[int, int]] = {}
    git_dir, common = dirs
    roots = [git_dir / "logs" / "HEAD", common / "logs" / "refs"]
    for root in roots:
        if root.is_file():
            st = root.stat()
            out[str(root)] = (st.st_size, st.st_mtime_ns)
            continue
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                try:
                    st = os.stat(os.path.join(dirpath, name))
                except OSError:
                    continue
                out[os.path.join(dirpath, name)] = (st.st_size, st.st_mtime_ns)
    return out


def git(cwd: Path, *args: str) -> str:
    """`git ARGS` in cwd; "" when git fails or is missing (attribution is best effort)."""
    try:
        res = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True,
                             timeout=GIT_TIMEOUT_S, stdin=subprocess.DEVNULL,
                             env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"})
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return res.stdout if res.returncode == 0 else ""


def _pairs(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        sha, _, subject = line.partition("\x00")
        if len(sha) >= 40:
            out.append({"sha": sha, "subject": subject})
    return out


def commits_since(mark: Mark) -> list[dict]:
    """Commits (sha, subject; oldest first) made since `mark` was taken."""
    if not mark.changed():
        return []
    from csa.gitinfo import git_dirs

    head = _head(mark.cwd)
    found: list[dict] = []
    if head and head != mark.head:
        span = f"{mark.head}..{head}" if mark.head else head
        found += _pairs(git(mark.cwd, "log", "--reverse", f"--max-count={MAX_COMMITS}",
                            "--format=%H%x00%s", span))
    dirs = git_dirs(mark.cwd)
    new = [sha for sha in new_reflog_commits(mark, dirs) if sha not in {c["sha"] for c in found}]
    if new:
        found += _pairs(git(mark.cwd, "log", "--no-walk=unsorted", "--format=%H%x00%s",
                            *new[:MAX_COMMITS]))
    unique: dict[str, dict] = {}
    for c in found:
        unique.setdefault(c["sha"], c)
    return list(unique.values())[:MAX_COMMITS]


def new_reflog_commits(mark: Mark, dirs: tuple[Path, Path] | None) -> list[str]:
    """The commits recorded by reflog lines appended since the mark (every branch, this
    worktree's HEAD): the part of each reflog file past the size the mark saw, so nothing
    from before the turn counts. A file that shrank (expired) is read from its start,
    keeping the lines of the turn's window."""
    if dirs is None:
        return []
    from csa.safeio import open_stream

    out: list[str] = []
    for path, (size, _mtime) in _reflogs(dirs).items():
        before = mark.logs.get(path, (0, 0))[0]
        if size == before:
            continue
        try:
            with open_stream(path, "git") as f:  # a FIFO in the repository never hangs csa
                f.seek(before if size > before else 0)
                tail = f.read(1 << 20).decode("utf-8", "replace")
        except OSError:
            continue
        for line in tail.splitlines():
            # "<old> <new> Name <email> <epoch> <tz>\t<action>: <message>"
            meta, _, message = line.partition("\t")
            fields = meta.split()
            if len(fields) < 4 or not message.startswith(COMMIT_ACTIONS):
                continue
            if size < before and not _in_window(fields[-2], mark.started):
                continue
            if fields[1] not in out and fields[1].strip("0"):
                out.append(fields[1])
    return out


def _in_window(epoch: str, started: float) -> bool:
    try:
        return int(epoch) >= int(started)
    except ValueError:
        return False


def trailer_commits(root: Path, sid: str) -> list[dict]:
    """Commits of any branch whose message has the `Csa-Session: <sid>` trailer."""
    return _pairs(git(root, "log", "--all", f"--max-count={MAX_COMMITS}", "--fixed-strings",
                      f"--grep={TRAILER}: {sid}", "--format=%H%x00%s"))


def session_commits(session, state=None) -> list[dict]:
    """What `session show` / `session log` list: the recorded commits, then trailer-marked
    ones not recorded (`"via": "trailer"`)."""
    state = state or session.load()
    recorded = [c for c in state.extra.get("commits") or [] if isinstance(c, dict)]
    seen = {c.get("sha") for c in recorded}
    root = Path(state.project_path or session.store.root)
    extra = [{**c, "via": "trailer"} for c in trailer_commits(root, session.id)
             if c["sha"] not in seen] if (root / ".git").exists() else []
    return recorded + extra


class Attribution:
    """Turn hook: mark git before the tool starts; record the turn's commits after it."""

    def __init__(self):
        self.mark: Mark | None = None

    def before_turn(self, turn: Turn) -> None:
        if turn.ephemeral:
            return
        from csa.errors import CsaError
        from csa.worktree import tool_dir

        cd = turn.claim.choice.cd
        here = os.path.realpath(cd) if cd else os.getcwd()
        try:  # where the tool will run: the session's worktree, or here
            self.mark = Mark.take(Path(tool_dir(turn.state, turn.store.root, here) or here))
        except (OSError, CsaError):
            self.mark = None

    def after_turn(self, turn: Turn, result: RunResult) -> None:
        mark, self.mark = self.mark, None
        if mark is None:
            return
        try:
            found = commits_since(mark)
        except OSError:
            return
        if found:
            record(turn, found, mark)

    def after_release(self, choice) -> None:
        self.mark = None


def record(turn: Turn, found: list[dict], mark: Mark) -> None:
    """The commits on the session: `[[commits]]` in state.toml and a transcript event."""
    from csa import catalogue
    from csa.failover import note_event
    from csa.state import iso_ms, utcnow

    redactor = turn.store.redactor
    found = [{"sha": c["sha"], "subject": redactor.text(c["subject"])} for c in found]
    note_event(turn.claim, catalogue.commits(commits=found, head_before=mark.head,
                                             head_after=_head(mark.cwd)))
    state = turn.state
    entries = state.extra.get("commits")
    if not isinstance(entries, list):
        entries = state.extra["commits"] = []
    now = iso_ms(utcnow())
    entries += [{**c, "turn": state.turn_count, "tool": turn.tool.name, "at": now}
                for c in found]
    del entries[:-KEEP_COMMITS]
    turn.session.save(state)
