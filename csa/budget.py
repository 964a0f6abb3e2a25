"""Evicting transcripts (csa.retention decides which): `csa gc --max-bytes SIZE`.

    >>> enforce_budget(store, parse_size("500M"), dry_run=True)["evicted"]
    >>> evict_one(session, mode="analyze", dry_run=False)["status"]
    'evicted'

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


def usage(store: Store) -> int:
    """Bytes the project's sessions take on disk."""
    return sum(session.size() for session in store.sessions())


def enforce_budget(store: Store, max_bytes: int, *, dry_run: bool = False,
                   force: bool = False) -> dict:
    """`gc --max-bytes`: the soft-cap pass of csa.retention alone."""
    from csa.retention import Policy, enforce

    return enforce(store, Policy(max_bytes=max_bytes), dry_run=dry_run, force=force)


def evict_one(session: Session, *, mode: str, dry_run: bool) -> dict | None:
    """Evict one session's transcript. `mode`: "digested" (only with a digest),
    "analyze" (make the digest first when missing), "loss" (evict even without one:
    the retention overflow path). None when there is nothing to evict; else a dict with
    `status` (evicted | lost | live | undigested), `id`, `bytes`, `analyzed_now`."""
    path = session.transcript_path
    size = session.transcript_size()
    if size == 0 or is_eviction_stub(path) or not os.path.isfile(path) or os.path.islink(path):
        return None  # a link or FIFO in the transcript's place is left alone (logs says why)
    if session.is_alive():
        return {"status": "live"}
    try:
        digested = isinstance(session.read_state().extra.get("digest"), dict)
    except CsaError:
        return None
    if not digested and mode == "digested":
        return {"status": "undigested"}
    entry = {"id": session.id, "bytes": size, "analyzed_now": not digested and mode != "loss",
             "status": "lost" if not digested and mode == "loss" else "evicted"}
    if dry_run:
        return entry
    freed = _evict(session, analyze=mode != "loss")
    if freed is None:
        return {"status": "live"}
    entry["bytes"] = freed
    return entry


def _evict(session: Session, *, analyze: bool) -> int | None:
    """Replace the transcript with a stub under the session lock; bytes freed or None."""
    with session.try_lock(reason="evict") as lock:
        if lock is None:  # locked, gone, or broken (locks/ not a dir): skip it
            return None
        try:
            return _replace_with_stub(session, analyze=analyze)
        except OSError as e:
            raise CsaError(f"Session {session.id}: could not evict the transcript: "
                           f"{e.strerror or e}") from e


def _replace_with_stub(session: Session, *, analyze: bool) -> int:
    import orjson

    from csa.digest import digest_events
    from csa.transcript import last_seq

    path = session.transcript_path
    state = session.read_state()
    lost = "digest" not in state.extra and not analyze
    if "digest" not in state.extra and analyze:
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
    if lost:  # the retention overflow path: no digest was made (a data_loss event says so)
        state.extra["evicted"]["data_loss"] = True
    session.save(state)
    atomic_write(path, stub)
    return size - len(stub)
