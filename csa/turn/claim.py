"""Take the chosen session for one or more turns: create or lock it, load its state.

    >>> claim = take(choice, hooks)          # new: created already locked; else locked, loaded
    >>> claim.sid, claim.is_new
    >>> release(claim)                       # unlock; an ephemeral session's temp dir goes

A new session is created already locked, and appears only once its state.toml is
durable (so its id may be announced). An existing one is locked (another holder
means `Session ... is locked by PID ...`), checked (still there, not retired, not
an ancestor of this nested run) and loaded; a turn whose csa was killed is
recovered first (csa.recover: its processes stopped, the turn recorded as died).
Hooks run before the claim (slots), when it is refused, after it (detach handshake)
and after the release. `csa run` announces the session only once its turn is on
disk (`take(..., announce=False)`; the pipeline calls `claim.announce`).
"""

from __future__ import annotations

from collections.abc import Callable

from csa import genealogy
from csa.errors import CsaError, SessionLocked
from csa.lock import SessionLock
from csa.session import Session
from csa.state import SessionState, ToolState
from csa.turn.choose import Choice, refuse_own_ancestor
from csa.turn.hooks import Hooks
from csa.turn.record import choose_provider_id, running_record


class Claim:
    """A session taken for turns: chosen, locked (an ephemeral one lives in a temp dir),
    its state loaded."""

    def __init__(self, choice: Choice, hooks: Hooks, session: Session, state: SessionState,
                 lock: SessionLock | None, *, is_new: bool, running: bool = False):
        self.choice = choice
        self.hooks = hooks
        self.session = session
        self.state = state
        self.lock = lock
        self.is_new = is_new
        # state.toml's run record says this csa is running a turn (set at creation for a
        # new session; a resumed one is marked when its turn starts).
        self.running = running
        # The id csa chose for the tool's new conversation, already in state.toml.
        self.chosen_id: str | None = None
        # The session's tools when taken (the greeting comes after the turn's tool and
        # the id csa chose for it are recorded).
        self.tools_at_claim = list(state.tools)
        # Says which session this is, once its first turn is on disk (`csa run`).
        self.announce: Callable[[], None] | None = None

    @property
    def sid(self) -> str:
        return self.session.id

    def greeting(self) -> str | None:
        """The line announcing the session (none for an ephemeral run)."""
        name, parent = self.choice.tool.name, self.state.parent_session_id
        if self.choice.ephemeral:
            return None
        if not self.is_new:
            others = [t for t in self.tools_at_claim if t != name]
            if others and name not in self.tools_at_claim:  # a tool switch: nothing carried
                return (f"csa: resuming session {self.sid} ({name}); {name} starts a new "
                        f"conversation: the earlier one with {', '.join(others)} is not "
                        "carried over")
            return f"csa: resuming session {self.sid} ({name})"
        return f"csa: session {self.sid} ({name}" + (f", child of {parent}" if parent else "") + ")"


def take(choice: Choice, hooks: Hooks, say: Callable[[str], None] | None = None, *,
         announce: bool = True) -> Claim:
    """Create or lock the chosen session and (unless `announce` is False: the caller
    calls announce_claim() once the turn is on disk) announce it through `say`; raises
    CsaError (SessionLocked, DepthExceeded, ...)."""
    hooks.call("before_claim", choice)
    try:
        if choice.resume is not None:
            claim = _take_existing(choice, hooks)
        else:
            genealogy.check_depth(choice.depth, int(choice.cfg.get("max_recursion_depth", 5)))
            claim = _take_ephemeral(choice, hooks) if choice.ephemeral else \
                _take_new(choice, hooks)
    except BaseException:
        hooks.call("after_release", choice)
        raise
    if announce:
        try:
            announce_claim(claim, say)
        except BaseException:
            release(claim)
            raise
    return claim


def announce_claim(claim: Claim, say: Callable[[str], None] | None) -> None:
    """Say which session this is (the id a user may resume), then the after_claim hooks
    (the detach handshake reports the id to the waiting parent)."""
    greeting = claim.greeting()
    if say is not None and greeting:
        say(greeting)
    claim.hooks.call("after_claim", claim)


def release(claim: Claim) -> None:
    if claim.lock is not None:
        claim.lock.release()
    claim.hooks.call("after_release", claim.choice)
    if claim.choice.ephemeral:
        claim.session.discard()


def _take_new(choice: Choice, hooks: Hooks) -> Claim:
    from csa.gitinfo import branch_and_head

    tool = choice.tool
    chosen = tool.choose_id()

    def with_chosen_id(_hidden, state: SessionState) -> None:
        # In state.toml from its first write: no second save before the spawn.
        choose_provider_id(state.tools.setdefault(tool.name, ToolState()), chosen)

    branch, head = branch_and_head(choice.store.root)
    session, state, lock = choice.store.create(
        description=choice.description, parent_session_id=choice.parent, depth=choice.depth,
        lock_tool=tool.name, run=running_record(tool.name), git_branch=branch, git_head=head,
        name=choice.name, build=with_chosen_id if chosen else None,
        index=False)  # the summary row: record.begin's save, after the tool's spawn
    claim = Claim(choice, hooks, session, state, lock, is_new=True, running=True)
    claim.chosen_id = chosen
    return claim


def _take_ephemeral(choice: Choice, hooks: Hooks) -> Claim:
    session, state, lock = choice.store.ephemeral(
        description=choice.description, parent_session_id=choice.parent, depth=choice.depth,
        lock_tool=choice.tool.name, run=running_record(choice.tool.name))
    return Claim(choice, hooks, session, state, lock, is_new=True, running=True)


def _take_existing(choice: Choice, hooks: Hooks) -> Claim:
    session, name = choice.resume, choice.tool.name
    assert session is not None
    sid = session.id
    if choice.parent:
        refuse_own_ancestor(choice.store, sid, choice.parent)
    try:
        lock = session.lock(tool=name, reason=choice.reason)
    except SessionLocked as e:
        hooks.call("claim_refused", choice, e)
        raise
    try:
        # The session may have been deleted (gc) between resolving and locking.
        if not session.state_path.exists():
            raise CsaError(f"Session {sid} was removed while this run was starting")
        state = session.load(reconcile=False)
        from csa.recover import recover_dead_turn

        # A running turn's csa died (we hold the lock): stop what is left, record it.
        recover_dead_turn(session, state, previous=lock.previous)
        if state.phase == "retired":
            raise CsaError(f"Session {sid} is retired (garbage-collected); it cannot be "
                           "resumed — start a new session")
    except BaseException:
        lock.release()
        raise
    return Claim(choice, hooks, session, state, lock, is_new=False)
