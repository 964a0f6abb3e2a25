"""Budget retention: `csa gc --max-bytes SIZE` evicts transcripts, oldest digested first.

    >>> enforce_budget(store, parse_size("500M"), dry_run=True)["evicted"]

A session's transcript is the bulk of its size; its digest (in state.toml) and its
state are small and are kept. An evicted transcript is replaced by a one-line stub
`{"type":"evicted",...}` whose `seq` follows the last one, so a later resume keeps
`seq` contiguous. What was evicted is gone (csa.forget): the transcript's search-index
rows go with it; the session's description row stays.
Live sessions are never touched; sessions without a digest keep their transcript
unless `force` (which digests them first).
"""

from __future__ import annotations

import hashlib
import os
import re

from csa.catalogue import envelope, evicted, is_eviction_stub
from csa.errors import CsaError, UsageError
from csa.fsutil import atomic_write
from csa.safeio import open_stream
from csa.session import Session
from csa.state import iso_ms, utcnow
from csa.store import Store

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_size(text: str) -> int:
    """`500M`, `2G`, `1.5GiB`, `10000` (bytes) -> bytes."""
    m = _SIZE.match(text or "")
    if not m:
        raise UsageError(f"invalid size {text!r}: use bytes or a number with K, M, G or T")
    try:
        return int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    except OverflowError:  # digits beyond what a float holds
        raise UsageError(f"invalid size {text!r}: too large") from None


def _usage(store: Store) -> int:
    return sum(session.size() for session in store.sessions())


def enforce_budget(store: Store, max_bytes: int, *, dry_run: bool = False,
                   force: bool = False) -> dict:
    before = _usage(store)
    report = {"max_bytes": max_bytes, "before": before, "after": before, "evicted": [],
              "skipped_undigested": 0, "skipped_live": 0, "dry_run": dry_run}
    if before <= max_bytes:
        return report
    rows = [r for r in store.summaries(reconcile=False, write_cache=not dry_run)
            if not r.get("corrupt")]
    rows.sort(key=lambda r: (r.get("last_accessed") or "", r["id"]))
    total = before
    for r in rows:
        if total <= max_bytes:
            break
        session = store.session(r["id"])
        size = session.transcript_size()
        if size == 0 or is_eviction_stub(session.transcript_path) \
                or not os.path.isfile(session.transcript_path) \
                or os.path.islink(session.transcript_path):
            continue  # a link or FIFO in the transcript's place is left alone (logs says why)
        if session.is_alive():
            report["skipped_live"] += 1
            continue
        state = session.read_state()
        if "digest" not in state.extra and not force:
            report["skipped_undigested"] += 1
            continue
        if not dry_run:
            freed = _evict(session)
            if freed is None:
                report["skipped_live"] += 1
                continue
            size = freed
        total -= size
        report["evicted"].append({"id": session.id, "bytes": size,
                                  "last_accessed": r.get("last_accessed")})
    report["after"] = total if dry_run else _usage(store)
    if not dry_run and report["evicted"]:
        from csa import events
        from csa.forget import forget_sessions

        forget_sessions(store, [e["id"] for e in report["evicted"]], transcript_only=True)
        events.emit(store, "gc", evicted=len(report["evicted"]),
                    bytes=before - report["after"])
    return report


def _evict(session: Session) -> int | None:
    """Replace the transcript with a stub under the session lock; bytes freed or None."""
    with session.try_lock(reason="evict") as lock:
        if lock is None:  # locked, gone, or broken (locks/ not a dir): skip it
            return None
        try:
            return _replace_with_stub(session)
        except OSError as e:
            raise CsaError(f"Session {session.id}: could not evict the transcript: "
                           f"{e.strerror or e}") from e


def _replace_with_stub(session: Session) -> int:
    import orjson

    from csa.digest import digest_events
    from csa.transcript import last_seq

    path = session.transcript_path
    state = session.read_state()
    if "digest" not in state.extra:
        state.extra["digest"] = digest_events(session.read_transcript())
    size = path.stat().st_size
    h = hashlib.sha256()
    with open_stream(path, "transcript") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    seq = last_seq(path)
    stub = orjson.dumps(envelope(0 if seq is None else seq + 1, iso_ms(utcnow()),
                                 evicted(size=size, sha256=h.hexdigest(), last_seq=seq))) + b"\n"
    state.extra["evicted"] = {"at": iso_ms(utcnow()), "bytes": size, "sha256": h.hexdigest()}
    session.save(state)
    atomic_write(path, stub)
    return size - len(stub)
