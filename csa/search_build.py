"""Building the search index: index rows from transcripts, read ahead in a thread, and a
rebuild into a new file with bulk-load settings, then renamed into place.

    >>> rebuild(index)     # called by csa.search.Index under its rebuild lock

The new file keeps its journal in memory and is not fsynced until it is complete (a rebuild is
most of the time spent indexing a large history): a crash midway leaves only a
`index.sqlite3.new` the next rebuild overwrites, never a half-built index in place.
When every transcript is in, the segments are merged into one (queries read one
b-tree per term instead of dozens), the file is switched to WAL, marked with the
schema version, fsynced and renamed over the old index.
"""

from __future__ import annotations

import os
import queue
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from csa import catalogue
from csa.fsutil import fsync_dir
from csa.jsonl import JsonlReader

if TYPE_CHECKING:
    from csa.search import Index

T = TypeVar("T")
AHEAD_BYTES = 1 << 20  # new transcript bytes past which indexing parses in a thread
_END = object()


class NewEvents:
    """Index rows for the events after byte `offset`, in batches, numbered from `ids`;
    afterwards `offset`, `last_seq` and `last_tool` say where reading stopped.

    A row: (rowid, text, sess, tool, type, ts, seq). `ts` is the source's own time for
    an imported event. A text repeated within a few events (the tool echoing the prompt,
    the turn's end repeating the last answer) is indexed once."""

    BATCH = 2000
    RECENT = 8

    def __init__(self, path: Path, offset: int, last_seq: int, last_tool: str | None,
                 sess: int, ids: Iterator[int]):
        self.path, self.offset, self.last_seq, self.last_tool = path, offset, last_seq, last_tool
        self.sess, self.ids = sess, ids

    def batches(self) -> Iterator[list[tuple]]:
        from csa.search_meta import event_ts

        rows: list[tuple] = []
        reader = JsonlReader(self.path, offset=self.offset)
        last_seq, last_tool, sess, ids = self.last_seq, self.last_tool, self.sess, self.ids
        recent: deque[str] = deque(maxlen=self.RECENT)
        for ev in reader:
            seq = ev.get("seq")
            if isinstance(seq, int):
                last_seq = max(last_seq, seq)
            kind = ev.get("type")
            if kind == "prompt" and isinstance(ev.get("tool"), str):
                last_tool = ev["tool"]
            found = catalogue.text(ev)
            if not found.strip() or found in recent:
                continue
            recent.append(found)
            ts = event_ts(ev) if kind == "imported" else ev.get("ts")
            rows.append((next(ids), found, sess, ev.get("tool") or last_tool, kind, ts,
                         seq if isinstance(seq, int) else 0))
            if len(rows) >= self.BATCH:
                yield rows
                rows = []
        if rows:
            yield rows
        self.offset, self.last_seq, self.last_tool = reader.offset, last_seq, last_tool


def rebuild(index: Index) -> None:
    """Build `index` from every transcript under its state base (see module doc)."""
    from csa.search import INDEX_FILE, SCHEMA_VERSION

    tmp = index.path.with_name(f"{INDEX_FILE}.new")
    _unlink(tmp)
    conn = index._connect(tmp, bulk=True)
    index.conn = conn
    try:
        index.fill_all()
        conn.execute("INSERT INTO events(events) VALUES ('optimize')")
        # Incremental updates merge as they go again (FTS5's default).
        conn.execute("INSERT INTO events(events, rank) VALUES ('automerge', 4)")
        conn.execute("PRAGMA incremental_vacuum")  # no free pages from the merges
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
    finally:
        conn.close()
    fd = os.open(tmp, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm"):
        _unlink(index.path.with_name(index.path.name + suffix))
    os.replace(tmp, index.path)
    fsync_dir(index.path.parent)


def _unlink(path) -> None:
    for p in (str(path), f"{path}-wal", f"{path}-shm", f"{path}-journal"):
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass


def ahead(items: Iterable[T], depth: int = 4) -> Iterator[T]:
    """`items`, produced by a thread up to `depth` ahead of the consumer.

    >>> list(ahead(iter(range(3))))
    [0, 1, 2]

    The producer's exception is raised in the consumer; a consumer that stops early
    stops the producer at its next item.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple) -> bool:
        while not stop.is_set():
            try:
                q.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False  # the consumer is gone

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
            put((_END, None))
        except BaseException as e:  # noqa: BLE001 - handed to the consumer
            put((_END, e))

    worker = threading.Thread(target=produce, name="csa-index-reader", daemon=True)
    worker.start()
    try:
        while True:
            item, error = q.get()
            if item is _END:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        worker.join()
