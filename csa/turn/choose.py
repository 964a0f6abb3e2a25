"""Choose the project, the tool and the session of a run, before anything is written.

    >>> choice = choose(RunRequest(prompt="continue", session="01JH4Q"))
    >>> choice.tool.name, choice.resume.id, choice.parent, choice.depth
    ('codex', '01JH4QWERT1234567890ABCDEF', None, 0)

A new session (no --session/--last), a resumed one (unique prefix, or the newest
for --last), or an ephemeral one (the project's config is not read for it). The tool
is --tool, else the one the resumed session last ran, else the config's
`default_tool`, else claude-code; `auto` is a
tool of another family than the parent's (csa.autotool). The failover chain is
--failover, else config `failover` (csa.failover). A nested run
(CSA_SESSION_ID in the environment) becomes a child one level deeper.
"""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING

from csa import genealogy
from csa.config import Config, load_config
from csa.errors import CsaError, ToolMissing
from csa.session import Session
from csa.store import Store
from csa.tools import get_tool
from csa.tools.base import Tool
from csa.turn.request import RunRequest

if TYPE_CHECKING:
    from csa.redact import Redactor


class Choice:
    """Where a run goes: the project's store and config, the tool, the session."""

    def __init__(self, store: Store, cfg: Config, tool: Tool, binary: str, *,
                 resume: Session | None = None, parent: str | None = None, depth: int = 0,
                 description: str = "", cd: str | None = None, ephemeral: bool = False,
                 wait_slot: bool | float = False, reason: str = "run",
                 failover: list[str] | None = None, tool_reason: str | None = None,
                 parent_tool: str | None = None, worktree: str | None = None,
                 inherited_worktree: str | None = None, say=None,
                 name: str | None = None):
        self.store = store
        self.cfg = cfg
        self.tool = tool
        self.binary = binary
        self.resume = resume  # the session to resume; None: a new one
        self.parent = parent  # the session of the csa run this one is nested in
        self.depth = depth  # a new session's depth
        self.description = description  # a new session's description (redacted)
        self.cd = cd  # --cd: where the tool runs
        self.ephemeral = ephemeral
        self.wait_slot = wait_slot  # wait for a free concurrency slot: True, or seconds
        self.reason = reason  # why the session is locked (shown to whoever finds it busy)
        self.failover = failover or []  # tools to move on to after a rate limit (failover.py)
        self.tool_reason = tool_reason  # why --tool auto chose this tool
        self.parent_tool = parent_tool  # the parent's tool, as --tool auto found it
        self.worktree = worktree  # --worktree: "" or a branch (csa.worktree makes it)
        self.inherited_worktree = inherited_worktree  # the parent's (CSA_WORKTREE)
        self.say = say  # progress lines for the user (None: quiet)
        self.name = name  # a new session's name


def choose(req: RunRequest) -> Choice:
    """Resolve everything `csa run` needs to know before it takes a session."""
    req.validate()
    store = Store.open(project_cd(req.cd))
    if req.ephemeral:  # nothing of the project is read or written: its config neither
        from csa import recache

        recache.writable = False  # nor the compiled-rules cache
        store.project_config = False
    cfg = load_config(store.root if store.project_config else None)
    parent, depth = genealogy.parent_from_env(os.environ)
    resume = None
    if req.session or req.last:
        resume = store.resolve(req.session) if req.session else store.newest()
    if resume is not None:
        refuse_batch(resume)
    name = req.tool or (resume and session_tool(resume)) or \
        cfg.get("default_tool") or "claude-code"
    auto = None
    if name == "auto":
        from csa.autotool import pick

        auto = pick(cfg)
        name = auto.tool
    # an alias (claude, gemini) resolves to the tool's own name
    tool = pick_tool(name, cfg, req.transport, resume)
    binary = resolve_binary(tool, cfg)
    req.check_for(tool)
    from csa.failover import chain

    failover = chain(cfg, req.failover, tool.name) if req.failover or cfg.get("failover") \
        else []
    worktree, inherited = _worktree_choice(req, store, resume)
    description = ""
    if resume is None:
        description = store.redactor.text(req.description) if req.description else \
            default_description(store.redactor, req.prompt)
    return Choice(store, cfg, tool, binary, resume=resume, parent=parent, depth=depth,
                  description=description, cd=req.cd, ephemeral=req.ephemeral,
                  wait_slot=req.wait_slot, failover=failover,
                  tool_reason=auto.reason if auto else None,
                  parent_tool=auto.parent_tool if auto else None, worktree=worktree,
                  inherited_worktree=inherited, say=None if req.quiet else req.announce,
                  name=req.name)


def _worktree_choice(req: RunRequest, store: Store,
                     resume: Session | None) -> tuple[str | None, str | None]:
    """(--worktree's branch or "", the parent's worktree a new nested run inherits)."""
    if req.worktree is not None:
        if req.ephemeral:
            from csa.errors import UsageError

            raise UsageError("--worktree cannot be combined with --ephemeral")
        from csa.worktree import request_check

        request_check(store, req.worktree)
        return req.worktree, None
    inherited = os.environ.get("CSA_WORKTREE")
    if resume is None and inherited and os.environ.get("CSA_SESSION_ID") \
            and os.path.isdir(inherited):
        return None, inherited
    return None, None


