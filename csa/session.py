"""The handle on one session directory: its layout, state, lock, transcript and results.

    >>> session = store.resolve("01jh4q")                 # a Session (csa.store.Store)
    >>> with session.lock(tool="codex", reason="run"):
    ...     state = session.load()
    ...     state.description = "Auth refactor"
    ...     session.save(state)
    >>> with session.try_lock(reason="clean") as lock:    # lock-or-skip (gc, eviction)
    ...     if lock is None: ...                          # live (or gone): leave it alone
    >>> [e["type"] for e in session.read_transcript()]
    >>> session.read_result()["final_text"]

Layout (docs/sessions.md); only this module spells these names:

    sessions/<ULID>/state.toml         the typed state (csa.state.SessionState)
    sessions/<ULID>/transcript.jsonl   append-only redacted events (csa.transcript)
    sessions/<ULID>/journal.md         the session journal (csa.journal)
    sessions/<ULID>/locks/             liveness locks (csa.lock), heartbeat (csa.liveness)
    sessions/<ULID>/output/            result.toml, detached.log, compaction summaries

An ephemeral session (`csa run --ephemeral`) is a Session whose dir is a temp dir.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from csa.errors import CorruptState, CsaError, SessionNotFound

if TYPE_CHECKING:
    from csa.lock import SessionLock
    from csa.state import SessionState
    from csa.store import Store
    from csa.transcript import TranscriptWriter

STATE_FILE = "state.toml"
TRANSCRIPT_FILE = "transcript.jsonl"
JOURNAL_FILE = "journal.md"
JOURNAL_LOCK_FILE = ".journal.lock"
LOCKS_DIR = "locks"
HEARTBEAT_FILE = "heartbeat"  # in locks/: its mtime is the tool's last output (csa.liveness)
OUTPUT_DIR = "output"
RESULT_FILE = "result.toml"
# What a checkpoint commits: the metadata, never the transcript (protected by its hash).
METADATA_SUFFIXES = (".toml", ".md")
# Paths (relative to the sessions dir) that never belong in a checkpoint repository.
UNVERSIONED = (f"*/{TRANSCRIPT_FILE}", f"*/{LOCKS_DIR}/")


class Session:
    """One `sessions/<ULID>/` directory (no existence check on construction)."""

    __slots__ = ("store", "id", "dir", "ephemeral")

    def __init__(self, store: Store, sid: str, *, dir: Path | None = None,
                 ephemeral: bool = False):
        self.store = store
        self.id = sid
        self.dir = dir if dir is not None else store.sessions_dir / sid
        self.ephemeral = ephemeral

    def __repr__(self) -> str:
        return f"Session({self.id!r}, {str(self.dir)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Session) and (self.id, self.dir) == (other.id, other.dir)

    def __hash__(self) -> int:
        return hash((self.id, self.dir))

    # -- layout --------------------------------------------------------------------------

    @property
    def state_path(self) -> Path:
        return self.dir / STATE_FILE

    @property
    def transcript_path(self) -> Path:
        return self.dir / TRANSCRIPT_FILE

    @property
    def journal_path(self) -> Path:
        return self.dir / JOURNAL_FILE

    @property
    def journal_lock_path(self) -> Path:
        return self.dir / JOURNAL_LOCK_FILE

    @property
    def locks_dir(self) -> Path:
        return self.dir / LOCKS_DIR

    @property
    def heartbeat_path(self) -> Path:
        return self.locks_dir / HEARTBEAT_FILE

    @property
    def output_dir(self) -> Path:
        return self.dir / OUTPUT_DIR

    def output_file(self, name: str) -> Path:
        """`output/<name>` (not created), e.g. "result.toml" or "detached.log"."""
        return self.output_dir / name

    def ensure_output_dir(self) -> Path:
        """Create output/ (0700); refuses a symlink in its place."""
        from csa.fsutil import ensure_session_subdir

        return ensure_session_subdir(self.output_dir)

    def artifacts(self) -> list[dict]:
        """Files under output/ (path relative to it, size, abs_path), sorted by path."""
        out = str(self.output_dir)
        files = []
        for root, _dirs, names in os.walk(out):
            for name in names:
                p = os.path.join(root, name)
                try:
                    size = os.lstat(p).st_size
                except OSError:
                    continue
                files.append({"path": os.path.relpath(p, out), "size": size, "abs_path": p})
        files.sort(key=lambda f: f["path"])
        return files

    def metadata_files(self) -> list[Path]:
        """What a checkpoint versions: state.toml, journal.md, output/*.toml|md."""
        files = [self.state_path]
        if self.journal_path.exists():
            files.append(self.journal_path)
        out = self.output_dir
        if out.is_dir() and not out.is_symlink():  # git refuses paths beyond a symlink
            files += [out / n for n in sorted(os.listdir(out)) if n.endswith(METADATA_SUFFIXES)]
        return files

    def size(self) -> int:
        from csa.fsutil import dir_size

        return dir_size(self.dir)

    # -- existence and state -------------------------------------------------------------

    def exists(self) -> bool:
        # A symlink in sessions/ is not a session: csa never follows one out of its state dir.
        return os.path.isdir(self.dir) and not os.path.islink(self.dir)

    def read_state(self) -> SessionState:
        """Parse state.toml as it is; CorruptState names the file and the reason."""
        from csa.safeio import UnsafeFile, read_bytes
        from csa.state import SessionState

        path = self.state_path
        try:
            data = read_bytes(path, "state")
        except UnsafeFile as e:
            raise CorruptState(str(e)) from e
        except FileNotFoundError as e:
            if not self.exists():
                raise SessionNotFound(f"No session matches '{self.id}'") from e
            raise CorruptState(f"{path}: state.toml is missing") from e
        except OSError as e:
            raise CorruptState(f"{path}: {e.strerror}") from e
        try:
            state = SessionState.from_bytes(data)
        except CorruptState as e:
            raise CorruptState(f"{path}: {e}") from e
        if state.meta_session_id != self.id:
            raise CorruptState(f"{path}: meta_session_id {state.meta_session_id!r} "
                               f"does not match its directory")
        return state

    def description(self) -> str:
        """The description, or `(corrupt: why)` (for messages that list sessions)."""
        try:
            return self.read_state().description
        except CsaError as e:
            return f"(corrupt: {e})"

    def load(self, *, reconcile: bool = True) -> SessionState:
        """Read the state; a run recorded as running whose lock is free is marked died."""
        state = self.read_state()
        if reconcile and state.run is not None and state.run.status == "running":
            state = self.reconcile() or state
        return state

    def save(self, state: SessionState, *, index: bool = True, durable: bool = True) -> None:
        """Atomically replace state.toml (the caller holds the session lock), then its
        summary row (`index=False`: left to the next save; the row is a cache that every
        query re-checks against state.toml, so a stale one is never believed).
        `durable=False` skips the fsyncs: for what only matters while this boot lasts."""
        from csa.fsutil import atomic_write

        if state.meta_session_id != self.id:
            raise CsaError(f"Session {self.id}: refusing to save the state of "
                           f"{state.meta_session_id} into it")
        if not self.dir.is_dir():
            raise SessionNotFound(f"Session {self.id} no longer exists")
        atomic_write(self.state_path, state.to_toml().encode(), durable=durable)
        if index and not self.ephemeral and self.dir.name == self.id:  # not a build dir
            self.store.index.put(self, state)

    def reconcile(self) -> SessionState | None:
        """Recover a run that died without finishing (csa killed): what is left of it is
        stopped and it is marked `died` (csa.recover); None if live."""
        if self.is_alive():
            return None
        try:
            with self.try_lock(reason="reconcile") as lock:
                if lock is None:
                    return None  # live after all, or gone
                state = self.read_state()
                from csa.recover import recover_dead_turn

                recover_dead_turn(self, state, previous=lock.previous)
                return state
        except (CsaError, OSError):
            # A broken session or a full disk: a reader (a listing) shows what it has
            # and never fails on one session.
            return None

    # -- locks and liveness --------------------------------------------------------------

    def lock(self, *, tool: str | None = None, reason: str = "run",
             grace: float | None = None) -> SessionLock:
        """Take the session lock (and `tool`'s); raises SessionLocked / SessionNotFound."""
        from csa.lock import PROBE_GRACE_S, SessionLock

        return SessionLock(self.locks_dir, self.id, tool=tool, reason=reason,
                           grace=PROBE_GRACE_S if grace is None else grace).acquire()

    @contextmanager
    def try_lock(self, *, reason: str, tool: str | None = None,
                 grace: float = 0) -> Iterator[SessionLock | None]:
        """Lock-or-skip: yields the held lock, or None when the session is live, gone or
        broken (locks/ not a directory) — the caller leaves such a session alone."""
        try:
            lock = self.lock(tool=tool, reason=reason, grace=grace)
        except (CsaError, OSError):
            yield None
            return
        try:
            yield lock
        finally:
            lock.release()

    def holder(self) -> dict | None:
        """The record of the process holding a lock of this session, or None."""
        from csa.lock import live_holder

        return live_holder(self.locks_dir)

    def is_alive(self) -> bool:
        return self.holder() is not None

    # -- transcript ----------------------------------------------------------------------

    def transcript_writer(self, redactor: Any = None, **kw: Any) -> TranscriptWriter:
        """The transcript opened for append (a torn tail is dropped; seq continues)."""
        from csa.transcript import TranscriptWriter

        if redactor is not None:
            kw["redactor"] = redactor
        return TranscriptWriter(self.transcript_path, **kw)

    def read_transcript(self, **kw: Any) -> Iterator[dict]:
        """The transcript's events in order (none if there is no transcript yet)."""
        from csa.transcript import read_events

        try:
            yield from read_events(self.transcript_path, **kw)
        except FileNotFoundError:
            return

    def transcript_reader(self, **kw: Any) -> Any:
        """A csa.jsonl.JsonlReader of the transcript's events (csa.transcript.events_reader:
        errors=, offset=, line_no=); iterate it, then read its offset and line_no."""
        from csa.transcript import events_reader

        return events_reader(self.transcript_path, **kw)

    def follow_transcript(self, after: dict | None = None, poll: float = 0.3, *,
                          offset: int = 0, line_no: int = 0) -> Iterator[list[dict]]:
        """Batches of events newer than `after` (an event) until the session's run ends
        (like `kubectl logs -f`); polls the file, never holds the writer's lock.

        Each poll reads only what was appended since the last one (from `offset`, the end
        of what the caller read already); a transcript cut shorter (evicted) is read again
        from the start, events up to `after`'s seq skipped."""
        last = _seq(after) if after is not None else -1
        while True:
            time.sleep(poll)
            alive = self.is_alive()  # before the read: the last read follows the run's end
            if self.transcript_size() < offset:
                offset, line_no = 0, 0
            reader = self.transcript_reader(offset=offset, line_no=line_no)
            try:
                new = [e for e in reader if _seq(e) > last or e.get("type") == "corrupt"]
            except FileNotFoundError:
                new = []
            offset, line_no = reader.offset, reader.line_no
            if new:
                yield new
                last = max(last, _seq(new[-1]))
            if not alive:
                return

    def transcript_size(self) -> int:
        try:
            return os.stat(self.transcript_path).st_size
        except FileNotFoundError:
            return 0

    # -- results -------------------------------------------------------------------------

    def write_result(self, data: dict[str, Any], name: str = RESULT_FILE) -> None:
        """Write an (already redacted) result file atomically; None values are left out."""
        from csa.result import write_result

        write_result(self.ensure_output_dir() / name, data)

    def read_result(self, name: str = RESULT_FILE) -> dict[str, Any] | None:
        """A result file's data, or None when the session has not finished such a turn."""
        from csa.result import read_result

        return read_result(self.output_file(name))

    # -- ephemeral -----------------------------------------------------------------------

    def discard(self) -> None:
        """Remove an ephemeral session's temp dir (a stored session: use Store.delete)."""
        if not self.ephemeral:
            raise CsaError(f"Session {self.id} is not ephemeral; delete it with the store")
        shutil.rmtree(self.dir, ignore_errors=True)


def _seq(event: dict) -> int:
    seq = event.get("seq")
    return seq if type(seq) is int else -1
