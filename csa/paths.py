"""Where csa keeps things: the state base, the project root and its state dir.

    >>> state_base({"CSA_STATE_DIR": "/tmp/s"})
    PosixPath('/tmp/s')
    >>> project_state_dir(Path("/tmp/s"), Path("/home/me/proj"))
    PosixPath('/tmp/s/home/me/proj')
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from csa.errors import CsaError


def state_base(env: Mapping[str, str] | None = None) -> Path:
    """`$CSA_STATE_DIR`, else `$XDG_STATE_HOME/csa`, else `~/.local/state/csa`.

    A relative CSA_STATE_DIR is refused: it would mean a different directory in every
    directory csa runs from (inside the repository, too). A relative XDG_STATE_HOME is
    ignored, as the XDG spec says."""
    env = os.environ if env is None else env
    if env.get("CSA_STATE_DIR"):
        given = Path(env["CSA_STATE_DIR"]).expanduser()
        if not given.is_absolute():
            raise CsaError(f"CSA_STATE_DIR must be an absolute path, not {str(given)!r}: a "
                           "relative one lands in whatever directory csa runs from; "
                           f"set it to e.g. {Path(given).absolute()}", exit_code=2)
        return given.absolute()
    if env.get("XDG_STATE_HOME") and Path(env["XDG_STATE_HOME"]).expanduser().is_absolute():
        return Path(env["XDG_STATE_HOME"]).expanduser().absolute() / "csa"
    return Path(env.get("HOME") or Path.home()) / ".local" / "state" / "csa"


def config_home(env: Mapping[str, str] | None = None) -> Path:
    """`$XDG_CONFIG_HOME/csa`, else `~/.config/csa`."""
    env = os.environ if env is None else env
    if env.get("XDG_CONFIG_HOME") and Path(env["XDG_CONFIG_HOME"]).expanduser().is_absolute():
        return Path(env["XDG_CONFIG_HOME"]).expanduser().absolute() / "csa"
    return Path(env.get("HOME") or Path.home()) / ".config" / "csa"


def cache_home(env: Mapping[str, str] | None = None) -> Path:
    """`$XDG_CACHE_HOME/csa`, else `~/.cache/csa`: files csa can always rebuild."""
    env = os.environ if env is None else env
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]).expanduser().absolute() / "csa"
    return Path(env.get("HOME") or Path.home()) / ".cache" / "csa"


def git_toplevel(start: Path) -> Path | None:
    """The nearest ancestor of `start` holding a `.git` dir or file (worktrees, submodules).

    Walking up is what `git rev-parse --show-toplevel` answers for ordinary
    checkouts, without spawning git on every command.
    """
    for d in (start, *start.parents):
        if (d / ".git").exists():
            return d
    return None


def project_root(cd: str | os.PathLike | None = None) -> Path:
    """The git top-level of `cd` (or the cwd) when inside a repo, else its canonical path."""
    try:
        here = Path(os.path.realpath(cd if cd is not None else os.getcwd()))
    except FileNotFoundError as e:
        raise CsaError("The current directory no longer exists; cd somewhere else or pass --cd DIR") from e
    if not here.is_dir():
        raise CsaError(f"--cd {cd}: not a directory")
    return git_toplevel(here) or here


def project_state_dir(base: Path, root: Path) -> Path:
    """`<base>/<project path without its leading />`."""
    return base / str(root).lstrip("/")
