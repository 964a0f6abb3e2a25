"""Building the search index: index rows from transcripts, read ahead in a thread, and a
rebuild into new files with bulk-load settings, then renamed into place.

    >>> rebuild(base)     # called by csa.search.Index under its rebuild lock

A history over SHARD_BYTES is split into shards of about equal bytes (whole sessions),
one per core (csa.search.shard_count), built at once: this process fills the first,
fresh Python processes the others (FTS5 tokenizes on one core per file; the GIL would
serialize threads). Each new file keeps its journal in memory and is not fsynced until
it is complete: a crash midway leaves only `index.sqlite3*.new` files the next rebuild
overwrites, never a half-built index in place. When every transcript is in, each
file's segments are merged into one (queries read one b-tree per term instead of
dozens), the file is switched to WAL, marked with the schema version and the rebuild's
id, and fsynced; the files are renamed over the old ones, the first file last.
"""

from __future__ import annotations

import os
import queue
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from csa import catalogue
from csa.fsutil import fsync_dir
from csa.jsonl import JsonlReader

T = TypeVar("T")
AHEAD_BYTES = 1 << 20  # new transcript bytes past which indexing parses in a thread
SHARD_BYTES = 32 << 20  # transcripts past which a rebuild makes several files (shards)
PARALLEL_BYTES = 32 << 20  # ... and fills them in parallel processes
ROWID_STRIDE = 1 << 20  # a rebuild numbers the i-th oldest session's rows from i * this
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


def rebuild(base: Path) -> None:
    """Build the index under `base` from every transcript there (see module doc)."""
    from csa.search import SCHEMA_VERSION, index_files, shard_count, shard_path

    plan = _plan(base)
    total = sum(size for size, *_ in plan)
    parts = _split(plan, 1 if total < SHARD_BYTES else shard_count())
    meta = {"schema": SCHEMA_VERSION, "build": os.urandom(8).hex(), "shards": len(parts)}
    tmps = [Path(f"{shard_path(base, k)}.new") for k in range(len(parts))]
    for tmp in tmps:
        _unlink(tmp)
    parallel = len(parts) > 1 and total >= PARALLEL_BYTES
    # Each process of a parallel rebuild has a core of its own to fill: a read-ahead
    # thread would only take turns with the other process's.
    jobs = [(str(base), str(tmp), {**meta, "shard": k}, [e[1:] for e in part], not parallel)
            for k, (tmp, part) in enumerate(zip(tmps, parts, strict=True))]
    try:
        if parallel:
            _in_parallel(jobs)
        else:
            for job in jobs:
                build_shard(*job)
    except BaseException:
        for tmp in tmps:
            _unlink(tmp)
        raise
    # Every file names its rebuild: until the first is renamed last, a crash leaves an
    # index whose files disagree, rebuilt on next use (csa.search.Index._sound).
    for k in reversed(range(len(tmps))):
        final = shard_path(base, k)
        for suffix in ("-wal", "-shm"):
            _unlink_one(f"{final}{suffix}")
        os.replace(tmps[k], final)
    for stale in index_files(base)[len(tmps):]:
        _unlink(stale)
    fsync_dir(base)


def _plan(base: Path) -> list[tuple]:
    """Every session under `base` as (transcript bytes, project dir, root, id, rowid
    floor), oldest first: rows are numbered in that order across all shards."""
    from csa.store import Store, iter_project_dirs

    found = []
    for project_dir, root in iter_project_dirs(base):
        store = Store.for_project_dir(base, project_dir, root)
        for sid in store.ids():
            try:
                size = os.stat(store.session(sid).transcript_path).st_size
            except OSError:
                size = 0
            found.append((sid, size, str(project_dir), str(root)))
    found.sort()
    return [(size, pdir, root, sid, 1 + i * ROWID_STRIDE)
            for i, (sid, size, pdir, root) in enumerate(found)]


def _split(plan: list[tuple], n: int) -> list[list[tuple]]:
    """`plan` in `n` parts of about equal bytes (largest session first into the lightest
    part), each part in the plan's order."""
    parts: list[list[tuple]] = [[] for _ in range(n)]
    loads = [0] * n
    for entry in sorted(plan, key=lambda e: -e[0]):
        k = loads.index(min(loads))
        parts[k].append(entry)
        loads[k] += entry[0]
    return [sorted(part, key=lambda e: e[4]) for part in parts]


def build_shard(base: str, tmp: str, meta: dict, entries: list[tuple],
                read_ahead: bool = True) -> None:
    """Fill the new file `tmp` with `entries` (project dir, root, id, rowid floor) in one
    transaction, merge it into one segment, mark it with `meta` and fsync it."""
    from csa.search_shard import Shard, connect

    conn = connect(Path(base), Path(tmp), bulk=True)
    try:
        fill(Shard(Path(tmp), conn, read_ahead=read_ahead), Path(base), entries)
        conn.execute("INSERT INTO events(events) VALUES ('optimize')")
        # Incremental updates merge as they go again (FTS5's default).
        conn.execute("INSERT INTO events(events, rank) VALUES ('automerge', 4)")
        conn.execute("PRAGMA incremental_vacuum")  # no free pages from the merges
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                         [(k, str(v)) for k, v in meta.items()])
    finally:
        conn.close()
    fd = os.open(tmp, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fill(shard, base: Path, entries: list[tuple]) -> None:
    """Index `entries` into `shard` in one transaction: FTS5 writes its pending terms as
    a new segment at each commit, so a commit per session would leave a segment per
    session to merge."""
    from csa.store import Store

    stores: dict[str, Store] = {}
    shard.conn.execute("BEGIN")
    for project_dir, root, sid, floor in entries:
        store = stores.get(project_dir)
        if store is None:
            store = stores[project_dir] = Store.for_project_dir(base, Path(project_dir),
                                                                Path(root))
        shard.update_session(store.session(sid), floor)
    shard.conn.execute("COMMIT")


def _in_parallel(jobs: list[tuple]) -> None:
    """build_shard for each job, the first here and the others at once in fresh Python
    processes (`python -m csa.search_build`: no copy of this process, its threads or its
    connections, and no re-run of whatever script imported csa). A shard whose process
    could not start or failed is built here afterwards: its error, if it has one, is
    raised here as itself."""
    procs = [(job, _start(job)) for job in jobs[1:]]
    try:
        build_shard(*jobs[0])
        for job, proc in procs:
            if proc is None or proc.wait() != 0:
                _unlink(job[1])  # whatever the failed process left
                build_shard(*job)
    finally:
        for _, proc in procs:
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()


def _start(job: tuple):
    """A process building `job`'s shard (the job pickled on its stdin), or None."""
    import pickle
    import subprocess
    import sys

    import csa

    env = dict(os.environ)
    # The same csa as this process's, wherever sys.path found it.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(csa.__file__).parent.parent),
                                                      env.get("PYTHONPATH")]))
    proc = None
    try:
        proc = subprocess.Popen([sys.executable, "-m", "csa.search_build"], env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        with proc.stdin:
            proc.stdin.write(pickle.dumps(job))
        return proc
    except OSError:  # no interpreter to start, or it died before reading its job
        if proc is not None:
            proc.kill()
            proc.wait()
        return None


def _unlink(path) -> None:
    for p in (str(path), f"{path}-wal", f"{path}-shm", f"{path}-journal"):
        _unlink_one(p)


def _unlink_one(path: str) -> None:
    try:
        os.unlink(path)
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


if __name__ == "__main__":  # a shard builder process (_start): the job on stdin
    import pickle
    import sys

    build_shard(*pickle.loads(sys.stdin.buffer.read()))
