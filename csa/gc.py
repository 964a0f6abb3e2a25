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
archived as `<DIR>/<ULID>.tar.gz`, then renamed out of `sessions/` into the trash,
whose space is freed at the end (csa.trash: a detached process frees what takes
more than half a second; `gc` frees what a killed one left). Plain sessions take
these steps through directory descriptors (csa.gc_sweep, a few system calls each);
anything unusual takes the general path (_sweep_one). A
resume that races the sweep either wins the lock (the session is kept) or finds
the session locked, then gone; it never sees a half-deleted session.

One clean or gc runs at a time per project: both hold `<project state>/gc.lock` (a
filelock; a second one waits up to GC_WAIT_S, then says another is still running).
`--dry-run` reads only: no lock files, no reconciliation, no cache writes.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tarfile
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from csa import events, ids, trash
from csa.errors import CsaError, UsageError
from csa.fsutil import ensure_dir
from csa.genealogy import ancestors
from csa.lock import is_locked, pid_alive, read_holder, remove_if_stale
from csa.session import LOCKS_DIR, Session
from csa.state import transition
from csa.store import NEW_PREFIX, TRASH_PREFIX, Store
from csa.summaries import RACY_WINDOW_NS
from csa.worktree import WorktreeHasWork
from csa.worktree import keep_reason as worktree_keep_reason
from csa.worktree import present as worktree_present

GC_LOCK = "gc.lock"  # the store-wide lock of clean and gc (csa.mutex)
GC_WAIT_S = 600.0


@dataclass
class Report:
    dry_run: bool
    removed: list[dict] = field(default_factory=list)
    kept: list[dict] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    stale_locks: list[str] = field(default_factory=list)
    orphan_dirs: list[str] = field(default_factory=list)
    stale_temps: list[str] = field(default_factory=list)
    ephemeral_dirs: list[str] = field(default_factory=list)  # leaked --ephemeral temp dirs
    archive_dir: str | None = None
    budget: dict | None = None  # retention (`gc --max-bytes`, config): csa.retention's report
    trash_freed: int = 0  # gc: trash entries a killed reclaimer had left (csa.trash)

    @property
    def bytes_freed(self) -> int:
        return sum(r.get("bytes", 0) for r in self.removed)

    def to_json(self) -> dict:
        return {"dry_run": self.dry_run, "removed": self.removed, "kept": self.kept,
                "retired": self.retired, "stale_locks": self.stale_locks,
                "orphan_dirs": self.orphan_dirs, "stale_temps": self.stale_temps,
                "ephemeral_dirs": self.ephemeral_dirs,
                "archive_dir": self.archive_dir, "trash_freed": self.trash_freed,
                "sessions_removed": len(self.removed), "bytes_freed": self.bytes_freed,
                **({"budget": self.budget} if self.budget is not None else {})}


def _parse(ts: str | None) -> datetime | None:
    if not ts:
        return None
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def clean(store: Store, *, days: float, dry_run: bool = False, tools: list[str] | None = None,
          archive: Path | None = None, now: datetime | None = None) -> Report:
    """Remove sessions not accessed for more than `days` days (see module doc)."""
    with _store_lock(store, dry_run):
        return _clean(store, days=days, dry_run=dry_run, tools=tools, archive=archive, now=now)


def _store_lock(store: Store, dry_run: bool):
    """One clean or gc at a time per project (a dry run reads only and takes no lock)."""
    if dry_run or not store.dir.is_dir():
        return nullcontext()
    from csa.mutex import hold

    return hold(store.dir / GC_LOCK, timeout=GC_WAIT_S,
                busy=f"another csa clean or gc is still running on {store.root} after "
                     f"{GC_WAIT_S:g} s; retry when it has finished")


