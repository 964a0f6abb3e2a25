"""Record a turn: its start and outcome in state.toml, the transcript and output/result.toml.

    >>> start(turn)                 # state.toml: running (this csa, this tool, chosen id)
    >>> open_transcript(turn)       # the prompt, fsynced: all before the spawn
    >>> begin(turn)                 # after it: lock and run record name the tool's process
    >>> provider_id_seen(turn, pid) # the tool printed its id: state.toml has it at once
    >>> error = finish(turn, relay, result)   # turn_end, tool totals, digest, result.toml
    >>> fail(turn, "could not start codex")   # a turn that never started

Everything written is redacted first. An ephemeral turn writes nothing (its state
lives in memory and its temp dir goes with the claim).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from csa import catalogue
from csa.errors import CsaError
from csa.session import RESULT_FILE
from csa.state import RunRecord, ToolState, iso_ms, transition, utcnow

if TYPE_CHECKING:
    from csa.turn.outcome import RunResult
    from csa.turn.pipeline import Turn
    from csa.turn.relay import Relay

SUMMARY_CHARS = 200
# tools.<tool>.provider_session_pending: the id is one csa chose and passed, but has not
# seen the tool print yet (a crash before that: the tool may never have stored it).
PENDING = "provider_session_pending"


def start(turn: Turn) -> None:
    """Before the spawn: state.toml says this csa runs this tool, and holds the id csa
    chose for the tool's new conversation (one save; a new session has both already)."""
    claim, state = turn.claim, turn.state
    changed = note_transport(state, turn.tool)
    if turn.chosen_id is not None:
        changed = choose_provider_id(state.tools.setdefault(turn.tool.name, ToolState()),
                                     turn.chosen_id)
    if not claim.running:
        state.run = running_record(turn.tool.name)
        if turn.options.purpose == "run":
            transition(state, "active")
        state.last_accessed = utcnow()
        changed = True
    if changed and not turn.ephemeral:
        # The summary row waits for begin()'s save, after the spawn (fail() writes it
        # when there is none): the index is a cache, state.toml the truth.
        claim.session.save(state, index=False)
    claim.running = True


def note_transport(state, tool) -> bool:
    """tools.<tool>.transport = "acp" while the tool runs over ACP (a resume keeps it,
    csa.turn.choose); True if that changed state."""
    tstate = state.tools.get(tool.name)
    acp = getattr(tool, "transport", "headless") == "acp"
    if acp and (tstate is None or tstate.extra.get("transport") != "acp"):
        state.tools.setdefault(tool.name, ToolState()).extra["transport"] = "acp"
        return True
    if not acp and tstate is not None and "transport" in tstate.extra:
        del tstate.extra["transport"]
        return True
    return False


def running_record(tool: str) -> RunRecord:
    """The run record of a turn this csa is starting (its pid and that pid's start time)."""
    from csa.procs import start_time

    pid = os.getpid()
    return RunRecord(status="running", tool=tool, pid=pid, pid_start=start_time(pid),
                     started_at=utcnow())


def choose_provider_id(tstate: ToolState, pid: str) -> bool:
    """Record `pid`, chosen by csa for a new conversation, as not yet seen from the tool
    (PENDING); False if it already is."""
    if tstate.provider_session_id == pid and tstate.extra.get(PENDING):
        return False
    _set_provider_id(tstate, pid)
    tstate.extra[PENDING] = True
    return True


def provider_id_seen(turn: Turn, pid: str) -> None:
    """The tool printed its conversation id: persist it at once (a crash from here on
    resumes that conversation). Nothing to write when it is the id csa chose."""
    if turn.ephemeral:
        return
    tstate = turn.state.tools.setdefault(turn.tool.name, ToolState())
    if tstate.provider_session_id == pid:
        return
    _set_provider_id(tstate, pid)
    tstate.extra.pop(PENDING, None)
    turn.session.save(turn.state)


def _set_provider_id(tstate: ToolState, new_id: str) -> None:
    old = tstate.provider_session_id
    if old and new_id != old and old not in tstate.previous_provider_session_ids:
        tstate.previous_provider_session_ids.append(old)
    tstate.provider_session_id = new_id


def fail(turn: Turn, error: str) -> None:
    """A turn that never started: mark the run failed so the session is not 'running'."""
    if turn.ephemeral:
        return
    state = turn.state
    state.run = RunRecord(status="failed", tool=turn.tool.name, pid=os.getpid(),
                          started_at=state.run.started_at if state.run else utcnow(),
                          finished_at=utcnow(), error=turn.store.redactor.text(error))
    turn.claim.running = False
    if turn.writer is not None:  # the prompt is recorded: end the turn after it
        try:
            turn.writer.write(catalogue.turn_end(tool=turn.tool.name, exit_code=None,
                                                 status="failed", errors=[error]))
        except OSError:
            pass
        close_writer(turn)
    try:
        turn.session.save(state)
    except (CsaError, OSError):  # e.g. the disk is full: the failure itself is reported
        pass


