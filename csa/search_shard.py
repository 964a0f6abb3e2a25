"""One file of the search index: its schema, its connection, and the writes to it.

    >>> shard = Shard(path, connect(base, path))
    >>> shard.update_session(session, floor=1)      # incremental: only new lines
    >>> shard.forget(["01JH4Q..."])                 # leaves none of their text in the file

An index is one file, or several for a large history (csa.search: a rebuild fills them
in parallel); a session's rows, its `sessions` row and its `spans` all live in one file,
so every update and delete is one SQLite transaction in one file, as with a single file.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
from pathlib import Path

import orjson

from csa import catalogue, search_build
from csa.session import Session

# A rebuild writes a new file nobody else reads until it is renamed into place: the
# journal in memory, fsync once at the end, nothing deleted yet (csa.search_build).
BULK_PRAGMAS = ("PRAGMA journal_mode=MEMORY", "PRAGMA synchronous=OFF",
                "PRAGMA cache_size=-65536", "PRAGMA temp_store=MEMORY")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, project TEXT NOT NULL, description TEXT, tools TEXT, branch TEXT,
    phase TEXT, digest TEXT, created_at TEXT, last_accessed TEXT,
    indexed_offset INTEGER NOT NULL DEFAULT 0, indexed_seq INTEGER NOT NULL DEFAULT -1,
    file_id TEXT, last_tool TEXT, kind TEXT, continued_from TEXT, digest_text_sha TEXT
);
CREATE TABLE IF NOT EXISTS spans (sess INTEGER NOT NULL, lo INTEGER NOT NULL,
                                  hi INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS spans_by_session ON spans (sess, hi);
CREATE VIRTUAL TABLE IF NOT EXISTS events USING fts5(
    sess UNINDEXED, tool UNINDEXED, type UNINDEXED, ts UNINDEXED, seq UNINDEXED, text,
    tokenize = 'unicode61 remove_diacritics 2'
);
"""
# Rows: `sess` is the session's rowid in `sessions` (its id and project are kept once
# there, not on every row); `spans` records the rowid range each update inserted, so a
# query can skip the rest of a session's matches (one hit per session: csa.search_query)
# and forget deletes by range. `text` comes last: reading `sess` of a row never walks a
# long text's overflow pages. seq -1: the description row, -2: the digest rows.
INSERT = "INSERT INTO events (rowid, text, sess, tool, type, ts, seq) VALUES (?,?,?,?,?,?,?)"


def connect(base: Path, path: Path, *, bulk: bool = False) -> sqlite3.Connection:
    """A connection to the index file at `path`, created (0600) if missing. `bulk`: for
    a rebuild into a new file (csa.search_build): no journal, no fsync, a big cache."""
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    new = not path.exists()
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    if new:
        os.chmod(path, 0o600)
        # Must precede the first table; lets forget() hand freed pages back to the OS.
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
    if bulk:
        for pragma in BULK_PRAGMAS:
            conn.execute(pragma)
    else:
        # Freed pages are zeroed, so a forgotten session's text is not left in the file.
        conn.execute("PRAGMA secure_delete=ON")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(SCHEMA)
    if bulk:
        # No merging while segments pile up: the rebuild merges them all once at the end.
        conn.execute("INSERT INTO events(events, rank) VALUES ('automerge', 0)")
    return conn