def _clean(store: Store, *, days: float, dry_run: bool, tools: list[str] | None,
           archive: Path | None, now: datetime | None) -> Report:
    if not days >= 0:  # also nan
        raise UsageError("--days must be 0 or more")
    if archive is not None and not dry_run:
        ensure_dir(archive)
    now = now or datetime.now(UTC)
    try:
        cutoff = now - timedelta(days=days)
    except OverflowError:  # more days than datetime can count back: nothing is that old
        cutoff = datetime.min.replace(tzinfo=UTC)
    report = Report(dry_run=dry_run, archive_dir=str(archive) if archive else None)
    marked_ns = time.time_ns()
    rows = store.summaries(reconcile=False, write_cache=not dry_run)
    parent_of = {r["id"]: r.get("parent_session_id") for r in rows}
    # A real clean learns which candidates are live from their locks in the sweep (one
    # lock attempt each instead of a probe, then a lock); a dry run, which takes no
    # locks, probes them here.
    candidates, keep = _mark(store, rows, parent_of, cutoff, {t for t in (tools or []) if t},
                             probe=dry_run)
    report.kept += [{"id": sid, "reason": why} for sid, why in keep.items()
                    if why != "recently accessed"]
    from csa.gc_sweep import sweep_all

    sweep_all(store, report, candidates, parent_of, archive, marked_ns,
              lambda sid: _sweep_one(store.session(sid), cutoff, archive, marked_ns))
    if not dry_run and report.removed:
        from csa.forget import forget_sessions

        forget_sessions(store, [r["id"] for r in report.removed])
        events.emit(store, "clean", sessions=len(report.removed),
                    bytes=report.bytes_freed, days=days)
    if not dry_run:
        trash.empty(store, len(report.removed))
    return report


def _mark(store: Store, rows: list[dict], parent_of: dict, cutoff: datetime,
          wanted: set[str], probe: bool) -> tuple[dict[str, dict], dict[str, str]]:
    """(candidates by id, kept id -> why): the mark phase of clean (see module doc)."""
    candidates: dict[str, dict] = {}
    keep: dict[str, str] = {}
    worktrees = worktree_present(store)
    for r in rows:
        sid = r["id"]
        last = _parse(r.get("last_accessed"))
        if r.get("corrupt"):
            keep[sid] = "corrupt state.toml (age unknown)"
        elif last is None or last >= cutoff:
            keep[sid] = "recently accessed"
        elif wanted and not wanted.intersection(r.get("tools") or []):
            keep[sid] = "other tool"
        elif probe and store.session(sid).is_alive():
            keep[sid] = "live (locked)"
        elif sid in worktrees and (why := worktree_keep_reason(store, sid)) is not None:
            keep[sid] = why
        else:
            candidates[sid] = r
    # Ancestors of anything kept stay too (whole chains, of any length).
    for sid in list(keep):
        for parent in ancestors(sid, parent_of):
            if parent in candidates:
                del candidates[parent]
                keep[parent] = "ancestor of a kept session"
    return candidates, keep


def _sweep_one(session: Session, cutoff: datetime, archive: Path | None,
               marked_ns: int) -> int | None:
    """Delete one session under its lock; None when it must be kept after all."""
    with session.try_lock(reason="clean") as lock:
        if lock is None:  # locked, gone, or broken (locks/ not a dir): keep it
            return None
        if _written_since(session, marked_ns):
            try:
                state = session.read_state()
            except CsaError:  # gone meanwhile, or corrupt
                return None
            if state.last_accessed >= cutoff:
                return None  # resumed between marking and locking
        if archive is not None:
            archive_session(session, archive / f"{session.id}.tar.gz")
        # Only renamed into the trash here; clean frees the space of all of them at the
        # end (csa.trash), most of it in a detached process when there are many.
        try:
            freed = session.store.remove_dir(session, reclaim=False)
        except WorktreeHasWork:  # work appeared in its worktree since the mark
            return None
        lock.release(clear=False)  # its file is in the trash: no need to empty it
        return freed


def _written_since(session: Session, marked_ns: int) -> bool:
    """Whether state.toml may have changed since the mark read it (the rows the mark
    used were checked against their files; an older file needs no second parse)."""
    try:
        mtime = os.stat(session.state_path).st_mtime_ns
    except OSError:
        return True  # let read_state say what is wrong
    return mtime >= marked_ns - RACY_WINDOW_NS


