"""`state.toml`: the typed session model, its validation, and its TOML form.

    >>> st = SessionState.new("01JH4QWERT1234567890ABCDEF", description="Auth refactor",
    ...                       project_path="/home/me/proj")
    >>> SessionState.from_toml(st.to_toml()).description
    'Auth refactor'

Reads use the stdlib `tomllib` (fast, strict); writes use tomlkit through csa.tomldoc.
Unknown keys are kept on a round trip so newer csa versions can add fields without older
ones dropping them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from csa.errors import CorruptState

SCHEMA_VERSION = 1
PHASES = ("active", "available", "retired")
# The run record's status while a tool runs, and the outcomes a turn can end in.
RUN_STATUSES = ("running", "finished", "failed", "timeout", "interrupted", "died")


# The session state machine: active -> available (compaction) -> active (resume);
# active | available -> retired (gc). Staying in the same phase is always allowed.
TRANSITIONS = {("active", "available"), ("available", "active"), ("active", "retired"),
               ("available", "retired")}


def transition(state: SessionState, phase: str) -> None:
    """Move `state` to `phase`, or raise InvalidTransition naming what is allowed."""
    from csa.errors import InvalidTransition

    if phase == state.phase:
        return
    if (state.phase, phase) not in TRANSITIONS:
        allowed = sorted(b for a, b in TRANSITIONS if a == state.phase)
        raise InvalidTransition(
            f"Session {state.meta_session_id} is {state.phase}; it cannot become {phase} "
            f"(from {state.phase}: {', '.join(allowed) or 'no transitions'})")
    state.phase = phase


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso_ms(dt: datetime | None) -> str | None:
    """RFC 3339 UTC with milliseconds and a `Z`: `2026-11-21T14:17:39.059Z`."""
    if dt is None:
        return None
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_ts(value: Any, key: str) -> datetime | None:
    """Accept TOML datetimes and RFC 3339 strings; naive values are taken as UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as e:
            raise CorruptState(f"{key}: not an RFC 3339 timestamp: {value!r}") from e
    if not isinstance(value, datetime):
        raise CorruptState(f"{key}: expected a timestamp, got {type(value).__name__}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def _get(table: dict, key: str, types: type | tuple, default: Any = None, where: str = "") -> Any:
    value = table.get(key, default)
    if value is None:
        return default
    # bool is an int subclass; an int field must not silently accept true/false.
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise CorruptState(f"{where}{key}: expected {_tname(types)}, got bool")
    if not isinstance(value, types):
        raise CorruptState(f"{where}{key}: expected {_tname(types)}, got {type(value).__name__}")
    return value


def _tname(types: type | tuple) -> str:
    if isinstance(types, tuple):
        return " or ".join(t.__name__ for t in types)
    return types.__name__


@dataclass
class ToolState:
    """What csa knows about one AI tool's conversation inside a session."""

    provider_session_id: str | None = None
    last_action_summary: str = ""
    last_exit_code: int | None = None
    updated_at: datetime | None = None
    model: str | None = None
    turn_count: int = 0
    tokens: dict[str, int] = field(default_factory=dict)
    cost_usd: float | None = None
    previous_provider_session_ids: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    _KNOWN = (
        "provider_session_id", "last_action_summary", "last_exit_code", "updated_at", "model",
        "turn_count", "tokens", "cost_usd", "previous_provider_session_ids",
    )

    @classmethod
    def from_dict(cls, d: dict, where: str) -> ToolState:
        if not isinstance(d, dict):
            raise CorruptState(f"{where}: expected a table")
        tokens = _get(d, "tokens", dict, {}, where)
        for k, v in tokens.items():
            if not isinstance(v, int) or isinstance(v, bool):
                raise CorruptState(f"{where}tokens.{k}: expected int")
        prev = _get(d, "previous_provider_session_ids", list, [], where)
        if not all(isinstance(p, str) for p in prev):
            raise CorruptState(f"{where}previous_provider_session_ids: expected strings")
        return cls(
            provider_session_id=_get(d, "provider_session_id", str, None, where),
            last_action_summary=_get(d, "last_action_summary", str, "", where),
            last_exit_code=_get(d, "last_exit_code", int, None, where),
            updated_at=parse_ts(d.get("updated_at"), where + "updated_at"),
            model=_get(d, "model", str, None, where),
            turn_count=_get(d, "turn_count", int, 0, where),
            tokens=dict(tokens),
            cost_usd=_num(_get(d, "cost_usd", (int, float), None, where)),
            previous_provider_session_ids=list(prev),
            extra={k: v for k, v in d.items() if k not in cls._KNOWN},
        )

    def to_dict(self) -> dict:
        d: dict[str, Any] = {}
        if self.provider_session_id is not None:
            d["provider_session_id"] = self.provider_session_id
        d["last_action_summary"] = self.last_action_summary
        if self.last_exit_code is not None:
            d["last_exit_code"] = self.last_exit_code
        if self.updated_at is not None:
            d["updated_at"] = self.updated_at
        if self.model:
            d["model"] = self.model
        d["turn_count"] = self.turn_count
        if self.cost_usd is not None:
            d["cost_usd"] = self.cost_usd
        if self.previous_provider_session_ids:
            d["previous_provider_session_ids"] = list(self.previous_provider_session_ids)
        d.update(self.extra)
        if self.tokens:
            d["tokens"] = dict(self.tokens)
        return d


def _num(v: Any) -> float | None:
    return None if v is None else float(v)


@dataclass
class RunRecord:
    """The current or last turn: lets a reader tell a live run from one that died."""

    status: str = "finished"
    tool: str | None = None
    pid: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    exit_code: int | None = None
    error: str | None = None
    # The turn's processes, each with its start time (a pid alone may be reused): csa's
    # own, and the tool's (it leads its process group), so whoever finds the turn dead
    # can stop what is left of it (csa.turn.recover).
    pid_start: float | None = None
    tool_pid: int | None = None
    tool_start: float | None = None

    @classmethod
    def from_dict(cls, d: dict) -> RunRecord:
        if not isinstance(d, dict):
            raise CorruptState("run: expected a table")
        status = _get(d, "status", str, "finished", "run.")
        if status not in RUN_STATUSES:
            raise CorruptState(f"run.status: unknown value {status!r}")
        return cls(
            status=status,
            tool=_get(d, "tool", str, None, "run."),
            pid=_get(d, "pid", int, None, "run."),
            started_at=parse_ts(d.get("started_at"), "run.started_at"),
            finished_at=parse_ts(d.get("finished_at"), "run.finished_at"),
            exit_code=_get(d, "exit_code", int, None, "run."),
            error=_get(d, "error", str, None, "run."),
            pid_start=_num(_get(d, "pid_start", (int, float), None, "run.")),
            tool_pid=_get(d, "tool_pid", int, None, "run."),
            tool_start=_num(_get(d, "tool_start", (int, float), None, "run.")),
        )

    def to_dict(self) -> dict:
        d = {"status": self.status, "tool": self.tool, "pid": self.pid,
             "pid_start": self.pid_start, "started_at": self.started_at,
             "finished_at": self.finished_at, "exit_code": self.exit_code,
             "error": self.error, "tool_pid": self.tool_pid, "tool_start": self.tool_start}
        return {k: v for k, v in d.items() if v is not None}


@dataclass
class SessionState:
    """The whole of `state.toml`."""

    meta_session_id: str
    description: str
    project_path: str
    created_at: datetime
    last_accessed: datetime
    phase: str = "active"
    turn_count: int = 0
    git_branch: str | None = None
    git_head: str | None = None
    parent_session_id: str | None = None
    depth: int = 0
    forked_from: str | None = None  # [genealogy] forked_from: the session this one forks
    name: str | None = None  # the user's name for the session (csa.names)
    is_compacted: bool = False
    last_compacted_at: datetime | None = None
    compaction_count: int = 0
    tools: dict[str, ToolState] = field(default_factory=dict)
    run: RunRecord | None = None
    schema_version: int = SCHEMA_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    _TOP = (
        "schema_version", "meta_session_id", "name", "description", "project_path",
        "created_at", "last_accessed", "phase", "turn_count", "git_branch", "git_head", "genealogy",
        "context_status", "tools", "run",
    )

    @classmethod
    def new(cls, sid: str, *, description: str, project_path: str,
            parent_session_id: str | None = None, depth: int = 0,
            git_branch: str | None = None, git_head: str | None = None) -> SessionState:
        now = utcnow()
        return cls(meta_session_id=sid, description=description, project_path=project_path,
                   created_at=now, last_accessed=now, parent_session_id=parent_session_id,
                   depth=depth, git_branch=git_branch, git_head=git_head)

    # -- reading -------------------------------------------------------------------------

    @classmethod
    def from_bytes(cls, data: bytes) -> SessionState:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise CorruptState(f"not UTF-8 text (byte {e.start})") from e
        return cls.from_toml(text)

    @classmethod
    def from_toml(cls, text: str) -> SessionState:
        import tomllib  # not at the top: a listing served by the summary index never parses

        try:
            d = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise CorruptState(f"invalid TOML: {e}") from e
        except RecursionError as e:  # tomllib recurses per nesting level
            raise CorruptState("invalid TOML: nested too deeply") from e
        return cls.from_dict(d)

    @classmethod
    def from_dict(cls, d: dict) -> SessionState:
        version = _get(d, "schema_version", int, 1)
        if version > SCHEMA_VERSION:
            raise CorruptState(
                f"schema_version {version} is newer than this csa understands "
                f"({SCHEMA_VERSION}); upgrade csa")
        d = _upgrade(d, version)
        sid = _get(d, "meta_session_id", str)
        if not sid:
            raise CorruptState("meta_session_id: missing")
        created = parse_ts(d.get("created_at"), "created_at")
        if created is None:
            raise CorruptState("created_at: missing")
        phase = _get(d, "phase", str, "active")
        if phase not in PHASES:
            raise CorruptState(f"phase: unknown value {phase!r}")
        gen = _get(d, "genealogy", dict, {})
        ctx = _get(d, "context_status", dict, {})
        tools_raw = _get(d, "tools", dict, {})
        run_raw = d.get("run")
        depth = _get(gen, "depth", int, 0, "genealogy.")
        if depth < 0:
            raise CorruptState("genealogy.depth: negative")
        return cls(
            schema_version=SCHEMA_VERSION,
            meta_session_id=sid,
            description=_get(d, "description", str, ""),
            project_path=_get(d, "project_path", str, ""),
            created_at=created,
            last_accessed=parse_ts(d.get("last_accessed"), "last_accessed") or created,
            phase=phase,
            turn_count=_get(d, "turn_count", int, 0),
            git_branch=_get(d, "git_branch", str, None),
            git_head=_get(d, "git_head", str, None),
            parent_session_id=_get(gen, "parent_session_id", str, None, "genealogy.") or None,
            depth=depth,
            forked_from=_get(gen, "forked_from", str, None, "genealogy.") or None,
            name=_get(d, "name", str, None) or None,
            is_compacted=_get(ctx, "is_compacted", bool, False, "context_status."),
            last_compacted_at=parse_ts(ctx.get("last_compacted_at"),
                                       "context_status.last_compacted_at"),
            compaction_count=_get(ctx, "compaction_count", int, 0, "context_status."),
            tools={name: ToolState.from_dict(t, f"tools.{name}.") for name, t in tools_raw.items()},
            run=RunRecord.from_dict(run_raw) if run_raw is not None else None,
            extra={k: v for k, v in d.items() if k not in cls._TOP},
        )

    # -- writing -------------------------------------------------------------------------

    def to_dict(self) -> dict:
        d: dict[str, Any] = {
            "schema_version": self.schema_version,
            "meta_session_id": self.meta_session_id,
        }
        if self.name:
            d["name"] = self.name
        d |= {
            "description": self.description,
            "project_path": self.project_path,
            "created_at": self.created_at,
            "last_accessed": self.last_accessed,
            "phase": self.phase,
            "turn_count": self.turn_count,
        }
        if self.git_branch:
            d["git_branch"] = self.git_branch
        if self.git_head:
            d["git_head"] = self.git_head
        d.update(self.extra)
        gen: dict[str, Any] = {"depth": self.depth}
        if self.parent_session_id:
            gen = {"parent_session_id": self.parent_session_id, "depth": self.depth}
        if self.forked_from:
            gen["forked_from"] = self.forked_from
        d["genealogy"] = gen
        ctx: dict[str, Any] = {"is_compacted": self.is_compacted,
                               "compaction_count": self.compaction_count}
        if self.last_compacted_at:
            ctx["last_compacted_at"] = self.last_compacted_at
        d["context_status"] = ctx
        if self.run is not None:
            d["run"] = self.run.to_dict()
        d["tools"] = {name: t.to_dict() for name, t in self.tools.items()}
        return d

    def to_toml(self) -> str:
        from csa.tomldoc import dumps

        return dumps(self.to_dict())

    # -- views ---------------------------------------------------------------------------

    @property
    def tool_names(self) -> list[str]:
        return list(self.tools)

    def last_tool(self) -> str | None:
        """The tool used most recently in this session: a turn that started (and may have
        died before it finished) counts from its start, before the tool's totals exist."""
        best, best_at = None, None
        for name, t in self.tools.items():
            if t.updated_at is not None and (best_at is None or t.updated_at >= best_at):
                best, best_at = name, t.updated_at
        run = self.run
        if run is not None and run.tool and run.status in ("running", "died") \
                and run.started_at is not None and (best_at is None or run.started_at >= best_at):
            return run.tool
        return best or (next(iter(self.tools)) if self.tools else None)

    def provider_ids(self) -> list[str]:
        """Every provider conversation id this session holds or held (any tool)."""
        out: list[str] = []
        for t in self.tools.values():
            for pid in (t.provider_session_id, *t.previous_provider_session_ids):
                if pid and pid not in out:
                    out.append(pid)
        return out

    def total_tokens(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.tools.values():
            for k, v in t.tokens.items():
                out[k] = out.get(k, 0) + v
        return out

    def summary(self) -> dict[str, Any]:
        """The flat, JSON-ready dict listings and the list cache use."""
        return {
            "id": self.meta_session_id,
            "name": self.name,
            "description": self.description,
            "project_path": self.project_path,
            "created_at": iso_ms(self.created_at),
            "last_accessed": iso_ms(self.last_accessed),
            "phase": self.phase,
            "turn_count": self.turn_count,
            "git_branch": self.git_branch,
            "parent_session_id": self.parent_session_id,
            "forked_from": self.forked_from,
            "depth": self.depth,
            "tools": self.tool_names,
            "provider_ids": self.provider_ids(),
            "last_tool": self.last_tool(),
            "is_compacted": self.is_compacted,
            "run_status": self.run.status if self.run else None,
            "run_pid": self.run.pid if self.run else None,
            "usage": self.usage(),
        }

    def usage(self) -> dict[str, dict[str, dict[str, int]]]:
        """Tokens by tool, then by model (what csa.cost prices); {} before any tokens."""
        out = {}
        for name, t in self.tools.items():
            by_model = t.extra.get("model_tokens")
            if isinstance(by_model, dict) and by_model:
                out[name] = {str(m): {k: v for k, v in tok.items() if type(v) is int}
                             for m, tok in by_model.items() if isinstance(tok, dict)}
            elif t.tokens:  # sessions recorded before tokens were kept per model
                out[name] = {t.model or "(unknown)": dict(t.tokens)}
        return out


def _upgrade(d: dict, version: int) -> dict:
    """Bring an older state.toml up to SCHEMA_VERSION (one small step per version)."""
    # Version 1 is the first; files without schema_version are treated as version 1.
    return d
