"""Worktrees: `csa run --worktree [BRANCH]` gives a session a git worktree of its own.

    >>> request_check(store, "feature-x")       # before anything is written: can it be made?
    >>> create(session, state, "feature-x")     # <repo>.csa-worktrees/<ULID>, branch feature-x
    >>> tool_dir(state, store.root, cwd)        # where the session's tool runs
    >>> keep_reason(store, sid)                 # "worktree ... has 2 unmerged commits ..." or None
    >>> remove(store, sid)                      # a worktree without work goes with its session

Worktrees live beside the repository in a directory csa manages,
`<parent>/<repo name>.csa-worktrees/<ULID>`, on a new branch `csa/<ULID>` (or BRANCH: an
existing branch is checked out there, a new one starts at the current HEAD). The session's
`state.toml` has `[worktree]` (path, branch, base commit, whether csa made the branch).
Its tool runs there, in the same subdirectory the run was started from, with
`CSA_WORKTREE` set; a nested `csa run` finds it in its environment and runs its own tool
in the same worktree (`inherited = true`) unless it asks for `--worktree` itself.

Removing a session (delete, clean, gc) never removes a worktree with uncommitted changes
or commits that no other branch has: the session is kept and the reason given. A worktree
without such work is removed with the session, and so is the branch csa made for it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from csa.errors import CsaError, UsageError

if TYPE_CHECKING:
    from csa.session import Session
    from csa.state import SessionState
    from csa.store import Store
    from csa.turn.claim import Claim

ENV = "CSA_WORKTREE"
GIT_TIMEOUT_S = 30


class WorktreeHasWork(CsaError):
    """A session's worktree holds uncommitted or unmerged work: the session is kept."""


