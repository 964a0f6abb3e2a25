"""Optional features of a run, as hooks the pipeline calls at named points.

    >>> hooks = builtin_hooks()                  # fresh instances for one run
    >>> hooks.call("before_turn", turn)          # each hook that defines it, in order

A hook is any object with some of these methods (pluggy-style hook specs):

    before_claim(choice)          before the session is created or locked (may refuse)
    claim_refused(choice, error)  the session was locked by someone else
    after_claim(claim)            the session is announced: taken, and (for `csa run`)
                                  its turn's state and prompt are on disk
    after_release(choice)         the session was released (also after a refused claim)
    before_turn(turn)             before the spawn: may edit turn.prompt, add turn.warnings,
                                  or refuse (raise TurnRefused; the run is recorded failed)
    during_turn(turn)             the tool was spawned and its start recorded
    tick(turn)                    every relay tick (0.5 s) while the tool runs
    after_turn(turn, result)      the outcome is recorded (not for an ephemeral turn)

Built-ins are registered in BUILTIN, in call order; nothing optional is written
inside the pipeline's steps. Hooks run after the step they follow succeeded; the
ones after the spawn must not fail the turn (each catches its own errors).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from csa import events
from csa.errors import CsaError
from csa.fork import ForkStart

if TYPE_CHECKING:
    from csa.turn.choose import Choice
    from csa.turn.claim import Claim
    from csa.turn.outcome import RunResult
    from csa.turn.pipeline import Turn

SPECS = ("before_claim", "claim_refused", "after_claim", "after_release", "before_turn",
         "during_turn", "tick", "after_turn")
INDEX_DELAY_S = 0.2


class TurnRefused(CsaError):
    """A before_turn hook refuses the turn; `reason` is recorded as the run's error."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


class Hooks:
    """The hook objects of one run; `call` runs a spec's implementations in order."""

    def __init__(self, hooks: Iterable[object]):
        self.hooks = list(hooks)
        self._impls = {spec: [getattr(h, spec) for h in self.hooks if hasattr(h, spec)]
                       for spec in SPECS}

    def call(self, spec: str, *args) -> None:
        for impl in self._impls[spec]:
            impl(*args)


class Slots:
    """tools.<tool>.max_concurrent: hold a machine-wide slot while the session is taken."""

    def __init__(self):
        self.slot = None

    def before_claim(self, choice: Choice) -> None:
        limit = choice.cfg.tool(choice.tool.name).max_concurrent
        if limit:
            from csa.slots import acquire_slot

            self.slot = acquire_slot(choice.store.base, choice.tool.name, limit,
                                     wait=choice.wait_slot)

    def after_release(self, choice: Choice) -> None:
        if self.slot is not None:
            self.slot.release()
            self.slot = None


class DetachHandshake:
    """`csa run --detach`: report the session id to the waiting parent, then log to a file."""

    def after_claim(self, claim: Claim) -> None:
        if os.environ.get("CSA_DETACH_FD") and not claim.choice.ephemeral:
            from csa.detach import handshake

            handshake(claim.session)


class JournalPreamble:
    """--goal/--task start the journal; --with-journal (or config `with_journal`): the
    journal's summary opens a user turn."""

    def before_turn(self, turn: Turn) -> None:
        if turn.options.journal_start and turn.options.purpose == "run" \
                and not turn.session.ephemeral:
            from csa.journal_life import start

            start(turn.session, **turn.options.journal_start)
        wanted = turn.options.with_journal
        if wanted is None:
            wanted = bool(turn.cfg.get("with_journal"))
        if not wanted or turn.options.purpose != "run":
            return
        from csa.journal import prompt_preamble

        preamble = prompt_preamble(turn.session)
        if preamble:
            turn.prompt = f"{preamble}\n\n{turn.prompt}"


class MemoryGuard:
    """memory_policy: warn (or refuse) when free memory is below the tool's P95 peak."""

    def before_turn(self, turn: Turn) -> None:
        policy = turn.cfg.get("memory_policy", "warn")
        if policy == "off":
            return
        from csa.usage import memory_check

        margin = int(turn.cfg.get("memory_margin_mb", 256))
        note = memory_check(turn.store.dir, turn.tool.name, margin)
        if note is None:
            return
        if policy == "refuse":
            raise TurnRefused(f"{note}; refusing to start (memory_policy = \"refuse\")", note)
        turn.options.say(f"csa: warning: {note}")
        turn.warnings.append(note)


