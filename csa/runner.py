"""`csa run`: create or resume a session, spawn the AI tool, relay and record its turn.

    >>> res = run(RunRequest(prompt="analyze the auth module", tool="codex"))
    >>> res.session_id, res.exit_code, res.final_text

One turn, in order:
 1. resolve the tool, its binary and the session (new, --session prefix, --last,
    or --ephemeral); check depth and that a child is not resuming its own parent;
 2. take the session lock (a new session is created already locked, and its id is
    announced only once state.toml is durable);
 3. spawn the tool in its own process group, stdin from /dev/null (or the prompt,
    when it is too long for argv), with the CSA_* genealogy variables;
 4. relay stdout line by line: the adapter reads each event (provider id, text,
    tokens), the transcript records it redacted; stderr is recorded and shown;
    enforce --timeout / --idle-timeout and forward SIGINT/SIGTERM to the group;
 5. record the outcome in state.toml, output/result.toml and the transcript, then
    release the lock. Bookkeeping that is not needed before the spawn happens
    while the tool runs.
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import orjson

from csa import catalogue, events, genealogy
from csa.config import Config, load_config
from csa.errors import CsaError, SessionLocked, ToolMissing, UsageError
from csa.lock import SessionLock, pid_alive
from csa.session import RESULT_FILE, Session
from csa.state import RunRecord, SessionState, ToolState, iso_ms, transition, utcnow
from csa.store import Store
from csa.tools import get_tool
from csa.tools.base import ARGV_PROMPT_LIMIT, Tool, TurnOutcome, TurnSpec

if TYPE_CHECKING:
    from csa.redact import Redactor

EXIT_TIMEOUT = 124
EXIT_INTERRUPTED = 130
KILL_GRACE_S = 3.0
SAMPLE_EVERY_S = 0.5
SUMMARY_CHARS = 200
INDEX_DELAY_S = 0.2


@dataclass
class RunRequest:
    prompt: str
    tool: str | None = None
    model: str | None = None
    description: str | None = None
    cd: str | None = None
    session: str | None = None
    last: bool = False
    ephemeral: bool = False
    timeout: float | None = None
    idle_timeout: float | None = None
    wait_slot: bool | float = False  # True: wait forever; a number: that many seconds
    with_journal: bool | None = None
    # "run" for user turns; "compact" and "rollover" for compaction turns.
    purpose: str = "run"
    native_compact: bool = False
    fresh_provider_session: bool = False
    quiet: bool = False
    # A caller that already holds the session lock (compaction runs two turns under one).
    held_lock: SessionLock | None = None
    announce: Callable[[str], None] = field(default=lambda msg: print(msg, file=sys.stderr,
                                                                      flush=True))


@dataclass
class RunResult:
    session_id: str
    tool: str
    provider_session_id: str | None
    exit_code: int
    status: str
    duration_s: float
    final_text: str
    tokens: dict[str, int]
    cost_usd: float | None = None
    model: str | None = None
    ephemeral: bool = False
    errors: list[str] = field(default_factory=list)
    outcome: TurnOutcome | None = None

    def to_json(self) -> dict:
        return {
            "session_id": self.session_id, "tool": self.tool,
            "provider_session_id": self.provider_session_id, "exit_code": self.exit_code,
            "status": self.status, "duration_s": round(self.duration_s, 3),
            "final_text": self.final_text, "tokens": self.tokens, "cost_usd": self.cost_usd,
            "model": self.model, "ephemeral": self.ephemeral, "errors": self.errors,
        }


def resolve_binary(adapter: Tool, cfg: Config) -> str:
    """The tool's executable: config `tools.<name>.binary`, else its usual name on PATH."""
    configured = cfg.tool(adapter.name).binary
    wanted = os.path.expanduser(configured) if configured else adapter.binary
    found = shutil.which(wanted)
    if found:
        return found
    where = f"set in {cfg.source(f'tools.{adapter.name}.binary')}" if configured else "on PATH"
    raise ToolMissing(
        f"{adapter.name}: binary '{wanted}' not found ({where}). Install it "
        f"(npm install -g {adapter.package}) or set tools.{adapter.name}.binary = \"/path/to/"
        f"{adapter.binary}\" in ~/.config/csa/config.toml or .csa/config.toml")


