"""Import the AI CLIs' own transcripts as csa sessions (`csa import claude|codex|gemini|opencode`).

    >>> report = import_sessions("codex", cd="/home/me/proj")     # this project's codex sessions
    >>> report.created, report.updated, report.events
    (3, 1, 412)
    >>> import_sessions("claude", all_projects=True, dry_run=True).sessions[0]["action"]
    'create'

Each session a tool ran on its own (outside csa) becomes one csa session in the project of
its working directory: `tools.<tool>.provider_session_id` is the tool's id, so
`csa run --session <ULID>` resumes the tool's own conversation. The transcript holds
normalized, redacted `imported` events:

    {"type": "imported", "role": "user" | "assistant" | "tool_call" | "tool_result" | "system",
     "text": ..., "source": "claude", "source_ts": <original timestamp>,
     "name": <tool name, for tool_call>, "is_error": bool, "usage": {...}, "model": ..., "id": ...}

and `state.extra["digest"]` summarises them (csa.digest). Provider-native sub-agents
(claude sidechains, opencode child sessions) become child csa sessions.

Re-running is idempotent: `<project state dir>/import/cursors.json` remembers, per source,
how far it was read (size, mtime_ns, byte offset, csa session id, provider id). A source
that grew gets only its new lines, appended to the same session. The same record is kept in
each session's `state.extra["import"]`, so a lost cursor file never duplicates a session.

Each tool's reader lives with the tool (`csa/tools/<tool>/importer.py`, a `Reader` from
`csa/importers/base.py`, named by the tool's `importer` attribute): `discover()` finds the
tool's sessions cheaply, `read()` normalizes what is new since the cursor. This package holds
the machinery every tool shares and runs the import. Provider ids read from the tool's files
must have the tool's id format (`Tool.valid_id`); a source whose id does not is skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from csa.errors import CsaError, SessionLocked, SessionNotFound, UsageError
from csa.tools.base import Tool
from csa.importers.base import (
    CURSOR_VERSION,
    MAX_BAD_SHOWN,
    Parsed,
    Reader,
    Source,
    _drop_none,
    _iso,
)


def get_reader(name: str) -> tuple[Tool, Reader]:
    """Tool `name` (any name or alias csa.tools accepts) and its importer."""
    from csa.tools import get_tool

    tool = get_tool(name)
    reader = tool.reader()
    if reader is None:
        raise UsageError(f"{tool.name} has no importer: csa cannot read its own store")
    return tool, reader


# ---------------------------------------------------------------------------------------
# The import run
# ---------------------------------------------------------------------------------------

@dataclass
class Report:
    source: str
    tool: str
    dry_run: bool
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    events: int = 0
    bad_lines: int = 0
    sessions: list[dict] = field(default_factory=list)     # created / updated (or would be)
    skipped_sources: list[dict] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)           # "path:line: reason"
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"source": self.source, "tool": self.tool, "dry_run": self.dry_run,
                "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "skipped": self.skipped, "events": self.events, "bad_lines": self.bad_lines,
                "sessions": self.sessions, "skipped_sources": self.skipped_sources,
                "bad": self.bad, "problems": self.problems}

    def summary(self) -> str:
        if self.dry_run:
            parts = [f"would create {self.created} session(s)", f"update {self.updated}",
                     f"import {self.events} event(s)"]
        else:
            parts = [f"{self.created} session(s) created", f"{self.updated} updated",
                     f"{self.events} event(s) imported"]
        parts.append(f"{self.unchanged} unchanged")
        if self.skipped:
            parts.append(f"{self.skipped} skipped")
        if self.bad_lines:
            parts.append(f"{self.bad_lines} corrupt line(s) skipped")
        return f"Import from {self.source}: " + ", ".join(parts)


class _Project:
    """One csa project touched by the run: its store, cursors, import lock, session index."""

    def __init__(self, store, dry_run: bool):
        self.store = store
        self.dry_run = dry_run
        self.path = store.dir / "import" / "cursors.json"
        self.cursors: dict[str, dict] = self._load()
        self.dirty = False
        self._unsynced = False
        self._lock_fd: int | None = None
        self._index: dict[str, tuple[str, dict | None]] | None = None

    def _load(self) -> dict:
        try:
            d = orjson.loads(self.path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return {}
        src = d.get("sources") if isinstance(d, dict) else None
        return {k: v for k, v in src.items() if isinstance(v, dict)} \
            if isinstance(src, dict) else {}

    def lock(self) -> bool:
        """Serialize imports into this project (two runs must not both create a session).
        True when the lock was taken just now (the cursors were reloaded)."""
        if self._lock_fd is not None or self.dry_run:
            return False
        import fcntl
        import time

        from csa.fsutil import ensure_dir

        self.store.ensure()
        ensure_dir(self.path.parent)
        fd = os.open(self.path.parent / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + 30
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise CsaError(f"another csa import into {self.store.root} is still running; "
                                   "try again when it has finished") from None
                time.sleep(0.1)
        self._lock_fd = fd
        self.cursors = self._load()  # what the run before us saved
        self._index = None
        return True

    def index(self) -> dict[str, tuple[str, dict | None]]:
        """import key / "<tool>:<provider id>" -> (session id, import record or None)."""
        if self._index is None:
            idx: dict[str, tuple[str, dict | None]] = {}
            for session in self.store.sessions():
                sid = session.id
                try:
                    st = session.read_state()
                except CsaError:
                    continue
                imp = st.extra.get("import")
                if isinstance(imp, dict) and isinstance(imp.get("key"), str):
                    idx[imp["key"]] = (sid, imp)
                for tool, ts in st.tools.items():
                    for pid in (ts.provider_session_id, *ts.previous_provider_session_ids):
                        if pid:
                            idx.setdefault(f"{tool}:{pid}", (sid, None))
            self._index = idx
        return self._index

    def remember(self, key: str, sid: str, record: dict | None) -> None:
        if self._index is not None:
            self._index[key] = (sid, record)

    def save(self, *, durable: bool) -> None:
        """Write cursors.json (0600, atomic). Cheap saves between sources, a durable one
        at the end: a cursor lost in a crash is rebuilt from the sessions' state.toml."""
        if self.dry_run or not (self.dirty or (durable and self._unsynced)):
            return
        from csa.fsutil import atomic_write, ensure_dir

        ensure_dir(self.path.parent)
        data = {"version": CURSOR_VERSION, "sources": self.cursors}
        atomic_write(self.path, orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n",
                     durable=durable)
        self.dirty = False
        self._unsynced = not durable

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None


