"""The project store: one object owns a project's state dir and its sessions.

    >>> store = Store.open(cd="/home/me/proj")          # honours CSA_STATE_DIR / XDG
    >>> session, state, _ = store.create(description="Auth refactor")  # appears atomically
    >>> store.resolve("01jh4q")                          # unique, case-insensitive prefix
    Session('01JH4QWERT1234567890ABCDEF', '.../sessions/01JH4QWERT1234567890ABCDEF')
    >>> [row["id"] for row in store.summaries()]        # fast listing (stat + cache)

A csa.session.Session is the handle on one session dir (layout, state, lock,
transcript, results); the Store owns the project's state dir: creating, finding,
listing and deleting sessions.

Layout (see docs/sessions.md):

    <base>/<project path>/project.toml      marker: which project this dir belongs to
    <base>/<project path>/sessions/<ULID>/  one session (see csa.session)
    <base>/<project path>/cache/            rebuildable caches (never the source of truth)

Listing and resolution read the summary index (csa.summaries: SQLite under cache/,
rebuilt from the state.toml files whenever it is missing, stale or damaged).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from csa import ids
from csa.errors import CsaError, SessionLocked, SessionNotFound
from csa.fsutil import atomic_write, ensure_dir
from csa.paths import project_root, project_state_dir, state_base
from csa.session import Session

if TYPE_CHECKING:
    from csa.lock import SessionLock
    from csa.redact import Redactor
    from csa.state import RunRecord, SessionState
    from csa.summaries import SummaryIndex

PROJECT_MARKER = "project.toml"
NEW_PREFIX = ".new-"      # a session being created (renamed into place when complete)
TRASH_PREFIX = ".trash-"  # a session being removed (renamed out of place first)


def corrupt_summary(sid: str, reason: str) -> dict:
    # csa.state is imported where a state is made or read: a listing reads index rows.
    from csa.state import iso_ms

    return {"id": sid, "name": None, "corrupt": True, "error": reason, "description": "",
            "phase": "corrupt", "forked_from": None, "provider_ids": [],
            "created_at": iso_ms(_ulid_time(sid)), "last_accessed": None, "turn_count": 0,
            "git_branch": None, "parent_session_id": None, "depth": 0, "tools": [],
            "last_tool": None, "is_compacted": False, "run_status": None, "run_pid": None}


def _ulid_time(sid: str):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ids.ulid_timestamp_ms(sid) / 1000, UTC)


class Store:
    """One project's state directory."""

    # False for an --ephemeral run: the project's .csa/config.toml is not read (redactor).
    project_config = True

    def __init__(self, base: Path, root: Path):
        self.base = base
        self.root = root
        self.dir = project_state_dir(base, root)
        self.sessions_dir = self.dir / "sessions"
        self.cache_dir = self.dir / "cache"

    @classmethod
    def open(cls, cd: str | os.PathLike | None = None) -> Store:
        from csa.perms import check_state_dirs

        store = cls(state_base(), project_root(cd))
        check_state_dirs(store.base, store.dir)
        store.environ = dict(os.environ)  # what the redactor knows as secrets (see below)
        return store

    @cached_property
    def redactor(self) -> Redactor:
        """This project's redactor, built on first use from explicit inputs: the default
        rules, the secret-named variables of the environment captured by `open` (else the
        current one) and the secret-named values of the config's `tools.*.env`."""
        from csa.redact import Redactor, config_secrets

        environ = getattr(self, "environ", None)
        return Redactor.for_environment(os.environ if environ is None else environ,
                                        extra=config_secrets(self.root if self.project_config
                                                             else None))

    @classmethod
    def for_project_dir(cls, base: Path, project_dir: Path, root: Path) -> Store:
        store = cls(base, root)
        store.dir = project_dir
        store.sessions_dir = project_dir / "sessions"
        store.cache_dir = project_dir / "cache"
        return store

    def __repr__(self) -> str:
        return f"Store({str(self.dir)!r})"

    @cached_property
    def index(self) -> SummaryIndex:
        """The summary index (csa.summaries), opened on first use."""
        from csa.summaries import SummaryIndex

        return SummaryIndex(self)

    # -- layout --------------------------------------------------------------------------

    def ensure(self) -> None:
        """Create the state dirs (0700) and the project marker on first use."""
        for d in (self.base, self.dir, self.sessions_dir):
            ensure_dir(d)
        marker = self.dir / PROJECT_MARKER
        if not marker.exists():
            from csa.tomldoc import dumps

            atomic_write(marker, dumps({"project_path": str(self.root)}).encode(),
                         durable=False)

    def session(self, sid: str) -> Session:
        """The handle on `sessions/<sid>/` (no existence check)."""
        return Session(self, sid)

    def ids(self) -> list[str]:
        # A symlink in sessions/ is not a session: csa never follows one out of its state dir.
        try:
            with os.scandir(self.sessions_dir) as it:
                return [e.name for e in it if ids.is_ulid(e.name) and not e.is_symlink()]
        except FileNotFoundError:
            return []

    def sessions(self) -> list[Session]:
        return [Session(self, sid) for sid in self.ids()]

    # -- resolution ----------------------------------------------------------------------

    def resolve(self, text: str) -> Session:
        """The one session `text` names: an exact name, else a unique case-insensitive id
        prefix, name prefix or provider conversation id (csa.names.find).

        Raises SessionNotFound (also for input that can be none of these, before any
        file access) or AmbiguousPrefix listing every candidate with its description.
        """
        from csa.names import find

        return find(self, text)

    # -- creation ------------------------------------------------------------------------

    def create(self, *, description: str, parent_session_id: str | None = None, depth: int = 0,
               lock_tool: str | None = None, run: RunRecord | None = None,
               git_branch: str | None = None, git_head: str | None = None,
               now_ms: int | None = None,
               build: Callable[[Session, SessionState], None] | None = None,
               name: str | None = None, index: bool = True,
               ) -> tuple[Session, SessionState, SessionLock | None]:
        """Create a session; it appears in sessions/ only once state.toml is durable.

        With `lock_tool`, the session is returned already locked for that tool (the
        lock is taken inside the hidden build dir, so no reader ever sees the new
        session unlocked while its run record says it is running). `now_ms` dates the
        ULID (imports keep their source's time); `build(hidden, state)` fills the hidden
        session (a Session on the build dir) and adjusts the state before the session
        appears (an import's transcript). `name` must be free in the project (csa.names).
        `index=False` leaves the summary row to the caller's next save (`csa run` writes
        it after the tool's spawn: the index is a cache, state.toml is already durable).
        """
        if name is not None:
            from csa.names import check_name, names_locked, refuse_taken

            check_name(name)
            with names_locked(self):
                refuse_taken(self, name)
                return self._create(description, parent_session_id, depth, lock_tool, run,
                                    git_branch, git_head, now_ms, build, name, index)
        return self._create(description, parent_session_id, depth, lock_tool, run,
                            git_branch, git_head, now_ms, build, name, index)

    def _create(self, description, parent_session_id, depth, lock_tool, run, git_branch,
                git_head, now_ms, build, name, index):
        self.ensure()
        sid = ids.new_ulid(now_ms)
        hidden = Session(self, sid, dir=self.sessions_dir / f"{NEW_PREFIX}{sid}")
        for d in (hidden.dir, hidden.locks_dir, hidden.output_dir):
            ensure_dir(d)
        lock = None
        try:
            if lock_tool is not None:
                lock = hidden.lock(tool=lock_tool, reason="run")
            state = self._new_state(sid, description, parent_session_id, depth, git_branch,
                                    git_head, run)
            state.name = name
            if build is not None:
                build(hidden, state)
            hidden.save(state)
            os.rename(hidden.dir, self.sessions_dir / sid)
        except BaseException:
            if lock is not None:
                lock.release(clear=False)
            shutil.rmtree(hidden.dir, ignore_errors=True)
            raise
        session = self.session(sid)
        if lock is not None:
            lock.locks_dir = session.locks_dir
        from csa.fsutil import fsync_dir

        fsync_dir(self.sessions_dir)
        if index:
            self.index.put(session, state)
        return session, state, lock

    def ephemeral(self, *, description: str, parent_session_id: str | None = None,
                  depth: int = 0, lock_tool: str | None = None, run: RunRecord | None = None,
                  ) -> tuple[Session, SessionState, SessionLock]:
        """A session in a temp dir outside the store (`--ephemeral`): nothing is kept;
        `session.discard()` removes it."""
        import tempfile

        sid = ids.new_ulid()
        session = Session(self, sid, dir=Path(tempfile.mkdtemp(prefix="csa-ephemeral-")),
                          ephemeral=True)
        state = self._new_state(sid, description, parent_session_id, depth, None, None, run)
        try:
            lock = session.lock(tool=lock_tool)
        except BaseException:
            session.discard()
            raise
        return session, state, lock

    def _new_state(self, sid: str, description: str, parent_session_id: str | None,
                   depth: int, git_branch: str | None, git_head: str | None,
                   run: RunRecord | None) -> SessionState:
        from csa.state import SessionState

        state = SessionState.new(sid, description=description, project_path=str(self.root),
                                 parent_session_id=parent_session_id, depth=depth,
                                 git_branch=git_branch, git_head=git_head)
        state.run = run
        return state

    # -- listing -------------------------------------------------------------------------

    def summaries(self, *, reconcile: bool = True, write_cache: bool = True) -> list[dict]:
        """One summary dict per session (corrupt ones flagged), newest first; a running
        row whose lock is free is marked died (`reconcile=False`: only in the row).

        `reconcile=False, write_cache=False` reads only (what a dry run needs): the
        index is read from a copy in memory.
        """
        if write_cache:
            return self.live(self.index.query(), reconcile)
        from csa.summaries import SummaryIndex

        index = SummaryIndex(self, readonly=True)
        try:
            return self.live(index.query(), reconcile)
        finally:
            index.close()

    def live(self, rows: list[dict], reconcile: bool = True) -> list[dict]:
        """`rows` with each running one checked against its lock (see summaries)."""
        for row in rows:
            if row.get("run_status") == "running":
                self._live_view(row, reconcile)
        return rows

    def _live_view(self, row: dict, reconcile: bool) -> None:
        session = self.session(row["id"])
        holder = session.holder()
        if holder is not None:
            row["run_status"] = "running"
            row["run_pid"] = holder.get("pid") or row.get("run_pid")
        elif reconcile:
            state = session.reconcile()
            row.update(state.summary() if state else {})
        else:
            row["run_status"] = "died"

    def drop_cached(self, sids: list[str]) -> None:
        """Remove sessions' rows from the summary index (their descriptions live there),
        zeroing the freed pages and emptying the WAL, so none of their text stays."""
        import sqlite3

        if not sids or not (self.cache_dir / "summaries.db").exists():
            return
        try:
            db = self.index.db()
            db.execute("PRAGMA secure_delete=ON")
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany("DELETE FROM s WHERE id = ?", [(sid,) for sid in sids])
                db.executemany("DELETE FROM p WHERE id = ?", [(sid,) for sid in sids])
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except (sqlite3.Error, OSError):
            pass  # a cache: the next listing re-checks every row against sessions/

    def newest(self) -> Session:
        """The session with the newest last_accessed (ties: the larger ULID), for --last."""
        rows = self.index.query("corrupt = 0", order="last_accessed DESC, id DESC", limit=1)
        if not rows:
            raise SessionNotFound(f"No sessions yet in {self.root}; start one with: csa run PROMPT")
        return self.session(rows[0]["id"])

    # -- delete --------------------------------------------------------------------------

    def delete(self, session: Session | str, *, force: bool = False) -> int:
        """Remove a session and everything csa keeps of it (csa.forget); refuses a live one
        unless `force`. Returns bytes freed."""
        if isinstance(session, str):
            session = self.session(session)
        freed = self._delete_dir(session, force)
        from csa.forget import forget_sessions

        forget_sessions(self, [session.id])
        return freed

    def _delete_dir(self, session: Session, force: bool) -> int:
        if force:
            return self.remove_dir(session)
        try:
            lock = session.lock(reason="delete", grace=0)
        except SessionLocked as e:
            raise SessionLocked(f"{e.message}; it is running — stop it first, or pass --force",
                                pid=e.pid) from e
        try:
            if not session.dir.is_dir():
                raise SessionNotFound(f"No session matches '{session.id}'")
            return self.remove_dir(session)
        finally:
            lock.release(clear=False)

    def remove_dir(self, session: Session, *, reclaim: bool = True) -> int:
        """Remove the session's dir (the caller holds its lock, or it is an orphan);
        returns the bytes freed. Refuses anything not directly inside sessions/.

        The dir is renamed into the trash (csa.trash) first, so a half-removed session
        is never visible under its id; with reclaim=False it stays there and the caller
        frees the space later (clean does, for all its sessions at once)."""
        path = session.dir
        # Compared as written, not resolved: a clean of thousands paid two realpath()
        # walks (an lstat per path component) per session for a check this one makes too.
        if path.parent != self.sessions_dir or path.name in ("", ".", "..") \
                or path.is_symlink():
            raise CsaError(f"refusing to delete {path}: not a session directory inside "
                           f"{self.sessions_dir}")
        from csa.worktree import remove as remove_worktree

        remove_worktree(self, session.id)  # refuses (WorktreeHasWork) a worktree with work
        freed = session.size()
        from csa import trash

        entry = trash.move(self, path)
        if entry is None:  # the trash is on another filesystem: rename in place
            entry = path.with_name(f"{TRASH_PREFIX}{path.name}-{os.getpid()}")
            os.rename(path, entry)
            reclaim = True
        if reclaim:
            trash.remove(entry)
        return freed


def iter_project_dirs(base: Path) -> Iterator[tuple[Path, Path]]:
    """(project state dir, project root) for every project under the state base."""
    import tomllib

    from csa.safeio import read_text

    for dirpath, dirnames, filenames in os.walk(base):
        if PROJECT_MARKER in filenames:
            try:
                root = Path(tomllib.loads(read_text(Path(dirpath) / PROJECT_MARKER, "marker"))
                            ["project_path"])
            except (OSError, CsaError, ValueError, KeyError, TypeError, RecursionError):
                root = Path("/" + os.path.relpath(dirpath, base))
            yield Path(dirpath), root
            # Never descend into a project's own sessions or caches.
            dirnames[:] = [d for d in dirnames if d not in ("sessions", "cache", "trash")]
        dirnames.sort()
