"""`events.jsonl`: one line per orchestration event of a project, size-bounded.

    >>> emit(store, "session_start", session_id=sid, tool="codex")   # limits from config
    >>> [e["type"] for e in read_events(store, types={"resume"})]

    >>> prune_old(store)                                             # csa gc: old rotated files
    >>> read_every_project(store.base, types={"session_start"})      # each with "project"
    >>> query(store, since="2d", types="resume,gc", all_projects=True)  # what `csa events` shows

Types: session_start, session_end, resume, compress, checkpoint, lock_conflict,
clean, gc, delete. Turn events carry `tool` and, once known, `provider_session_id`: the
tool's own conversation, so the log points at the tool's transcript (`claude --resume ID`).
The file is rotated to events.jsonl.1 .. .N when it exceeds `events.max_bytes` (config);
`events.keep` old files are kept. Nothing older than `events.max_age_days` survives a
rotation (the rotated-out file loses its older lines, older rotated files are removed)
or `csa gc` (rotated files last written before then). Appends are single `write` calls
on an O_APPEND descriptor, so concurrent writers never interleave within a line. Event
logging never fails a command.
"""

from __future__ import annotations

import heapq
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from csa.jsonl import JsonlReader
from csa.safeio import UnsafeFile, open_append
from csa.state import iso_ms, utcnow

if TYPE_CHECKING:
    from csa.config import Config
    from csa.store import Store

EVENTS_FILE = "events.jsonl"
DEFAULT_MAX_BYTES = 1_048_576
DEFAULT_KEEP = 3
DEFAULT_MAX_AGE_DAYS = 90
DAY_S = 86_400


def events_path(project_dir: Path) -> Path:
    return project_dir / EVENTS_FILE


def emit(store: Store, type_: str, *, cfg: Config | None = None, **fields) -> None:
    """Append one event to the store's log, rotated per the project's `[events]` config.

    `cfg` saves a caller that already loaded the config from reading it again.
    """
    max_bytes, keep, max_age_days = _limits(store, cfg)
    append(store.dir, type_, max_bytes=max_bytes, keep=keep, max_age_days=max_age_days,
           **store.redactor.obj(fields))


def _limits(store: Store, cfg: Config | None) -> tuple[int, int, float]:
    """(max_bytes, keep, max_age_days) from the project's config; the defaults if it is broken."""
    if cfg is None:
        from csa.config import load_config
        from csa.errors import CsaError

        try:
            cfg = load_config(store.root)
        except CsaError:  # a broken config must not stop the command that logs
            return DEFAULT_MAX_BYTES, DEFAULT_KEEP, DEFAULT_MAX_AGE_DAYS
    return (int(cfg.get("events.max_bytes", DEFAULT_MAX_BYTES)),
            int(cfg.get("events.keep", DEFAULT_KEEP)),
            float(cfg.get("events.max_age_days", DEFAULT_MAX_AGE_DAYS)))


def append(project_dir: Path, type_: str, *, max_bytes: int = DEFAULT_MAX_BYTES,
           keep: int = DEFAULT_KEEP, max_age_days: float = DEFAULT_MAX_AGE_DAYS,
           **fields) -> None:
    """Append one event (fields already redacted); rotate first when the file is over
    `max_bytes`, dropping what is older than `max_age_days` (0: no age limit)."""
    path = events_path(project_dir)
    rec = {"ts": iso_ms(utcnow()), "type": type_, "pid": os.getpid(), **fields}
    line = orjson.dumps(rec, default=str) + b"\n"
    try:
        try:
            if max_bytes > 0 and os.stat(path).st_size + len(line) > max_bytes:
                _rotate(path, keep)
                if keep > 0 and max_age_days > 0:
                    _trim(path.with_name(f"{path.name}.1"), max_age_days)
                    prune(project_dir, max_age_days)
        except FileNotFoundError:
            pass
        fd = open_append(path)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    except (OSError, UnsafeFile):
        pass  # the log is best effort: an unusable file never fails the command


def _rotate(path: Path, keep: int) -> None:
    # Several writers may rotate at once; losing a race only means one extra rotation.
    for i in range(keep - 1, 0, -1):
        older = path.with_name(f"{path.name}.{i}")
        if older.exists():
            os.replace(older, path.with_name(f"{path.name}.{i + 1}"))
    if keep > 0:
        os.replace(path, path.with_name(f"{path.name}.1"))
    else:
        os.unlink(path)