def _project_of(cwd: str) -> Path:
    """The csa project of a recorded cwd: its git top-level, else the dir (which may be
    gone by now: the path is still a fine project key)."""
    from csa.paths import git_toplevel

    here = Path(os.path.realpath(cwd))
    return git_toplevel(here) or here


def import_sessions(source: str, *, cd: str | None = None, paths: Iterable[str] = (),
                    since: str | None = None, dry_run: bool = False,
                    all_projects: bool = False) -> Report:
    """Import `source`'s sessions (see the module docstring); returns the report."""
    return _Run(*get_reader(source), cd=cd, paths=[Path(p).expanduser() for p in paths],
                since=since, dry_run=dry_run, all_projects=all_projects).run()


class _Run:
    def __init__(self, tool: Tool, reader: Reader, *, cd, paths, since, dry_run, all_projects):
        from csa.paths import project_root, state_base
        from csa.timeutil import parse_since

        self.tool = tool
        self.reader = reader
        self.here = project_root(cd)
        self.base = state_base()
        self.paths = paths or reader.default_paths()
        self.since = parse_since(since) if since else None
        self.dry_run = dry_run
        self.all_projects = all_projects
        self.report = Report(source=reader.name, tool=reader.tool, dry_run=dry_run)
        self.projects: dict[Path, _Project] = {}
        # source key -> (project, csa session id or None when only planned, depth)
        self.done: dict[str, tuple[_Project, str | None, int]] = {}

    def project(self, root: Path) -> _Project:
        from csa.store import Store

        if root not in self.projects:
            proj = self.projects[root] = _Project(Store(self.base, root), self.dry_run)
            # Locked before its cursors are consulted, so a concurrent import cannot slip a
            # session in between our check and our create. A project with no state dir yet
            # is locked (and created) only when something is imported into it.
            if proj.store.dir.is_dir():
                proj.lock()
        return self.projects[root]

    def run(self) -> Report:
        try:
            for src in self.reader.discover(self.paths, None if self.all_projects else self.here):
                try:
                    self.one(src)
                except (SessionLocked, SessionNotFound) as e:
                    self.skip(src, str(e))
                except (OSError, CsaError) as e:
                    msg = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
                    self.report.problems.append(f"{src.path}: {msg}")
                except Exception as e:  # noqa: BLE001 - one odd source must not stop the rest
                    if os.environ.get("CSA_DEBUG"):
                        raise
                    self.report.problems.append(
                        f"{src.path}: not imported ({type(e).__name__}: {e}); "
                        "set CSA_DEBUG=1 for a traceback")
                # After every source: an interrupted run keeps what it did.
                for proj in self.projects.values():
                    proj.save(durable=False)
            for proj in self.projects.values():
                proj.save(durable=True)
        finally:
            for proj in self.projects.values():
                proj.close()
        return self.report

    def skip(self, src: Source, reason: str) -> None:
        self.report.skipped += 1
        self.report.skipped_sources.append({"path": src.path, "reason": reason,
                                            "provider_session_id": src.provider_id,
                                            "agent_id": src.agent_id})

    def one(self, src: Source) -> None:
        if not self.id_ok(src, src.provider_id):
            return
        sig = src.signature()  # before reading: lines written meanwhile are read next time
        parent = None
        if src.parent_key is not None:
            parent = self.done.get(src.parent_key)
            if parent is None:
                # A sub-agent follows its parent: imported when (and where) the parent is.
                return
            if parent[1] is None and not self.dry_run:
                return
        first = None
        if parent is not None:
            proj = parent[0]
        else:
            cwd = src.cwd
            if cwd is None:  # learn it from the content (gemini without a project marker)
                first = self.reader.read(src, {})
                cwd = first.cwd
            if not cwd:
                if self.all_projects:
                    self.skip(src, "no working directory recorded")
                return
            root = _project_of(cwd)
            if not self.all_projects and root != self.here:
                return  # another project's session
            proj = self.project(root)
        key = self.import_key(src)
        entry = proj.cursors.get(src.key)
        if entry is not None and not _exists(proj, entry.get("session_id")):
            entry = None  # its session was deleted: import afresh
        if entry is not None and entry.get("sig") == sig:
            self.report.unchanged += 1
            self.done[src.key] = (proj, entry["session_id"], _depth(proj, entry["session_id"]))
            return
        if self.since is not None and entry is None and src.mtime is not None \
                and src.mtime < self.since:
            self.skip(src, "no activity since --since")
            return
        sid = entry.get("session_id") if entry is not None else None
        if entry is None:
            found = proj.index().get(key)
            if found is not None:
                sid, record = found
                if record is None:  # a session `csa run` made: csa has this conversation
                    self.skip(src, f"already a csa session ({sid})")
                    self.done[src.key] = (proj, sid, _depth(proj, sid))
                    if not self.dry_run:  # remember how far the source goes, import nothing
                        parsed = self.reader.read(src, {})
                        rec = self.record(src, parsed, None, key, sig)
                        self.save_entry(proj, src, {**rec, "native": True}, sid)
                    return
                entry = dict(record)  # the cursor file was lost: state.toml has the cursor
                if self.reader.dedupe_by_id:
                    entry["seen"] = _seen_ids(proj, sid)
        parsed = first if first is not None and entry is None else \
            self.reader.read(src, entry or {})
        for path, line, reason in parsed.bad:
            self.report.bad_lines += 1
            if len(self.report.bad) < MAX_BAD_SHOWN:
                self.report.bad.append(f"{path}:{line}: {reason}")
        if parsed.problem:
            self.report.problems.append(parsed.problem)
            return
        if src.provider_id is None and not self.id_ok(src, parsed.provider_id):
            return
        last = parsed.last or src.mtime
        if sid is None and self.since is not None and last is not None and last < self.since:
            self.skip(src, "no activity since --since")
            return
        depth = parent[2] + 1 if parent else 0
        parent_sid = parent[1] if parent else None
        record = self.record(src, parsed, entry, key, sig)
        if sid is None:
            sid = self.create(proj, src, parsed, record, parent_sid, depth)
        else:
            self.append(proj, src, parsed, record, sid)
        self.done[src.key] = (proj, sid, depth)
        for agent_id, child in parsed.children.items():
            self.sidechain(proj, src, agent_id, child, sid, depth + 1, entry)

    # -- helpers -------------------------------------------------------------------------

    def id_ok(self, src: Source, pid: str | None) -> bool:
        """A provider id from the tool's files must have the tool's own id format: it is
        later put on the tool's argv to resume (`--last` there would mean another
        conversation). A source with a malformed id is skipped and reported."""
        if pid is None or self.tool.valid_id(pid):
            return True
        self.skip(src, f"provider id {str(pid)[:60]!r} is not a valid {self.tool.name} id")
        return False

    def import_key(self, src: Source) -> str:
        """What identifies a source session across runs (and in state.extra["import"])."""
        tool = self.reader.tool
        if src.agent_id is not None:
            return f"{tool}:{src.provider_id}:agent:{src.agent_id}"
        return f"{tool}:{src.provider_id or src.key}"

    def record(self, src: Source, parsed: Parsed, entry: dict | None, key: str,
               sig: dict) -> dict:
        """The cursor entry after this read (also kept, minus `seen`, in state.toml)."""
        from csa.state import utcnow

        rec = dict(entry or {})
        rec.update({"source": self.reader.name, "key": key, "path": src.path,
                    "provider_session_id": src.provider_id or parsed.provider_id,
                    "agent_id": src.agent_id, "agent_type": parsed.agent_meta.get("agentType"),
                    "cwd": parsed.cwd or src.cwd, "sig": sig,
                    "imported_at": _iso(utcnow())})
        rec.update(parsed.cursor)
        first = (sig.get("files") or {}).get(str(src.files[0])) if src.files else None
        if first:
            rec["size"], rec["mtime_ns"] = first
        return rec

    def sidechain(self, proj: _Project, src: Source, agent_id: str, child: Parsed,
                  parent_sid: str | None, depth: int, entry: dict | None) -> None:
        """In-file sidechain lines: a child session keyed by (parent id, agent id)."""
        if parent_sid is None and not self.dry_run:
            return
        csrc = Source(key=f"{src.key}#agent-{agent_id}", path=src.path,
                      provider_id=src.provider_id, cwd=src.cwd, agent_id=agent_id,
                      parent_key=src.key)
        key = self.import_key(csrc)
        sid = ((entry or {}).get("children") or {}).get(agent_id)
        if not _exists(proj, sid):
            found = proj.index().get(key)
            sid = found[0] if found else None
        rec = {"source": self.reader.name, "key": key, "path": src.path,
               "provider_session_id": src.provider_id, "agent_id": agent_id,
               "cwd": child.cwd or src.cwd, "in_file": True}
        if sid is None:
            sid = self.create(proj, csrc, child, rec, parent_sid, depth)
        else:
            self.append(proj, csrc, child, rec, sid)
        if sid and not self.dry_run and src.key in proj.cursors:
            proj.cursors[src.key].setdefault("children", {})[agent_id] = sid
            proj.dirty = True

    def describe(self, parsed: Parsed, src: Source) -> str:
        from csa.redact import redact

        first = next((e["text"] for e in parsed.events if e["role"] == "user" and
                      e["text"].strip()), None)
        if first is None:
            first = parsed.agent_meta.get("description") or parsed.title or \
                f"{self.reader.name} session {str(src.provider_id or '')[:8]}".strip()
        # Redact the whole text before cutting: a secret cut in half no longer matches.
        text = " ".join(redact(str(first)).split())
        return text if len(text) <= 80 else text[:79] + "…"

    def tool_state(self, ts, src: Source, parsed: Parsed, digest: dict) -> None:
        from csa.redact import redact

        if src.agent_id is None:  # a claude sub-agent cannot be resumed on its own
            ts.provider_session_id = ts.provider_session_id or src.provider_id or \
                parsed.provider_id
        if parsed.model:
            ts.model = parsed.model
        if parsed.last:
            ts.updated_at = parsed.last if ts.updated_at is None else \
                max(ts.updated_at, parsed.last)
        ts.turn_count = int(digest.get("turns", 0))
        ts.tokens = {k: v for k, v in (digest.get("tokens") or {}).items()
                     if isinstance(v, int) and not isinstance(v, bool)}
        if digest.get("cost_usd"):
            ts.cost_usd = float(digest["cost_usd"])
        last = next((e["text"] for e in reversed(parsed.events) if e["role"] == "assistant"
                     and e["text"].strip()), None)
        if last:
            text = " ".join(redact(last).split())
            ts.last_action_summary = text if len(text) <= 200 else text[:199] + "…"

    def plan(self, action: str, sid: str | None, src: Source, parsed: Parsed, proj: _Project,
             parent_sid: str | None, description: str | None = None) -> None:
        n = len(parsed.events)
        self.report.events += n
        if action == "create":
            self.report.created += 1
        else:
            self.report.updated += 1
        self.report.sessions.append({
            "action": action, "session_id": sid, "tool": self.reader.tool,
            "provider_session_id": src.provider_id or parsed.provider_id,
            "agent_id": src.agent_id, "parent_session_id": parent_sid,
            "project": str(proj.store.root), "path": src.path, "events": n,
            "description": description, "started": _iso(parsed.started),
            "last_activity": _iso(parsed.last), "bad_lines": len(parsed.bad)})

    def create(self, proj: _Project, src: Source, parsed: Parsed, record: dict,
               parent_sid: str | None, depth: int) -> str | None:
        description = self.describe(parsed, src)
        if self.dry_run:
            self.plan("create", None, src, parsed, proj, parent_sid, description)
            return None
        from csa.state import ToolState, utcnow

        if proj.lock():
            # Another import may have taken this source while we were not locked yet.
            done = proj.cursors.get(src.key)
            if done is not None and _exists(proj, done.get("session_id")) \
                    and not record.get("in_file"):
                self.report.unchanged += 1
                return done["session_id"]
        store = proj.store
        started = parsed.started or src.mtime or utcnow()

        def build(hidden, state) -> None:
            # Filled before the session appears: it is never seen half-imported.
            with hidden.transcript_writer() as tw:
                for ev in parsed.events:
                    tw.append("imported", **ev)
                last_seq = tw.next_seq - 1
            digest = _digest(list(hidden.read_transcript()), parsed.cost_usd)
            state.created_at = started
            state.last_accessed = parsed.last or started
            state.turn_count = int(digest.get("turns", 0))
            ts = state.tools[self.reader.tool] = ToolState()
            self.tool_state(ts, src, parsed, digest)
            state.extra["digest"] = digest
            record.update({"session_id": state.meta_session_id, "last_seq": last_seq,
                           "events": len(parsed.events)})
            state.extra["import"] = _state_record(record)

        # The ULID carries the source's start time, so imports sort among real sessions.
        session, _, _ = store.create(description=description, parent_session_id=parent_sid,
                                     depth=depth, git_branch=parsed.git_branch,
                                     now_ms=int(started.timestamp() * 1000), build=build)
        sid = session.id
        self.save_entry(proj, src, record, sid)
        self.plan("create", sid, src, parsed, proj, parent_sid, description)
        return sid

    def append(self, proj: _Project, src: Source, parsed: Parsed, record: dict,
               sid: str) -> None:
        """New events of a known source, appended to its session (seq continues)."""
        if not parsed.events:
            self.report.unchanged += 1
            if not self.dry_run:
                proj.lock()
                self.save_entry(proj, src, {**record, "session_id": sid}, sid)
            return
        if self.dry_run:
            self.plan("update", sid, src, parsed, proj, None)
            return
        from csa.state import ToolState

        proj.lock()
        session = proj.store.session(sid)
        with session.lock(reason="import", grace=0):
            state = session.read_state()
            if state.run is not None or record.get("native"):
                # `csa run` has continued this conversation: its turns are in csa's own
                # transcript already, so the tool's new lines are consumed, not re-imported.
                self.save_entry(proj, src, {**record, "session_id": sid}, sid)
                self.skip(src, f"continued with csa run in session {sid}")
                return
            with session.transcript_writer() as tw:
                for ev in parsed.events:
                    tw.append("imported", **ev)
                last_seq = tw.next_seq - 1
            ts = state.tools.setdefault(self.reader.tool, ToolState())
            old = state.extra.get("digest") if isinstance(state.extra.get("digest"), dict) \
                else {}
            cost = parsed.cost_usd if parsed.cost_usd is not None else (
                ts.cost_usd if ts.cost_usd is not None else old.get("cost_usd"))
            if "evicted" in state.extra:
                # gc kept only the digest: fold the new events into it.
                new = [{"type": "imported", **e} for e in parsed.events]
                digest = _merge_digest(old, _digest(new, cost))
            else:
                digest = _digest(list(session.read_transcript()), cost)
            state.extra["digest"] = digest
            if parsed.last and parsed.last > state.last_accessed:
                state.last_accessed = parsed.last
            state.turn_count = int(digest.get("turns", 0))
            self.tool_state(ts, src, parsed, digest)
            prev = state.extra.get("import") if isinstance(state.extra.get("import"), dict) \
                else {}
            record.update({"session_id": sid, "last_seq": last_seq,
                           "events": int(prev.get("events") or 0) + len(parsed.events)})
            state.extra["import"] = _state_record(record)
            session.save(state)
        self.save_entry(proj, src, record, sid)
        self.plan("update", sid, src, parsed, proj, state.parent_session_id)

    def save_entry(self, proj: _Project, src: Source, record: dict, sid: str) -> None:
        proj.remember(record.get("key") or src.key, sid, _state_record(record))
        if record.get("in_file"):
            return  # an in-file sidechain: tracked in its parent's entry (`children`)
        entry = dict(record)
        entry["session_id"] = sid
        old = proj.cursors.get(src.key) or {}
        if "children" in old:
            entry["children"] = {**old["children"], **(entry.get("children") or {})}
        proj.cursors[src.key] = entry
        proj.dirty = True