class BackgroundIndex:
    """Brings the search index up to date with the session's earlier turns while the tool
    runs (sqlite works outside the GIL). The turn being run is indexed at the start of the
    next one, or by `csa session search`, which catches up before it searches."""

    def __init__(self):
        self.turn_done = threading.Event()
        self.thread: threading.Thread | None = None

    def during_turn(self, turn: Turn) -> None:
        if turn.ephemeral or turn.is_new or not turn.cfg.get("index_on_turn_end", True):
            return  # a new session has nothing indexable yet
        self.turn_done.clear()
        self.thread = threading.Thread(target=self._work, args=(turn.session,),
                                       name="csa-index", daemon=True)
        self.thread.start()

    def _work(self, session) -> None:
        # A tool that answers within the delay never competes with this for the CPU.
        if self.turn_done.wait(INDEX_DELAY_S):
            return
        try:
            from csa.search import index_session

            index_session(session)
        except Exception:  # noqa: BLE001 - the index is rebuildable; a turn never fails on it
            pass

    def after_turn(self, turn: Turn, result: RunResult) -> None:
        if self.thread is not None:
            self.turn_done.set()
            self.thread.join(timeout=5)
            self.thread = None


class UsageStats:
    """Samples the tool's process tree RSS; its peak goes to the turn's end and, for a
    tool that ran past its first sample, the project's usage stats (the memory guard's
    P95)."""

    def __init__(self):
        self.sampler = None

    def during_turn(self, turn: Turn) -> None:
        from csa.usage import PeakSampler

        assert turn.proc is not None
        self.sampler = PeakSampler(turn.proc.pid)

    def tick(self, turn: Turn) -> None:
        if self.sampler is not None:
            self.sampler.sample()
            turn.peak_rss = self.sampler.peak

    def after_turn(self, turn: Turn, result: RunResult) -> None:
        # A tool done within one tick (a quick failure, say) has only its start-up RSS
        # (still in its turn_end): kept, it would pull the memory guard's P95 down.
        if turn.peak_rss and self.sampler is not None and self.sampler.measured:
            from csa.usage import record_peak

            record_peak(turn.store.dir, turn.tool.name, turn.peak_rss)


class Events:
    """The project's events log: lock conflicts, turn starts and ends."""

    def claim_refused(self, choice: Choice, error: Exception) -> None:
        events.emit(choice.store, "lock_conflict", session_id=choice.resume,
                    holder_pid=getattr(error, "pid", None), tool=choice.tool.name,
                    cfg=choice.cfg)

    def during_turn(self, turn: Turn) -> None:
        if not turn.ephemeral:
            events.emit(turn.store, "resume" if not turn.is_new else "session_start",
                        session_id=turn.sid, tool=turn.tool.name,
                        provider_session_id=turn.provider_id or turn.chosen_id,
                        parent_session_id=turn.claim.choice.parent,
                        purpose=turn.options.purpose, cfg=turn.cfg)

    def after_turn(self, turn: Turn, result: RunResult) -> None:
        events.emit(turn.store, "session_end", session_id=turn.sid, tool=turn.tool.name,
                    provider_session_id=result.provider_session_id,
                    exit_code=result.exit_code, status=result.status,
                    duration_s=round(result.duration_s, 3), cfg=turn.cfg)


class Checkpoint:
    """checkpoint_on_turn_end: commit the session's metadata after each turn."""

    def after_turn(self, turn: Turn, result: RunResult) -> None:
        if not turn.cfg.get("checkpoint_on_turn_end"):
            return
        try:
            from csa.checkpoint import checkpoint

            checkpoint(turn.session, note="turn end")
        except (ImportError, CsaError, OSError):
            pass


def _worktrees() -> object:
    from csa.worktree import Worktrees  # --worktree, or the parent's worktree (issue 17)

    return Worktrees()


def _attribution() -> object:
    from csa.attribution import Attribution  # the turn's commits (issue 17)

    return Attribution()


def _status_line() -> object:
    from csa.status_line import StatusLine  # the live line on a terminal (issue 18)

    return StatusLine()


BUILTIN: list = [Slots, _worktrees, DetachHandshake, ForkStart, JournalPreamble, MemoryGuard,
                 BackgroundIndex, UsageStats, Events, _attribution, Checkpoint, _status_line]


def builtin_hooks() -> Hooks:
    """Fresh instances of the built-in hooks (they keep per-run state: slot, sampler...)."""
    return Hooks(cls() for cls in BUILTIN)
