"""`csa session list`: gather summaries (one project or all), filter, sort, shorten ids.

    >>> rows = list_sessions(Store.open(), tools=["codex"], since="2d", limit=20)
    >>> short_ids([r["id"] for r in rows])      # one unique display width, >= 10 chars
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from csa.errors import UsageError
from csa.store import Store, iter_project_dirs
from csa.summaries import SHOWN_RUN_STATUSES, shown_status
from csa.timeutil import parse_since

KNOWN_BY_LOOKUP = 200  # above this many rows, reading every id is cheaper than lookups


def statuses() -> tuple[str, ...]:
    """What --status accepts: a phase, a run status or corrupt."""
    return (*_phases(), *SHOWN_RUN_STATUSES, "corrupt")


def _phases() -> tuple[str, ...]:
    # Imported for --status only: a plain listing reads index rows, never a SessionState.
    from csa.state import PHASES

    return PHASES


def status_of(row: dict) -> str:
    """What a listing shows: corrupt, running, died, failed, timeout, interrupted, or the phase."""
    return shown_status(row)


def list_sessions(store: Store, *, tools: Iterable[str] = (), branch: str | None = None,
                  status: str | None = None, since: str | None = None, limit: int | None = None,
                  all_projects: bool = False, tree: bool = False,
                  ) -> tuple[list[dict], set[str]]:
    """(rows newest first, the ids short ids and orphan marks must know about).

    Rows are summary dicts (see SessionState.summary) plus `status`, for a running
    row `liveness`, `last_output_at` and `idle_s` (csa.liveness), and, with
    `all_projects`, `project`. Corrupt sessions are kept (never hidden by a filter
    other than --status) so a broken file is noticed. With `tree`, `limit` counts
    trees: the rows of the first `limit` trees of the tree view.
    """
    if status is not None and status not in statuses():
        raise UsageError(f"invalid --status {status!r}: choose from {', '.join(statuses())}")
    if limit is not None and limit < 0:
        raise UsageError("--limit must be 0 or more")
    cutoff = parse_since(since) if since else None
    wanted_tools = {t for t in tools if t}
    where, params = _where(wanted_tools, branch, status, cutoff)
    # running/died depend on the lock, not on the row: filter those after the live view.
    exact = status not in ("running", "died")
    stores = [store]
    if all_projects:
        stores = [Store.for_project_dir(store.base, d, root)
                  for d, root in iter_project_dirs(store.base)]
    rows: list[dict] = []
    known: set[str] = set()
    # An unfiltered, unlimited listing holds every id already (no lookups for short ids).
    complete = where == _where(set(), None, None, None)[0] and limit is None
    for st in stores:
        if tree and limit is not None and exact:
            got = st.index.tree_rows(where, params, limit)
        else:
            got = st.index.query(where, params, limit=limit if exact and not tree else None)
        stall: float | None = None
        for row in st.live(got):
            row["status"] = status_of(row)
            if row["status"] == "running":
                if stall is None:
                    stall = _stall_after(st)
                add_liveness(st, row, stall)
            if all_projects:
                row["project"] = str(st.root)
        rows += got
        known |= {r["id"] for r in got} if complete else _known(st, got)
    if not exact:  # the SQL filter is exact otherwise
        rows = [r for r in rows if _keep(r, wanted_tools, branch, status, cutoff)]
    if len(stores) > 1:  # one store's rows come sorted by the index
        rows.sort(key=lambda r: (r.get("last_accessed") or r.get("created_at") or "", r["id"]),
                  reverse=True)
    if limit is not None:
        rows = _first_trees(rows, known, limit) if tree else rows[:limit]
    return rows, known


def _stall_after(store: Store) -> float:
    from csa.config import load_config
    from csa.errors import CsaError
    from csa.liveness import STALL_AFTER_S, stall_after

    try:
        return stall_after(load_config(store.root))
    except CsaError:  # a broken config is reported by the commands that need it
        return STALL_AFTER_S


def add_liveness(store: Store, row: dict, stall_after: float) -> None:
    """A running row's `liveness` (working | stalled | dead), `last_output_at`, `idle_s`."""
    from csa.liveness import probe

    live = probe(store.session(row["id"]), stall_after).to_json()
    row["liveness"] = live["state"]
    row["last_output_at"] = live["last_output_at"]
    row["idle_s"] = live["idle_s"]


