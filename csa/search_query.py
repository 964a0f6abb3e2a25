"""Answering a search: one hit per session, best match first (or newest first for a word
in most of the corpus), with the session's type and the conversation it continues.

    >>> hits = search_store(store, "flaky test", kinds=["chat"], since="2026-11-01T00:00:00.000Z")
    >>> hits = find(index.conns, "flaky test", Filters(project="/src/app", kinds=["chat"]), 10)
    >>> hits[0]["session_id"], hits[0]["session_type"], hits[0]["snippet"]

A session matches through many rows (its prompt, the tool's echo, its answer, the turn's
end, its description); it is shown once, with its best-ranked (or newest) matching row.
Ranking reads the matches in bm25 order and keeps each session's first. Newest first
walks matches down by rowid and, once a session is seen, jumps below the rowid range its
rows were inserted in (`spans`), so a word in a million rows of a few sessions costs a
few steps per session, not one per row.

An index of several files (shards, csa.search) is asked file by file: each answers
with up to `limit` sessions (a session lives in one file), merged by score or by rowid
(rows are numbered across files, oldest session first). bm25 weighs a word by how rare
it is in its own file: shards of about equal bytes of whole sessions give close but not
identical scores to one table's.
"""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

RANK_BUDGET_S = 0.04  # ranking gives up after this and answers newest first
RANK_MAX_MATCHES = 3000  # a word in more rows than this: newest first (rankable)
JUMP_ROWS = 64  # restart the newest-first walk below a span when that skips more rows
SNIPPET = "snippet(events, 5, '[', ']', '…', 16)"


@dataclass
class Filters:
    project: str | None = None      # None: every project
    kinds: list[str] | None = None  # session types (csa.search_meta.KINDS)
    tool: str | None = None
    event_types: list[str] | None = None
    since: str | None = None        # ISO times, compared with each row's ts
    until: str | None = None

    def rows(self) -> tuple[list[str], list]:
        """SQL conditions on the rows themselves, and their arguments."""
        where, args = [], []
        if self.tool:
            where.append("tool = ?")
            args.append(self.tool)
        if self.event_types:
            where.append(f"type IN ({','.join('?' * len(self.event_types))})")
            args += self.event_types
        if self.since:
            where.append("ts >= ?")
            args.append(self.since)
        if self.until:
            where.append("ts <= ?")
            args.append(self.until)
        return where, args


def search_store(store, query: str, *, all_projects: bool = False, tool: str | None = None,
                 kinds: list[str] | None = None, event_types: list[str] | None = None,
                 since: str | None = None, until: str | None = None,
                 limit: int = 20) -> list[dict]:
    """One hit per session, best first; sessions deleted since they were indexed are
    dropped (and forgotten). `kinds`: session types; `since`/`until`: ISO times.

        >>> search_store(store, "flaky", kinds=["imported"], since="2024-01-01T00:00:00.000Z")
    """
    from csa.errors import disk_full, is_disk_full
    from csa.search import Index, index_path
    from csa.store import Store

    try:
        idx = Index(store.base)
    except (sqlite3.OperationalError, OSError) as e:
        if is_disk_full(e):
            raise disk_full("the search index", index_path(store.base)) from e
        raise
    try:
        if not idx.rebuilt:
            _catch_up(idx, store, all_projects)
        filters = Filters(project=None if all_projects else str(store.root), kinds=kinds,
                          tool=tool, event_types=event_types, since=since, until=until)
        hits = find(idx.conns, query, filters, limit)
        gone = sorted({h["session_id"] for h in hits
                       if not Store(store.base, Path(h["project"])).session(h["session_id"])
                       .exists()})
        if gone:
            idx.forget(gone)
            hits = [h for h in hits if h["session_id"] not in gone]
        return hits
    except (sqlite3.OperationalError, OSError) as e:
        if is_disk_full(e):
            raise disk_full("the search index", idx.path) from e
        raise
    finally:
        idx.close()


def _catch_up(idx, store, all_projects: bool) -> None:
    """Index sessions changed outside csa run (imports, restores) before searching."""
    from csa.store import Store, iter_project_dirs

    stores = [store]
    if all_projects:
        stores = [Store.for_project_dir(store.base, d, r)
                  for d, r in iter_project_dirs(store.base)]
    known = {sid: offset for conn in idx.conns
             for sid, offset in conn.execute("SELECT id, indexed_offset FROM sessions")}
    for st in stores:
        for session in st.sessions():
            if known.get(session.id) != session.transcript_size():
                idx.update_session(session)


def find(conns: list[sqlite3.Connection] | sqlite3.Connection, query: str, filters: Filters,
         limit: int) -> list[dict]:
    """Up to `limit` hits, one per session, from the index's files (see the module doc)."""
    if limit <= 0:
        return []
    conns = [conns] if isinstance(conns, sqlite3.Connection) else conns
    sessions = [_Sessions(conn, filters) for conn in conns]
    for q in (query, quote_terms(query)):
        try:
            ranked = rankable(conns, q)
            chosen = _ranked_all(conns, q, filters, sessions, limit) if ranked else None
            if chosen is None:
                ranked = False
                chosen = [(k, sess, rowid, 0.0) for k, conn in enumerate(conns)
                          for sess, (rowid, _) in
                          _newest(conn, q, filters, sessions[k], limit).items()]
                chosen.sort(key=lambda c: -c[2])
            return [_hit(conns[k], q, sessions[k], sess, rowid, score, ranked)
                    for k, sess, rowid, score in chosen[:limit]]
        except sqlite3.OperationalError as e:
            if "interrupt" in str(e):
                raise
            continue
    return []


