"""Deleting means gone: what csa keeps of a removed session besides its directory.

    >>> store.delete(session)                  # calls forget_sessions(store, [session.id])
    >>> forget_sessions(store, removed_ids)    # clean and gc: once for the whole batch
    {'index_rows': 5813, 'checkpoints': 12, 'errors': []}

`delete`, `clean`, `gc` (orphan dirs) and budget eviction call this after removing the
session's files. It removes the sessions' search-index rows (secure deletion, the FTS
index merged and free pages returned, csa.search), their checkpoint refs with every
object only they reached (csa.checkpoint_refs) and their summary-index rows. With
`transcript_only` (budget eviction: the session stays, its transcript went) only the
transcript's index rows go. Only the events log keeps the id and the fact of the
removal. Archives are made only when asked (`clean --archive DIR`) and are the user's.

Batch callers pass all ids at once: one index transaction and one git prune per command.
"""

from __future__ import annotations

from csa.store import Store


def forget_sessions(store: Store, sids: list[str], *, transcript_only: bool = False) -> dict:
    """Forget the sessions everywhere but the events log; never raises for a cache problem
    (what failed is listed in `errors`, and the next delete, clean or scrub retries)."""
    import sqlite3

    report: dict = {"index_rows": 0, "checkpoints": 0, "errors": []}
    if not sids:
        return report
    from csa.search import forget_sessions as forget_rows

    try:
        report["index_rows"] = forget_rows(store.base, sids, transcript_only=transcript_only)
    except (sqlite3.Error, OSError) as e:
        report["errors"].append(f"search index: {e}")
    if transcript_only:
        return report
    store.drop_cached(sids)
    from csa.checkpoint import forget_sessions as forget_refs
    from csa.errors import CsaError

    try:
        report["checkpoints"] = len(forget_refs(store, sids))
    except (CsaError, OSError, ImportError) as e:
        report["errors"].append(f"checkpoints: {e}")
    except Exception as e:  # noqa: BLE001 - git.GitCommandError, without importing git here
        report["errors"].append(f"checkpoints: {' '.join(str(e).split())}")
    return report