def archive_session(session: Session, dest: Path) -> None:
    """Write the session's dir (without its locks) as a tar.gz that extracts to `<ULID>/...`."""
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    sdir = session.dir
    skip = f"/{LOCKS_DIR}"
    # Created 0600 before a byte is written: a crash never leaves a readable archive.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f, tarfile.open(fileobj=f, mode="w:gz") as tar:
            tar.add(sdir, arcname=sdir.name,
                    filter=lambda ti: None if skip in ti.name[len(sdir.name):] else ti)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def collect(store: Store, *, dry_run: bool = False, max_bytes: str | None = None,
            force: bool = False) -> Report:
    """`csa gc`: gc() with the project's config, then the size budget with `max_bytes`.

        >>> collect(store, max_bytes="2G").budget["after"]
    """
    from csa.config import load_config
    from csa.retention import enforce, policy

    cfg = load_config(store.root)
    pol = policy(cfg, max_bytes=max_bytes)  # `[retention]` config; --max-bytes wins
    report = gc(store, dry_run=dry_run,
                retire_after_days=float(cfg.get("gc.retire_after_days", 0) or 0),
                orphan_age_s=float(cfg.get("gc.orphan_dir_age_s", 3600)))
    if pol.active:
        report.budget = enforce(store, pol, dry_run=dry_run, force=force)
    return report


def gc(store: Store, *, dry_run: bool = False, retire_after_days: float = 0,
       orphan_age_s: float = 3600, now: datetime | None = None) -> Report:
    """Remove stale lock records and orphan dirs; retire long-idle sessions."""
    with _store_lock(store, dry_run):
        return _gc(store, dry_run=dry_run, retire_after_days=retire_after_days,
                   orphan_age_s=orphan_age_s, now=now)


def _gc(store: Store, *, dry_run: bool, retire_after_days: float, orphan_age_s: float,
        now: datetime | None) -> Report:
    report = Report(dry_run=dry_run)
    now = now or datetime.now(UTC)
    wall = time.time()
    _sweep_session_dirs(store, report, wall, orphan_age_s)
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
            elif _retire(store.session(r["id"]), cutoff):
                report.retired.append(r["id"])
    if not dry_run:
        from csa.forget import forget_sessions

        forget_sessions(store, [n for n in report.orphan_dirs if ids.is_ulid(n)])
        report.trash_freed = len(trash.entries(store))
        trash.reclaim(store)  # what a killed reclaimer left behind
        events.emit(store, "gc", stale_locks=len(report.stale_locks),
                    orphan_dirs=len(report.orphan_dirs), retired=len(report.retired),
                    events_files_pruned=events.prune_old(store))
    return report


def _sweep_session_dirs(store: Store, report: Report, wall: float, orphan_age_s: float) -> None:
    """Orphan dirs (unfinished creations and removals, dirs without state), stale lock
    records and stale temp files inside sessions/."""
    sessions = store.sessions_dir
    try:
        names = os.listdir(sessions)
    except FileNotFoundError:
        names = []
    for name in names:
        path = sessions / name
        if name.startswith((NEW_PREFIX, TRASH_PREFIX)):
            if _older_than(path, wall, orphan_age_s):
                report.orphan_dirs.append(name)
                if not report.dry_run:
                    shutil.rmtree(path, ignore_errors=True)
            continue
        if not ids.is_ulid(name) or not path.is_dir() or path.is_symlink():
            continue
        session = store.session(name)
        if not session.state_path.exists():
            if _older_than(path, wall, orphan_age_s) and not session.is_alive() \
                    and worktree_keep_reason(store, name) is None:
                report.orphan_dirs.append(name)
                if not report.dry_run:
                    store.remove_dir(session)
            continue
        report.stale_locks += _stale_locks(session, report.dry_run)
        for d in (session.dir, session.output_dir):
            report.stale_temps += _stale_temps(d, sessions, wall, orphan_age_s, report.dry_run)


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


def _stale_locks(session: Session, dry_run: bool) -> list[str]:
    """Lock files holding a record of a dead holder (and not locked now)."""
    out: list[str] = []
    locks = session.locks_dir
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
                out.append(f"{session.dir.name}/{LOCKS_DIR}/{name}")
    return out


def _retire(session: Session, cutoff: datetime) -> bool:
    with session.try_lock(reason="retire") as lock:
        if lock is None:
            return False
        try:
            state = session.read_state()
            if state.last_accessed >= cutoff or state.phase == "retired":
                return False
            transition(state, "retired")
            session.save(state)
        except CsaError:
            return False
        return True
