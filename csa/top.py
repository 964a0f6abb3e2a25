"""The rows of `csa top`: the project's session tree, running trees first, as plain data.

    >>> rows = snapshot(Store.open(), filter_text="parser")
    >>> [(r.label, r.state, r.cost) for r in rows]

Read from the summary index (csa.summaries) and only for the newest MAX_TREES trees (plus
any session running in an older tree), so a refresh stays well under a second with 10,000
sessions; the transcript is opened only for running sessions (its last event); working or
stalled is the listing's probe of the heartbeat against `stall_after` (csa.liveness).
The Textual screen is csa.top_app.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime

from csa.status_line import elapsed

COLUMNS = ("SESSION", "TOOL", "STATE", "ELAPSED", "TURNS", "TOKENS", "COST", "LAST EVENT")
MAX_TREES = 60  # a screenful and more; 10,000 sessions refresh in well under a second
STATES = {"active": "done", "available": "done", "retired": "done", "finished": "done",
          "failed": "failed", "timeout": "failed", "interrupted": "failed", "died": "died",
          "corrupt": "corrupt"}


@dataclass
class TopRow:
    id: str
    label: str  # tree drawing + short id + description
    tool: str
    state: str  # working, stalled, done, failed, died, corrupt
    elapsed: str
    turns: int
    tokens: str
    cost: str
    last_event: str

    def cells(self) -> tuple:
        return (self.label, self.tool, self.state, self.elapsed, self.turns, self.tokens,
                self.cost, self.last_event)


def _when(iso: str | None) -> float | None:
    try:
        return datetime.fromisoformat(str(iso).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _last_event(session) -> tuple[str, float | None]:
    """The transcript's last event, rendered short, and the file's mtime (heartbeat)."""
    import orjson

    from csa.catalogue import render, short
    from csa.safeio import open_stream

    path = session.transcript_path
    try:
        with open_stream(path) as fh:  # never a FIFO or a device (csa.safeio)
            size = os.fstat(fh.fileno()).st_size
            fh.seek(max(0, size - 8192))
            lines = fh.read().splitlines()
            mtime = os.fstat(fh.fileno()).st_mtime
    except OSError:
        return "-", None
    for raw in reversed(lines):
        try:
            text = render(orjson.loads(raw))
        except (orjson.JSONDecodeError, TypeError, AttributeError):
            continue
        if text:
            return short(text.split("\n")[0].split(" ", 1)[-1], 60), mtime
    return "-", mtime


def _row(store, r: dict, prefix: str, short: str, now: float) -> TopRow:
    from csa.cost import money, session_cost
    from csa.listing import status_of
    from csa.timeutil import ago

    status = status_of(r)
    created, last = _when(r.get("created_at")), _when(r.get("last_accessed"))
    usage = r.get("usage") or {}
    tokens = sum(sum(t.values()) for m in usage.values() for t in m.values())
    if status == "running":
        event, _mtime = _last_event(store.session(r["id"]))
        # the listing's probe of the lock and heartbeat, with the configured stall_after
        state = r.get("liveness") if r.get("liveness") in ("working", "stalled") else "working"
        took = now - (last or now)
    else:
        state = STATES.get(status, status)
        event = f"{state} {ago(r.get('last_accessed'))}"
        took = (last or 0) - (created or last or 0)
    desc = " ".join((r.get("description") or "").split())[:50]
    return TopRow(id=r["id"], label=f"{prefix}{short} {desc}", tool=r.get("last_tool") or "-",
                  state=state, elapsed=elapsed(max(0.0, took)), turns=r.get("turn_count", 0),
                  tokens=f"{tokens:,}" if tokens else "-",
                  cost=money(session_cost(usage)) if usage else "-", last_event=event)


def snapshot(store, filter_text: str = "", max_trees: int = MAX_TREES) -> list[TopRow]:
    """The rows to show: trees with a running session first, then the newest; a filter
    keeps the rows whose id, tool, state or description contains it (case-insensitive)."""
    from csa.cli.session import tree_prefixes
    from csa.genealogy import build_tree
    from csa.listing import list_sessions, short_ids

    rows, known = list_sessions(store, tree=True, limit=max_trees)
    # A session running in a tree older than the newest `max_trees` is shown all the same,
    # on its own line (its tree is not): running sessions come first.
    shown = {r["id"] for r in rows}
    running, _ = list_sessions(store, status="running")
    rows += [r for r in running if r["id"] not in shown]
    known |= {r["id"] for r in running} | {r["parent_session_id"] for r in running
                                           if r.get("parent_session_id")}
    ordered = build_tree(rows, known)
    prefixes = tree_prefixes(ordered)
    short = short_ids(known)
    now = time.time()
    trees: list[list[TopRow]] = []
    for i, (r, level, _orphan) in enumerate(ordered):
        row = _row(store, r, prefixes[i] if level else "", short.get(r["id"], r["id"]), now)
        if level == 0 or not trees:
            trees.append([])
        trees[-1].append(row)
    trees.sort(key=lambda t: not any(x.state in ("working", "stalled") for x in t))  # stable
    out = [row for tree in trees for row in tree]
    if filter_text:
        needle = filter_text.lower()
        out = [x for x in out if needle in f"{x.id} {x.label} {x.tool} {x.state}".lower()]
    return out


def as_text(rows: list[TopRow]) -> str:
    """The rows as an aligned text table (tests' snapshot, `csa top --once`)."""
    from csa.cli.output import table

    return table(COLUMNS, [r.cells() for r in rows])
