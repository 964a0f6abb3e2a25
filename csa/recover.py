"""Recover a turn whose csa died: stop what is left of it, record it as died.

    >>> with session.try_lock(reason="reconcile") as lock:     # csa is gone: lock is free
    ...     state = session.read_state()
    ...     recover_dead_turn(session, state, previous=lock.previous)   # True: it was running
    >>> state.run.status
    'died'

A csa killed with -9 leaves its tool running in the tool's own process group, and the
tool may have started more (a shell, a nested `csa run`, a server that left the group).
Whoever next touches the session (`csa run -s`, a listing that reconciles, `show`,
`kill`, `is-alive`) stops all of it: the tool recorded in the run record (and in the
last lock holder record) with its process group and descendants, each matched by pid
and start time, plus any process started since the turn began whose environment names
the session (`CSA_SESSION_ID`), which finds descendants that left the group and lost
their parent. Then the run is recorded as `died`, with a `turn_end` event closing the
turn in the transcript (what was captured before stays; seq continues), so the next
`csa run -s ID` resumes the same tool and provider conversation.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from csa.errors import CsaError

if TYPE_CHECKING:
    from csa.session import Session
    from csa.state import RunRecord, SessionState

KILL_GRACE_S = 3.0
DIED = "csa stopped before the turn finished (killed or crashed)"


def recover_dead_turn(session: Session, state: SessionState,
                      previous: dict | None = None) -> bool:
    """With the session lock held: if `state.run` is still `running`, stop what is left
    of that turn, record it as died (state.toml and the transcript) and return True."""
    from csa.state import utcnow

    run = state.run
    if run is None or run.status != "running":
        # A csa killed after saving its outcome may still have left its lock record.
        stop_recorded_tool(previous or {})
        return False
    stop_leftovers(session.id, run, previous or {})
    run.status, run.finished_at, run.error = "died", utcnow(), DIED
    tool = state.tools.get(run.tool or "")
    if tool is not None and tool.last_exit_code is None:
        tool.last_exit_code = -1
    _close_transcript(session, run, tool.provider_session_id if tool else None)
    session.save(state)
    return True


def stop_leftovers(sid: str, run: RunRecord, previous: dict) -> int:
    """Stop the dead turn's tool tree and the session's strays; how many were running."""
    from csa import procs

    roots = {}
    if procs.is_pid(run.tool_pid) and run.tool_start is not None:
        roots[run.tool_pid] = run.tool_start
    tool = _recorded_tool(previous)
    if tool is not None:
        roots.setdefault(*tool)
    # Started since the turn began (a second of slack for clock-tick rounding).
    since = run.started_at.timestamp() - 1.0 if run.started_at is not None else None
    for pid, start in procs.with_env("CSA_SESSION_ID", sid, since=since):
        roots.setdefault(pid, start)
    return procs.stop_trees(list(roots.items()), grace=KILL_GRACE_S) if roots else 0


def stop_recorded_tool(previous: dict) -> None:
    """Stop the tool named in a lock record a dead csa left (see _recorded_tool)."""
    tool = _recorded_tool(previous)
    if tool is not None:
        from csa.procs import stop_trees

        stop_trees([tool], grace=KILL_GRACE_S)


def _recorded_tool(previous: dict) -> tuple[int, float] | None:
    """The tool in a lock record a dead csa left, only if the record is as csa writes it:
    the tool leads its own process group and its start time is known (a damaged record
    never gets an unrelated process group signalled)."""
    from csa.procs import alive, is_pid

    pid, start = previous.get("tool_pid"), previous.get("tool_start")
    if not is_pid(pid) or previous.get("tool_pgid", pid) != pid \
            or type(start) not in (int, float):
        return None
    if alive(previous.get("pid"), previous.get("pid_start")):
        return None
    return pid, start


def _close_transcript(session: Session, run: RunRecord, provider_id: str | None) -> None:
    """End the dead turn in the transcript (a torn last line is dropped by the writer)."""
    from csa import catalogue

    try:
        if _last_event_type(session) in (None, "turn_end"):  # none, or it ended already
            return
        with session.transcript_writer(session.store.redactor) as writer:
            writer.write(catalogue.turn_end(tool=run.tool, exit_code=None, status="died",
                                            provider_session_id=provider_id, errors=[DIED]))
    except (CsaError, OSError):  # busy or a full disk: state.toml still says died
        pass


def _last_event_type(session: Session) -> str | None:
    """The type of the transcript's last complete event (None: no transcript or event)."""
    from csa.jsonl import scan_tail
    from csa.safeio import open_fd

    try:
        fd = open_fd(session.transcript_path, "transcript")
    except FileNotFoundError:
        return None
    try:
        last = scan_tail(fd, lambda obj: type(obj.get("seq")) is int)[1]
    finally:
        os.close(fd)
    return None if last is None else last.get("type")
