"""Privacy of csa's state: a private umask, and ssh-StrictModes-like ownership checks.

    >>> with private_umask():            # everything csa creates is 0700 / 0600
    ...     Store.open().ensure()
    >>> check_state_dirs(base, project_dir)   # CsaError when another user could write one
    >>> public_files(state_dir)          # [] when nothing has a group or other bit

csa runs under umask 077 (set by the CLI), so files made by csa, git (the checkpoint
repository) and sqlite (the search index) are private whatever the user's umask;
the AI tool csa spawns gets the user's own umask back (`user_umask()`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from csa.errors import CsaError

PRIVATE_UMASK = 0o077
_saved: list[int] = []


@contextmanager
def private_umask() -> Iterator[None]:
    """Run the body under umask 077; the previous umask is what `user_umask()` returns."""
    _saved.append(os.umask(PRIVATE_UMASK))
    try:
        yield
    finally:
        os.umask(_saved.pop())


def user_umask() -> int:
    """The user's umask for a process csa spawns (-1: unchanged, for Popen(umask=))."""
    return _saved[0] if _saved else -1


class UnsafeOwnership(CsaError):
    """A state dir another user owns or could write."""


def owner_problem(path: Path, *, follow: bool = True) -> str | None:
    """Why `path` is unsafe to use as csa state (None when it is fine or absent).
    Only the state base itself may be a symlink (to another disk, say)."""
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if stat.S_ISLNK(st.st_mode) and not follow:
        return "is a symlink (csa does not follow links inside its state dir)"
    if stat.S_ISLNK(st.st_mode):
        try:
            st = os.stat(path)
        except OSError:
            return "is a dangling symlink"
    if not stat.S_ISDIR(st.st_mode):
        return "is not a directory"
    if st.st_uid != os.geteuid():
        return f"is owned by uid {st.st_uid}, not by you (uid {os.geteuid()})"
    if st.st_mode & 0o022:
        who = " and ".join(w for w, bit in (("group", 0o020), ("others", 0o002))
                           if st.st_mode & bit)
        return f"is writable by {who} (mode {stat.S_IMODE(st.st_mode):04o})"
    return None


def fix_hint(path: Path, problem: str) -> str:
    """The command that makes `path` safe again."""
    if "owned by" in problem:
        return f"remove it or `sudo chown -R {os.geteuid()} {path}`, then `chmod 700 {path}`"
    if "symlink" in problem:
        return f"replace the link {path} with a directory"
    if "writable" in problem:
        return f"run `chmod go-w {path}` (csa makes its dirs 0700)"
    return f"remove {path} and retry"


def state_dirs(base: Path, project_dir: Path) -> list[Path]:
    """The base, every dir from it down to the project's state dir, and sessions/."""
    out = [base]
    for part in project_dir.relative_to(base).parts:
        out.append(out[-1] / part)
    return [*out, project_dir / "sessions"]


def check_state_dirs(base: Path, project_dir: Path) -> None:
    """Refuse state dirs that another user owns or could write (ssh's StrictModes)."""
    for i, path in enumerate(state_dirs(base, project_dir)):
        problem = owner_problem(path, follow=i == 0)
        if problem:
            raise UnsafeOwnership(f"{path} {problem}; csa keeps private state there and "
                                  f"refuses to use it — {fix_hint(path, problem)}")


def public_files(root: Path) -> list[tuple[Path, int]]:
    """(path, mode) of everything under `root` with a group or other permission bit."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in (*dirnames, *filenames):
            p = Path(dirpath, name)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            if not stat.S_ISLNK(st.st_mode) and st.st_mode & 0o077:
                out.append((p, stat.S_IMODE(st.st_mode)))
    return out


def make_private(root: Path) -> int:
    """Drop every group/other permission bit under `root` (links untouched); returns how
    many entries changed. For state an older csa (or git without --shared) left readable.

        >>> make_private(store.sessions_dir / ".git")
        412
    """
    changed = 0
    for path, mode in public_files(root):
        try:
            os.chmod(path, mode & 0o700, follow_symlinks=False)
            changed += 1
        except (OSError, NotImplementedError):
            continue
    return changed
