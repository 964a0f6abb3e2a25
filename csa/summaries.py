"""The summary index: a rebuildable SQLite cache of every session's listing row.

    >>> index = SummaryIndex(store)          # <project state dir>/cache/summaries.db
    >>> index.put(session, state)            # after every state write (Session.save, create)
    >>> index.query("corrupt = 0", (), limit=20)        # newest first, rows re-checked
    >>> index.prefix("01JH4Q")               # ids starting with a prefix (range query)

state.toml stays the truth. The database is validated cheaply: the mtime of
sessions/ and the row count (a session created or removed changes both; triggers keep
the count, so reading it costs nothing at any size) are kept in `meta`; when they
differ, one listdir brings the rows in line (new ids parsed, gone ids dropped). A row carries the (inode, mtime_ns, size) of the state.toml it was
read from, and every row a query returns is re-checked against its file, so a
hand-edited state.toml wins over its row (git's racy-file rule: a file written in
the last two seconds is recorded as unverified and parsed again next time). A
missing, damaged or foreign-version database is rebuilt silently; when the cache dir
is unusable the index lives in memory for the command.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import orjson

from csa.errors import CorruptState, SessionNotFound

if TYPE_CHECKING:
    import sqlite3

    from csa.session import Session
    from csa.state import SessionState
    from csa.store import Store

DB_NAME = "summaries.db"
SCHEMA_VERSION = 4  # 2: a failed, timed-out or interrupted last run shows in `status`;
#                     3: session names and provider ids (issue 16);
#                     4: the row count kept by triggers (meta 'rows'), made in place from 3
RACY_WINDOW_NS = 2_000_000_000
REFRESH_CHUNK = 2000
MAX_LIMIT = 2**62  # SQLite integers are 64-bit; a larger --limit means "all"
UNVERIFIED = -1  # mtime_ns of a row whose file was too fresh to trust its timestamp
SCHEMA = """
CREATE TABLE s (id TEXT PRIMARY KEY, sort_key TEXT NOT NULL, last_accessed TEXT,
    phase TEXT, status TEXT, corrupt INTEGER NOT NULL, branch TEXT, parent TEXT,
    tools TEXT NOT NULL, ino INTEGER, mtime_ns INTEGER, size INTEGER, data BLOB NOT NULL,
    name TEXT) WITHOUT ROWID;
CREATE INDEX s_name ON s (name) WHERE name IS NOT NULL;
CREATE TABLE p (pid TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (pid, id)) WITHOUT ROWID;
CREATE INDEX p_id ON p (id);
CREATE INDEX s_sort ON s (sort_key, id);
CREATE INDEX s_access ON s (last_accessed, id);
CREATE INDEX s_parent ON s (parent);
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER);
"""
# The number of rows, kept in meta by every insert and delete, so the freshness check
# reads one value instead of counting 100,000 rows (tens of ms). An INSERT OR REPLACE of
# an existing id deletes the old row without firing the delete trigger (recursive_triggers
# is off, SQLite's default, which csa never changes) and counts nothing.
COUNTED = """
CREATE TRIGGER s_new BEFORE INSERT ON s WHEN NOT EXISTS (SELECT 1 FROM s WHERE id = NEW.id)
    BEGIN UPDATE meta SET value = value + 1 WHERE key = 'rows'; END;
CREATE TRIGGER s_gone AFTER DELETE ON s
    BEGIN UPDATE meta SET value = value - 1 WHERE key = 'rows'; END;