def _exists(proj: _Project, sid: Any) -> bool:
    from csa import ids

    return isinstance(sid, str) and ids.is_ulid(sid) and proj.store.session(sid).exists()


def _depth(proj: _Project, sid: str | None) -> int:
    if not _exists(proj, sid):
        return 0
    try:
        return proj.store.session(sid).read_state().depth  # type: ignore[arg-type]
    except CsaError:
        return 0


def _seen_ids(proj: _Project, sid: str) -> list[str]:
    """Ids of the events already imported into a session (when the cursor file is lost)."""
    try:
        return [e["id"] for e in proj.store.session(sid).read_transcript()
                if e.get("type") == "imported" and isinstance(e.get("id"), str)]
    except OSError:
        return []


def _state_record(record: dict) -> dict:
    # `seen` (gemini message ids) can be long: it stays in cursors.json and is rebuilt
    # from the transcript when that file is lost.
    rec = {k: v for k, v in record.items() if k not in ("seen", "children", "in_file")}
    return _drop_none(rec)


def _digest(events: list[dict], cost_usd: float | None) -> dict:
    """csa.digest over the transcript, plus an outcome guess and the provider's cost."""
    from csa.digest import digest_events

    d = digest_events(events)
    d["outcome"] = _outcome(events)
    d["source"] = "import"
    if cost_usd is not None:
        d["cost_usd"] = round(float(cost_usd), 9)
    return d