def open_transcript(turn: Turn) -> None:
    """Before the spawn: the transcript holds the turn's prompt and warnings, fsynced
    (and, when this created the file, its directory too); turn.writer stays open."""
    spec = turn.spec
    assert spec is not None
    if turn.ephemeral:
        return
    session = turn.session
    created = not session.transcript_path.exists()
    turn.writer = writer = session.transcript_writer(turn.store.redactor)
    turn.prompt_seq = writer.write(catalogue.prompt(
        tool=turn.tool.name, purpose=turn.options.purpose, text=spec.prompt,
        resume=turn.provider_id is not None, provider_session_id=turn.provider_id,
        model=spec.model, argv=_argv_for_record(turn.argv, spec.prompt)))
    for note in turn.warnings:
        writer.write(catalogue.warning(note))
    writer.turn_end()  # flush + fsync
    if created:
        from csa.fsutil import fsync_dir

        fsync_dir(session.dir)


def begin(turn: Turn) -> None:
    """While the tool starts up: the lock record and the run record name the tool's
    process (pid and start time), so whoever finds this csa dead can stop it."""
    from csa.procs import start_time

    proc, lock = turn.proc, turn.claim.lock
    assert proc is not None
    tool_start = start_time(proc.pid)
    if lock is not None:
        lock.update(tool_pid=proc.pid, tool_pgid=proc.pid, tool_start=tool_start)
    run = turn.state.run
    if turn.ephemeral or run is None:
        return
    run.tool_pid, run.tool_start = proc.pid, tool_start
    # Not fsynced: the tool's pid is worth knowing only while the tool may run, and a
    # crash of the machine ends it too (a csa killed leaves the write in the page cache).
    turn.session.save(turn.state, durable=False)


def close_writer(turn: Turn) -> None:
    if turn.writer is not None:
        try:
            turn.writer.close()
        except OSError:
            pass
        turn.writer = None


def _argv_for_record(argv: list[str], prompt: str) -> list[str]:
    # The prompt is recorded once, in `text`; keep argv readable and small.
    return ["<prompt>" if a == prompt or a == " " + prompt else a for a in argv]


def finish(turn: Turn, relay: Relay, result: RunResult) -> OSError | None:
    """Record the outcome; returns the turn's first transcript error, if any (the outcome
    is still in state.toml and result.toml). Raises CsaError when state.toml cannot be
    written."""
    writer_error = _end_transcript(turn, relay, result)
    try:
        _save_outcome(turn, result)
    except OSError as e:
        raise CsaError(f"Session {turn.sid}: the turn's outcome could not be recorded "
                       f"({e.strerror or e}); state.toml keeps the previous turn", exit_code=1
                       ) from e
    return writer_error


def _end_transcript(turn: Turn, relay: Relay, result: RunResult) -> OSError | None:
    """Append the turn's end and close; the first transcript error of the turn, if any."""
    writer, writer_error = turn.writer, relay.writer_error
    assert writer is not None
    try:
        # After a failed write the writer has cut the file back to its last complete
        # line, which frees space: the turn's end is still worth a try.
        errors = list(result.errors)
        if writer_error is not None:
            errors.append(f"transcript incomplete: {writer_error.strerror or writer_error}")
        _write_tool_compaction(turn, result)
        writer.write(catalogue.turn_end(
            tool=result.tool, exit_code=result.exit_code, status=result.status,
            provider_session_id=result.provider_session_id,
            duration_s=round(result.duration_s, 3), tokens=result.tokens,
            cost_usd=result.cost_usd, final_text=result.final_text,
            errors=errors or None, peak_rss_bytes=turn.peak_rss or None,
            failure=result.failure))
        writer.close()
    except OSError as e:
        writer_error = writer_error or e
        close_writer(turn)
    return writer_error


def _write_tool_compaction(turn: Turn, result: RunResult) -> None:
    """A `compaction` record before the turn's end when the tool compacted by itself."""
    from csa.turn import compaction

    n = compaction.count(result.outcome, turn.options.purpose)
    if not n:
        return
    assert turn.writer is not None
    turn.writer.write(compaction.transcript_event(
        session_id=turn.sid, tool=turn.tool.name, outcome=result.outcome,
        provider_id=result.provider_session_id,
        compaction_count=turn.state.compaction_count + n, exit_code=result.exit_code))


