"""`CSA_BIN`: one executable path that runs this same csa, for agents' nested calls.

Agents call `"$CSA_BIN" run ...` because their shells may not have csa on PATH
(codex runs a login shell that resets PATH). Started as the `csa` console script,
that script is the answer. Started as `python -m csa` (or from a test harness),
there is no such file, so csa writes a small launcher that runs the same
interpreter on the same package: `<cache dir>/bin/<hash of its content>/csa`
(written once, then reused; safe to delete). It is named `csa` so that a csa
started through it is recognised as a console script and reuses it.

    >>> csa_bin(argv0="/venv/bin/csa")          # doctest: +SKIP
    '/venv/bin/csa'
    >>> csa_bin(argv0="/src/csa/__main__.py")   # doctest: +SKIP
    '/home/me/.cache/csa/bin/3f2a9c0e1b7d/csa'
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

CONSOLE_NAME = "csa"


def console_script(argv0: str) -> str | None:
    """The absolute path of the `csa` console script csa was started as, else None."""
    if not argv0 or Path(argv0).name != CONSOLE_NAME:
        return None
    path = os.path.abspath(argv0)
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


def launcher_text(python: str, package_parent: str) -> str:
    """A POSIX sh launcher that runs `python` on the csa package found in `package_parent`.

    The package dir goes first on sys.path inside Python (not through PYTHONPATH,
    which every tool csa then starts would inherit); sys.argv[0] becomes the
    launcher's path, as for a console script.
    """
    code = (f"import sys; del sys.argv[0]; sys.path.insert(0, {package_parent!r}); "
            "from csa.cli import main; main()")
    return (f"#!/bin/sh\n# Written by csa for CSA_BIN (csa was run as `python -m csa`); "
            f"safe to delete.\nexec {shlex.quote(python)} -c {shlex.quote(code)} \"$0\" \"$@\"\n")


def write_launcher(text: str, env: Mapping[str, str], cache_dir: Path | None = None) -> str:
    """Write `text` as an executable under the cache dir (once per content); its path."""
    import hashlib

    from csa.paths import cache_home

    path = (cache_dir or cache_home(env)) / "bin" / hashlib.sha256(text.encode()).hexdigest()[:12] / CONSOLE_NAME
    if path.is_file() and os.access(path, os.X_OK):
        return str(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Several csa processes may race here: each writes its own temp file and the
    # rename is atomic, so a reader never sees a half-written launcher.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.chmod(0o755)
    os.replace(tmp, path)
    return str(path)


def csa_bin(argv0: str | None = None, env: Mapping[str, str] | None = None,
            cache_dir: Path | None = None) -> str:
    """The executable a tool can run as `"$CSA_BIN" run ...` to reach this csa.

    The console script csa was started as, else a launcher for this interpreter
    and package (see the module docstring), written under `cache_dir` when given (an
    ephemeral run's temp dir: nothing of it stays behind).
    """
    found = console_script(sys.argv[0] if argv0 is None else argv0)
    if found:
        return found
    package_parent = str(Path(__file__).resolve().parent.parent)
    text = launcher_text(sys.executable, package_parent)
    try:
        return write_launcher(text, os.environ if env is None else env, cache_dir)
    except OSError:
        # No writable cache dir: a nested call then needs csa on PATH, as before.
        import shutil

        return shutil.which(CONSOLE_NAME) or CONSOLE_NAME
