"""Result files (`output/result.toml` and friends): the outcome of a session's turn, as TOML.

    >>> session.write_result({"session_id": sid, "exit_code": 0, "final_text": "done"})
    >>> session.read_result()["final_text"]
    'done'
    >>> last_outcome(session)["exit_code"]        # what `csa session result` shows
    0

csa.session.Session decides where result files live; this module only writes and reads one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from csa.errors import CsaError
from csa.fsutil import atomic_write

if TYPE_CHECKING:
    from csa.session import Session
    from csa.state import SessionState


def write_result(path: Path, result: dict[str, Any]) -> None:
    """Write the (already redacted) result atomically; None values are left out."""
    from csa.tomldoc import dumps

    atomic_write(path, dumps(result).encode())


def read_result(path: Path) -> dict[str, Any] | None:
    """The result at `path`, or None when there is none (the turn has not finished)."""
    import tomllib  # not at the top: writing a result (the end of every turn) needs none

    from csa.safeio import read_text

    try:
        return tomllib.loads(read_text(path, "result"))
    except FileNotFoundError:
        return None
    except (OSError, tomllib.TOMLDecodeError, RecursionError) as e:
        raise CsaError(f"{path}: unreadable result ({e})") from e


def last_outcome(session: Session) -> dict[str, Any]:
    """What `csa session result` shows: the last turn's result (an imported session's is
    built from its transcript and digest), with `current_run` while a run is running or
    died. Raises CsaError when the session has not finished a turn yet."""
    state = session.load()
    res = session.read_result()
    if res is None and "import" in state.extra:
        res = _imported_outcome(session, state)
    if res is None:
        status = state.run.status if state.run else "no turn yet"
        raise CsaError(f"Session {session.id} has no finished turn yet ({status})")
    if state.run and state.run.status in ("running", "died"):
        res["current_run"] = state.run.status
    return res


def _imported_outcome(session: Session, state: SessionState) -> dict[str, Any]:
    """An imported session's outcome: its last assistant text and its digest."""
    last = ""
    for ev in session.read_transcript():
        if ev.get("type") == "imported" and ev.get("role") == "assistant" and ev.get("text"):
            last = ev["text"]
    digest = state.extra.get("digest")
    if not isinstance(digest, dict):
        digest = {}
    tool = state.last_tool()
    return {"session_id": session.id, "tool": tool, "purpose": "import",
            "provider_session_id": state.tools[tool].provider_session_id if tool else None,
            "status": digest.get("outcome", "imported"), "exit_code": 0,
            "final_text": last, "tokens": digest.get("tokens") or {},
            "cost_usd": digest.get("cost_usd"), "imported": True}