def default_description(redactor: Redactor, prompt: str) -> str:
    # Redact before cutting: a token cut in half no longer matches its pattern.
    return redactor.cut(" ".join(prompt.split()), 80)


class Turn:
    """Everything one run needs once the session is chosen and locked."""

    def __init__(self, req: RunRequest, store: Store, cfg: Config, adapter: Tool, binary: str):
        self.req = req
        self.store = store
        self.cfg = cfg
        self.adapter = adapter
        self.binary = binary
        self.state: SessionState | None = None
        self.lock: SessionLock | None = None
        self.session: Session | None = None
        self.sid: str = ""
        self.is_new = True
        self.slot = None


def run(req: RunRequest) -> RunResult:
    """Run one turn; returns the result (exit code included) or raises CsaError."""
    if req.ephemeral and (req.session or req.last):
        raise UsageError("--ephemeral cannot be combined with --session or --last")
    if req.session and req.last:
        raise UsageError("--session and --last cannot be combined")
    store = Store.open(_project_cd(req.cd))
    cfg = load_config(store.root)
    parent, depth = genealogy.parent_from_env(os.environ)
    max_depth = int(cfg.get("max_recursion_depth", 5))
    resume_id = None
    if req.session or req.last:
        resume_id = (store.resolve(req.session) if req.session else store.newest()).id
    tool = req.tool or (resume_id and _session_tool(store, resume_id)) or \
        cfg.get("default_tool") or "claude-code"
    adapter = get_tool(tool)
    tool = adapter.name  # aliases (claude, gemini) resolved: state and slots use one name
    binary = resolve_binary(adapter, cfg)
    if len(req.prompt.encode()) > ARGV_PROMPT_LIMIT and not adapter.stdin_prompt:
        raise UsageError(_too_long(adapter, req.prompt))
    if "\x00" in req.prompt and not adapter.stdin_prompt:
        raise UsageError(f"The prompt contains a NUL character; {adapter.name} takes its prompt "
                         "only as an argument, which cannot hold one")
    if "\x00" in (req.model or ""):
        raise UsageError("--model contains a NUL character")

    turn = Turn(req, store, cfg, adapter, binary)
    tcfg = cfg.tool(tool)
    if tcfg.max_concurrent:
        from csa.slots import acquire_slot

        turn.slot = acquire_slot(store.base, tool, tcfg.max_concurrent, wait=req.wait_slot)
    try:
        if resume_id is not None:
            _open_existing(turn, resume_id, parent)
        else:
            genealogy.check_depth(depth, max_depth)
            _open_new(turn, parent, depth)
        return _execute(turn, parent)
    finally:
        if turn.lock is not None and turn.lock is not req.held_lock:
            turn.lock.release()
        if turn.slot is not None:
            turn.slot.release()
        if req.ephemeral and turn.session is not None:
            turn.session.discard()


def _project_cd(cd: str | None) -> str | None:
    """A nested run without --cd stays in its parent's project when it is inside it."""
    if cd is not None:
        return cd
    root = os.environ.get("CSA_PROJECT_ROOT")
    if root and os.environ.get("CSA_SESSION_ID"):
        try:
            here = os.path.realpath(os.getcwd())
        except OSError:
            return root
        if here == root or here.startswith(root.rstrip("/") + "/"):
            return root
    return None


def _open_new(turn: Turn, parent: str | None, depth: int) -> None:
    req, store = turn.req, turn.store
    description = store.redactor.text(req.description) if req.description else \
        default_description(store.redactor, req.prompt)
    run_rec = RunRecord(status="running", tool=turn.adapter.name, pid=os.getpid(),
                        started_at=utcnow())
    if req.ephemeral:
        turn.session, turn.state, turn.lock = store.ephemeral(
            description=description, parent_session_id=parent, depth=depth,
            lock_tool=turn.adapter.name, run=run_rec)
        turn.sid = turn.session.id
        return
    from csa.gitinfo import branch_and_head

    branch, head = branch_and_head(store.root)
    turn.session, turn.state, turn.lock = store.create(
        description=description, parent_session_id=parent, depth=depth,
        lock_tool=turn.adapter.name, run=run_rec, git_branch=branch, git_head=head)
    turn.sid = turn.session.id
    if not req.quiet:
        req.announce(f"csa: session {turn.sid} ({turn.adapter.name}"
                     + (f", child of {parent}" if parent else "") + ")")
    _detach_handshake(turn)