INSERT OR REPLACE INTO meta VALUES ('rows', (SELECT count(*) FROM s));
"""
COLS = "id, data, ino, mtime_ns, size"
PUT = "INSERT OR REPLACE INTO s VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
DROP_PIDS = "DELETE FROM p WHERE id = ?"
PUT_PID = "INSERT OR IGNORE INTO p VALUES (?, ?)"


class SummaryIndex:
    """The listing rows of one store's sessions (see the module docstring)."""

    def __init__(self, store: Store, *, readonly: bool = False):
        self.store = store
        self.path = store.cache_dir / DB_NAME
        self.readonly = readonly  # work on a copy in memory; the file is never written
        self._db: sqlite3.Connection | None = None
        self._synced = False  # inside once(): sessions/ was already checked

    # -- connection ----------------------------------------------------------------------

    def db(self) -> sqlite3.Connection:
        if self._db is None and self.readonly:
            self._db = self._copy()
        if self._db is None:
            import sqlite3

            try:
                self._db = self._open(str(self.path))
            except (sqlite3.OperationalError, OSError):  # locked, disk full, read-only
                self._db = self._open(":memory:")
            except sqlite3.DatabaseError:
                # Garbage bytes or a foreign schema: it is only a cache; start over.
                self._discard()
                try:
                    self._db = self._open(str(self.path))
                except (sqlite3.Error, OSError):
                    self._db = self._open(":memory:")
        return self._db

    def _open(self, where: str) -> sqlite3.Connection:
        import sqlite3

        if where != ":memory:":
            from csa.fsutil import ensure_dir

            ensure_dir(self.path.parent)
        db = sqlite3.connect(where, timeout=5, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # a cache: no fsync per commit
            # rows hold descriptions: a deleted or replaced row's text is zeroed, not freed
            db.execute("PRAGMA secure_delete=ON")
            self._ensure_schema(db)
        except BaseException:
            db.close()
            raise
        if where != ":memory:":
            os.chmod(where, 0o600)
        return db

    @staticmethod
    def _ensure_schema(db: sqlite3.Connection) -> sqlite3.Connection:
        """Create the tables when the file is new or of another schema version."""
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            db.execute("BEGIN IMMEDIATE")
            if version != 3:  # 3 has the same tables: it gets the count, keeps its rows
                for table in ("s", "p", "meta"):
                    db.execute(f"DROP TABLE IF EXISTS {table}")
                _run(db, SCHEMA)
            _run(db, COUNTED)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            db.execute("COMMIT")
        db.execute("SELECT count(*) FROM s WHERE id = ''").fetchone()
        return db

    def _copy(self) -> sqlite3.Connection:
        """The file's rows copied into memory (an empty index when it is unreadable)."""
        import sqlite3

        mem = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        if self.path.exists():
            try:
                # immutable: no -wal/-shm files are created (a dry run changes nothing);
                # rows a concurrent writer had not checkpointed are re-checked anyway.
                src = sqlite3.connect(f"{self.path.absolute().as_uri()}?immutable=1", uri=True)
                try:
                    src.backup(mem)
                finally:
                    src.close()
            except sqlite3.Error:
                mem.close()
                mem = sqlite3.connect(":memory:", isolation_level=None,
                                      check_same_thread=False)
        return self._ensure_schema(mem)

    def _discard(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            _unlink(f"{self.path}{suffix}")

    def close(self) -> None:
        self._synced = False  # a new connection (or one in memory) must be checked again
        if self._db is not None:
            self._db.close()
            self._db = None

    # -- writing -------------------------------------------------------------------------

    def put(self, session: Session, state: SessionState) -> None:
        """Record a state just written (best effort: a failure leaves a stale row, which
        the next query re-checks against the file)."""
        if not self.path.exists():
            return  # the next listing builds the whole index
        import sqlite3
        try:
            st = os.stat(session.state_path)
            _write_rows(self.db(), [_row(state.summary(), st)], [])
        except (sqlite3.Error, OSError):
            pass

    def _reread(self, sid: str) -> tuple | None:
        """The row for a session as its files are now; None when the session is gone."""
        from csa.session import STATE_FILE
        from csa.store import corrupt_summary

        session = self.store.session(sid)
        try:
            st = os.stat(session.state_path)
        except FileNotFoundError:
            if not session.exists():
                return None
            return _row(corrupt_summary(sid, f"{STATE_FILE} is missing"), None)
        except OSError as e:
            return _row(corrupt_summary(sid, e.strerror or str(e)), None)
        try:
            summary = session.read_state().summary()
        except CorruptState as e:
            return _row(corrupt_summary(sid, str(e).split(": ", 1)[-1]), st)
        except SessionNotFound:
            return None
        return _row(summary, st)

    def _refresh(self, sids: Iterable[str]) -> None:
        # Chunks of REFRESH_CHUNK rows per transaction: a rebuild of 100,000 sessions
        # never holds the write lock long enough to time out a concurrent Session.save.
        sids = list(sids)
        db = self.db()
        removed = False
        for at in range(0, len(sids), REFRESH_CHUNK):
            rows, gone = [], []
            for sid in sids[at:at + REFRESH_CHUNK]:
                row = self._reread(sid)
                (gone.append((sid,)) if row is None else rows.append(row))
            _write_rows(db, rows, gone)
            removed = removed or bool(gone)
        if removed:  # sessions went without csa (rm -rf): their rows' old pages leave the WAL
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    # -- validation ----------------------------------------------------------------------

    @contextmanager
    def once(self) -> Iterator[None]:
        """Queries inside share one check of sessions/ (a resolution runs several)."""
        if self._synced:
            yield
            return
        if self.store.sessions_dir.is_dir():
            self._guarded(self.sync)
        self._synced = True
        try:
            yield
        finally:
            self._synced = False

    def sync(self) -> None:
        """Bring the rows in line with sessions/ when its mtime or the row count moved."""
        if self._synced:
            return
        db = self.db()
        try:
            dir_mtime = os.stat(self.store.sessions_dir).st_mtime_ns
        except FileNotFoundError:
            dir_mtime = 0
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        count = _count(db, meta)
        if dir_mtime and meta.get("dir_mtime") == dir_mtime and meta.get("count") == count:
            return
        on_disk = set(self.store.ids())
        have = {r[0] for r in db.execute("SELECT id FROM s")}
        self._refresh(sorted((on_disk - have) | (have - on_disk)))
        count = _count(db)
        if dir_mtime > time.time_ns() - RACY_WINDOW_NS:
            dir_mtime = 0  # a change within the same tick could follow unseen: check again
        if (meta.get("dir_mtime"), meta.get("count")) != (dir_mtime, count):
            db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                           [("dir_mtime", dir_mtime), ("count", count)])

    def _fresh(self, raw: list[tuple]) -> bool:
        """Re-check returned rows against their state.toml; True if all were current."""
        stale = []
        base = str(self.store.sessions_dir)
        from csa.session import STATE_FILE

        for sid, _data, ino, mtime_ns, size in raw:
            try:
                st = os.stat(f"{base}/{sid}/{STATE_FILE}")
            except OSError:
                stale.append(sid)
                continue
            if mtime_ns == UNVERIFIED or (st.st_ino, st.st_mtime_ns, st.st_size) != (
                    ino, mtime_ns, size):
                stale.append(sid)
        if stale:
            self._refresh(stale)
        return not stale

    # -- queries -------------------------------------------------------------------------

    def _guarded(self, fn, *args):
        """fn(*args); when the database fails under it (disk full, locked too long, I/O
        error), once more on an index in memory built from the state files."""
        import sqlite3

        try:
            return fn(*args)
        except sqlite3.Error as e:
            self.close()
            if isinstance(e, sqlite3.OperationalError):
                self._db = self._open(":memory:")
            else:  # damaged pages found while reading: start a new file
                self._discard()
        try:
            return fn(*args)
        except sqlite3.Error:
            self.close()
            self._db = self._open(":memory:")
            return fn(*args)

    def query(self, where: str = "1", params: tuple = (), *, order: str = "sort_key DESC, id DESC",
              limit: int | None = None) -> list[dict]:
        """Summary dicts of the rows matching `where` (a template on the table alias `{a}`),
        each re-checked against its file."""
        if not self.store.sessions_dir.is_dir():
            return []  # listing never creates a project's state dir
        sql = f"SELECT {COLS} FROM s WHERE ({where.format(a='s')}) ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {min(int(limit), MAX_LIMIT)}"
        return self._guarded(self._checked, sql, params)

    def _checked(self, sql: str, params: tuple) -> list[dict]:
        self.sync()
        for _ in range(3):
            raw = self.db().execute(sql, params).fetchall()
            if self._fresh(raw):
                break
        return [orjson.loads(r[1]) for r in raw]

    def tree_rows(self, where: str, params: tuple, limit: int) -> list[dict]:
        """The rows of the newest `limit` trees among rows matching `where` (a template on
        the table alias `{a}`; a root is a matching row whose parent is not a matching
        row), with all their matching descendants."""
        if not self.store.sessions_dir.is_dir():
            return []
        w_s, w_p, w_c = (where.format(a=a) for a in "spc")
        sql = (f"WITH RECURSIVE roots(id) AS (SELECT s.id FROM s WHERE ({w_s}) AND "
               f"(s.parent IS NULL OR s.parent = s.id OR NOT EXISTS (SELECT 1 FROM s p "
               f"WHERE p.id = s.parent AND ({w_p}))) ORDER BY s.sort_key DESC, s.id DESC "
               f"LIMIT {min(int(limit), MAX_LIMIT)}), t(id) AS (SELECT id FROM roots UNION SELECT c.id "
               f"FROM s c JOIN t ON c.parent = t.id WHERE ({w_c})) "
               f"SELECT {COLS} FROM s WHERE id IN (SELECT id FROM t) "
               f"ORDER BY sort_key DESC, id DESC")
        return self._guarded(self._checked, sql, params * 3)

    def prefix(self, p: str, limit: int) -> tuple[list[str], int]:
        """(first `limit` ids starting with `p`, how many there are)."""
        if not self.store.sessions_dir.is_dir():
            return [], 0
        return self._guarded(self._prefix, p, limit)

    def _prefix(self, p: str, limit: int) -> tuple[list[str], int]:
        self.sync()
        hi = p[:-1] + chr(ord(p[-1]) + 1)
        db = self.db()
        found = [r[0] for r in db.execute(
            "SELECT id FROM s WHERE id >= ? AND id < ? ORDER BY id LIMIT ?", (p, hi, limit))]
        if len(found) < limit:
            return found, len(found)
        return found, db.execute("SELECT count(*) FROM s WHERE id >= ? AND id < ?",
                                 (p, hi)).fetchone()[0]

    def named(self, name: str) -> list[str]:
        """Ids of the sessions named exactly `name` (one, unless state.toml was hand-edited)."""
        return [r["id"] for r in self.query("name = ?", (name,), order="id")]

    def name_prefix(self, p: str, limit: int) -> list[dict]:
        """Rows whose name starts with `p` (at most `limit`)."""
        hi = p[:-1] + chr(ord(p[-1]) + 1)
        return self.query("name >= ? AND name < ?", (p, hi), order="name", limit=limit)

    def holding(self, pid: str) -> list[str]:
        """Ids of the sessions holding provider conversation id `pid`."""
        return [r["id"] for r in self.query("id IN (SELECT id FROM p WHERE pid = ?)", (pid,),
                                            order="id")]

    def all_ids(self) -> set[str]:
        return {r[0] for r in self.db().execute("SELECT id FROM s")}

    def existing(self, sids: Iterable[str]) -> set[str]:
        """Which of `sids` have a row."""
        db = self.db()
        return {s for s in set(sids)
                if db.execute("SELECT 1 FROM s WHERE id = ?", (s,)).fetchone()}

    def neighbours(self, sids: Iterable[str]) -> set[str]:
        """The ids just before and after each of `sids` (enough for unique short ids)."""
        db = self.db()
        out = set()
        for sid in sids:
            for sql in ("SELECT max(id) FROM s WHERE id < ?", "SELECT min(id) FROM s WHERE id > ?"):
                got = db.execute(sql, (sid,)).fetchone()[0]
                if got:
                    out.add(got)
        return out


# A last run that did not finish well shows instead of the phase (a failed run is not "active").
SHOWN_RUN_STATUSES = ("running", "died", "failed", "timeout", "interrupted")


def shown_status(summary: dict) -> str:
    """What a listing shows for a session: corrupt, the last run's status when it is not
    "finished" (running, died, failed, timeout, interrupted), else the phase."""
    if summary.get("corrupt"):
        return "corrupt"
    if summary.get("run_status") in SHOWN_RUN_STATUSES:
        return summary["run_status"]
    return summary.get("phase") or "active"


def _write_rows(db: sqlite3.Connection, rows: list[tuple], gone: list[tuple]) -> None:
    """Replace `rows` (with their provider ids) and delete the `gone` ids, in one
    transaction."""
    db.execute("BEGIN IMMEDIATE")
    try:
        db.executemany("DELETE FROM s WHERE id = ?", gone)
        db.executemany(DROP_PIDS, gone + [(r[0],) for r in rows])
        db.executemany(PUT, rows)
        db.executemany(PUT_PID, [(pid, r[0]) for r in rows
                                 for pid in orjson.loads(r[12]).get("provider_ids") or []
                                 if isinstance(pid, str)])
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:  # a failed COMMIT (disk full) has rolled back already
            db.execute("ROLLBACK")
        raise


def _row(summary: dict, st: os.stat_result | None) -> tuple:
    corrupt = bool(summary.get("corrupt"))
    status = shown_status(summary)
    last = summary.get("last_accessed")
    racy = st is None or st.st_mtime_ns > time.time_ns() - RACY_WINDOW_NS
    return (summary["id"], last or summary.get("created_at") or "", last, summary.get("phase"),
            status, int(corrupt), summary.get("git_branch"), summary.get("parent_session_id"),
            "," + ",".join(summary.get("tools") or []) + ",",
            st.st_ino if st else 0, UNVERIFIED if racy else st.st_mtime_ns,
            st.st_size if st else 0, orjson.dumps(summary), summary.get("name") or None)


def _count(db: sqlite3.Connection, meta: dict | None = None) -> int:
    """The row count the triggers keep (COUNTED); counted and recorded again when the
    value is missing (a damaged meta table)."""
    if meta is None:
        meta = dict(db.execute("SELECT key, value FROM meta WHERE key = 'rows'").fetchall())
    if isinstance(meta.get("rows"), int):
        return meta["rows"]
    count = db.execute("SELECT count(*) FROM s").fetchone()[0]
    db.execute("INSERT OR REPLACE INTO meta VALUES ('rows', ?)", (count,))
    return count


def _run(db: sqlite3.Connection, script: str) -> None:
    """Each statement of `script` inside the caller's transaction (executescript would
    commit it)."""
    for stmt in script.split(";\n"):
        if stmt.strip():
            db.execute(stmt)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
