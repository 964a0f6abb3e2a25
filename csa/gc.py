"""Garbage collection: `clean --days N` and `gc`, mark-and-sweep that never loses a live session.

    >>> report = clean(store, days=30, dry_run=True)      # what would go; touches nothing
    >>> report = clean(store, days=30, archive=Path("~/csa-archive").expanduser())
    >>> report = gc(store)                                # stale locks, orphan dirs, retiring

Mark: a session is a candidate when its `last_accessed` is more than N days ago
(and, with --tool, it used one of those tools). Kept: every non-candidate, every
live session (a process holds its lock), every corrupt one (its age is unknown),
and every ancestor of a kept session, so no kept child loses its parent.

Sweep: each candidate is locked (non-blocking; a session that is being resumed is
skipped), re-read under the lock (it may have been resumed meanwhile), optionally
archived as `<DIR>/<ULID>.tar.gz`, then renamed out of `sessions/` and removed. A
resume that races the sweep either wins the lock (the session is kept) or finds
the session locked, then gone; it never sees a half-deleted session.

`--dry-run` reads only: no lock files, no reconciliation, no cache writes.
"""

from __future__ import annotations

import os
import re
import shutil
import tarfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from csa import events, ids
from csa.errors import CsaError, SessionNotFound
from csa.fsutil import dir_size, ensure_dir
from csa.lock import SessionLock, is_alive, is_locked, pid_alive, read_holder, remove_if_stale
from csa.state import transition
from csa.store import NEW_PREFIX, Store, _rmtree_inside

TRASH_PREFIX = ".trash-"


@dataclass
class Report:
    dry_run: bool
    removed: list[dict] = field(default_factory=list)
    kept: list[dict] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    stale_locks: list[str] = field(default_factory=list)
    orphan_dirs: list[str] = field(default_factory=list)
    stale_temps: list[str] = field(default_factory=list)
    archive_dir: str | None = None

    @property
    def bytes_freed(self) -> int:
        return sum(r.get("bytes", 0) for r in self.removed)

    def to_json(self) -> dict:
        return {"dry_run": self.dry_run, "removed": self.removed, "kept": self.kept,
                "retired": self.retired, "stale_locks": self.stale_locks,
                "orphan_dirs": self.orphan_dirs, "stale_temps": self.stale_temps,
                "archive_dir": self.archive_dir,
                "sessions_removed": len(self.removed), "bytes_freed": self.bytes_freed}


def _parse(ts: str | None) -> datetime | None:
    if not ts:
        return None
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def clean(store: Store, *, days: float, dry_run: bool = False, tools: list[str] | None = None,
          archive: Path | None = None, now: datetime | None = None) -> Report:
    """Remove sessions not accessed for more than `days` days (see module doc)."""
    if not days >= 0:  # also nan
        raise CsaError("--days must be 0 or more")
    if archive is not None and not dry_run:
        ensure_dir(archive)
    now = now or datetime.now(UTC)
    try:
        cutoff = now - timedelta(days=days)
    except OverflowError:  # more days than datetime can count back: nothing is that old
        cutoff = datetime.min.replace(tzinfo=UTC)
    wanted = {t for t in (tools or []) if t}
    report = Report(dry_run=dry_run, archive_dir=str(archive) if archive else None)
    rows = store.summaries(reconcile=False, write_cache=False)
    parent_of = {r["id"]: r.get("parent_session_id") for r in rows}

    def old_enough(r: dict) -> bool:
        last = _parse(r.get("last_accessed"))
        return last is not None and last < cutoff

    candidates: dict[str, dict] = {}
    keep: dict[str, str] = {}
    for r in rows:
        sid = r["id"]
        if r.get("corrupt"):
            keep[sid] = "corrupt state.toml (age unknown)"
        elif not old_enough(r):
            keep[sid] = "recently accessed"
        elif wanted and not wanted.intersection(r.get("tools") or []):
            keep[sid] = "other tool"
        elif is_alive(store.session_dir(sid)):
            keep[sid] = "live (locked)"
        else:
            candidates[sid] = r
    # Ancestors of anything kept stay too (repeat until stable: chains of any length).
    for sid in list(keep):
        cur = parent_of.get(sid)
        seen = {sid}
        while cur and cur not in seen:
            seen.add(cur)
            if cur in candidates:
                del candidates[cur]
                keep[cur] = "ancestor of a kept session"
            cur = parent_of.get(cur)
    for sid, why in keep.items():
        if why != "recently accessed":
            report.kept.append({"id": sid, "reason": why})
    # Children before parents, so a crash midway never leaves a child without its parent.
    order = sorted(candidates, key=lambda s: -_depth(s, parent_of))
    for sid in order:
        r = candidates[sid]
        entry = {"id": sid, "description": r.get("description", ""),
                 "last_accessed": r.get("last_accessed"), "tools": r.get("tools") or []}
        if dry_run:
            entry["bytes"] = dir_size(store.session_dir(sid))
            report.removed.append(entry)
            continue
        swept = _sweep_one(store, sid, cutoff, archive)
        if swept is None:
            report.kept.append({"id": sid, "reason": "resumed or locked during clean"})
            continue
        entry["bytes"] = swept
        if archive is not None:
            entry["archive"] = str(archive / f"{sid}.tar.gz")
        report.removed.append(entry)
    if not dry_run and report.removed:
        events.emit(store, "clean", sessions=len(report.removed),
                    bytes=report.bytes_freed, days=days)
    return report


