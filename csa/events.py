"""`events.jsonl`: one line per orchestration event of a project, size-bounded.

    >>> emit(store, "session_start", session_id=sid, tool="codex")   # limits from config
    >>> [e["type"] for e in read_events(store, types={"resume"})]

Types: session_start, session_end, resume, compress, checkpoint, lock_conflict,
clean, gc, delete. The file is rotated to events.jsonl.1 .. .N when it exceeds
`events.max_bytes` (config); `events.keep` old files are kept. Appends are single
`write` calls on an O_APPEND descriptor, so concurrent writers never interleave
within a line. Event logging never fails a command.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
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


def events_path(project_dir: Path) -> Path:
    return project_dir / EVENTS_FILE


def emit(store: Store, type_: str, *, cfg: Config | None = None, **fields) -> None:
    """Append one event to the store's log, rotated per the project's `[events]` config.

    `cfg` saves a caller that already loaded the config from reading it again.
    """
    if cfg is None:
        from csa.config import load_config
        from csa.errors import CsaError

        try:
            cfg = load_config(store.root)
        except CsaError:  # a broken config must not stop the command that logs
            cfg = None
    max_bytes = int(cfg.get("events.max_bytes", DEFAULT_MAX_BYTES)) if cfg else DEFAULT_MAX_BYTES
    keep = int(cfg.get("events.keep", DEFAULT_KEEP)) if cfg else DEFAULT_KEEP
    append(store.dir, type_, max_bytes=max_bytes, keep=keep, **store.redactor.obj(fields))


def append(project_dir: Path, type_: str, *, max_bytes: int = DEFAULT_MAX_BYTES,
           keep: int = DEFAULT_KEEP, **fields) -> None:
    """Append one event (fields already redacted); rotate first when the file is over `max_bytes`."""
    path = events_path(project_dir)
    rec = {"ts": iso_ms(utcnow()), "type": type_, "pid": os.getpid(), **fields}
    line = orjson.dumps(rec, default=str) + b"\n"
    try:
        try:
            if max_bytes > 0 and os.stat(path).st_size + len(line) > max_bytes:
                _rotate(path, keep)
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
    files = sorted(path.parent.glob(f"{path.name}.*"),
                   key=lambda p: -int(p.suffix[1:]) if p.suffix[1:].isdigit() else 0)
    files.append(path)
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