def _detach_handshake(turn: Turn) -> None:
    if os.environ.get("CSA_DETACH_FD"):
        from csa.detach import handshake

        handshake(turn.session)


def _session_tool(store: Store, sid: str) -> str | None:
    """The tool a session last ran with (a resume without --tool keeps using it)."""
    try:
        return store.session(sid).read_state().last_tool()
    except CsaError:
        return None


def _open_existing(turn: Turn, sid: str, env_parent: str | None) -> None:
    req, store = turn.req, turn.store
    if env_parent:
        _refuse_own_ancestor(store, sid, env_parent)
    session = store.session(sid)
    if req.held_lock is not None:
        turn.lock = req.held_lock
    else:
        try:
            turn.lock = session.lock(tool=turn.adapter.name, reason=req.purpose)
        except SessionLocked as e:
            events.emit(store, "lock_conflict", session_id=sid, holder_pid=e.pid,
                        tool=turn.adapter.name, cfg=turn.cfg)
            raise
    # The session may have been deleted (gc) between resolving and locking.
    if not session.state_path.exists():
        raise CsaError(f"Session {sid} was removed while this run was starting")
    _reap_orphaned_tool(turn.lock.previous)
    state = session.load(reconcile=False)
    if state.phase == "retired":
        raise CsaError(f"Session {sid} is retired (garbage-collected); it cannot be resumed — "
                       "start a new session")
    turn.sid, turn.session, turn.state, turn.is_new = sid, session, state, False
    state.run = RunRecord(status="running", tool=turn.adapter.name, pid=os.getpid(),
                          started_at=utcnow())
    if req.purpose == "run":
        transition(state, "active")
    state.last_accessed = utcnow()
    session.save(state)
    if not req.quiet:
        req.announce(f"csa: resuming session {sid} ({turn.adapter.name})")
    _detach_handshake(turn)


def _refuse_own_ancestor(store: Store, sid: str, env_session: str) -> None:
    chain = {env_session}
    cur = env_session
    for _ in range(64):
        try:
            cur = store.session(cur).read_state().parent_session_id
        except CsaError:
            break
        if not cur:
            break
        chain.add(cur)
    if sid in chain:
        raise CsaError(f"Session {sid} is running this run's own parent chain (you are inside "
                       f"{env_session}); a child cannot resume its own running parent — "
                       "start a new session instead")


def _reap_orphaned_tool(previous: dict) -> None:
    """A csa killed with -9 can leave its tool running: stop it before resuming.

    Only a record as csa writes it counts: the tool leads its own process group
    (tool_pgid == tool_pid) and its start time is known, so a reused pid or a damaged
    lock file never gets an unrelated process (group) killed.
    """
    from csa.lock import is_pid

    tool_pid, tool_start = previous.get("tool_pid"), previous.get("tool_start")
    if not is_pid(tool_pid) or previous.get("tool_pgid", tool_pid) != tool_pid \
            or type(tool_start) not in (int, float):
        return
    if pid_alive(previous.get("pid"), previous.get("pid_start")):
        return
    from csa.procs import stop_tree

    stop_tree(tool_pid, tool_start, grace=KILL_GRACE_S)  # its group and strayed descendants


def _kill_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _build_prompt(turn: Turn) -> str:
    prompt = turn.req.prompt
    with_journal = turn.req.with_journal
    if with_journal is None:
        with_journal = bool(turn.cfg.get("with_journal"))
    if with_journal and turn.session is not None and turn.req.purpose == "run":
        try:
            from csa.journal import prompt_preamble
        except ImportError:
            return prompt
        preamble = prompt_preamble(turn.session)
        if preamble:
            prompt = f"{preamble}\n\n{prompt}"
    return prompt