def _depth(sid: str, parent_of: dict) -> int:
    d, cur, seen = 0, parent_of.get(sid), {sid}
    while cur and cur not in seen:
        seen.add(cur)
        d += 1
        cur = parent_of.get(cur)
    return d


def _sweep_one(store: Store, sid: str, cutoff: datetime, archive: Path | None) -> int | None:
    """Delete one session under its lock; None when it must be kept after all."""
    sdir = store.session_dir(sid)
    try:
        lock = SessionLock(sdir, sid, reason="clean", grace=0).acquire()
    except CsaError:  # locked, gone, or broken (locks/ not a dir): keep it
        return None
    try:
        try:
            state = store.read_state(sid)
        except SessionNotFound:
            return None
        except CsaError:
            return None
        if state.last_accessed >= cutoff:
            return None  # resumed between marking and locking
        size = dir_size(sdir)
        if archive is not None:
            archive_session(sdir, archive / f"{sid}.tar.gz")
        _rmtree_inside(sdir, store.sessions_dir)
        return size
    finally:
        lock.release(clear=False)


def archive_session(sdir: Path, dest: Path) -> None:
    """Write `sdir` (without its locks) as a tar.gz that extracts to `<ULID>/...`."""
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    with tarfile.open(tmp, "w:gz") as tar:
        tar.add(sdir, arcname=sdir.name,
                filter=lambda ti: None if "/locks" in ti.name[len(sdir.name):] else ti)
    os.chmod(tmp, 0o600)
    os.replace(tmp, dest)


def restore_archive(archive: Path, store: Store) -> str:
    """Extract an archived session back into the store; returns its id."""
    with tarfile.open(archive, "r:gz") as tar:
        names = {m.name.split("/", 1)[0] for m in tar.getmembers()}
        if len(names) != 1 or not ids.is_ulid(next(iter(names))):
            raise CsaError(f"{archive}: not a csa session archive")
        sid = next(iter(names))
        if store.exists(sid):
            raise CsaError(f"Session {sid} already exists")
        store.ensure()
        try:
            tar.extractall(store.sessions_dir, filter="data")
        except TypeError:  # Python < 3.11.4: members were checked above to stay inside
            tar.extractall(store.sessions_dir)  # noqa: S202
    return sid


