"""One turn as a pipeline: prepare → spawn → relay → record, with hooks between steps.

    >>> res = run(RunRequest(prompt="analyze the auth module", tool="codex"))
    >>> claim = take(choice, builtin_hooks())           # compaction: its own session choice
    >>> try:
    ...     res = run_turn(claim, TurnOptions(prompt="/compact", purpose="compact"))
    ... finally:
    ...     release(claim)

`run` = choose → take (create or lock) → run_turn (announcing the session once its
turn is on disk) → release. `run_turn` runs one
turn on a session that is already taken; a claim may run several (compaction):

    prepare       before_turn hooks; the tool's argv (spawn.plan); state.toml says running
                  and the prompt is in the transcript, fsynced; then the session is announced
    launch        spawn the tool (spawn.start); record its process; during_turn hooks
    relay_output  pump its output until it is done (relay.Relay): timer flush, heartbeat,
                  tick hooks
    conclude      the result (outcome.result_of), recorded (record.finish); after_turn hooks
"""

from __future__ import annotations

import subprocess
import time
from datetime import datetime
from typing import TYPE_CHECKING

from csa.errors import CsaError
from csa.state import ToolState, utcnow
from csa.tools.base import TurnSpec
from csa.turn import record, spawn
from csa.turn.choose import choose
from csa.turn.claim import Claim, announce_claim, release, take
from csa.turn.hooks import Hooks, TurnRefused, builtin_hooks
from csa.turn.request import RunRequest, TurnOptions

if TYPE_CHECKING:
    from csa.turn.outcome import RunResult
    from csa.turn.relay import Relay


class Turn:
    """One turn on a taken session: what the steps and hooks read and fill in."""

    def __init__(self, claim: Claim, options: TurnOptions):
        self.claim = claim
        self.options = options
        self.prompt = options.prompt  # as sent to the tool (a hook may prepend the journal)
        self.warnings: list[str] = []  # recorded in the transcript after the prompt
        self.tool_state: ToolState | None = None  # the tool's state before this turn
        self.provider_id: str | None = None  # the tool's conversation this turn resumes
        self.fork_from: str | None = None  # a conversation this turn copies (csa.fork)
        self.chosen_id: str | None = None  # the id csa chose for a new conversation
        self.spec: TurnSpec | None = None
        self.argv: list[str] = []
        self.proc: subprocess.Popen | None = None
        self.writer = None  # the transcript writer (None: ephemeral)
        self.prompt_seq: int | None = None  # the seq of this turn's prompt record
        self.started = 0.0  # time.monotonic() at the spawn
        self.started_at: datetime | None = None
        self.peak_rss = 0  # the tool's process tree, bytes (a hook samples it)
        self.relay: Relay | None = None  # while the tool runs (tick hooks read its outcome)

    # The claim's parts, as every step and hook names them.
    store = property(lambda self: self.claim.choice.store)
    cfg = property(lambda self: self.claim.choice.cfg)
    tool = property(lambda self: self.claim.choice.tool)
    ephemeral = property(lambda self: self.claim.choice.ephemeral)
    session = property(lambda self: self.claim.session)
    sid = property(lambda self: self.claim.session.id)
    state = property(lambda self: self.claim.state)
    is_new = property(lambda self: self.claim.is_new)


def run(req: RunRequest, hooks: Hooks | None = None) -> RunResult:
    """`csa run`: one turn in a new or resumed session; raises CsaError.

    `hooks` replaces the built-in ones (a library caller adds its own to
    `builtin_hooks().hooks`)."""
    choice = choose(req)
    options = req.turn_options()
    claim = take(choice, hooks or builtin_hooks(), announce=False)
    try:
        # Announced once the first turn is on disk (prepare), whichever tool runs it.
        claim.announce = lambda: announce_claim(claim, options.say)
        if choice.tool_reason:  # --tool auto: the choice and why, on stderr and on record
            from csa import catalogue
            from csa.failover import note_event

            options.tool_reason = choice.tool_reason
            options.say(f"csa: {choice.tool_reason}")
            note_event(claim, catalogue.tool_choice(tool=choice.tool.name,
                                                    reason=choice.tool_reason,
                                                    parent_tool=choice.parent_tool))
        if choice.failover:
            from csa.failover import run_with_failover

            return run_with_failover(claim, options)
        return run_turn(claim, options)
    finally:
        release(claim)


