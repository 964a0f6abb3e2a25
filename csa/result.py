"""`output/result.toml`: the outcome of a session's last turn.

    >>> write_result(session_dir, {"session_id": sid, "exit_code": 0, "final_text": "done"})
    >>> read_result(session_dir)["final_text"]
    'done'
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from csa.errors import CsaError
from csa.fsutil import atomic_write, ensure_session_subdir

RESULT_FILE = "result.toml"


def result_path(session_dir: Path, name: str | None = None) -> Path:
    return session_dir / "output" / (name or RESULT_FILE)


def write_result(session_dir: Path, result: dict[str, Any], name: str | None = None) -> None:
    """Write the (already redacted) result atomically; None values are left out."""
    from csa.tomlw import dumps

    ensure_session_subdir(session_dir / "output")
    atomic_write(result_path(session_dir, name), dumps(result).encode())


def read_result(session_dir: Path) -> dict[str, Any] | None:
    """The last turn's result, or None when the session has not finished a turn."""
    path = result_path(session_dir)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8", errors="replace"))
    except FileNotFoundError:
        return None
    except (OSError, tomllib.TOMLDecodeError, RecursionError) as e:
        raise CsaError(f"{path}: unreadable result ({e})") from e
