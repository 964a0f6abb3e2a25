"""The batch session: a csa session of kind "batch" whose children are the tasks.

    >>> ledger = Ledger.open(store, Path("tasks.jsonl"), count=50)   # found again on a re-run
    >>> child = ledger.child(task)            # the task's child session, made on first need
    >>> task_done(child)                      # its last turn finished with exit code 0
    >>> ledger.finish("finished", exit_code=0)

The batch session's state.toml says `kind = "batch"` and `[batch] file = ...`; its
run record is "running" (tool "batch") while `csa batch` holds its lock, so `list`
shows it live and a second `csa batch` on the same file is refused. The task → child
mapping is `output/tasks.jsonl`, one line appended (and fsynced) per child made, so
a re-run after Ctrl-C or a crash finds every child it made and never makes another.
"""

from __future__ import annotations

import os
from pathlib import Path

from csa.batch.tasks import Task
from csa.errors import CsaError
from csa.lock import SessionLock
from csa.session import Session
from csa.state import RunRecord, SessionState, utcnow
from csa.store import Store

KIND = "batch"
MAPPING = "tasks.jsonl"  # in the batch session's output/
CANCEL = "cancel"  # in output/ while a Ctrl-C'd batch stops its tasks (remote ones read it)


class Ledger:
    """The batch session, locked for this `csa batch`, and its task → child mapping."""

    def __init__(self, store: Store, session: Session, state: SessionState, lock: SessionLock):
        self.store = store
        self.session = session
        self.state = state
        self.lock = lock
        self.mapping = read_mapping(session)  # key -> {"session": sid, "project": root}
        self.cancel_path = session.output_file(CANCEL)
        self.cancel_path.unlink(missing_ok=True)  # from an earlier, interrupted run

    def request_cancel(self) -> None:
        """Tell the running tasks, wherever they run, to interrupt their turns."""
        self.session.ensure_output_dir()
        self.cancel_path.write_text("cancel\n")

    @property
    def id(self) -> str:
        return self.session.id

    @classmethod
    def open(cls, store: Store, path: Path, *, count: int, parent: str | None = None,
             depth: int = 0) -> Ledger:
        """The batch session of `path` in this project (the newest), else a new one;
        locked and marked running. SessionLocked when another `csa batch` runs it."""
        file = str(path.resolve())
        run = RunRecord(status="running", tool=KIND, pid=os.getpid(), started_at=utcnow())
        found = find(store, file)
        if found is None:
            def build(_hidden: Session, st: SessionState) -> None:
                st.extra.update({"kind": KIND, "batch": {"file": file, "tasks": count}})

            session, state, lock = store.create(
                description=store.redactor.cut(f"batch {path.name}", 80),
                parent_session_id=parent, depth=depth, lock_tool=KIND, run=run, build=build)
            return cls(store, session, state, lock)
        lock = found.lock(tool=KIND, reason="batch")
        try:
            state = found.load()
            state.run = run
            state.extra["batch"] = {**state.extra.get("batch", {}), "tasks": count}
            state.last_accessed = utcnow()
            found.save(state)
        except BaseException:
            lock.release()
            raise
        return cls(store, found, state, lock)

    def child(self, task: Task) -> tuple[Session | None, Store]:
        """The task's child session if one was made (None when it is gone), and its store."""
        store = self.store if task.cd is None else Store.open(task.cd)
        entry = self.mapping.get(task.key)
        if entry is None:
            return None, store
        session = store.session(entry["session"])
        return (session if session.exists() else None), store

    def make_child(self, task: Task, store: Store) -> Session:
        """A new child session for `task`, recorded in the mapping before it is used."""
        from csa.turn.choose import default_description

        description = store.redactor.cut(" ".join(task.name.split()), 80) if task.name \
            else default_description(store.redactor, task.prompt)

        def build(_hidden: Session, st: SessionState) -> None:
            st.extra["batch_task"] = {"batch": self.id, "line": task.line, "key": task.key}

        session, _state, _lock = store.create(description=description, parent_session_id=self.id,
                                              depth=self.state.depth + 1, build=build)
        self.record(task, session, store)
        return session

    def record(self, task: Task, session: Session, store: Store) -> None:
        import orjson

        entry = {"key": task.key, "line": task.line, "session": session.id,
                 "project": str(store.root)}
        path = self.session.ensure_output_dir() / MAPPING
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, orjson.dumps(entry) + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        self.mapping[task.key] = entry

    def finish(self, status: str, exit_code: int) -> None:
        """Record how this `csa batch` ended and release the batch session."""
        try:
            state = self.session.read_state()
            run = state.run or RunRecord(tool=KIND)
            state.run = RunRecord(status=status, tool=KIND, pid=os.getpid(),
                                  started_at=run.started_at, finished_at=utcnow(),
                                  exit_code=exit_code)
            self.session.save(state)
        finally:
            self.lock.release()


def find(store: Store, file: str) -> Session | None:
    """The newest batch session of this project that ran `file`."""
    for row in store.summaries(reconcile=False):
        if not str(row.get("description") or "").startswith(f"{KIND} "):
            continue
        session = store.session(row["id"])
        try:
            state = session.read_state()
        except CsaError:
            continue
        if state.extra.get("kind") == KIND and state.extra.get("batch", {}).get("file") == file:
            return session
    return None


def read_mapping(session: Session) -> dict[str, dict]:
    """key -> the last mapping line for it. A line torn by a crash is ignored, and ended
    so that the next line appended stays whole (the caller holds the batch lock)."""
    from csa.jsonl import JsonlReader

    path = session.output_file(MAPPING)
    if not path.exists():
        return {}
    from csa.safeio import open_fd

    with os.fdopen(open_fd(path, "state", os.O_RDWR), "rb+") as f:
        if f.seek(0, os.SEEK_END) and (f.seek(-1, os.SEEK_END), f.read(1))[1] != b"\n":
            f.write(b"\n")
    return {e["key"]: e for e in JsonlReader(path) if isinstance(e.get("key"), str)}


def task_done(session: Session | None) -> bool:
    """The child's last turn finished with exit code 0."""
    if session is None:
        return False
    try:
        run = session.read_state().run
    except CsaError:
        return False
    return run is not None and run.status == "finished" and run.exit_code == 0
