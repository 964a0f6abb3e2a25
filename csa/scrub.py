"""`csa session scrub`: re-apply the current redaction rules to everything already stored.

    >>> report = scrub(store, sid="01JH4Q", dry_run=True)    # what would change; touches nothing
    >>> report = scrub(store, all_projects=True)
    >>> report["sessions"][0]["files"]
    [{'file': 'transcript.jsonl', 'changed': 2}, {'file': 'checkpoints', 'changed': 3}]

Improving the rules then also cleans history. Per session, under its lock (a live session is
skipped and listed): the transcript (each event redacted as it would be written now; an
atomic rewrite that keeps every `seq`), state.toml, the journal and the results (each
string value of a TOML file, the text of a Markdown one), the session's search-index rows
(forgotten and indexed again from the scrubbed transcript, so the old text leaves the
index's pages too) and its checkpoint history (commits, blobs and notes rewritten on the
session's own refs; the old objects are pruned). A checkpoint whose hash matched the
transcript before the scrub is given the scrubbed transcript's hash, so `verify` still
passes; one that did not match keeps its old hash (tampering stays visible).
"""

from __future__ import annotations

import os

import orjson

from csa.fsutil import atomic_write
from csa.session import Session
from csa.store import Store, iter_project_dirs


def fix_text(data: bytes, name: str, redactor) -> tuple[bytes, int]:
    """The redacted content of a stored text file and how many values changed.

    TOML files are redacted value by value (the file stays valid TOML); others as text.
    """
    redact = redactor.text
    text = data.decode("utf-8", "replace")
    if not name.endswith(".toml"):
        new = redact(text)  # whole, so a block over several lines (a PEM key) is seen
        if new == text:
            return data, 0
        old_lines, new_lines = text.split("\n"), new.split("\n")
        if len(old_lines) != len(new_lines):
            return new.encode(), 1
        return new.encode(), sum(a != b for a, b in zip(old_lines, new_lines, strict=True))
    import tomlkit

    try:
        doc = tomlkit.parse(text)
    except Exception:  # noqa: BLE001 - tomlkit raises several kinds; redact it as text
        return fix_text(data, name + ".txt", redactor)
    changed = _walk_toml(doc, redact)
    return (tomlkit.dumps(doc).encode(), changed) if changed else (data, 0)


def _walk_toml(node, redact) -> int:
    changed = 0
    items = node.items() if hasattr(node, "items") else enumerate(node)
    for key, value in list(items):
        if isinstance(value, str):
            new = redact(str(value))
            if new != value:
                node[key] = new
                changed += 1
        elif hasattr(value, "items") or isinstance(value, list):
            changed += _walk_toml(value, redact)
    return changed


def _fix_transcript(path, redactor) -> tuple[bytes | None, int]:
    """The redacted transcript bytes (None when unchanged) and how many events changed."""
    redact_obj = redactor.obj
    from csa.safeio import read_bytes

    try:
        data = read_bytes(path, "transcript")
    except FileNotFoundError:
        return None, 0
    from csa.redact_stream import redact_stored_streams

    lines = data.splitlines(keepends=True)
    events: list = []
    for line in lines:
        try:
            events.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            # Rewritten byte for byte (csa.jsonl's reader decides what such a line means).
            events.append(None)
    # first what spans records of one stream (a key on stderr, a password across
    # deltas), on the records as stored; then each event on its own
    touched = redact_stored_streams(events, redactor)
    for i, ev in enumerate(events):
        if ev is not None:
            new = redact_obj(ev)
            if new != ev:
                events[i] = new
                touched.add(i)
    for i in touched:
        lines[i] = orjson.dumps(events[i]) + (b"\n" if lines[i].endswith(b"\n") else b"")
    return (b"".join(lines) if touched else None), len(touched)


def scrub(store: Store, *, sid: str | None = None, all_projects: bool = False,
          dry_run: bool = False) -> dict:
    """Scrub one session, the project's sessions, or every project's (see module doc)."""
    stores = [store]
    if all_projects:
        stores = [Store.for_project_dir(store.base, d, r) for d, r in iter_project_dirs(store.base)]
    report: dict = {"dry_run": dry_run, "sessions": [], "skipped": []}
    for st in stores:
        _scrub_store(st, sid, dry_run, report)
    report["changed"] = sum(f["changed"] for s in report["sessions"] for f in s["files"])
    return report