def _execute(turn: Turn, parent: str | None) -> RunResult:
    req, adapter, state = turn.req, turn.adapter, turn.state
    assert state is not None and turn.session is not None
    tool_state = state.tools.get(adapter.name)
    provider_id = None
    if tool_state is not None and not req.fresh_provider_session:
        provider_id = tool_state.provider_session_id
    tcfg = turn.cfg.tool(adapter.name)
    prompt = _build_prompt(turn)
    # An argument cannot hold a NUL character; stdin can.
    via_stdin = adapter.always_stdin or len(prompt.encode()) > ARGV_PROMPT_LIMIT \
        or "\x00" in prompt
    if via_stdin and not adapter.stdin_prompt:  # the journal preamble made it too long
        _record_failure(turn, _too_long(adapter, prompt))
        raise UsageError(_too_long(adapter, prompt))
    spec = TurnSpec(binary=turn.binary, prompt=prompt, model=req.model or tcfg.model,
                    extra_args=tcfg.args, provider_session_id=provider_id,
                    prompt_via_stdin=via_stdin)
    argv = adapter.compact_argv(spec) if req.native_compact else adapter.argv(spec)
    memory_note = _memory_guard(turn)

    started, started_at = time.monotonic(), utcnow()
    proc = _spawn(turn, argv, _tool_env(turn), prompt if via_stdin else None)
    writer = _start_recording(turn, proc, argv, spec, provider_id, memory_note, parent)

    indexer = _BackgroundIndex.start(turn)
    relay = Relay(proc, adapter, writer, req, turn.store.redactor)
    relay.run()
    if indexer is not None:
        indexer.stop()
    duration = time.monotonic() - started
    outcome = relay.outcome
    _per_turn_usage(adapter, outcome, tool_state, provider_id)
    result = RunResult(
        session_id=turn.sid, tool=adapter.name,
        provider_session_id=outcome.provider_session_id or provider_id,
        exit_code=relay.exit_code, status=relay.status, duration_s=duration,
        final_text=outcome.text(), tokens=dict(outcome.tokens), cost_usd=outcome.cost_usd,
        model=outcome.model or spec.model, ephemeral=req.ephemeral,
        errors=list(outcome.errors), outcome=outcome)
    if req.ephemeral:
        return result
    writer_error = _end_transcript(writer, relay, result)
    try:
        _record_outcome(turn, result, started_at)
    except OSError as e:
        raise CsaError(f"Session {turn.sid}: the turn's outcome could not be recorded "
                       f"({e.strerror or e}); state.toml keeps the previous turn", exit_code=1
                       ) from e
    if relay.sampler_peak:
        from csa.usage import record_peak

        record_peak(turn.store.dir, adapter.name, relay.sampler_peak)
    events.emit(turn.store, "session_end", session_id=turn.sid, tool=adapter.name,
                exit_code=result.exit_code, status=result.status,
                duration_s=round(duration, 3), cfg=turn.cfg)
    _after_turn_hooks(turn)
    if writer_error is not None:
        raise CsaError(f"Session {turn.sid}: the transcript could not be written "
                       f"({writer_error.strerror or writer_error}); the turn's outcome is in "
                       "state.toml and output/result.toml", exit_code=1)
    return result


def _too_long(adapter: Tool, prompt: str) -> str:
    return (f"prompt is {len(prompt.encode())} bytes; {adapter.name} only takes a prompt as "
            f"an argument (at most {ARGV_PROMPT_LIMIT} bytes)")


def _tool_env(turn: Turn) -> dict[str, str]:
    """csa's environment minus inherited genealogy, plus the tool's config env and the
    session's CSA_* variables."""
    state = turn.state
    assert state is not None and turn.session is not None
    env = {k: v for k, v in os.environ.items() if k not in genealogy.ENV_VARS}
    env.update(turn.adapter.env())
    env.update(turn.cfg.tool(turn.adapter.name).env)
    env.update(genealogy.child_env(session_id=turn.sid, depth=state.depth,
                                   project_root=turn.store.root, session_dir=turn.session.dir,
                                   tool=turn.adapter.name,
                                   parent_session_id=state.parent_session_id))
    return env


def _spawn(turn: Turn, argv: list[str], env: dict[str, str],
           stdin_prompt: str | None) -> subprocess.Popen:
    """Start the tool in its own process group, stdin from /dev/null (or the prompt)."""
    name, binary = turn.adapter.name, turn.binary
    try:
        proc = subprocess.Popen(
            argv, cwd=_tool_cwd(turn), env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.PIPE if stdin_prompt is not None else subprocess.DEVNULL,
            start_new_session=True, close_fds=True)
    except OSError as e:
        _record_failure(turn, f"could not start {binary}: {e.strerror}")
        raise ToolMissing(f"{name}: could not start '{binary}': {e.strerror}; check "
                          f"tools.{name}.binary in your config") from e
    except ValueError as e:  # a NUL character in an argument or the environment
        _record_failure(turn, f"could not start {binary}: {e}")
        raise UsageError(f"{name}: could not start '{binary}': {e} (in the prompt, "
                         f"the model or tools.{name}.args/env)") from e
    if stdin_prompt is not None:
        threading.Thread(target=_feed_stdin, args=(proc, stdin_prompt), daemon=True).start()
    return proc