def _rotated(path: Path) -> list[Path]:
    """The rotated files of `path`, oldest (highest number) first."""
    files = [p for p in path.parent.glob(f"{path.name}.*") if p.suffix[1:].isdigit()]
    return sorted(files, key=lambda p: -int(p.suffix[1:]))


def prune(project_dir: Path, max_age_days: float) -> int:
    """Remove rotated files last written more than `max_age_days` ago (every line in
    them is older); how many were removed. 0 days: none."""
    if max_age_days <= 0:
        return 0
    cutoff = time.time() - max_age_days * DAY_S
    removed = 0
    for f in _rotated(events_path(project_dir)):
        try:
            if f.lstat().st_mtime < cutoff:
                f.unlink()
                removed += 1
        except OSError:  # removed by a concurrent pruner
            continue
    return removed


def prune_old(store: Store) -> int:
    """`prune` with the project's `events.max_age_days` (what `csa gc` runs)."""
    return prune(store.dir, _limits(store, None)[2])


def _trim(path: Path, max_age_days: float) -> None:
    """Rewrite the file just rotated out without its lines older than `max_age_days`.

    Only read in full when its first line is that old, so a busy log pays nothing.
    """
    from csa.fsutil import atomic_write
    from csa.safeio import read_bytes

    cutoff = iso_ms(datetime.fromtimestamp(time.time() - max_age_days * DAY_S, UTC))
    try:
        data = read_bytes(path, "events")
        first = data.split(b"\n", 1)[0]
        if not first or _ts(first) >= cutoff:
            return
        mtime = path.lstat().st_mtime
        kept = [ln for ln in data.splitlines(keepends=True) if _ts(ln) >= cutoff]
        atomic_write(path, b"".join(kept), durable=False)
        os.utime(path, (mtime, mtime))  # keep telling prune when its newest line was written
    except (OSError, UnsafeFile):
        pass


def _ts(line: bytes) -> str:
    """The line's timestamp; "" (older than any cutoff) for a line that is not an event."""
    try:
        return str(orjson.loads(line).get("ts", ""))
    except (orjson.JSONDecodeError, AttributeError):
        return ""


TYPES = ("session_start", "session_end", "resume", "compress", "checkpoint", "lock_conflict",
         "clean", "gc")


def check_types(names: list[str]) -> set[str]:
    """The event types asked for; UsageError naming the valid ones for an unknown type."""
    from csa.errors import UsageError

    wanted = {n.strip() for n in names if n.strip()}
    bad = sorted(wanted - set(TYPES))
    if bad:
        raise UsageError(f"unknown event type {bad[0]!r} for --type: choose from {', '.join(TYPES)}")
    return wanted


def read_events(project_dir: Path, *, since: datetime | None = None,
                types: set[str] | None = None, session: str | None = None) -> Iterator[dict]:
    """Events oldest first across rotated files; unparseable lines are skipped."""
    path = events_path(project_dir)
    files = [*_rotated(path), path]
    cutoff = iso_ms(since) if since else None
    for f in files:
        try:
            for ev in JsonlReader(f):
                if cutoff and str(ev.get("ts", "")) < cutoff:
                    continue
                if types and ev.get("type") not in types:
                    continue
                if session and ev.get("session_id") != session:
                    continue
                yield ev
        except OSError:  # rotated away meanwhile, or unreadable
            continue


def query(store: Store, *, since: str | None = None, types: str | None = None,
          session: str | None = None, all_projects: bool = False) -> list[dict]:
    """What `csa events` shows: `since` a duration or date, `types` "a,b", `session` a name
    or id of this project; `all_projects` every project's, each with `project`."""
    from csa.errors import UsageError
    from csa.timeutil import parse_since

    filters = {"since": parse_since(since) if since else None,
               "types": check_types(types.split(",")) if types else None}
    if all_projects:
        if session:
            raise UsageError("-s/--session names a session of one project: drop --all-projects")
        return read_every_project(store.base, **filters)
    sid = store.resolve(session).id if session else None
    return list(read_events(store.dir, session=sid, **filters))


def read_every_project(base: Path, **filters) -> list[dict]:
    """Every project's events under the state base `base`, merged oldest first, each with
    `project` (its root); `filters` as for `read_events`."""
    from csa.store import iter_project_dirs

    streams = [_tagged(d, str(root), filters) for d, root in iter_project_dirs(base)]
    return list(heapq.merge(*streams, key=lambda e: str(e.get("ts", ""))))


def _tagged(project_dir: Path, project: str, filters: dict) -> Iterator[dict]:
    for ev in read_events(project_dir, **filters):
        yield {**ev, "project": project}
