"""Compaction: shrink a tool's context natively where it can, else by rollover.

    >>> res = compress(store.resolve("01JH4Q"))   # claude-code: `/compact` in print mode
    >>> res.method, res.success, res.new_provider_session_id

Native (claude-code): csa resumes the conversation with `/compact` and reads the
tool's own `compact_result`. A failure ("Not enough messages to compact.") is
reported and not counted.

Rollover (codex exec, gemini -p, opencode run: `/compact` would reach the model as an
ordinary prompt): csa asks the current provider session for a summary, then starts a
fresh provider session seeded with it. The old provider id is kept in the tool's
`previous_provider_session_ids`; the summary is saved as an artifact.

Success sets `is_compacted`, `last_compacted_at`, increments `compaction_count` and
moves the phase to `available`; the next run moves it back to `active`. Compaction
takes the session itself and runs its turns through csa.turn.run_turn, so both
rollover turns run under one lock and no other run can slip in between.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from csa import catalogue, events
from csa.errors import CsaError
from csa.session import Session
from csa.state import iso_ms, transition, utcnow
from csa.turn import TurnOptions, run_turn

if TYPE_CHECKING:
    from csa.turn.outcome import RunResult

SUMMARY_PROMPT = (
    "Summarize our conversation so far so that it can continue in a fresh session: the goal, "
    "decisions made and why, the current state of the work, files involved, and open next "
    "steps. Reply with the summary only."
)
SEED_PROMPT = (
    "This conversation continues an earlier session whose context was compacted. Summary of "
    "the earlier conversation:\n\n{summary}\n\nReply 'ready' and wait for the next instruction."
)
KEEP_PROMPT = "Keep this context from the session journal verbatim in the summary:"


@dataclass
class CompressResult:
    session_id: str
    tool: str
    method: str  # "native" | "rollover"
    success: bool
    message: str
    old_provider_session_id: str | None = None
    new_provider_session_id: str | None = None
    compaction_count: int = 0
    exit_code: int = 0
    details: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in (
            "session_id", "tool", "method", "success", "message", "old_provider_session_id",
            "new_provider_session_id", "compaction_count", "exit_code")}


def compress(session: Session, *, tool: str | None = None, timeout: float | None = None,
             quiet: bool = True) -> CompressResult:
    """Compact the session's conversation with `tool` (default: the one it last ran)."""
    from csa.turn.choose import resume_choice
    from csa.turn.claim import release, take
    from csa.turn.hooks import builtin_hooks

    sid = session.id
    state = session.load()
    tool = tool or state.last_tool()
    holder = session.holder()
    if holder is not None:  # its first turn may still be running: no tool recorded yet
        raise CsaError(f"Session {sid} is locked by PID {holder.get('pid', '?')} (a turn is "
                       "running); wait for it "
                       f"with: csa session wait -s {sid[:10]}, then compress", exit_code=1)
    if tool is None:
        raise CsaError(f"Session {sid} has not run any tool yet; nothing to compact")
    tstate = state.tools.get(tool)
    if tstate is None or not tstate.provider_session_id:
        raise CsaError(f"Session {sid} has no {tool} conversation to compact")
    if state.phase == "retired":
        raise CsaError(f"Session {sid} is retired; it cannot be compacted")
    old_id = tstate.provider_session_id
    # Both turns run under one claim (one lock), so no other run can slip in between.
    claim = take(resume_choice(session, tool, reason="compress"), builtin_hooks())
    try:
        def turn(prompt: str, purpose: str, **kw) -> RunResult:
            return run_turn(claim, TurnOptions(prompt=prompt, purpose=purpose, quiet=quiet,
                                               timeout=timeout, with_journal=False, **kw))

        # the journal (key context, progress, next steps) is carried through compaction
        from csa.journal import prompt_preamble

        keep = prompt_preamble(session)
        if claim.choice.tool.compaction == "native":
            result = _native(sid, tool, old_id, turn, keep)
        else:
            result = _rollover(session, tool, old_id, turn, keep)
        state = claim.state
        if result.success:
            state.is_compacted = True
            state.last_compacted_at = utcnow()
            state.compaction_count += 1
            _mark_digest(state, result.message)
            transition(state, "available")
            session.save(state)
        result.compaction_count = state.compaction_count
        _record(session, result)
        return result
    finally:
        release(claim)


def _mark_digest(state, message: str) -> None:
    from csa.digest_marks import mark

    if isinstance(state.extra.get("digest"), dict):
        mark(state.extra["digest"], "compaction", message, ts=None)


def _native(sid: str, tool: str, old_id: str, turn, keep: str = "") -> CompressResult:
    """The tool's own compaction (claude-code `/compact`), judged by its compact result.

    `keep` (the journal) goes after `/compact` as the summary's instructions."""
    res = turn(f"/compact {KEEP_PROMPT}\n{keep}" if keep else "/compact", "compact",
               native_compact=True)
    outcome = res.outcome
    ok = res.exit_code == 0 and outcome is not None and outcome.compact_result == "success"
    if ok:
        message = "compacted natively (/compact)"
    else:
        why = (outcome.compact_error if outcome else None) or \
            (res.final_text or "").strip() or f"exit {res.exit_code}"
        message = f"compaction failed: {why}"
    return CompressResult(sid, tool, "native", ok, message, old_id, res.provider_session_id,
                          exit_code=res.exit_code)


def _rollover(session: Session, tool: str, old_id: str, turn, keep: str = "") -> CompressResult:
    """A summary turn, then a fresh provider conversation seeded with the summary."""
    sid = session.id
    summary_res = turn(SUMMARY_PROMPT, "rollover-summary")
    summary = summary_res.final_text.strip()
    if summary_res.exit_code != 0 or not summary:
        return CompressResult(
            sid, tool, "rollover", False,
            f"compaction failed: the summary turn ended with exit "
            f"{summary_res.exit_code}{'' if summary else ' and no text'}", old_id,
            old_id, exit_code=summary_res.exit_code or 1)
    seed = turn(SEED_PROMPT.format(summary=summary + (f"\n\n{keep}" if keep else "")),
                "rollover-seed",
                fresh_provider_session=True)
    new_id = seed.provider_session_id
    ok = seed.exit_code == 0 and bool(new_id) and new_id != old_id
    _save_summary(session, summary)
    return CompressResult(
        sid, tool, "rollover", ok,
        f"rolled over to a fresh {tool} session seeded with a summary"
        if ok else f"compaction failed: the seed turn ended with exit {seed.exit_code}",
        old_id, new_id, exit_code=seed.exit_code)


def _save_summary(session: Session, summary: str) -> None:
    from csa.fsutil import write_private

    stamp = iso_ms(utcnow()).replace(":", "").replace("-", "")
    write_private(session.ensure_output_dir() / f"compaction-{stamp}.md",
                  session.store.redactor.text(summary).encode() + b"\n")


def _record(session: Session, result: CompressResult) -> None:
    with session.transcript_writer(session.store.redactor) as w:
        w.write(catalogue.compaction(**result.to_json()))
    events.emit(session.store, "compress", session_id=result.session_id, tool=result.tool,
                method=result.method, success=result.success)
