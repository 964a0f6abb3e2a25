"""Retention: how much raw transcript csa keeps, and the one rule it never breaks.

    >>> pol = policy(load_config(store.root), max_bytes="500M")   # flags win over config
    >>> report = enforce(store, pol)                              # (budget report, below)
    >>> report["met"], [e["id"] for e in report["data_loss"]]
    (True, [])

Three passes over the project's sessions, oldest `last_accessed` first (seed 004):
1. backstop: a transcript not accessed for more than `retention.raw_max_age_days` is
   evicted, after its digest is made if it had none;
2. budget: while the project is over `retention.max_bytes` (soft cap), transcripts of
   analyzed (digested) sessions are evicted; un-analyzed ones are never touched here;
3. overflow: still over `retention.hard_cap_bytes`: analyze now (digest every
   un-analyzed session, within `retention.analyze_max_s` seconds) and evict those while
   over the soft cap; if that is not enough, the oldest un-analyzed transcripts are
   evicted as a last resort, each reported as a `data_loss` event and in the report.
Raw bytes are never dropped before the session's digest exists, except in step 3's last
resort. Live sessions are never touched. A budget still not met at the end is reported
with `met: false` (the CLI exits non-zero): what is left is state, results, journals and
running sessions. Eviction itself (the stub, the lock, forgetting the search rows) is
csa.budget's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from csa.store import Store


@dataclass
class Policy:
    max_bytes: int | None = None        # soft cap (0/None: none)
    hard_cap_bytes: int | None = None   # overflow path above this
    raw_max_age_days: float | None = None
    analyze_max_s: float = 60.0

    @property
    def active(self) -> bool:
        return bool(self.max_bytes or self.hard_cap_bytes or self.raw_max_age_days)


def policy(cfg, *, max_bytes: str | None = None, hard_cap: str | None = None,
           max_age_days: float | None = None) -> Policy:
    """The project's `[retention]` config, with command-line values winning."""
    from csa.budget import parse_size

    return Policy(
        max_bytes=parse_size(max_bytes) if max_bytes else
        int(cfg.get("retention.max_bytes", 0) or 0) or None,
        hard_cap_bytes=parse_size(hard_cap) if hard_cap else
        int(cfg.get("retention.hard_cap_bytes", 0) or 0) or None,
        raw_max_age_days=max_age_days if max_age_days is not None else
        float(cfg.get("retention.raw_max_age_days", 0) or 0) or None,
        analyze_max_s=float(cfg.get("retention.analyze_max_s", 60.0)))


def enforce(store: Store, pol: Policy, *, dry_run: bool = False, force: bool = False,
            now: datetime | None = None) -> dict:
    """Run the three passes (module doc); returns the budget report."""
    from csa.budget import usage

    before = usage(store)
    run = _Pass(store, pol, dry_run=dry_run, force=force, total=before)
    report = run.report
    report.update(max_bytes=pol.max_bytes or pol.hard_cap_bytes or 0, before=before)
    if pol.raw_max_age_days:
        run.backstop((now or datetime.now(UTC)) - timedelta(days=pol.raw_max_age_days))
    if pol.max_bytes:
        run.budget(pol.max_bytes)
    if pol.hard_cap_bytes and run.total > pol.hard_cap_bytes:
        run.overflow(pol.hard_cap_bytes)
    report["after"] = run.total if dry_run else usage(store)
    report["met"] = all(report["after"] <= cap for cap in (pol.max_bytes, pol.hard_cap_bytes)
                        if cap)
    run.finish(before)
    return report


class _Pass:
    """The sessions' rows (oldest first) and the running total while evicting."""

    def __init__(self, store: Store, pol: Policy, *, dry_run: bool, force: bool, total: int):
        self.store, self.pol, self.dry_run, self.force, self.total = \
            store, pol, dry_run, force, total
        rows = [r for r in store.summaries(reconcile=False, write_cache=not dry_run)
                if not r.get("corrupt")]
        rows.sort(key=lambda r: (r.get("last_accessed") or "", r["id"]))
        self.rows = rows
        self.done: set[str] = set()
        self.skipped: dict[str, set[str]] = {"live": set(), "undigested": set()}
        self.report: dict = {"max_bytes": 0, "hard_cap_bytes": pol.hard_cap_bytes,
                             "before": total, "after": total, "evicted": [], "data_loss": [],
                             "analyzed": [], "skipped_undigested": 0, "skipped_live": 0,
                             "dry_run": dry_run, "met": True}

    def backstop(self, cutoff: datetime) -> None:
        limit = cutoff.isoformat().replace("+00:00", "Z")
        for r in self.rows:
            if (r.get("last_accessed") or "") < limit:
                self._one(r, mode="analyze", why="raw_max_age_days")

    def budget(self, cap: int, *, analyze: bool = False) -> None:
        for r in self.rows:
            if self.total <= cap:
                return
            self._one(r, mode="analyze" if analyze or self.force else "digested",
                      why="max_bytes")

    def overflow(self, cap: int) -> None:
        self.report["overflow"] = True
        if self.pol.analyze_max_s > 0:  # analyze now, then evict as the budget pass does
            self.deadline = time.monotonic() + self.pol.analyze_max_s
            self.budget(min(cap, self.pol.max_bytes or cap), analyze=True)
        for r in self.rows:  # last resort: un-analyzed transcripts go, reported
            if self.total <= cap:
                return
            self._one(r, mode="loss", why="hard_cap_bytes")

    deadline: float | None = None  # analyze-now stops here (retention.analyze_max_s)

    def _one(self, r: dict, *, mode: str, why: str) -> None:
        from csa.budget import evict_one

        if r["id"] in self.done:
            return
        if mode == "analyze" and self.deadline is not None and time.monotonic() > self.deadline:
            mode = "digested"
        entry = evict_one(self.store.session(r["id"]), mode=mode, dry_run=self.dry_run)
        if entry is None:
            return
        status = entry.pop("status")
        if status in ("live", "undigested"):  # counted once, though several passes see it
            self.skipped[status].add(r["id"])
            self._count_skipped()
            return
        self.done.add(r["id"])
        self.skipped["undigested"].discard(r["id"])  # analyzed now and evicted after all
        self._count_skipped()
        entry.update(last_accessed=r.get("last_accessed"), reason=why)
        self.total -= entry["bytes"]
        if entry.pop("analyzed_now", False):
            self.report["analyzed"].append(r["id"])
        (self.report["data_loss"] if status == "lost" else self.report["evicted"]).append(entry)

    def _count_skipped(self) -> None:
        self.report["skipped_live"] = len(self.skipped["live"])
        self.report["skipped_undigested"] = len(self.skipped["undigested"])

    def finish(self, before: int) -> None:
        rep = self.report
        gone = rep["evicted"] + rep["data_loss"]
        if self.dry_run or not gone:
            return
        from csa import events
        from csa.forget import forget_sessions

        forget_sessions(self.store, [e["id"] for e in gone], transcript_only=True)
        for e in rep["data_loss"]:
            events.emit(self.store, "data_loss", session_id=e["id"], bytes=e["bytes"],
                        reason="over retention.hard_cap_bytes: transcript evicted before "
                               "its digest could be made")
        events.emit(self.store, "gc", evicted=len(gone), data_loss=len(rep["data_loss"]),
                    bytes=before - rep["after"])
