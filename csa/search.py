"""Full-text search over every session's transcript: a rebuildable SQLite FTS5 index.

    >>> index_session(session)                         # incremental: only new lines
    >>> hits = search(store, "flaky test", tool="codex", limit=10)
    >>> hits[0]["session_id"], hits[0]["snippet"]
    >>> reindex(base)                                   # rebuild from the plaintext transcripts

The transcripts and digests are the truth; the index at `<state base>/index.sqlite3` is
a cache of them (one row per transcript event with text, one per session for its
description, one for its plaintext digest, which is what a session whose transcript
budget retention evicted is still found by, also after a reindex). It is updated after each turn from the byte offset it reached, so a
turn costs only its own lines. A missing, corrupt or outdated index is rebuilt
automatically, by one process at a time (a filelock on `index.sqlite3.lock`; SQLite's
own locking serializes the incremental writers); an index problem never fails a run.

A large history is rebuilt into several files (shards: `index.sqlite3`,
`index.sqlite3.1`, ...), one per core up to SHARDS_MAX, filled in parallel (FTS5 writes
one table on one core); each session's rows live in one shard (csa.search_shard), and a
query asks every shard and merges (csa.search_query). Every file records the rebuild
that made it: files of different rebuilds (a crash between the renames) are an unsound
index, rebuilt on next use. Sessions indexed after the rebuild go to the first file.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from csa.errors import disk_full, is_disk_full
from csa.search_shard import Shard, connect
from csa.session import Session
from csa.store import Store

INDEX_FILE = "index.sqlite3"
# 2: secure_delete and incremental auto-vacuum from creation (deleted sessions leave no
# bytes in free pages). 3: session rowids on rows, spans, session type, continued_from,
# source times for imports, digest rows. 4: shards (meta: build, shards, shard). An
# older index is rebuilt on first use.
SCHEMA_VERSION = 4
REBUILD_WAIT_S = 600.0  # a rebuild of 1 GB of transcripts takes minutes
SHARDS_MAX = 4  # files of a large index, filled in parallel (see shard_count)


def index_path(base: Path) -> Path:
    return base / INDEX_FILE


def shard_path(base: Path, k: int) -> Path:
    """The k-th file of the index: `index.sqlite3`, then `index.sqlite3.1`, ..."""
    return base / (INDEX_FILE if k == 0 else f"{INDEX_FILE}.{k}")


def index_files(base: Path) -> list[Path]:
    """Every index file present under `base` (shards of any rebuild), first one first.

        >>> index_files(base)
        [PosixPath('.../index.sqlite3'), PosixPath('.../index.sqlite3.1')]
    """
    found = [p for p in base.glob(f"{INDEX_FILE}.*") if p.suffix[1:].isdigit()]
    first = [index_path(base)] if index_path(base).exists() else []
    return first + sorted(found, key=lambda p: int(p.suffix[1:]))


class Index:
    """An open index (all its shards); rebuilds itself when missing, broken or mixed."""

    def __init__(self, base: Path, *, rebuild: bool = False):
        self.base = base
        self.path = index_path(base)
        self.rebuilt = False
        self.shards: list[Shard] = self._open(rebuild)

    @property
    def conn(self) -> sqlite3.Connection:
        """The first shard's connection: the whole index when it is one file."""
        return self.shards[0].conn

    @property
    def conns(self) -> list[sqlite3.Connection]:
        return [s.conn for s in self.shards]

    def _open(self, rebuild: bool) -> list[Shard]:
        shards = None if rebuild else self._sound()
        if shards is not None:
            return shards
        # Missing, broken, outdated or asked for: one process rebuilds, the others wait for
        # it (SQLite's own locking cannot cover deleting and recreating the files).
        from csa.mutex import hold

        with hold(self.path.with_name(f"{INDEX_FILE}.lock"), timeout=REBUILD_WAIT_S,
                  busy=f"the search index {self.path} is still being rebuilt by another csa "
                       "process; retry when it has finished"):
            shards = None if rebuild else self._sound()  # rebuilt while we waited?
            if shards is None:
                from csa.search_build import rebuild as rebuild_index

                rebuild_index(self.base)
                self.rebuilt = True
                shards = self._sound()
                if shards is None:
                    raise sqlite3.DatabaseError(f"the rebuilt search index {self.path} "
                                                "cannot be opened")
        return shards

    def _sound(self) -> list[Shard] | None:
        """The shards of an existing index of the current schema, all of one rebuild."""
        shards: list[Shard] = []
        try:
            first = self._shard(0)
            if first is None:
                return None
            shards.append(first)
            meta = first.meta()
            if int(meta.get("schema", -1)) != SCHEMA_VERSION:
                raise ValueError("outdated")
            for k in range(1, int(meta["shards"])):
                shard = self._shard(k)
                if shard is None:
                    raise ValueError("missing shard")
                shards.append(shard)
                theirs = shard.meta()
                if theirs.get("build") != meta["build"] or theirs.get("shard") != str(k):
                    raise ValueError("a shard of another rebuild")
            return shards
        except (sqlite3.DatabaseError, ValueError, KeyError):
            for shard in shards:
                shard.close()
            return None

    def _shard(self, k: int) -> Shard | None:
        path = shard_path(self.base, k)
        return Shard(path, connect(self.base, path)) if path.exists() else None

    def close(self) -> None:
        for shard in self.shards:
            shard.close()

    def update_session(self, session: Session) -> int:
        """Index what is new in one session, in the shard holding it (a session new to
        the index: the first); returns the number of events added."""
        shards = self.shards
        home = next((s for s in shards[1:] if s.has(session.id)), shards[0])
        # Rows numbered above every shard's: newest first means newest indexed.
        floor = 1 + max(s.max_rowid() for s in shards) if len(shards) > 1 else 1
        return home.update_session(session, floor)

    def forget(self, sids: list[str], *, transcript_only: bool = False) -> int:
        """Remove the sessions' rows from every shard holding them, leaving none of their
        text in any index file (csa.search_shard.Shard.forget); returns rows removed."""
        removed = 0
        for shard in self.shards:
            mine = sids if len(self.shards) == 1 else [s for s in sids if shard.has(s)]
            if mine:
                removed += shard.forget(mine, transcript_only=transcript_only)
        return removed

    def count(self, table: str) -> int:
        return sum(c.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                   for c in self.conns)