def _scrub_store(st: Store, sid: str | None, dry_run: bool, report: dict) -> None:
    """Scrub one project's sessions (or the one `sid` names) into `report`."""
    sessions = [st.resolve(sid)] if sid else st.sessions()
    changed = []
    for session in sessions:
        entry = _scrub_session(session, dry_run)
        if entry is None:
            report["skipped"].append({"id": session.id, "reason": "live (locked)"})
        elif entry["files"]:
            report["sessions"].append(entry)
            changed.append(session)
    if changed and not dry_run:
        _after(st, changed)


def _scrub_session(session: Session, dry_run: bool) -> dict | None:
    if dry_run:
        return _scrub_files(session, True)
    with session.try_lock(reason="scrub") as lock:
        if lock is None:
            return None
        return _scrub_files(session, False)


def _scrub_files(session: Session, dry_run: bool) -> dict:
    files = []
    hashes = _hashes_before(session)
    new, n = _fix_transcript(session.transcript_path, session.store.redactor)
    if n:
        files.append({"file": session.transcript_path.name, "changed": n})
        if not dry_run:
            atomic_write(session.transcript_path, new)
    from csa.safeio import read_bytes

    for path in session.metadata_files():
        data = read_bytes(path, "journal")  # state, result, journal: never a FIFO or a device
        fixed, n = fix_text(data, path.name, session.store.redactor)
        if n:
            files.append({"file": os.path.relpath(path, session.dir), "changed": n})
            if not dry_run:
                atomic_write(path, fixed)
    n = _index_rows_to_fix(session)
    if n:
        files.append({"file": "search index", "changed": n})
    n = _history(session, hashes, dry_run)
    if n:
        files.append({"file": "checkpoints", "changed": n})
    return {"id": session.id, "files": files}


def _hashes_before(session: Session) -> dict[int, str]:
    """Checkpointed seq -> hash, for the checkpoints that match the transcript now."""
    from csa.checkpoint import list_checkpoints, transcript_digest

    out = {}
    for cp in list_checkpoints(session.store, session.id):
        upto = int(cp.get("transcript_last_seq", -1))
        if upto >= 0 and transcript_digest(session.transcript_path, upto)[1] == \
                cp.get("transcript_sha256"):
            out[upto] = cp["transcript_sha256"]
    return out


def _history(session: Session, hashes: dict[int, str], dry_run: bool) -> int:
    """Rewrite the session's checkpoint history (count only with `dry_run`)."""
    from csa.checkpoint import repo_locked
    from csa.checkpoint_refs import rewrite_session

    redact = session.store.redactor.text

    def fix_note(text: str) -> str:
        fixed, _n = fix_text(text.encode(), "note.toml", session.store.redactor)
        return _rehash(session, fixed.decode(), hashes)

    def fix_blob(path: str, data: bytes) -> bytes:
        return fix_text(data, path, session.store.redactor)[0]

    with repo_locked(session.store) as repo:
        if repo is None:
            return 0
        return rewrite_session(repo, session.id, fix_blob, fix_note, redact, dry_run=dry_run)


def _rehash(session: Session, note: str, hashes: dict[int, str]) -> str:
    """A checkpoint note with the scrubbed transcript's hash when the old one matched."""
    import tomllib

    from csa.checkpoint import transcript_digest

    try:
        data = tomllib.loads(note)
    except tomllib.TOMLDecodeError:
        return note
    seq, old = data.get("transcript_last_seq"), data.get("transcript_sha256")
    if seq not in hashes or hashes[seq] != old:
        return note
    new = transcript_digest(session.transcript_path, seq)[1]
    return note.replace(old, new) if new != old else note


def _index_rows_to_fix(session: Session) -> int:
    """How many of the session's index rows the current rules would change."""
    import sqlite3

    from csa.search import index_files

    redact = session.store.redactor.text
    changed = 0
    for path in index_files(session.store.base):  # the session is in one of them
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                rows = conn.execute("SELECT text FROM events WHERE sess = (SELECT rowid "
                                    "FROM sessions WHERE id=?)", (session.id,))
                changed += sum(redact(t) != t for (t,) in rows if isinstance(t, str))
            finally:
                conn.close()
        except sqlite3.Error:
            pass
    return changed


def _after(store: Store, sessions: list[Session]) -> None:
    """Forget the changed sessions' index rows (free pages included) and index them again;
    prune the checkpoint objects the rewrite left unreachable."""
    from csa.checkpoint import prune_repo
    from csa.search import forget_sessions, index_session

    forget_sessions(store.base, [s.id for s in sessions])
    for session in sessions:
        index_session(session)
    prune_repo(store)