def run_turn(claim: Claim, options: TurnOptions) -> RunResult:
    """Run one turn on a taken session and record it; returns the result. A session not
    yet announced (`claim.announce`, set by `run`) is announced once the turn is on disk,
    before the spawn."""
    turn = Turn(claim, options)
    prepare(turn)
    launch(turn)
    relay = relay_output(turn)
    return conclude(turn, relay)


def prepare(turn: Turn) -> None:
    """Let hooks shape or refuse the turn and plan the tool's argv; then make it durable
    (state.toml: this csa runs this tool, with the id csa chose for its conversation; the
    transcript: the prompt, fsynced) and only then announce the session: a csa killed
    from here on leaves a session that resumes in the same tool."""
    announce, turn.claim.announce = turn.claim.announce, None
    try:
        turn.claim.hooks.call("before_turn", turn)
        spawn.plan(turn)
        record.start(turn)
        record.open_transcript(turn)
    except (CsaError, OSError) as e:  # refused by a hook, a bad prompt or id, a full disk
        why = e.reason if isinstance(e, TurnRefused) else \
            e.message if isinstance(e, CsaError) else f"could not record the turn: {e}"
        record.fail(turn, why)
        if announce is not None:
            announce()  # the session exists: say which one refused
        if isinstance(e, OSError):
            raise CsaError(f"Session {turn.sid}: {why}", exit_code=1) from e
        raise
    if announce is not None:
        try:
            announce()
        except BaseException as e:
            record.fail(turn, f"could not announce the session: {e}")
            raise


def launch(turn: Turn) -> None:
    """Start the tool and record its process; on a failure after the spawn the tool is
    stopped and the run marked failed."""
    turn.started, turn.started_at = time.monotonic(), utcnow()
    spawn.start(turn)
    assert turn.proc is not None
    try:
        record.begin(turn)
        turn.claim.hooks.call("during_turn", turn)
    except BaseException as e:
        spawn.stop(turn.proc)
        record.fail(turn, f"could not record the turn: {e}")
        raise


def relay_output(turn: Turn) -> Relay:
    """Relay the tool's output until it is done (or stopped by a limit or a signal)."""
    # Imported while the tool starts up, not before the spawn: csa's own start-up is
    # the overhead a user waits for.
    from csa.liveness import Heartbeat, flush_interval
    from csa.turn.relay import Relay

    hooks = turn.claim.hooks
    watch = None
    if turn.options.give_up_retries:  # failover has a tool to go to: do not wait out retries
        from csa.failover import RetryWatch

        watch = RetryWatch(turn.tool, turn.options.give_up_retries)
    interval = flush_interval(turn.cfg)
    if turn.writer is not None:  # transcript.flush_interval: also while output flows
        turn.writer.flush_interval = interval
    relay = Relay(turn.proc, turn.tool, turn.writer, turn.options, turn.store.redactor,
                  on_tick=lambda: hooks.call("tick", turn), watch=watch,
                  heartbeat=Heartbeat(turn.session.heartbeat_path, interval),
                  flush_interval=interval,
                  on_provider_id=lambda pid: record.provider_id_seen(turn, pid))
    turn.relay = relay
    relay.run()
    return relay


def conclude(turn: Turn, relay: Relay) -> RunResult:
    """The turn's result, recorded (unless ephemeral), then the after_turn hooks."""
    from csa.run_messages import failure_line
    from csa.turn.outcome import result_of

    result = result_of(turn, relay)
    result.message = failure_line(result, turn.store.redactor)
    if turn.ephemeral:
        return result
    writer_error = record.finish(turn, relay, result)
    turn.claim.hooks.call("after_turn", turn, result)
    if writer_error is not None:
        raise CsaError(f"Session {turn.sid}: the transcript could not be written "
                       f"({writer_error.strerror or writer_error}); the turn's outcome is in "
                       "state.toml and output/result.toml", exit_code=1)
    return result