def _start_recording(turn: Turn, proc: subprocess.Popen, argv: list[str], spec: TurnSpec,
                     provider_id: str | None, memory_note: str | None, parent: str | None):
    """Bookkeeping while the tool starts up: the lock record names the tool, the
    transcript gets the prompt, the events log the start. Returns the transcript writer
    (None for an ephemeral run). On failure the tool is stopped and the run marked failed."""
    from csa.lock import proc_start_time

    req, adapter = turn.req, turn.adapter
    writer = None
    try:
        if turn.lock is not None:
            turn.lock.update(tool_pid=proc.pid, tool_pgid=proc.pid,
                             tool_start=proc_start_time(proc.pid))
        if req.ephemeral:
            return None
        writer = turn.session.transcript_writer(turn.store.redactor)
        writer.write(catalogue.prompt(
            tool=adapter.name, purpose=req.purpose, text=spec.prompt,
            resume=provider_id is not None, provider_session_id=provider_id,
            model=spec.model, argv=_argv_for_record(argv, spec.prompt)))
        if memory_note:
            writer.write(catalogue.warning(memory_note))
        events.emit(turn.store, "resume" if not turn.is_new else "session_start",
                    session_id=turn.sid, tool=adapter.name, parent_session_id=parent,
                    purpose=req.purpose, cfg=turn.cfg)
        return writer
    except BaseException as e:
        # The tool already runs: stop it, and do not leave the session "running".
        _kill_group(proc.pid, signal.SIGKILL)
        proc.wait()
        if writer is not None:
            try:
                writer.close()
            except OSError:
                pass
        _record_failure(turn, f"could not record the turn: {e}")
        raise


def _end_transcript(writer, relay: Relay, result: RunResult) -> OSError | None:
    """Append the turn's end and close; the first transcript error of the turn, if any."""
    writer_error = relay.writer_error
    try:
        # After a failed write the writer has cut the file back to its last complete
        # line, which frees space: the turn's end is still worth a try.
        errors = list(result.errors)
        if writer_error is not None:
            errors.append(f"transcript incomplete: {writer_error.strerror or writer_error}")
        writer.write(catalogue.turn_end(
            tool=result.tool, exit_code=result.exit_code, status=result.status,
            provider_session_id=result.provider_session_id,
            duration_s=round(result.duration_s, 3), tokens=result.tokens,
            cost_usd=result.cost_usd, final_text=result.final_text,
            errors=errors or None, peak_rss_bytes=relay.sampler_peak or None))
        writer.close()
    except OSError as e:
        writer_error = writer_error or e
        try:
            writer.close()
        except OSError:
            pass
    return writer_error


def _per_turn_usage(adapter: Tool, outcome: TurnOutcome, tool_state: ToolState | None,
                    provider_id: str | None) -> None:
    """Turn a provider session's running totals into this turn's figures (keeping the totals).

    The previous totals only apply when this turn continued the same provider session.
    """
    same = (tool_state is not None and provider_id is not None
            and outcome.provider_session_id in (None, provider_id))
    previous = tool_state.extra if same and tool_state is not None else {}
    if adapter.cumulative_usage:
        reported = dict(outcome.tokens)
        outcome.thread_tokens = reported
        before = previous.get("thread_tokens")
        if not isinstance(before, dict):  # a hand-edited state.toml
            before = {}
        outcome.tokens = {k: max(0, v - int(_number(before.get(k)))) for k, v in reported.items()}
    if adapter.cumulative_cost and outcome.cost_usd is not None:
        outcome.thread_cost = outcome.cost_usd
        before_cost = float(_number(previous.get("thread_cost_usd")))
        outcome.cost_usd = max(0.0, outcome.cost_usd - before_cost)


def _number(value) -> int | float:
    """A figure read back from state.toml, or 0 when it is not a finite number."""
    from csa.digest import _num

    return _num(value)