class Shard:
    """One index file's connection and the writes to it (see the module doc)."""

    def __init__(self, path: Path, conn: sqlite3.Connection, *, read_ahead: bool = True):
        self.path, self.conn, self.read_ahead = path, conn, read_ahead

    def close(self) -> None:
        self.conn.close()

    def has(self, sid: str) -> bool:
        return self.conn.execute("SELECT 1 FROM sessions WHERE id=?", (sid,)).fetchone() \
            is not None

    def max_rowid(self) -> int:
        return self.conn.execute("SELECT coalesce(max(id), 0) FROM events_content"
                                 ).fetchone()[0]

    def meta(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT key, value FROM meta").fetchall())

    # -- writing -------------------------------------------------------------------------

    def update_session(self, session: Session, floor: int = 1) -> int:
        """Index what is new in one session, its rows numbered from `floor` or above every
        row of this file; returns the number of events added."""
        conn, sid = self.conn, session.id
        try:
            state = session.read_state()
        except Exception:  # noqa: BLE001 - a corrupt session is simply not indexed
            return 0
        tpath = session.transcript_path
        row = conn.execute("SELECT indexed_offset, indexed_seq, file_id, last_tool, "
                           "description, tools, rowid, digest_text_sha FROM sessions "
                           "WHERE id=?", (sid,)).fetchone()
        offset, last_seq, file_id, last_tool, old_desc, old_tools, sess, old_sha = \
            row if row else (0, -1, None, None, None, None, None, None)
        try:
            st = os.stat(tpath)
            current_id = f"{st.st_dev}:{st.st_ino}"
        except FileNotFoundError:
            st, current_id = None, None
        own = not conn.in_transaction  # a rebuild holds one transaction for every session
        if own:
            conn.execute("BEGIN IMMEDIATE")
        try:
            # Explicit rowids above every existing one: the span is exactly this update's
            # rows, whatever the deletes below free.
            lo = max(floor, self.max_rowid() + 1)
            self._ids = itertools.count(lo)
            if row is not None and st is not None and (current_id != file_id
                                                       or st.st_size < offset):
                # The transcript was replaced: an eviction stub leaves the rows to eviction
                # (csa.forget removes them); anything else (restored, rewritten) starts over.
                if not catalogue.is_eviction_stub(tpath):
                    self._delete_rows(sess, " AND seq >= 0")
                    last_seq = -1
                offset = 0
            sess = self._upsert_session(state, str(session.store.root),
                                        (offset, last_seq, current_id, last_tool))
            if old_desc != state.description or old_tools != ",".join(state.tool_names):
                self._describe(sess, state)
            self._digest_rows(sess, state, old_sha)
            added = 0
            if st is not None and st.st_size > offset:
                added, (offset, last_seq, last_tool) = self._append(
                    sess, tpath, (offset, last_seq, last_tool or state.last_tool()),
                    st.st_size - offset)
            conn.execute("UPDATE sessions SET indexed_offset=?, indexed_seq=?, last_tool=?, "
                         "file_id=? WHERE id=?", (offset, last_seq, last_tool, current_id, sid))
            hi = next(self._ids) - 1
            if hi >= lo:
                conn.execute("INSERT INTO spans VALUES (?,?,?)", (sess, lo, hi))
            if own:
                conn.execute("COMMIT")
            return added
        except BaseException:
            if own:
                conn.execute("ROLLBACK")
            raise

    def _append(self, sess: int, tpath: Path, progress: tuple, new_bytes: int):
        """Insert the transcript's events after `progress` (offset, last seq, last tool);
        returns (rows added, the new progress)."""
        scan = search_build.NewEvents(tpath, *progress, sess, self._ids)
        # Much to read (a rebuild, an import): parse in a thread while SQLite tokenizes
        # and inserts (it lets go of the GIL meanwhile).
        batches = scan.batches()
        if self.read_ahead and new_bytes > search_build.AHEAD_BYTES:
            batches = search_build.ahead(batches)
        added = 0
        for rows in batches:
            self.conn.executemany(INSERT, rows)
            added += len(rows)
        return added, (scan.offset, scan.last_seq, scan.last_tool)

    def _delete_rows(self, sess: int | None, cond: str = "") -> int:
        """Delete a session's rows (those matching `cond` too) range by range."""
        if sess is None:
            return 0
        removed = 0
        for lo, hi in self.conn.execute("SELECT lo, hi FROM spans WHERE sess=?",
                                        (sess,)).fetchall():
            removed += self.conn.execute("DELETE FROM events WHERE rowid BETWEEN ? AND ? "
                                         f"AND sess=?{cond}", (lo, hi, sess)).rowcount
        return removed

    def _upsert_session(self, state, project: str, progress: tuple) -> int:
        """The session's row; returns its rowid (the `sess` of its event rows)."""
        from csa.search_meta import continued_from, session_kind

        sid = state.meta_session_id
        offset, last_seq, current_id, last_tool = progress
        link = continued_from(state)
        self.conn.execute(
            "INSERT INTO sessions (id, project, description, tools, branch, phase, digest, "
            "created_at, last_accessed, indexed_offset, indexed_seq, file_id, last_tool, "
            "kind, continued_from) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT(id) DO UPDATE SET "
            "project=excluded.project, description=excluded.description, "
            "tools=excluded.tools, branch=excluded.branch, phase=excluded.phase, "
            "digest=excluded.digest, last_accessed=excluded.last_accessed, "
            "kind=excluded.kind, continued_from=excluded.continued_from",
            (sid, project, state.description, ",".join(state.tool_names), state.git_branch,
             state.phase, _digest_json(state.extra.get("digest")), _iso(state.created_at),
             _iso(state.last_accessed), offset, last_seq, current_id, last_tool,
             session_kind(state), orjson.dumps(link).decode() if link else None))
        return self.conn.execute("SELECT rowid FROM sessions WHERE id=?", (sid,)).fetchone()[0]

    def _describe(self, sess: int, state) -> None:
        """The description row (seq -1), replaced when the description or tools change."""
        self._delete_rows(sess, " AND seq = -1")
        if state.description:
            self.conn.execute(INSERT, (next(self._ids), state.description, sess, state.last_tool(),
                                       "description", _iso(state.created_at), -1))

    def _digest_rows(self, sess: int, state, old_sha: str | None) -> None:
        """The plaintext digest's row (seq -2), replaced when the digest changed: what an
        evicted session is still found by, here and after a reindex."""
        import hashlib

        from csa.search_meta import digest_text

        text = digest_text(state)
        sha = hashlib.sha256(text.encode()).hexdigest() if text else None
        if sha == old_sha:
            return
        self._delete_rows(sess, " AND seq = -2")
        if text:
            self.conn.execute(INSERT, (next(self._ids), text, sess, state.last_tool(), "digest",
                                       _iso(state.last_accessed), -2))
        self.conn.execute("UPDATE sessions SET digest_text_sha=? WHERE rowid=?", (sha, sess))

    def forget(self, sids: list[str], *, transcript_only: bool = False) -> int:
        """Remove the sessions' rows (only their transcript rows with `transcript_only`)
        and leave none of their text anywhere in this file; returns rows removed.

        One transaction for all of `sids`. FTS5 before SQLite 3.42 keeps a deleted
        row's terms in its segment b-trees until they are merged, so there the file is
        optimized (merged: its cost grows with the file) after the delete; from 3.42
        FTS5's own secure-delete option removes them at once. secure_delete zeroes the
        freed pages, the incremental vacuum returns them, and the WAL (holding old page
        images) is checkpointed and truncated.
        """
        if not sids:
            return 0
        conn = self.conn
        removed = 0
        # SQLite >= 3.42 can remove a row's terms at delete time; older ones need a merge.
        secure = sqlite3.sqlite_version_info >= (3, 42, 0)
        conn.execute("BEGIN IMMEDIATE")
        try:
            if secure:
                conn.execute("INSERT INTO events(events, rank) VALUES ('secure-delete', 1)")
            for sid in sids:
                found = conn.execute("SELECT rowid FROM sessions WHERE id=?", (sid,)).fetchone()
                if found is None:
                    continue
                removed += self._delete_rows(found[0], " AND seq >= 0" if transcript_only
                                             else "")
                if not transcript_only:
                    conn.execute("DELETE FROM spans WHERE sess=?", found)
                    conn.execute("DELETE FROM sessions WHERE rowid=?", found)
            if removed and not secure:
                conn.execute("INSERT INTO events(events) VALUES ('optimize')")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self.purge_free_pages()
        return removed

    def purge_free_pages(self) -> None:
        """Return free pages to the OS and empty the WAL (old page images live there)."""
        conn = self.conn
        try:
            conn.execute("PRAGMA incremental_vacuum")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except sqlite3.OperationalError:  # busy: the next forget or checkpoint does it
            pass


def _iso(dt) -> str | None:
    from csa.state import iso_ms

    return iso_ms(dt)


def _digest_json(digest) -> str | None:
    """The digest as JSON for the index; None when absent or not representable (a
    hand-edited state.toml: integers beyond 64 bits)."""
    if not digest:
        return None
    try:
        return orjson.dumps(digest, default=str).decode()
    except TypeError:  # orjson.JSONEncodeError
        return None