def _ranked_all(conns, q: str, filters: Filters, sessions: list, limit: int) -> list | None:
    """(file, session, rowid, score) of the best rows by bm25, or None past
    RANK_BUDGET_S (one budget for all the files)."""
    deadline = time.monotonic() + RANK_BUDGET_S
    chosen = []
    for k, conn in enumerate(conns):
        mine = _ranked(conn, q, filters, sessions[k], limit, deadline)
        if mine is None:
            return None
        chosen += [(k, sess, rowid, score) for sess, (rowid, score) in mine.items()]
    chosen.sort(key=lambda c: c[3])
    return chosen


class _Sessions:
    """Session rows by rowid, read once each, and whether they pass the filters."""

    def __init__(self, conn: sqlite3.Connection, filters: Filters):
        self.conn, self.filters, self.rows = conn, filters, {}

    def get(self, sess: int) -> tuple | None:
        if sess not in self.rows:
            self.rows[sess] = self.conn.execute(
                "SELECT id, project, kind, continued_from FROM sessions WHERE rowid=?",
                (sess,)).fetchone()
        return self.rows[sess]

    def wanted(self, sess: int) -> bool:
        row, f = self.get(sess), self.filters
        return row is not None and (f.project is None or row[1] == f.project) \
            and (not f.kinds or row[2] in f.kinds)


def _where(filters: Filters) -> tuple[str, list]:
    conds, args = filters.rows()
    return " AND ".join(["events MATCH ?", *conds]), args


def _ranked(conn, q: str, filters: Filters, sessions: _Sessions, limit: int,
            deadline: float) -> dict | None:
    """Each wanted session's best row by bm25, or None past `deadline`."""
    where, args = _where(filters)
    chosen: dict[int, tuple[int, float]] = {}
    conn.set_progress_handler(lambda: time.monotonic() > deadline, 20_000)
    try:
        for rowid, sess, score in conn.execute(
                f"SELECT rowid, sess, bm25(events) AS score FROM events WHERE {where} "
                "ORDER BY score", [q, *args]):
            if sess not in chosen and sessions.wanted(sess):
                chosen[sess] = (rowid, score)
                if len(chosen) >= limit:
                    break
        return chosen
    except sqlite3.OperationalError as e:
        if "interrupt" in str(e):
            return None
        raise
    finally:
        conn.set_progress_handler(None, 0)


def _newest(conn, q: str, filters: Filters, sessions: _Sessions, limit: int) -> dict:
    """The newest matching row of the newest matching sessions."""
    where, args = _where(filters)
    sql = f"SELECT rowid, sess FROM events WHERE {where} AND rowid < ? ORDER BY rowid DESC"
    chosen: dict[int, tuple[int, float]] = {}
    done: set[int] = set()
    bound = 2**63 - 1
    while len(chosen) < limit:
        restart = None
        for rowid, sess in conn.execute(sql, [q, *args, bound]):
            if sess in done:
                continue
            done.add(sess)
            if sessions.wanted(sess):
                chosen[sess] = (rowid, 0.0)
                if len(chosen) >= limit:
                    return chosen
            lo = conn.execute("SELECT min(lo) FROM spans WHERE sess=? AND lo<=? AND hi>=?",
                              (sess, rowid, rowid)).fetchone()[0]
            if lo is not None and rowid - lo > JUMP_ROWS:
                restart = lo
                break
        if restart is None:
            return chosen
        bound = restart
    return chosen


def _hit(conn, q: str, sessions: _Sessions, sess: int, rowid: int, score: float,
         ranked: bool) -> dict:
    sid, project, kind, link = sessions.get(sess)
    tool, type_, ts, seq, snippet = conn.execute(
        f"SELECT tool, type, ts, seq, {SNIPPET} FROM events WHERE events MATCH ? "
        "AND rowid = ?", (q, rowid)).fetchone()
    return {"session_id": sid, "project": project, "session_type": kind, "tool": tool,
            "type": type_, "ts": ts, "seq": seq, "snippet": snippet,
            "score": round(-score, 4), "ranked": ranked,
            "continued_from": orjson.loads(link) if link else None}


def rankable(conns: list[sqlite3.Connection], query: str) -> bool:
    """False when a word of `query` occurs in more than RANK_MAX_MATCHES rows of all the
    files together (a look at the newest matches only: well under a millisecond)."""
    for word in list(dict.fromkeys(re.findall(r"\w+", query.lower())))[:8]:
        left = RANK_MAX_MATCHES
        for conn in conns:
            try:
                found = conn.execute("SELECT count(*) FROM (SELECT rowid FROM events WHERE "
                                     "events MATCH ? ORDER BY rowid DESC LIMIT ?)",
                                     (f'"{word}"', left + 1)).fetchone()[0]
            except sqlite3.OperationalError:
                return True  # the query itself will say what is wrong with it
            if found > left:
                return False
            left -= found
    return True


def quote_terms(query: str) -> str:
    """Any user text as a safe FTS5 query: every word quoted, all required."""
    words = re.findall(r"\w+", query)
    return " ".join(f'"{w}"' for w in words) or '""'