def gc(store: Store, *, dry_run: bool = False, retire_after_days: float = 0,
       orphan_age_s: float = 3600, now: datetime | None = None) -> Report:
    """Remove stale lock records and orphan dirs; retire long-idle sessions."""
    report = Report(dry_run=dry_run)
    now = now or datetime.now(UTC)
    sessions = store.sessions_dir
    try:
        names = os.listdir(sessions)
    except FileNotFoundError:
        names = []
    wall = time.time()
    for name in names:
        path = sessions / name
        if name.startswith((NEW_PREFIX, TRASH_PREFIX)):
            if _older_than(path, wall, orphan_age_s):
                report.orphan_dirs.append(name)
                if not dry_run:
                    shutil.rmtree(path, ignore_errors=True)
            continue
        if not ids.is_ulid(name) or not path.is_dir() or path.is_symlink():
            continue
        if not (path / "state.toml").exists():
            if _older_than(path, wall, orphan_age_s) and not is_alive(path):
                report.orphan_dirs.append(name)
                if not dry_run:
                    _rmtree_inside(path, sessions)
            continue
        report.stale_locks += _stale_locks(path, dry_run)
        for d in (path, path / "output"):
            report.stale_temps += _stale_temps(d, sessions, wall, orphan_age_s, dry_run)
    for d in (store.dir, store.cache_dir):
        report.stale_temps += _stale_temps(d, store.dir, wall, orphan_age_s, dry_run)
    if retire_after_days > 0:
        cutoff = now - timedelta(days=retire_after_days)
        for r in store.summaries(reconcile=False, write_cache=not dry_run):
            last = _parse(r.get("last_accessed"))
            if r.get("corrupt") or r.get("phase") == "retired" or last is None or last >= cutoff:
                continue
            if dry_run:
                report.retired.append(r["id"])
            elif _retire(store, r["id"], cutoff):
                report.retired.append(r["id"])
    if not dry_run:
        events.emit(store, "gc", stale_locks=len(report.stale_locks),
                    orphan_dirs=len(report.orphan_dirs), retired=len(report.retired))
    return report


def _older_than(path: Path, wall: float, age_s: float) -> bool:
    try:
        return wall - os.lstat(path).st_mtime > age_s
    except OSError:
        return False


# Temp files of atomic writes: `.<name>.<pid>.<8 hex>.tmp` (fsutil.atomic_write) and
# `.<name>.<pid>.tmp` (caches, archives). A writer killed with -9 leaves its temp behind.
_TEMP_RE = re.compile(r"^\..+\.(\d+)(?:\.[0-9a-f]{8})?\.tmp$")


def _stale_temps(directory: Path, under: Path, wall: float, age_s: float,
                 dry_run: bool) -> list[str]:
    """Temp files whose writer is gone (dead pid) and that are older than `age_s`."""
    out: list[str] = []
    if directory.is_symlink():  # never follow a link out of the state dir
        return out
    try:
        names = os.listdir(directory)
    except OSError:
        return out
    for name in names:
        m = _TEMP_RE.match(name)
        if m is None:
            continue
        path = directory / name
        if path.is_symlink() or not path.is_file() or not _older_than(path, wall, age_s):
            continue
        pid = int(m.group(1))
        if pid < 1 << 22 and pid_alive(pid):  # its writer may still be at work
            continue
        out.append(os.path.relpath(path, under))
        if not dry_run:
            try:
                os.unlink(path)
            except OSError:
                pass
    return out


def _stale_locks(session_dir: Path, dry_run: bool) -> list[str]:
    """Lock files holding a record of a dead holder (and not locked now)."""
    out = []
    locks = session_dir / "locks"
    if locks.is_symlink():  # never delete through a link out of the state dir
        return out
    try:
        names = os.listdir(locks)
    except OSError:
        return out
    for name in names:
        path = locks / name
        if not name.endswith(".lock") or path.is_symlink():
            continue
        rec = read_holder(path)
        if not rec or is_locked(path):
            continue
        if not pid_alive(rec.get("pid"), rec.get("pid_start")):
            if dry_run or remove_if_stale(path):
                out.append(f"{session_dir.name}/locks/{name}")
    return out


def _retire(store: Store, sid: str, cutoff: datetime) -> bool:
    sdir = store.session_dir(sid)
    try:
        with SessionLock(sdir, sid, reason="retire", grace=0):
            state = store.read_state(sid)
            if state.last_accessed >= cutoff or state.phase == "retired":
                return False
            transition(state, "retired")
            store.save(state)
            return True
    except CsaError:
        return False
