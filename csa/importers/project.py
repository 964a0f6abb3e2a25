"""One csa project an import writes into: its store, its cursors file and import lock, and
an index of the sessions it already has (by import key and by provider id).

    >>> proj = Project(Store(state_base(), project_of("/home/me/proj/sub")), dry_run=False)
    >>> proj.lock(); proj.index().get("codex:01a1fe78-..."); proj.save(durable=True)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

from csa.errors import CsaError
from csa.importers.base import CURSOR_VERSION


class Project:
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


def project_of(cwd: str) -> Path:
    """The csa project of a recorded cwd: its git top-level, else the dir (which may be
    gone by now: the path is still a fine project key)."""
    from csa.paths import git_toplevel

    here = Path(os.path.realpath(cwd))
    return git_toplevel(here) or here


def session_exists(proj: Project, sid: Any) -> bool:
    from csa import ids

    return isinstance(sid, str) and ids.is_ulid(sid) and proj.store.session(sid).exists()


def depth_of(proj: Project, sid: str | None) -> int:
    if not session_exists(proj, sid):
        return 0
    try:
        return proj.store.session(sid).read_state().depth  # type: ignore[arg-type]
    except CsaError:
        return 0


def seen_ids(proj: Project, sid: str) -> list[str]:
    """Ids of the events already imported into a session (when the cursor file is lost)."""
    try:
        return [e["id"] for e in proj.store.session(sid).read_transcript()
                if e.get("type") == "imported" and isinstance(e.get("id"), str)]
    except OSError:
        return []