def _save_outcome(turn: Turn, result: RunResult) -> None:
    from csa.turn import compaction

    state, now = turn.state, utcnow()
    _add_to_tool(state.tools.setdefault(turn.tool.name, ToolState()), result, now,
                 turn.store.redactor)
    purpose = turn.options.purpose
    compacted = compaction.apply(state, result.outcome, purpose=purpose, now=now)
    user_turn = not compaction.manual_only(result.outcome)
    if purpose == "run" and user_turn:
        state.turn_count += 1
    state.last_accessed = now
    from csa.digest import add_turn, new_digest

    digest = state.extra.get("digest")
    if not isinstance(digest, dict):  # missing, or hand-edited into something else
        digest = state.extra["digest"] = new_digest()
    add_turn(digest, status=result.status,
             exit_code=result.exit_code, tokens=result.tokens, cost_usd=result.cost_usd,
             tool_calls=result.outcome.tool_calls if result.outcome else None,
             errors=len(result.errors), compactions=compacted, user_turn=user_turn,
             retries=result.outcome.retries if result.outcome else None,
             **_snippets(turn, result))
    started_at = turn.started_at
    state.run = RunRecord(status=result.status, tool=turn.tool.name, pid=os.getpid(),
                          started_at=started_at, finished_at=now, exit_code=result.exit_code,
                          error=turn.store.redactor.text("; ".join(result.errors))
                          if result.errors else None)
    turn.claim.running = False
    turn.session.write_result(name=RESULT_FILE if purpose == "run" else
                              f"{purpose}-result.toml", data=turn.store.redactor.obj({
                                  "session_id": turn.sid, "tool": turn.tool.name,
                                  "purpose": purpose,
                                  "provider_session_id": result.provider_session_id,
                                  "exit_code": result.exit_code, "status": result.status,
                                  "started_at": iso_ms(started_at),
                                  "finished_at": iso_ms(now),
                                  "duration_s": round(result.duration_s, 3),
                                  "model": result.model, "cost_usd": result.cost_usd,
                                  "turn": state.turn_count, "final_text": result.final_text,
                                  "errors": result.errors or None,
                                  "tokens": result.tokens or None,
                                  "failure": result.failure,
                                  "tool_reason": result.tool_reason,
                                  "failover": result.failover or None}))
    turn.session.save(state)
    if compacted:
        from csa import events

        events.emit(turn.store, "compress", session_id=turn.sid, tool=turn.tool.name,
                    method="tool", success=True, compactions=compacted)


def _snippets(turn: Turn, result: RunResult) -> dict:
    """The digest's key snippets of this turn, redacted (csa.digest_marks cuts them)."""
    # Redacted with a margin before the cut: a secret cut in half would no longer match.
    red, keep = turn.store.redactor, 4 * SUMMARY_CHARS
    prompt = turn.spec.prompt if turn.spec and turn.options.purpose == "run" else None
    return {"prompt": red.line(prompt[:keep], keep) if prompt else None,
            "answer": red.line(result.final_text[-keep:], keep) if result.final_text else None,
            "error_texts": [red.line(e, SUMMARY_CHARS) for e in result.errors] or None,
            "ts": iso_ms(utcnow())}


def _add_to_tool(tstate: ToolState, result: RunResult, now, redactor) -> None:
    """The tool's running totals, provider id history and last action after this turn."""
    new_id = result.provider_session_id
    if new_id:
        _set_provider_id(tstate, new_id)
        tstate.extra.pop(PENDING, None)
    tstate.last_exit_code = result.exit_code
    tstate.last_action_summary = redactor.line(result.final_text, SUMMARY_CHARS)
    tstate.updated_at = now
    if result.model:
        tstate.model = result.model
    tstate.turn_count += 1
    outcome = result.outcome
    if outcome is not None and outcome.thread_tokens is not None:
        tstate.extra["thread_tokens"] = outcome.thread_tokens
    if outcome is not None and outcome.thread_cost is not None:
        tstate.extra["thread_cost_usd"] = outcome.thread_cost
    for k, v in result.tokens.items():
        tstate.tokens[k] = tstate.tokens.get(k, 0) + v
    _add_model_tokens(tstate, result)
    if result.cost_usd is not None:
        tstate.cost_usd = (tstate.cost_usd or 0.0) + result.cost_usd


def _add_model_tokens(tstate: ToolState, result: RunResult) -> None:
    """Tokens per model (csa.cost prices them; a session may change models between turns)."""
    if not result.tokens:
        return
    by_model = tstate.extra.get("model_tokens")
    if not isinstance(by_model, dict):  # missing, or hand-edited into something else
        by_model = tstate.extra["model_tokens"] = {}
    from csa.cost import UNKNOWN_MODEL

    mine = by_model.setdefault(result.model or UNKNOWN_MODEL, {})
    for k, v in result.tokens.items():
        mine[k] = int(mine.get(k, 0)) + v

