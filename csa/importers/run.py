"""One `csa import` run: discover the tool's sources, read what is new since each cursor,
and create or extend the csa sessions (sub-agents as children), idempotently.

    >>> ImportRun(tool, tool.reader(), cd=None, paths=[], since="2d", dry_run=True,
    ...           all_projects=False).run().summary()
"""

from __future__ import annotations

import os
from pathlib import Path

from csa.errors import CsaError, SessionLocked, SessionNotFound
from csa.importers.base import MAX_BAD_SHOWN, Parsed, Reader, Source, final_event, iso_ts
from csa.importers.project import Project, depth_of, project_of, seen_ids, session_exists
from csa.importers.records import (
    Report,
    add_tokens,
    apply_compactions,
    import_digest,
    merge_digest,
    model_tokens,
    state_record,
)
from csa.tools.base import Tool

WRITE_BATCH = 256  # events redacted together (one gate pass per batch)


def write_events(tw, events: list[dict]) -> int:
    """Write the events to the transcript writer `tw` in batches; the last seq written."""
    for i in range(0, len(events), WRITE_BATCH):
        tw.write_many(events[i:i + WRITE_BATCH])
    return tw.next_seq - 1


class ImportRun:
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
        from csa.store import Store

        # the secrets this import knows (environment, config) for every project it fills
        self.redactor = Store(self.base, self.here).redactor
        self.projects: dict[Path, Project] = {}
        # source key -> (project, csa session id or None when only planned, depth)
        self.done: dict[str, tuple[Project, str | None, int]] = {}

    def project(self, root: Path) -> Project:
        from csa.store import Store

        if root not in self.projects:
            proj = self.projects[root] = Project(Store(self.base, root), self.dry_run)
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
        where = self.destination(src)
        if where is None:
            return
        proj, parent, first = where
        key = self.import_key(src)
        entry = proj.cursors.get(src.key)
        if entry is not None and not session_exists(proj, entry.get("session_id")):
            entry = None  # its session was deleted: import afresh
        if entry is not None and entry.get("sig") == sig:
            self.report.unchanged += 1
            self.done[src.key] = (proj, entry["session_id"], depth_of(proj, entry["session_id"]))
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
                    self.done[src.key] = (proj, sid, depth_of(proj, sid))
                    if not self.dry_run:  # remember how far the source goes, import nothing
                        parsed = self.reader.read(src, {})
                        rec = self.record(src, parsed, None, key, sig)
                        self.save_entry(proj, src, {**rec, "native": True}, sid)
                    return
                entry = dict(record)  # the cursor file was lost: state.toml has the cursor
                if self.reader.dedupe_by_id:
                    entry["seen"] = seen_ids(proj, sid)
        parsed = first if first is not None and entry is None else \
            self.reader.read(src, entry or {})
        self.count_bad(parsed)
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

    def destination(self, src: Source) -> tuple[Project, tuple | None, Parsed | None] | None:
        """The project a source goes to, its parent's (project, session id, depth) for a
        sub-agent, and the source already read if its cwd had to be learnt from it; None
        when it is not imported in this run (another project, parent not imported)."""
        if src.parent_key is not None:
            parent = self.done.get(src.parent_key)
            if parent is None:
                # A sub-agent follows its parent: imported when (and where) the parent is.
                return None
            if parent[1] is None and not self.dry_run:
                return None
            return parent[0], parent, None
        first = None
        cwd = src.cwd
        if cwd is None:  # learn it from the content (gemini without a project marker)
            first = self.reader.read(src, {})
            cwd = first.cwd
        if not cwd:
            if self.all_projects:
                self.skip(src, "no working directory recorded")
            return None
        root = project_of(cwd)
        if not self.all_projects and root != self.here:
            return None  # another project's session
        return self.project(root), None, first

    def count_bad(self, parsed: Parsed) -> None:
        for path, line, reason in parsed.bad:
            self.report.bad_lines += 1
            if len(self.report.bad) < MAX_BAD_SHOWN:
                self.report.bad.append(f"{path}:{line}: {reason}")

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
                    "imported_at": iso_ts(utcnow())})
        rec.update(parsed.cursor)
        first = (sig.get("files") or {}).get(str(src.files[0])) if src.files else None
        if first:
            rec["size"], rec["mtime_ns"] = first
        return rec

    def sidechain(self, proj: Project, src: Source, agent_id: str, child: Parsed,
                  parent_sid: str | None, depth: int, entry: dict | None) -> None:
        """In-file sidechain lines: a child session keyed by (parent id, agent id)."""
        if parent_sid is None and not self.dry_run:
            return
        csrc = Source(key=f"{src.key}#agent-{agent_id}", path=src.path,
                      provider_id=src.provider_id, cwd=src.cwd, agent_id=agent_id,
                      parent_key=src.key)
        key = self.import_key(csrc)
        sid = ((entry or {}).get("children") or {}).get(agent_id)
        if not session_exists(proj, sid):
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
        first = next((e["text"] for e in parsed.events if e["role"] == "user" and
                      e["text"].strip()), None)
        if first is None:
            first = parsed.agent_meta.get("description") or parsed.title or \
                f"{self.reader.name} session {str(src.provider_id or '')[:8]}".strip()
        # Redact the whole text before cutting: a secret cut in half no longer matches.
        text = self.redactor.line(str(first), 80)
        return text if len(text) < 80 else text[:79] + "…"

    def tool_state(self, ts, src: Source, parsed: Parsed, digest: dict) -> None:
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
            text = self.redactor.line(last, 200)
            ts.last_action_summary = text if len(text) < 200 else text[:199] + "…"

    def plan(self, action: str, sid: str | None, src: Source, parsed: Parsed, proj: Project,
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
            "description": description, "started": iso_ts(parsed.started),
            "last_activity": iso_ts(parsed.last), "bad_lines": len(parsed.bad)})

    def create(self, proj: Project, src: Source, parsed: Parsed, record: dict,
               parent_sid: str | None, depth: int) -> str | None:
        description = self.describe(parsed, src)
        if self.dry_run:
            self.plan("create", None, src, parsed, proj, parent_sid, description)
            return None
        from csa.state import ToolState, utcnow

        if proj.lock():
            # Another import may have taken this source while we were not locked yet.
            done = proj.cursors.get(src.key)
            if done is not None and session_exists(proj, done.get("session_id")) \
                    and not record.get("in_file"):
                self.report.unchanged += 1
                return done["session_id"]
        store = proj.store
        started = parsed.started or src.mtime or utcnow()

        def build(hidden, state) -> None:
            # Filled before the session appears: it is never seen half-imported.
            with hidden.transcript_writer(self.redactor) as tw:
                last_seq = write_events(tw, [final_event(ev, self.redactor) for ev in parsed.events])
            events = list(hidden.read_transcript())
            digest = import_digest(events, parsed.cost_usd, tool=self.reader.tool,
                                   model=parsed.model)
            state.created_at = started
            state.last_accessed = parsed.last or started
            state.turn_count = int(digest.get("turns", 0))
            ts = state.tools[self.reader.tool] = ToolState()
            self.tool_state(ts, src, parsed, digest)
            ts.extra["model_tokens"] = model_tokens(events, parsed.model)
            state.extra["digest"] = digest
            apply_compactions(state, digest)
            record.update({"session_id": state.meta_session_id, "last_seq": last_seq,
                           "events": len(parsed.events)})
            state.extra["import"] = state_record(record)

        # The ULID carries the source's start time, so imports sort among real sessions.
        session, _, _ = store.create(description=description, parent_session_id=parent_sid,
                                     depth=depth, git_branch=parsed.git_branch,
                                     now_ms=int(started.timestamp() * 1000), build=build)
        sid = session.id
        self.save_entry(proj, src, record, sid)
        self.plan("create", sid, src, parsed, proj, parent_sid, description)
        return sid

    def append(self, proj: Project, src: Source, parsed: Parsed, record: dict,
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
            with session.transcript_writer(self.redactor) as tw:
                last_seq = write_events(tw, [final_event(ev, self.redactor) for ev in parsed.events])
            ts = state.tools.setdefault(self.reader.tool, ToolState())
            old = state.extra.get("digest") if isinstance(state.extra.get("digest"), dict) \
                else {}
            kw = {"tool": self.reader.tool, "model": parsed.model}
            if "evicted" in state.extra:
                # gc kept only the digest: fold the new events into it.
                digest = merge_digest(old, import_digest(parsed.events, parsed.cost_usd, **kw))
                by_model = add_tokens(ts.extra.get("model_tokens"),
                                       model_tokens(parsed.events, parsed.model))
            else:
                events = list(session.read_transcript())
                digest = import_digest(events, parsed.cost_usd, **kw)
                by_model = model_tokens(events, parsed.model)
            if digest.get("cost_source") != "priced" and parsed.cost_usd is None \
                    and ts.cost_usd is not None:
                digest["cost_usd"] = ts.cost_usd  # the provider's total seen last time
            ts.extra["model_tokens"] = by_model
            state.extra["digest"] = digest
            apply_compactions(state, digest)
            if parsed.last and parsed.last > state.last_accessed:
                state.last_accessed = parsed.last
            state.turn_count = int(digest.get("turns", 0))
            self.tool_state(ts, src, parsed, digest)
            prev = state.extra.get("import") if isinstance(state.extra.get("import"), dict) \
                else {}
            record.update({"session_id": sid, "last_seq": last_seq,
                           "events": int(prev.get("events") or 0) + len(parsed.events)})
            state.extra["import"] = state_record(record)
            session.save(state)
        self.save_entry(proj, src, record, sid)
        self.plan("update", sid, src, parsed, proj, state.parent_session_id)

    def save_entry(self, proj: Project, src: Source, record: dict, sid: str) -> None:
        proj.remember(record.get("key") or src.key, sid, state_record(record))
        if record.get("in_file"):
            return  # an in-file sidechain: tracked in its parent's entry (`children`)
        entry = dict(record)
        entry["session_id"] = sid
        old = proj.cursors.get(src.key) or {}
        if "children" in old:
            entry["children"] = {**old["children"], **(entry.get("children") or {})}
        proj.cursors[src.key] = entry
        proj.dirty = True

