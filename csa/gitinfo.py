"""The project's git branch and HEAD, read from `.git` files (no git process, no GitPython).

    >>> branch_and_head(Path("/home/me/proj"))
    ('main', '3f2a...')
"""

from __future__ import annotations

from pathlib import Path


def _read(path: Path) -> str:
    """A small file of the project's .git, read safely (a FIFO or device is an OSError)."""
    from csa.errors import CsaError
    from csa.safeio import read_text

    try:
        return read_text(path, "git")
    except CsaError as e:
        raise OSError(str(e)) from e


def _git_dir(root: Path) -> Path | None:
    dot = root / ".git"
    if dot.is_dir():
        return dot
    if dot.is_file():
        # Worktrees and submodules: ".git" is a file "gitdir: <path>".
        try:
            text = _read(dot).strip()
        except OSError:
            return None
        if text.startswith("gitdir:"):
            p = Path(text[7:].strip())
            return p if p.is_absolute() else (root / p).resolve()
    return None


def _common_dir(git_dir: Path) -> Path:
    try:
        rel = _read(git_dir / "commondir").strip()
        return (git_dir / rel).resolve()
    except OSError:
        return git_dir


def _resolve_ref(git_dir: Path, ref: str) -> str | None:
    for base in (git_dir, _common_dir(git_dir)):
        try:
            return _read(base / ref).strip() or None
        except OSError:
            pass
        try:
            for line in _read(base / "packed-refs").splitlines():
                if line.endswith(" " + ref) and not line.startswith(("#", "^")):
                    return line.split(" ", 1)[0]
        except OSError:
            pass
    return None


def branch_and_head(root: Path) -> tuple[str | None, str | None]:
    """(branch name or None when detached, HEAD commit sha or None) for a git checkout."""
    git_dir = _git_dir(root)
    if git_dir is None:
        return None, None
    try:
        head = _read(git_dir / "HEAD").strip()
    except OSError:
        return None, None
    if head.startswith("ref:"):
        ref = head[4:].strip()
        branch = ref.removeprefix("refs/heads/")
        return branch, _resolve_ref(git_dir, ref)
    return None, head or None


def git_dirs(path: Path) -> tuple[Path, Path] | None:
    """(git dir, common dir) of the checkout holding `path` (a worktree's own git dir and
    the repository's), or None outside a git checkout."""
    path = Path(path)
    for root in (path, *path.parents):
        git_dir = _git_dir(root)
        if git_dir is not None:
            return git_dir, _common_dir(git_dir)
    return None


def head_of(path: Path) -> str | None:
    """The HEAD commit of the checkout holding `path` (None: none, or an unborn branch)."""
    dirs = git_dirs(path)
    if dirs is None:
        return None
    try:
        head = _read(dirs[0] / "HEAD").strip()
    except OSError:
        return None
    if head.startswith("ref:"):
        return _resolve_ref(dirs[0], head[4:].strip())
    return head or None