def resume_choice(session: Session, name: str, *, reason: str) -> Choice:
    """The choice of a caller other than `csa run` (compaction) that resumes `session`
    with tool `name`, the tool running in the project's root."""
    store = session.store
    cfg = load_config(store.root)
    tool = pick_tool(name, cfg, None, session)
    parent, _depth = genealogy.parent_from_env(os.environ)
    return Choice(store, cfg, tool, resolve_binary(tool, cfg), resume=session, parent=parent,
                  cd=str(store.root), reason=reason)


def pick_tool(name: str, cfg: Config, transport: str | None = None,
              resume: Session | None = None) -> Tool:
    """The tool `name` over its transport: --transport, else the one the resumed session
    last used with that tool, else config `tools.<name>.transport`, else headless (acp for
    a configured agent no built-in answers to: csa.acp.tool)."""
    from csa.tools import canonical

    key = canonical(name)
    if transport is None and resume is not None:
        transport = session_transport(resume, key)
    if transport is None:
        tcfg = cfg.tool(key)
        transport = tcfg.transport or ("acp" if tcfg.command and not _known(key) else None)
    if transport != "acp":
        return get_tool(key)
    from csa.acp.tool import acp_tool

    return acp_tool(key, cfg)


def _known(name: str) -> bool:
    """A built-in or installed third-party tool (an entry point)."""
    from csa.errors import UsageError

    try:
        get_tool(name)
    except UsageError:
        return False
    return True


def transport_of(tool: Tool) -> str:
    return getattr(tool, "transport", "headless")


def session_transport(session: Session, tool: str) -> str | None:
    """The transport `tool` last used in `session` (state: tools.<tool>.transport)."""
    try:
        tstate = session.read_state().tools.get(tool)
    except CsaError:
        return None
    value = tstate.extra.get("transport") if tstate is not None else None
    return value if value in ("acp", "headless") else None


def resolve_binary(tool: Tool, cfg: Config) -> str:
    """The tool's executable: config `tools.<name>.binary`, else its usual name on PATH
    (an ACP tool: the first word of its command)."""
    if transport_of(tool) == "acp":
        found = shutil.which(os.path.expanduser(tool.binary))
        if found:
            return found
        raise ToolMissing(
            f"{tool.name}: ACP agent '{tool.binary}' not found on PATH. Install it"
            + (f" (npm install -g {tool.package})" if tool.package else "")
            + f" or set tools.{tool.name}.command = [\"/path/to/{os.path.basename(tool.binary)}"
            "\", ...] in ~/.config/csa/config.toml")
    configured = cfg.tool(tool.name).binary
    wanted = os.path.expanduser(configured) if configured else tool.binary
    found = shutil.which(wanted)
    if found:
        return found
    where = f"set in {cfg.source(f'tools.{tool.name}.binary')}" if configured else "on PATH"
    raise ToolMissing(
        f"{tool.name}: binary '{wanted}' not found ({where}). Install it "
        f"(npm install -g {tool.package}) or set tools.{tool.name}.binary = \"/path/to/"
        f"{tool.binary}\" in ~/.config/csa/config.toml or .csa/config.toml")


def default_description(redactor: Redactor, prompt: str) -> str:
    # Redact before cutting: a token cut in half no longer matches its pattern.
    return redactor.line(prompt, 80)


def project_cd(cd: str | None) -> str | None:
    """A nested run without --cd stays in its parent's project when it is inside it."""
    if cd is not None:
        return cd
    root = os.environ.get("CSA_PROJECT_ROOT")
    if root and os.environ.get("CSA_SESSION_ID"):
        try:
            here = os.path.realpath(os.getcwd())
        except OSError:
            return root
        # Inside the parent's worktree (csa.worktree) is inside the project too.
        for top in filter(None, (root, os.environ.get("CSA_WORKTREE"))):
            if here == top or here.startswith(top.rstrip("/") + "/"):
                return root
    return None


def session_tool(session: Session) -> str | None:
    """The tool a session last ran with (a resume without --tool keeps using it)."""
    try:
        return session.read_state().last_tool()
    except CsaError:
        return None


def refuse_batch(session: Session) -> None:
    """A batch session (csa batch) runs no tool of its own: a turn would make it a chat."""
    try:
        kind = session.read_state().extra.get("kind")
    except CsaError:
        return  # the claim reports a broken state itself
    if kind == "batch":
        raise CsaError(f"Session {session.id} is a batch session: it runs no tool itself. "
                       "Re-run `csa batch FILE` to continue its tasks, or resume one of its "
                       "children (csa session list --tree)")


def refuse_own_ancestor(store: Store, sid: str, env_session: str) -> None:
    """A child may not resume the session it runs inside, nor any ancestor of it."""
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