def _tool_cwd(turn: Turn) -> str:
    """Where the tool runs: --cd or the cwd; for an imported session, the directory it
    originally ran in (claude and gemini find a conversation by its directory)."""
    imported = (turn.state.extra.get("import") or {}) if turn.state else {}
    original = imported.get("cwd") if isinstance(imported, dict) else None
    if not turn.is_new and isinstance(original, str) and os.path.isdir(original) \
            and turn.req.cd is None:
        return original
    return os.path.realpath(turn.req.cd) if turn.req.cd else os.getcwd()


def _argv_for_record(argv: list[str], prompt: str) -> list[str]:
    # The prompt is recorded once, in `text`; keep argv readable and small.
    return ["<prompt>" if a == prompt or a == " " + prompt else a for a in argv]


def _feed_stdin(proc: subprocess.Popen, prompt: str) -> None:
    try:
        assert proc.stdin is not None
        proc.stdin.write(prompt.encode())
        proc.stdin.close()
    except (BrokenPipeError, OSError):
        pass


def _memory_guard(turn: Turn) -> str | None:
    policy = turn.cfg.get("memory_policy", "warn")
    if policy == "off":
        return None
    from csa.usage import memory_check

    note = memory_check(turn.store.dir, turn.adapter.name, int(turn.cfg.get("memory_margin_mb",
                                                                            256)))
    if note is None:
        return None
    if policy == "refuse":
        _record_failure(turn, note)
        raise CsaError(f"{note}; refusing to start (memory_policy = \"refuse\")")
    if not turn.req.quiet:
        turn.req.announce(f"csa: warning: {note}")
    return note


def _record_failure(turn: Turn, error: str) -> None:
    """A turn that never started: mark the run failed so the session is not 'running'."""
    if turn.req.ephemeral or turn.state is None:
        return
    state = turn.state
    state.run = RunRecord(status="failed", tool=turn.adapter.name, pid=os.getpid(),
                          started_at=state.run.started_at if state.run else utcnow(),
                          finished_at=utcnow(), error=turn.store.redactor.text(error))
    try:
        turn.session.save(state)
    except (CsaError, OSError):  # e.g. the disk is full: the failure itself is reported
        pass


def _record_outcome(turn: Turn, result: RunResult, started_at) -> None:
    state, adapter = turn.state, turn.adapter
    assert state is not None and turn.session is not None
    now = utcnow()
    tstate = state.tools.setdefault(adapter.name, ToolState())
    new_id = result.provider_session_id
    if new_id and tstate.provider_session_id and new_id != tstate.provider_session_id:
        if tstate.provider_session_id not in tstate.previous_provider_session_ids:
            tstate.previous_provider_session_ids.append(tstate.provider_session_id)
    if new_id:
        tstate.provider_session_id = new_id
    tstate.last_exit_code = result.exit_code
    redactor = turn.store.redactor
    tstate.last_action_summary = redactor.cut(" ".join(result.final_text.split()), SUMMARY_CHARS)
    tstate.updated_at = now
    if result.model:
        tstate.model = result.model
    tstate.turn_count += 1
    if result.outcome is not None and result.outcome.thread_tokens is not None:
        tstate.extra["thread_tokens"] = result.outcome.thread_tokens
    if result.outcome is not None and result.outcome.thread_cost is not None:
        tstate.extra["thread_cost_usd"] = result.outcome.thread_cost
    for k, v in result.tokens.items():
        tstate.tokens[k] = tstate.tokens.get(k, 0) + v
    if result.cost_usd is not None:
        tstate.cost_usd = (tstate.cost_usd or 0.0) + result.cost_usd
    if turn.req.purpose == "run":
        state.turn_count += 1
    state.last_accessed = now
    from csa.digest import add_turn, new_digest

    digest = state.extra.get("digest")
    if not isinstance(digest, dict):  # missing, or hand-edited into something else
        digest = state.extra["digest"] = new_digest()
    add_turn(digest, status=result.status,
             exit_code=result.exit_code, tokens=result.tokens, cost_usd=result.cost_usd,
             tool_calls=result.outcome.tool_calls if result.outcome else None,
             errors=len(result.errors))
    state.run = RunRecord(status=result.status, tool=adapter.name, pid=os.getpid(),
                          started_at=started_at, finished_at=now, exit_code=result.exit_code,
                          error=redactor.text("; ".join(result.errors)) if result.errors else None)
    turn.session.write_result(name=RESULT_FILE if turn.req.purpose == "run" else
                              f"{turn.req.purpose}-result.toml", data=redactor.obj({
        "session_id": turn.sid, "tool": adapter.name, "purpose": turn.req.purpose,
        "provider_session_id": new_id, "exit_code": result.exit_code, "status": result.status,
        "started_at": iso_ms(started_at), "finished_at": iso_ms(now),
        "duration_s": round(result.duration_s, 3), "model": result.model,
        "cost_usd": result.cost_usd, "turn": state.turn_count,
        "final_text": result.final_text, "errors": result.errors or None,
        "tokens": result.tokens or None,
    }))
    turn.session.save(state)


