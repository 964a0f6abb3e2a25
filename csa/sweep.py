"""`csa sweep [--all-projects]`: the one scheduled entry point (seed 004): import the AI
tools' own transcripts, digest every session that needs it, then `csa gc` (stale locks,
orphans, the events prune, and retention: csa.retention).

    >>> summary = sweep(Store.open(), all_projects=True)
    >>> summary["ok"], summary["projects"][0]["digested"]
    (True, 3)

Import sources come from config `sweep.import` (default: every tool with an importer; `[]`
for none). A source whose store does not exist is simply empty. Digesting first means
that retention finds every finished session analyzed, so its overflow path (the only one
that may lose data) is reached only when analysis cannot keep up. `ok` is False when a
project's retention budget cannot be met (the CLI exits 1).
"""

from __future__ import annotations

import os

from csa.store import Store

SOURCES = ("claude", "codex", "gemini", "opencode")
STALE_S = 1.0  # a transcript written this long after its digest: digest again


def sweep(store: Store, *, all_projects: bool = False, dry_run: bool = False) -> dict:
    """Import, digest, collect (module doc); returns the summary (`--json`)."""
    from csa.config import load_config

    summary: dict = {"dry_run": dry_run, "imported": {}, "projects": [], "ok": True}
    for source in sources(load_config(store.root)):
        summary["imported"][source] = _import(store, source, all_projects, dry_run)
    for proj in _projects(store, all_projects):
        one = _project(proj, dry_run)
        summary["projects"].append(one)
        summary["ok"] = summary["ok"] and one["met"]
    return summary


def sources(cfg) -> list[str]:
    from csa.errors import UsageError

    wanted = cfg.get("sweep.import", list(SOURCES))
    bad = [s for s in wanted if s not in SOURCES]
    if bad:
        raise UsageError(f"config sweep.import: unknown source {bad[0]!r}; "
                         f"use some of: {', '.join(SOURCES)}")
    return list(wanted)


def _import(store: Store, source: str, all_projects: bool, dry_run: bool) -> dict:
    from csa.importers import import_sessions

    rep = import_sessions(source, cd=None if all_projects else str(store.root),
                          all_projects=all_projects, dry_run=dry_run)
    return {"created": rep.created, "updated": rep.updated, "events": rep.events,
            "problems": len(rep.problems)}


def _projects(store: Store, all_projects: bool):
    if not all_projects:
        yield store
        return
    from csa.store import iter_project_dirs

    for project_dir, root in iter_project_dirs(store.base):
        yield Store.for_project_dir(store.base, project_dir, root)


def _project(store: Store, dry_run: bool) -> dict:
    from csa.gc import collect

    digested = digest_pending(store, dry_run=dry_run)
    rep = collect(store, dry_run=dry_run)
    budget = rep.budget or {}
    if not dry_run:
        from csa import events

        events.emit(store, "sweep", digested=len(digested),
                    evicted=len(budget.get("evicted", [])),
                    data_loss=len(budget.get("data_loss", [])), met=budget.get("met", True))
    return {"project": str(store.root), "digested": len(digested),
            "evicted": len(budget.get("evicted", [])),
            "data_loss": [e["id"] for e in budget.get("data_loss", [])],
            "bytes_before": budget.get("before"), "bytes_after": budget.get("after"),
            "max_bytes": budget.get("max_bytes") or None, "met": budget.get("met", True),
            "stale_locks": len(rep.stale_locks), "orphan_dirs": len(rep.orphan_dirs),
            "retired": len(rep.retired)}


def digest_pending(store: Store, *, dry_run: bool = False) -> list[str]:
    """Digest (again) every session whose transcript has no digest or is newer than it;
    live sessions are left for the next sweep. Returns their ids."""
    done = []
    for session in store.sessions():
        if not _needs_digest(session):
            continue
        if dry_run:
            done.append(session.id)
            continue
        with session.try_lock(reason="digest") as lock:
            if lock is None:
                continue
            _digest(session)
            done.append(session.id)
    return done


def _needs_digest(session) -> bool:
    from csa.catalogue import is_eviction_stub
    from csa.errors import CsaError

    try:
        mtime = os.stat(session.transcript_path).st_mtime
        state = session.read_state()
    except (OSError, CsaError):
        return False  # no transcript, or a corrupt state: nothing a digest could fix
    if "evicted" in state.extra or is_eviction_stub(session.transcript_path):
        return False
    digest = state.extra.get("digest")
    if not isinstance(digest, dict):
        return True
    from csa.importers.base import parse_ts

    at = parse_ts(digest.get("analyzed_at"))
    return at is not None and mtime > at.timestamp() + STALE_S


def _digest(session) -> None:
    from csa.digest import digest_events

    state = session.read_state()
    old = state.extra.get("digest") if isinstance(state.extra.get("digest"), dict) else {}
    new = digest_events(session.read_transcript())
    for key in ("source", "cost_source", "outcome") if old.get("source") == "import" else ():
        if key in old:  # an import's outcome guess and cost are the importer's
            new[key] = old[key]
    if old.get("source") == "import" and "cost_usd" in old:
        new["cost_usd"] = old["cost_usd"]
    state.extra["digest"] = new
    session.save(state)
