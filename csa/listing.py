"""`csa session list`: gather summaries (one project or all), filter, sort, shorten ids.

    >>> rows = list_sessions(Store.open(), tools=["codex"], since="2d", limit=20)
    >>> short_ids([r["id"] for r in rows])      # unique display prefixes, >= 8 chars
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from csa.errors import UsageError
from csa.state import PHASES
from csa.store import Store, iter_project_dirs
from csa.timeutil import parse_since

STATUSES = (*PHASES, "running", "died", "corrupt")


def status_of(row: dict) -> str:
    """What a listing shows: corrupt, running, died, or the phase."""
    if row.get("corrupt"):
        return "corrupt"
    if row.get("run_status") in ("running", "died"):
        return row["run_status"]
    return row.get("phase") or "active"


def list_sessions(store: Store, *, tools: Iterable[str] = (), branch: str | None = None,
                  status: str | None = None, since: str | None = None, limit: int | None = None,
                  all_projects: bool = False) -> tuple[list[dict], set[str]]:
    """(rows newest first, every session id seen before filtering).

    Rows are summary dicts (see SessionState.summary) plus `status` and, with
    `all_projects`, `project`. Corrupt sessions are kept (never hidden by a filter
    other than --status) so a broken file is noticed.
    """
    if status is not None and status not in STATUSES:
        raise UsageError(f"invalid --status {status!r}: choose from {', '.join(STATUSES)}")
    if limit is not None and limit < 0:
        raise UsageError("--limit must be 0 or more")
    cutoff = parse_since(since) if since else None
    wanted_tools = {t for t in tools if t}
    stores = [store]
    if all_projects:
        stores = [Store.for_project_dir(store.base, d, root)
                  for d, root in iter_project_dirs(store.base)]
    rows: list[dict] = []
    known: set[str] = set()
    for st in stores:
        for row in st.summaries():
            known.add(row["id"])
            row["status"] = status_of(row)
            if all_projects:
                row["project"] = str(st.root)
            rows.append(row)
    rows = [r for r in rows if _keep(r, wanted_tools, branch, status, cutoff)]
    rows.sort(key=lambda r: (r.get("last_accessed") or r.get("created_at") or "", r["id"]),
              reverse=True)
    if limit is not None:
        rows = rows[:limit]
    return rows, known


def _keep(r: dict, tools: set[str], branch: str | None, status: str | None,
          cutoff: datetime | None) -> bool:
    if status is not None and r["status"] != status and not (
            status in PHASES and r.get("phase") == status and r["status"] != "corrupt"):
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


def short_ids(all_ids: Iterable[str], minimum: int = 8) -> dict[str, str]:
    """Shortest prefix of each id that is unique among `all_ids`, at least `minimum` long."""
    ordered = sorted(set(all_ids))
    out: dict[str, str] = {}
    for i, sid in enumerate(ordered):
        need = minimum
        head = sid[:minimum]
        for j in (i - 1, i + 1):
            if 0 <= j < len(ordered):
                other = ordered[j]
                if other[:minimum] != head:
                    continue  # they differ within the minimum: nothing more needed
                k = minimum
                while k < len(sid) and sid[k] == other[k]:
                    k += 1
                need = max(need, k + 1)
        out[sid] = sid[:need]
    return out
