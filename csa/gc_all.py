"""`clean` and `gc` over every project under the state base (`--all-projects`).

    >>> report = every_project(Store.open(), clean, days=30)     # one Report for all
    >>> report = every_project(Store.open(), collect, dry_run=True)

Each project is cleaned on its own (its own gc.lock, its own index); the reports are
merged, each entry naming its project. The systemd and cron recipes in contrib/ use
this so one timer keeps every project tidy.
"""

from __future__ import annotations

from collections.abc import Callable

from csa.gc import Report
from csa.store import Store, iter_project_dirs

LISTS = ("removed", "kept", "retired", "stale_locks", "orphan_dirs", "stale_temps")
COUNTED = ("before", "after", "skipped_undigested", "skipped_live")


def every_project(store: Store, fn: Callable[..., Report], *, only_this: bool = False,
                  **kw) -> Report:
    """fn(project store, **kw) for each project under `store.base`, merged (`only_this`:
    fn(store, **kw), the one project's report as it is); then the machine's leaked
    `--ephemeral` temp dirs are swept (csa.ephemeral), once."""
    from csa.ephemeral import sweep_leaked

    report = _each_project(store, fn, only_this=only_this, **kw)
    report.ephemeral_dirs = sweep_leaked(dry_run=bool(kw.get("dry_run")))
    return report


def _each_project(store: Store, fn: Callable[..., Report], *, only_this: bool,
                  **kw) -> Report:
    if only_this:
        return fn(store, **kw)
    merged = Report(dry_run=bool(kw.get("dry_run")))
    for project_dir, root in iter_project_dirs(store.base):
        one = fn(Store.for_project_dir(store.base, project_dir, root), **kw)
        merge(merged, one, str(root))
    return merged


def merge(into: Report, one: Report, project: str) -> None:
    """Add `one`'s entries to `into`; dict entries get `project`, names are prefixed."""
    for name in LISTS:
        for item in getattr(one, name):
            if isinstance(item, dict):
                item = {**item, "project": project}
            else:
                item = f"{project}: {item}"
            getattr(into, name).append(item)
    if one.archive_dir:
        into.archive_dir = one.archive_dir
    if one.budget is not None:  # --max-bytes applies to each project; the sums are shown
        b = into.budget if into.budget is not None else dict(one.budget, evicted=[],
                                                                data_loss=[])
        if into.budget is not None:
            for key in COUNTED:
                b[key] = b.get(key, 0) + one.budget.get(key, 0)
        for key in ("evicted", "data_loss"):
            b[key] = b.get(key, []) + [{**e, "project": project} for e in one.budget.get(key, [])]
        b["met"] = b.get("met", True) and one.budget.get("met", True)
        into.budget = b