def _after_turn_hooks(turn: Turn) -> None:
    """Optional per-turn work from later features (checkpoint, search index); never fatal."""
    if turn.cfg.get("checkpoint_on_turn_end"):
        try:
            from csa.checkpoint import checkpoint

            checkpoint(turn.session, note="turn end")
        except (ImportError, CsaError, OSError):
            pass


class _BackgroundIndex:
    """Brings the search index up to date with the session's earlier turns while the tool
    runs (sqlite works outside the GIL). The turn being run is indexed at the start of the
    next one, or by `csa session search`, which catches up before it searches."""

    def __init__(self, turn: Turn):
        self.turn = turn
        self.turn_done = threading.Event()
        self.thread = threading.Thread(target=self._work, name="csa-index", daemon=True)

    @classmethod
    def start(cls, turn: Turn) -> _BackgroundIndex | None:
        if turn.req.ephemeral or turn.is_new or not turn.cfg.get("index_on_turn_end", True):
            return None  # a new session has nothing indexable yet
        bg = cls(turn)
        bg.thread.start()
        return bg

    def _work(self) -> None:
        # A tool that answers within the delay never competes with this for the CPU.
        if self.turn_done.wait(INDEX_DELAY_S):
            return
        try:
            from csa.search import index_session

            index_session(self.turn.session)
        except Exception:  # noqa: BLE001 - the index is rebuildable; a turn never fails on it
            pass

    def stop(self) -> None:
        self.turn_done.set()
        self.thread.join(timeout=5)