def _git(cwd: Path | str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    try:
        res = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True,
                             timeout=GIT_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise CsaError(f"git {args[0]} failed in {cwd}: {e}") from e
    if check and res.returncode != 0:
        msg = (res.stderr.strip().splitlines() or ["failed"])[-1]
        raise CsaError(f"git {' '.join(args[:2])} in {cwd}: {msg}")
    return res


def home(root: Path) -> Path:
    """The csa-managed directory beside the repository that holds its sessions' worktrees."""
    root = Path(root)
    return root.parent / f"{root.name}.csa-worktrees"


def default_branch(sid: str) -> str:
    return f"csa/{sid}"


def request_check(store: Store, branch: str) -> None:
    """Refuse (UsageError) a --worktree that cannot be made, before anything is written."""
    from csa.gitinfo import git_dirs, head_of

    if git_dirs(store.root) is None:
        raise UsageError(f"--worktree needs a git repository; {store.root} is not one")
    if head_of(Path.cwd()) is None and head_of(store.root) is None:
        raise UsageError("--worktree needs a commit to start from; this repository has none")
    if not branch:
        return
    if branch.startswith("-") or _git(store.root, "check-ref-format", "--branch", branch,
                                      check=False).returncode != 0:
        raise UsageError(f"--worktree took {branch!r} as the branch name, which git refuses; "
                         "give the prompt before --worktree, or use --worktree=BRANCH")
    busy = _git(store.root, "worktree", "list", "--porcelain").stdout
    if f"branch refs/heads/{branch}\n" in busy + "\n":
        raise UsageError(f"--worktree: branch {branch!r} is already checked out in another "
                         "worktree; choose another branch")


def create(session: Session, state: SessionState, branch: str, start: Path) -> dict:
    """Make the session's worktree (from `start`'s HEAD) and record it in `state`."""
    from csa.gitinfo import head_of
    from csa.state import iso_ms, utcnow

    root = session.store.root
    path = home(root) / session.id
    path.parent.mkdir(parents=True, exist_ok=True)
    base = head_of(start) or head_of(root)
    exists = bool(branch) and _git(root, "rev-parse", "--verify", "--quiet",
                                   f"refs/heads/{branch}", check=False).returncode == 0
    made = not exists
    branch = branch or default_branch(session.id)
    if exists:
        _git(root, "worktree", "add", str(path), branch)
        base = head_of(path)
    else:
        _git(root, "worktree", "add", "-b", branch, str(path), str(base))
    record = {"path": str(path), "branch": branch, "base": base, "created_branch": made,
              "created_at": iso_ms(utcnow())}
    state.extra["worktree"] = record
    return record


def of(state: SessionState) -> dict | None:
    """The session's `[worktree]` record, or None."""
    wt = state.extra.get("worktree")
    return wt if isinstance(wt, dict) and isinstance(wt.get("path"), str) else None


def tool_dir(state: SessionState, root: Path, cwd: str) -> str | None:
    """Where the tool of a session with a worktree runs: the run's directory mapped into
    the worktree (None: the session has none). Raises CsaError when it is gone."""
    wt = of(state)
    if wt is None:
        return None
    path = Path(wt["path"])
    if not path.is_dir():
        raise CsaError(f"Session {state.meta_session_id}'s worktree {path} is gone; start a "
                       "new session (or `git worktree add` it again)")
    here = Path(os.path.realpath(cwd))
    for base in (path, Path(os.path.realpath(root))):
        try:
            rel = here.relative_to(base)
        except ValueError:
            continue
        inside = path / rel
        return str(inside if inside.is_dir() else path)
    return str(path)


class Worktrees:
    """Turn hook: create the worktree a new run asked for (--worktree), or record the one
    it inherits from its parent (CSA_WORKTREE)."""

    def after_claim(self, claim: Claim) -> None:
        choice, state = claim.choice, claim.state
        if choice.ephemeral or of(state) is not None:
            return
        if choice.worktree is not None:
            wt = create(claim.session, state, choice.worktree, Path(choice.cd or os.getcwd()))
            claim.session.save(state)
            if choice.say:
                choice.say(f"csa: worktree {wt['path']} (branch {wt['branch']})")
        elif choice.inherited_worktree:
            state.extra["worktree"] = {"path": choice.inherited_worktree, "inherited": True}
            claim.session.save(state)


def work_left(path: Path, branch: str | None) -> str | None:
    """What would be lost with the worktree: uncommitted changes, or commits of its branch
    that no other branch has ("" / None: nothing)."""
    if not path.is_dir():
        return None
    status = _git(path, "status", "--porcelain", check=False)
    if status.returncode != 0:
        return f"its worktree {path} cannot be read by git ({status.stderr.strip()[:120]})"
    changed = [ln for ln in status.stdout.splitlines() if ln.strip()]
    if changed:
        return f"its worktree {path} has uncommitted changes ({len(changed)} files)"
    # (--exclude patterns for --branches are relative to refs/heads/)
    exclude = [f"--exclude={branch}"] if branch else []
    only = _git(path, "rev-list", "HEAD", "--not", *exclude, "--branches", check=False)
    count = len(only.stdout.split()) if only.returncode == 0 else 0
    if count:
        return (f"its worktree {path} has {count} commit(s) on {branch or 'HEAD'} that no "
                "other branch has")
    return None


def present(store: Store) -> set[str]:
    """Names in the worktree home (one listdir: a clean of thousands asks keep_reason only
    for these)."""
    try:
        return set(os.listdir(home(store.root)))
    except OSError:
        return set()


def keep_reason(store: Store, sid: str) -> str | None:
    """Why a session must be kept for its worktree's sake (None: no worktree, or no work)."""
    path = home(store.root) / sid
    if not path.exists():  # one stat for the sessions without a worktree
        return None
    return work_left(path, _branch_of(path))


def _branch_of(path: Path) -> str | None:
    res = _git(path, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    return res.stdout.strip() or None if res.returncode == 0 else None


def remove(store: Store, sid: str) -> None:
    """Before a session goes: refuse (WorktreeHasWork) when its worktree holds work, else
    remove the worktree and the branch csa made for it."""
    path = home(store.root) / sid
    if not path.exists():
        return
    branch = _branch_of(path)
    why = work_left(path, branch)
    if why:
        raise WorktreeHasWork(f"Session {sid} kept: {why}; merge or commit it elsewhere, or "
                              f"remove the worktree yourself (git worktree remove {path}), "
                              "then try again")
    _git(store.root, "worktree", "remove", str(path))
    if branch == default_branch(sid):
        _git(store.root, "branch", "-d", branch, check=False)


def diff(session: Session, *, stat: bool = False) -> str:
    """The session's changes: its worktree against its base (committed and not), plus
    untracked files; without a worktree, the commits attributed to it."""
    state = session.load()
    wt = of(state)
    if wt is not None and not wt.get("inherited"):
        path = Path(wt["path"])
        if not path.is_dir():
            raise CsaError(f"Session {session.id}'s worktree {path} is gone")
        args = ["diff", "--stat"] if stat else ["diff"]
        out = _git(path, *args, wt.get("base") or "HEAD").stdout
        untracked = _git(path, "ls-files", "--others", "--exclude-standard").stdout.split("\n")
        names = [n for n in untracked if n]
        if names:
            out += "Untracked files:\n" + "".join(f"  {n}\n" for n in names)
        return out
    from csa.attribution import session_commits

    commits = [c["sha"] for c in session_commits(session, state)]
    if not commits:
        where = " (it shares its parent's worktree)" if wt else ""
        raise CsaError(f"Session {session.id} has no worktree{where} and no commits "
                       "attributed to it: nothing to diff")
    return _git(session.store.root, "show", "--stat" if stat else "--patch",
                "--format=commit %H%n%s%n", *commits).stdout