def _outcome(events: list[dict]) -> str:
    """success: the last exchange got a reply; failed: it ended on an error;
    abandoned: the last prompt got no reply at all."""
    last_user = max((i for i, e in enumerate(events) if e.get("role") == "user"), default=-1)
    tail = [e for e in events[last_user + 1:]
            if (e.get("type") == "imported" and e.get("role") != "system") or e.get("is_error")]
    if last_user < 0 and not tail:
        return "unknown"
    if not tail:
        return "abandoned"
    if tail[-1].get("is_error"):
        return "failed"
    return "success"


def _merge_digest(old: dict, new: dict) -> dict:
    from csa.digest import new_digest

    out = {**new_digest(), **old}
    out["turns"] = int(old.get("turns", 0)) + int(new.get("turns", 0))
    tokens = dict(old.get("tokens") or {})
    for k, v in (new.get("tokens") or {}).items():
        tokens[k] = int(tokens.get(k, 0)) + int(v)
    out["tokens"] = tokens
    calls = dict(old.get("tool_calls") or {})
    for k, v in (new.get("tool_calls") or {}).items():
        calls[k] = int(calls.get(k, 0)) + int(v)
    out["tool_calls"] = calls
    out["errors"] = int(old.get("errors", 0)) + int(new.get("errors", 0))
    out["outcome"] = new.get("outcome", out.get("outcome"))
    out["cost_usd"] = new.get("cost_usd") if new.get("cost_usd") else old.get("cost_usd", 0.0)
    out["source"] = "import"
    return out
