"""The ACP client side of one turn, on the agent-client-protocol SDK (imported here only).

    >>> code = asyncio.run(drive(job, proc.stdout, proc.stdin, emit, control))

`drive` runs `initialize`, then `session/load` (a resumed conversation, when the agent
advertises loadSession) or `session/new`, sets the model when asked and offered, sends
`session/prompt` and waits for its answer; a cancel request (`control.cancel`, from the
relay on a timeout or a signal) becomes `session/cancel`, and the agent then ends the
prompt with stopReason `cancelled`. Each message worth keeping is handed to `emit`
(csa.acp.events shapes). History that `session/load` replays is counted, not emitted:
the transcript has it from the turns that made it.

Client capabilities: no file system, no terminal (docs/acp.md says why): the agent
reads, writes and runs commands with its own tools, as in a headless turn.
Returns the turn's exit code: 0 when the prompt ended normally, 1 otherwise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from csa.acp import events, policy

STREAM_LIMIT = 50 * 1024 * 1024  # one JSON-RPC line (the SDK's own default)
OK_STOPS = ("end_turn", "max_tokens", "max_turn_requests")


@dataclass
class Job:
    """What one ACP turn asks of the agent (built by csa.acp.process from the turn)."""

    cwd: str
    prompt: str
    resume_id: str | None = None
    model: str | None = None
    permissions: str | None = None  # csa.acp.policy.POLICIES, or None (deny, unanswered)
    init_timeout: float = 60.0
    seed: Callable[[list[str]], str] | None = None  # the prompt seeded with the history
    on_unanswered: Callable[[dict], None] = field(default=lambda call: None)


def dump(model: Any) -> Any:
    """An SDK (pydantic) object in its wire shape."""
    if hasattr(model, "model_dump"):
        return model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return model


class CsaClient:
    """The client methods the agent may call (acp.Client): updates and permissions."""

    def __init__(self, job: Job, emit: Callable[[dict], None]):
        self.job = job
        self.emit = emit
        self.replaying = False  # session/load in progress: its updates are history
        self.replayed = 0

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        if self.replaying:
            self.replayed += 1
            return
        self.emit(events.update(dump(update)))

    async def request_permission(self, session_id: str, tool_call: Any, options: list,
                                 **kwargs: Any) -> Any:
        from acp.schema import AllowedOutcome, DeniedOutcome, RequestPermissionResponse

        call, opts = dump(tool_call), [dump(o) for o in options]
        ans = policy.answer(self.job.permissions, call.get("kind"), opts)
        self.emit(events.event("session/request_permission", toolCall=call, options=opts,
                               policy=self.job.permissions, answer=ans.option_id or "cancelled",
                               outcome=ans.outcome, why=ans.why))
        if ans.outcome == "unanswered":
            self.job.on_unanswered(call)
        if ans.option_id is None:
            return RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))
        return RequestPermissionResponse(
            outcome=AllowedOutcome(outcome="selected", option_id=ans.option_id))


class Control:
    """The relay's side: ask for a cancel from another thread (or a signal handler)."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.cancel_event: asyncio.Event | None = None
        self.reason: str | None = None

    def cancel(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
        loop, ev = self.loop, self.cancel_event
        if loop is not None and ev is not None:
            try:
                loop.call_soon_threadsafe(ev.set)
            except RuntimeError:  # the loop is closed: the turn is over
                pass


def quiet_sdk_logging() -> None:
    """The SDK logs its own failures (a line that is not JSON-RPC, a closed pipe) with
    tracebacks through the root logger; csa reports them itself, in one line."""
    import logging

    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.NullHandler())


async def close_quietly(conn) -> None:
    """Close the connection; the agent may be gone already (a broken pipe is expected)."""
    try:
        await conn.close()
    except (ConnectionError, OSError):
        pass


def error_text(e: Exception) -> str:
    """An ACP error in one line: its message and the agent's details, when it gave any."""
    data = getattr(e, "data", None)
    details = data.get("details") or data.get("message") if isinstance(data, dict) else data
    text = f"{e} ({details})" if details else str(e)
    return " ".join(text.split())[:300]