# -- library entry points ----------------------------------------------------------------


def forget_sessions(base: Path, sids: list[str], *, transcript_only: bool = False) -> int:
    """Remove sessions from the index at `base` (see Index.forget); 0 when there is none.

        >>> forget_sessions(store.base, ["01JH4Q..."])
    """
    if not sids or not index_path(base).exists():
        return 0
    idx = Index(base)
    try:
        return 0 if idx.rebuilt else idx.forget(sids, transcript_only=transcript_only)
    finally:
        idx.close()


def index_session(session: Session) -> int:
    idx = Index(session.store.base)
    try:
        return idx.update_session(session)
    except (sqlite3.OperationalError, OSError) as e:
        if is_disk_full(e):
            raise disk_full("the search index", idx.path, session.transcript_size()) from e
        raise
    finally:
        idx.close()


def search(store: Store, query: str, **kw) -> list[dict]:
    """One hit per session, best first (csa.search_query.search_store: the keywords).

        >>> search(store, "flaky", kinds=["imported"], since="2024-01-01T00:00:00.000Z")
    """
    from csa.search_query import search_store

    return search_store(store, query, **kw)


def reindex(base: Path) -> dict:
    """Drop the index and rebuild it from every transcript under the state base."""
    idx = Index(base, rebuild=True)
    try:
        sessions, events = idx.count("sessions"), idx.count("events")
        shards = len(idx.shards)
    finally:
        idx.close()
    return {"sessions": sessions, "events": events, "path": str(index_path(base)),
            "shards": shards}


def shard_count() -> int:
    """Shards of a large rebuild: one per core this process may use, 2 to SHARDS_MAX."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(2, min(cores, SHARDS_MAX))