class Relay:
    """Pumps the tool's stdout/stderr into the adapter and transcript; enforces limits."""

    def __init__(self, proc: subprocess.Popen, adapter: Tool, writer, req: RunRequest,
                 redactor: Redactor):
        self.proc = proc
        self.redactor = redactor
        self.adapter = adapter
        self.writer = writer
        self.req = req
        self.outcome = TurnOutcome()
        self.exit_code = 0
        self.status = "finished"
        self.sampler_peak = 0
        self._interrupted: int | None = None
        self._kill_at: float | None = None
        self._show_stderr = not req.quiet
        self.writer_error: OSError | None = None

    def _on_signal(self, signum, _frame) -> None:
        if self._interrupted is None:
            self._interrupted = signum
            _kill_group(self.proc.pid, signum)
            self._kill_at = time.monotonic() + KILL_GRACE_S

    def run(self) -> None:
        proc = self.proc
        handlers = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                handlers[sig] = signal.signal(sig, self._on_signal)
        from csa.usage import PeakSampler

        sampler = PeakSampler(proc.pid)
        try:
            self._pump(sampler)
        finally:
            for sig, old in handlers.items():
                signal.signal(sig, old)
            # Reap whatever is left of the tool's process group (grandchildren).
            _kill_group(proc.pid, signal.SIGKILL)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.sampler_peak = sampler.peak
        rc = proc.returncode
        if self._interrupted is not None:
            self.exit_code, self.status = EXIT_INTERRUPTED, "interrupted"
        elif self.status == "timeout":
            self.exit_code = EXIT_TIMEOUT
        else:
            self.exit_code = rc if rc >= 0 else 128 - rc
            self.status = "finished" if rc == 0 else "failed"

    def _pump(self, sampler) -> None:
        proc, req = self.proc, self.req
        assert proc.stdout is not None and proc.stderr is not None
        sel = selectors.DefaultSelector()
        out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
        os.set_blocking(out_fd, False)
        os.set_blocking(err_fd, False)
        sel.register(out_fd, selectors.EVENT_READ, "stdout")
        sel.register(err_fd, selectors.EVENT_READ, "stderr")
        bufs = {"stdout": b"", "stderr": b""}
        start = time.monotonic()
        last_output = start
        next_sample = start
        exited_at: float | None = None
        wall = start + req.timeout if req.timeout else None
        open_fds = 2
        while open_fds:
            now = time.monotonic()
            if now >= next_sample:
                sampler.sample()
                next_sample = now + SAMPLE_EVERY_S
            if self.status != "timeout" and self._interrupted is None:
                if wall is not None and now >= wall:
                    self._timeout(f"timed out after {req.timeout:g}s")
                elif req.idle_timeout and now - last_output >= req.idle_timeout:
                    self._timeout(f"no output for {req.idle_timeout:g}s")
            if self._kill_at is not None and now >= self._kill_at:
                _kill_group(proc.pid, signal.SIGKILL)
                self._kill_at = None
            if exited_at is None and proc.poll() is not None:
                exited_at = now
            if exited_at is not None and now - exited_at > 2.0:
                # The tool is gone but a grandchild holds the pipes open: stop reading.
                break
            deadlines = [next_sample]
            if wall is not None:
                deadlines.append(wall)
            if req.idle_timeout:
                deadlines.append(last_output + req.idle_timeout)
            if self._kill_at is not None:
                deadlines.append(self._kill_at)
            wait = max(0.0, min(deadlines) - now)
            if exited_at is not None:
                wait = min(wait, 0.1)
            for key, _ in sel.select(min(wait, 1.0)):
                name = key.data
                try:
                    data = os.read(key.fd, 1 << 18)
                except BlockingIOError:
                    continue
                if not data:
                    sel.unregister(key.fd)
                    open_fds -= 1
                    continue
                last_output = time.monotonic()
                buf = bufs[name] + data
                if b"\n" in buf:
                    *lines, buf = buf.split(b"\n")
                    self._lines(name, lines)
                bufs[name] = buf
        for name, buf in bufs.items():
            if buf:
                self._lines(name, [buf])
        sel.close()
        try:
            proc.wait(timeout=KILL_GRACE_S if self._interrupted or self.status == "timeout"
                      else None)
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid, signal.SIGKILL)
            proc.wait()

    def _writer_failed(self, error: OSError) -> None:
        """Disk full or similar: keep relaying (the turn is not lost), stop recording."""
        self.writer_error = error
        self.writer = None
        if not self.req.quiet:
            self.req.announce(f"csa: cannot write the transcript ({error.strerror or error}); "
                              "the rest of this turn is not recorded")

    def _timeout(self, why: str) -> None:
        self.status = "timeout"
        self.outcome.errors.append(why)
        if not self.req.quiet:
            self.req.announce(f"csa: {why}; stopping {self.adapter.name}")
        _kill_group(self.proc.pid, signal.SIGTERM)
        self._kill_at = time.monotonic() + KILL_GRACE_S

    def _lines(self, stream: str, lines: list[bytes]) -> None:
        writer, outcome, adapter = self.writer, self.outcome, self.adapter
        if stream == "stdout":
            for raw in lines:
                if raw.endswith(b"\r"):
                    raw = raw[:-1]
                if not raw.strip():
                    continue
                outcome.events += 1
                event = None
                if raw[:1] == b"{":
                    try:
                        event = orjson.loads(raw)
                    except orjson.JSONDecodeError:
                        event = None
                if isinstance(event, dict):
                    try:
                        adapter.observe(event, outcome)
                    except Exception as e:  # noqa: BLE001 - one odd event must not end the relay
                        outcome.errors.append(f"unreadable {adapter.name} event: {e}")
                if writer is not None:
                    try:
                        writer.append_stdout_line(raw.decode("utf-8", "replace"))
                    except OSError as e:
                        writer = self._writer_failed(e)
            return
        for raw in lines:
            text = raw.decode("utf-8", "replace").rstrip("\r")
            if not text.strip():
                continue
            if writer is not None:
                try:
                    writer.write(catalogue.stderr(text))
                except OSError as e:
                    writer = self._writer_failed(e)
            if self._show_stderr:
                sys.stderr.write(f"[{adapter.name}] {self.redactor.text(text)}\n")
        if self._show_stderr:
            sys.stderr.flush()
