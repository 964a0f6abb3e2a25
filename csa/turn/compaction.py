"""Compaction the tool did by itself during a turn (`/compact` typed as a prompt, or the
tool's automatic compaction), recorded as csa's own `csa session compress` records one.

    >>> manual_only(outcome)          # True: the turn was `/compact`, not a user turn
    >>> n = apply(state, outcome, purpose="run", now=utcnow())   # context_status updated
    >>> transcript_event(turn, result, state.compaction_count + n)

The tool reports it in its event stream (claude-code's `{"type":"system","subtype":
"compact_boundary","compact_metadata":{"trigger":"manual"|"auto",...}}`); the tool module's
observer collects one entry per boundary in `TurnOutcome.compactions`. codex exec, gemini -p
and opencode run print no such event on their non-interactive streams (their stores do:
see the importers). A manual compaction is the whole turn, so it does not count as a user
turn and leaves the session `available`, as `csa session compress` does; an automatic one
happens inside a user turn, which still counts. Turns csa itself runs to compact
(`purpose` other than "run") are recorded by csa.compress, so they are skipped here.
"""

from __future__ import annotations

from typing import Any

from csa.digest_marks import manual_compaction as manual_only

__all__ = ["apply", "count", "manual_only", "transcript_event"]


def count(outcome: Any, purpose: str) -> int:
    """How many compactions of a "run" turn csa records (0 for csa's own compaction turns)."""
    if purpose != "run":
        return 0
    return len(getattr(outcome, "compactions", None) or [])


def apply(state, outcome: Any, *, purpose: str, now) -> int:
    """Update `[context_status]` for the tool's own compactions; how many there were."""
    n = count(outcome, purpose)
    if n:
        from csa.state import transition

        state.is_compacted = True
        state.last_compacted_at = now
        state.compaction_count += n
        if manual_only(outcome):
            transition(state, "available")
    return n


def transcript_event(*, session_id: str, tool: str, outcome: Any, provider_id: str | None,
                     compaction_count: int, exit_code: int | None) -> dict:
    """The `compaction` record (csa.catalogue) a tool-initiated compaction leaves."""
    from csa import catalogue

    triggers = sorted({c.get("trigger") or "auto" for c in outcome.compactions})
    pre = [c["pre_tokens"] for c in outcome.compactions if c.get("pre_tokens") is not None]
    message = (f"the tool compacted its context ({', '.join(triggers)})"
               + (f" at {pre[-1]} tokens" if pre else ""))
    ev = catalogue.compaction(session_id=session_id, tool=tool, method="tool", success=True,
                              message=message, old_provider_session_id=provider_id,
                              new_provider_session_id=provider_id,
                              compaction_count=compaction_count, exit_code=exit_code)
    ev["trigger"] = triggers[-1] if len(triggers) == 1 else "mixed"
    return ev