def status_cell(row: dict) -> str:
    """The STATUS column: a running row says whether its tool is working or stalled."""
    if row.get("status") == "running" and row.get("liveness") in ("working", "stalled"):
        if row["liveness"] == "stalled":
            from csa.status_line import elapsed

            return f"running (stalled {elapsed(row.get('idle_s') or 0)})"
        return "running (working)"
    return row.get("status", "")


def _where(tools: set[str], branch: str | None, status: str | None,
           cutoff: datetime | None) -> tuple[str, tuple]:
    """The SQL filter (csa.summaries template on alias `{a}`) _keep applies in Python."""
    if status == "corrupt":
        return "{a}.corrupt = 1", ()
    terms, params = ["{a}.corrupt = 0"], []
    if status is not None and status in _phases():
        terms.append("{a}.phase = ?")
        params.append(status)
    elif status in ("running", "died"):  # the lock decides: filtered again after the live view
        terms.append("{a}.status IN ('running', 'died')")
    elif status is not None:
        terms.append("{a}.status = ?")
        params.append(status)
    if tools:
        terms.append("(" + " OR ".join("instr({a}.tools, ?) > 0" for _ in tools) + ")")
        params += [f",{t}," for t in sorted(tools)]
    if branch is not None:
        terms.append("{a}.branch = ?")
        params.append(branch)
    if cutoff is not None:  # timestamps are stored to the millisecond: round up to one
        from csa.state import iso_ms

        terms.append("{a}.last_accessed >= ?")
        params.append(iso_ms(cutoff + timedelta(microseconds=-cutoff.microsecond % 1000)))
    where = " AND ".join(terms)
    return (f"({where}) OR {{a}}.corrupt = 1" if status is None else where), tuple(params)


def _known(store: Store, rows: list[dict]) -> set[str]:
    """Ids of `rows`, their neighbours in id order (unique short ids) and their
    parents that exist (orphan marks); every id when the listing is large."""
    got = {r["id"] for r in rows}
    if not got:
        return got
    if len(got) > KNOWN_BY_LOOKUP:
        return got | store.index.all_ids()
    parents = {r["parent_session_id"] for r in rows if r.get("parent_session_id")}
    return got | store.index.neighbours(got) | store.index.existing(parents - got)


def _first_trees(rows: list[dict], known: set[str], n: int) -> list[dict]:
    from csa.genealogy import build_tree

    keep: set[str] = set()
    trees = 0
    for row, level, _orphan in build_tree(rows, known):
        if level == 0:
            trees += 1
            if trees > n:
                break
        keep.add(row["id"])
    return [r for r in rows if r["id"] in keep]


def _keep(r: dict, tools: set[str], branch: str | None, status: str | None,
          cutoff: datetime | None) -> bool:
    if status is not None and r["status"] != status and not (
            status in _phases() and r.get("phase") == status and r["status"] != "corrupt"):
        return False
    if r.get("corrupt"):
        return status in (None, "corrupt")
    if tools and not tools.intersection(r.get("tools") or []):
        return False
    if branch is not None and r.get("git_branch") != branch:
        return False
    if cutoff is not None:
        last = r.get("last_accessed")
        if not last or datetime.fromisoformat(last.replace("Z", "+00:00")) < cutoff.astimezone(UTC):
            return False
    return True


SHORT_ID = 10  # a ULID's first 10 characters are its millisecond timestamp


def short_ids(all_ids: Iterable[str], minimum: int = SHORT_ID) -> dict[str, str]:
    """One display width for every id of a listing: the shortest prefix length (at least
    `minimum`) that keeps each id unique among `all_ids`, so columns line up and every
    command shows the same id the same way.

        >>> short_ids(["01JH4QWERT1234567890ABCDEF", "01JH4R2ZAB1234567890ABCDEF"])
        {'01JH4QWERT1234567890ABCDEF': '01JH4QWERT', '01JH4R2ZAB1234567890ABCDEF': '01JH4R2ZAB'}
    """
    ordered = sorted(set(all_ids))
    width = minimum
    for a, b in zip(ordered, ordered[1:], strict=False):
        # neighbours in sorted order share the longest prefixes; widen while this pair's
        # prefixes still agree (slices compare in C: 10,000 ids took 30 ms char by char)
        while a[:width] == b[:width]:
            width += 1
    return {sid: sid[:width] for sid in ordered}