async def open_streams(stdout, stdin) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """asyncio streams on the agent's pipes (file objects of a subprocess.Popen)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=STREAM_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stdout)
    transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin,
                                                        stdin)
    return reader, asyncio.StreamWriter(transport, protocol, None, loop)


async def initialize(conn, timeout: float) -> Any:
    """`initialize` (csa's capabilities: no fs, no terminal); TimeoutError after `timeout`."""
    from acp import PROTOCOL_VERSION
    from acp.schema import ClientCapabilities, FileSystemCapabilities, Implementation

    from csa import __version__

    caps = ClientCapabilities(fs=FileSystemCapabilities(read_text_file=False,
                                                        write_text_file=False),
                              terminal=False)
    return await asyncio.wait_for(conn.initialize(
        protocol_version=PROTOCOL_VERSION, client_capabilities=caps,
        client_info=Implementation(name="csa", version=__version__)), timeout)


async def drive(job: Job, stdout, stdin, emit: Callable[[dict], None],
                control: Control) -> int:
    """One turn over ACP (see the module docstring)."""
    import acp

    quiet_sdk_logging()
    control.loop, control.cancel_event = asyncio.get_running_loop(), asyncio.Event()
    reader, writer = await open_streams(stdout, stdin)
    client = CsaClient(job, emit)
    conn = acp.connect_to_agent(client, writer, reader)
    try:
        return await _turn(conn, client, job, emit, control)
    except TimeoutError:
        emit(events.event("error", message=f"the agent did not answer initialize within "
                                           f"{job.init_timeout:g}s"))
    except acp.RequestError as e:
        emit(events.event("error", message=f"ACP error {e.code}: {error_text(e)}"))
    except ConnectionError:
        emit(events.event("error", message="the agent closed the connection"))
    finally:
        await close_quietly(conn)
    return 1


async def _turn(conn, client: CsaClient, job: Job, emit, control: Control) -> int:
    init = await initialize(conn, job.init_timeout)
    caps = init.agent_capabilities
    emit(events.event("initialize", protocolVersion=init.protocol_version,
                      agent=dump(init.agent_info), capabilities=dump(caps)))
    sid, session = await _open_session(conn, client, job, bool(caps and caps.load_session),
                                       emit)
    if job.model:
        await _set_model(conn, sid, session, job.model, emit)
    if control.reason is not None:  # cancelled before the prompt was sent
        emit(events.event("session/cancel", reason=control.reason, sent=False))
        return 1
    prompt = job.prompt
    if job.resume_id and sid != job.resume_id and job.seed is not None:
        notes: list[str] = []
        prompt = job.seed(notes)
        for note in notes:
            emit(events.event("warning", message=note))
    return await _prompt(conn, sid, prompt, emit, control)


async def _open_session(conn, client: CsaClient, job: Job, can_load: bool,
                        emit) -> tuple[str, Any]:
    """(session id, the new/load response): load the stored conversation where the agent
    can, else a new one."""
    import acp

    if job.resume_id and can_load:
        client.replaying = True
        try:
            resp = await conn.load_session(cwd=job.cwd, session_id=job.resume_id)
            await _replay_barrier(conn)
            emit(events.event("session/load", sessionId=job.resume_id,
                              replayed=client.replayed))
            return job.resume_id, resp
        except acp.RequestError as e:
            emit(events.event("warning", message=f"session/load {job.resume_id} failed "
                                                 f"({error_text(e)}); starting a new ACP "
                                                 "session"))
        finally:
            client.replaying = False
    elif job.resume_id:
        emit(events.event("warning", message="the agent does not advertise loadSession; "
                                             "a new ACP session is seeded with the history"))
    resp = await conn.new_session(cwd=job.cwd)
    emit(events.event("session/new", sessionId=resp.session_id))
    return resp.session_id, resp


async def _replay_barrier(conn, timeout: float = 10.0) -> None:
    """Wait out history that the agent replays after answering session/load.

    The protocol says the replay comes before the answer; gemini-cli 0.61 answers first
    and streams the history right after, so it would land in this turn's text. One more
    round trip (an extension method no agent knows: its error answer is enough) comes back
    behind those updates, which the agent wrote first.
    """
    import acp

    try:
        await asyncio.wait_for(conn.ext_method("csa/replay_barrier", {}), timeout)
    except (TimeoutError, acp.RequestError):
        pass


async def _set_model(conn, sid: str, session: Any, model: str, emit) -> None:
    """--model through the session's model config option, where the agent offers one."""
    import acp

    for opt in getattr(session, "config_options", None) or []:
        opt = getattr(opt, "root", opt)
        if getattr(opt, "category", None) == "model" or getattr(opt, "id", None) == "model":
            try:
                await conn.set_config_option(config_id=opt.id, session_id=sid, value=model)
            except acp.RequestError as e:
                emit(events.event("warning", message=f"the agent refused model {model!r}: "
                                                     f"{error_text(e)}"))
            return
    emit(events.event("warning", message=f"the agent offers no model option; --model "
                                         f"{model!r} not applied"))


async def _prompt(conn, sid: str, prompt: str, emit, control: Control) -> int:
    """session/prompt; a cancel request meanwhile becomes session/cancel."""
    from acp import text_block

    task = asyncio.ensure_future(conn.prompt(session_id=sid, prompt=[text_block(prompt)]))
    waiter = asyncio.ensure_future(control.cancel_event.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if not task.done():  # asked to stop: the agent ends the prompt with `cancelled`
        emit(events.event("session/cancel", reason=control.reason, sent=True))
        await conn.cancel(session_id=sid)
    waiter.cancel()
    resp = await task
    emit(events.event("session/prompt", stopReason=resp.stop_reason, usage=dump(resp.usage)))
    return 0 if resp.stop_reason in OK_STOPS else 1
