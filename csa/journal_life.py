"""The journal's life: start with a goal and tasks, steps (done, current), blockers
cleared, pause, close (complete or abandon) with an archive, compaction counting.

    >>> start(session, goal="fix the sweep race", tasks=["T-12"])
    >>> finish_step(session, "reproduce the bug")     # Next Steps -> Done
    >>> close(session, "complete")                    # archive + closing summary

Status is one of active, paused, completed, abandoned (front matter `status`). A
closed journal refuses new entries until `resume` reopens it. Closing writes the
archive, `output/journal-archive.md`: the journal as it was at close plus a closing
summary (duration, compactions, progress, decision and discovery counts, tasks).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

from csa.errors import CsaError, UsageError
from csa.journal import Journal, clean, editing, first_line, load, read_text
from csa.state import iso_ms, utcnow

if TYPE_CHECKING:
    from csa.session import Session

ARCHIVE_NAME = "journal-archive.md"
CLOSED = ("completed", "abandoned")


def check_open(session: Session, journal: Journal) -> None:
    if journal.status in CLOSED:
        raise CsaError(f"Session {session.id}'s journal is {journal.status}; reopen it with: "
                       f"csa session note -s {session.id[:10]} --resume", exit_code=1)


def start(session: Session, *, goal: str | None = None, tasks: list[str] = (),
          title: str | None = None) -> dict:
    """Set the goal and link task ids (added to those already linked); status active."""
    from csa.gitinfo import branch_and_head

    with editing(session, title) as journal:
        check_open(session, journal)
        meta = journal.meta
        if goal is not None:
            meta["goal"] = clean(session, goal)
        linked = list(meta.get("task_ids") or [])
        linked += [t for t in (clean(session, t) for t in tasks) if t and t not in linked]
        if linked:
            meta["task_ids"] = linked
        meta["status"] = "active"
        meta.setdefault("compaction_count", 0)
        try:
            branch, head = branch_and_head(session.store.root)
        except OSError:
            branch = head = None
        for key, value in (("git_branch", branch), ("git_last_commit", head and head[:12])):
            if value:
                meta[key] = value
    return {"goal": meta.get("goal"), "task_ids": meta.get("task_ids", []),
            "status": meta["status"]}


def _match(steps: list[dict], text: str) -> int | None:
    """The step `text` names: equal (ignoring case and spaces), else the one containing it."""
    want = " ".join(text.lower().split())
    firsts = [" ".join(first_line(s["text"]).lower().split()) for s in steps]
    if want in firsts:
        return firsts.index(want)
    hits = [i for i, f in enumerate(firsts) if want in f or (f and f in want)]
    return hits[0] if len(hits) == 1 else None


@contextmanager
def _naming(session: Session, kind: str, text: str):
    """Edit an open journal: yield (journal, its `kind` list, index `text` names, text)."""
    body = clean(session, text)
    with editing(session) as journal:
        check_open(session, journal)
        items = journal.open_blockers() if kind == "blocker" else journal.entries[kind]
        yield journal, items, _match(items, body) if body else None, body


def finish_step(session: Session, text: str) -> dict:
    """`--done`: record a finished item; the open step it names leaves Next Steps."""
    with _naming(session, "next", text) as (journal, steps, i, body):
        closed = steps.pop(i) if i is not None else None
        entry = {"ts": iso_ms(utcnow()), "text": first_line(closed["text"]) if closed else body}
        journal.entries["done"].append(entry)
        progress = journal.progress()
    return {"kind": "done", **entry, "closed_step": closed is not None, "progress": progress}


def mark_current(session: Session, text: str) -> dict:
    """`--current`: the open step `text` names (added if none does) becomes current, first."""
    with _naming(session, "next", text) as (journal, steps, i, body):
        # the current step goes first: Next Steps lists immediate actions first
        step = steps.pop(i) if i is not None else {"ts": iso_ms(utcnow()), "text": body}
        for other in steps:
            other.pop("current", None)
        steps.insert(0, {**step, "current": True})
        progress = journal.progress()
    return {"kind": "current", "text": progress["current"], "progress": progress}


def clear_blocker(session: Session, text: str = "") -> dict:
    """`--clear-blocker [TEXT]`: the open blocker TEXT names (all open ones when empty)."""
    with _naming(session, "blocker", text) as (_journal, open_, i, body):
        if body:
            if i is None:
                raise CsaError(f"Session {session.id}: no open blocker matches {text!r}; see "
                               f"them with: csa session journal -s {session.id[:10]} "
                               "--blockers", exit_code=1)
            open_ = [open_[i]]
        now = iso_ms(utcnow())
        for entry in open_:
            entry["cleared"] = now
    return {"kind": "clear-blocker", "cleared": [first_line(e["text"]) for e in open_]}


def pause(session: Session, note: str | None = None) -> dict:
    with editing(session) as journal:
        check_open(session, journal)
        journal.meta.update(status="paused", paused_at=iso_ms(utcnow()))
        journal.meta.pop("pause_note", None)
        if note:
            journal.meta["pause_note"] = clean(session, note)
    return {"status": "paused", "pause_note": journal.meta.get("pause_note"),
            "checkpoint": save_checkpoint(session, f"journal paused: {note or ''}".rstrip(": "))}


def save_checkpoint(session: Session, note: str) -> str | None:
    """A checkpoint (the journal is in it): its commit, None when git cannot make one."""
    from csa.checkpoint import checkpoint

    try:
        return checkpoint(session, note=note)["commit"]
    except (CsaError, OSError):
        return None


def resume(session: Session) -> dict:
    with editing(session) as journal:
        for key in ("paused_at", "pause_note", "closed_at", "reason"):
            journal.meta.pop(key, None)
        journal.meta["status"] = "active"
    return {"status": "active"}


def close(session: Session, status: str, reason: str | None = None) -> dict:
    """Complete or abandon: set the status, write the archive, return the closing summary."""
    if status not in CLOSED:
        raise ValueError(status)
    with editing(session) as journal:
        check_open(session, journal)
        journal.meta.update(status=status, closed_at=iso_ms(utcnow()))
        journal.meta.pop("pause_note", None)
        if reason:
            journal.meta["reason"] = clean(session, reason)
        summary = closing_summary(journal)
    text = (read_text(session) or "") + "\n" + render_summary(summary)
    from csa.fsutil import atomic_write

    archive = session.ensure_output_dir() / ARCHIVE_NAME
    atomic_write(archive, text.encode())
    return {**summary, "archive": str(archive)}


def closing_summary(journal: Journal) -> dict:
    meta, e = journal.meta, journal.entries
    start, end = meta.get("created_at"), meta.get("closed_at")
    duration = None
    if start and end:
        try:
            duration = (_when(end) - _when(start)).total_seconds()
        except (AttributeError, TypeError, ValueError):  # hand-edited times
            pass
    p = journal.progress()
    return {"status": journal.status, "goal": meta.get("goal"), "reason": meta.get("reason"),
            "task_ids": meta.get("task_ids", []), "duration_s": duration,
            "compaction_count": meta.get("compaction_count", 0),
            "progress": {"done": p["done"], "total": p["total"]},
            "latest": first_line(e["progress"][-1]["text"]) if e["progress"] else None,
            "decisions": len(e["decision"]), "discoveries": len(e["discovery"]),
            "open_steps": [first_line(s["text"]) for s in e["next"]]}


def _when(text: str):
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = round(seconds / size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{int(seconds)} s"


def render_summary(s: dict) -> str:
    head = "Session Completed" if s["status"] == "completed" else "Session Abandoned"
    lines = [f"## {head}", f"Duration: {_duration(s['duration_s'])}",
             f"Compactions: {s['compaction_count']}",
             f"Progress: {s['progress']['done']}/{s['progress']['total']} steps"]
    if s["goal"]:
        lines.append(f"Objective: {s['goal']}")
    if s["reason"]:
        lines.append(f"Reason: {s['reason']}")
    if s["latest"]:
        lines.append(f"Summary: {s['latest']}")
    lines += [f"Decisions made: {s['decisions']}", f"Discoveries: {s['discoveries']}"]
    lines += [f"Open step left: {step}" for step in s["open_steps"]]
    lines += [f"Linked task {t}: {s['status']}" for t in s["task_ids"]]
    return "\n".join(lines) + "\n"


def count_compaction(session: Session, wait: float = 2.0) -> Journal:
    """The PreCompact hook: compaction_count + 1 and updated_at refreshed; the new journal.

    A hook has seconds, not a minute: a journal held longer by another writer is an error."""
    with editing(session, wait=wait) as journal:
        journal.meta["compaction_count"] = int(journal.meta.get("compaction_count") or 0) + 1
    return journal


VIEWS = ("tldr", "context", "progress", "decisions", "discoveries", "blockers", "next")


def view(journal: Journal, section: str) -> dict:
    """One section as data (`journal --progress`, `--decisions`, ...)."""
    e = journal.entries
    if section == "tldr":
        return {"tldr": _tldr(journal), "status": journal.status, **_meta(journal)}
    if section == "context":
        return {"goal": journal.meta.get("goal"), "task_ids": journal.meta.get("task_ids", []),
                "key_context": e["context"]}
    if section == "progress":
        return {**journal.progress(), "completed": e["done"], "open": e["next"],
                "log": e["progress"]}
    if section == "blockers":
        return {"open": journal.open_blockers(),
                "cleared": [b for b in e["blocker"] if b.get("cleared")]}
    kind = {"decisions": "decision", "discoveries": "discovery", "next": "next"}[section]
    return {section: e[kind]}


def _tldr(journal: Journal) -> list[str]:
    from csa.journal import tldr

    return tldr(journal)


def _meta(journal: Journal) -> dict:
    return {k: journal.meta.get(k) for k in ("goal", "task_ids", "compaction_count")}


def render_view(section: str, data: dict) -> str:
    """The human form of `view`: checkboxes and the CURRENT marker for progress."""
    if section == "tldr":
        return "\n".join(data["tldr"]) + "\n"
    if section == "progress":
        lines = [f"Progress: {data['done']}/{data['total']} steps complete"]
        lines += [f"- [x] {first_line(e['text'])} ({e['ts']})" for e in data["completed"]]
        for e in data["open"]:
            mark = " <- CURRENT" if first_line(e["text"]) == data["current"] else ""
            lines.append(f"- [ ] {first_line(e['text'])}{mark}")
        lines += [f"  {e['ts']}  {e['text']}" for e in data["log"]]
        return "\n".join(lines) + "\n"
    if section == "context":
        lines = [f"Objective: {data['goal'] or '(none)'}"]
        if data["task_ids"]:
            lines.append(f"Tasks: {', '.join(data['task_ids'])}")
        lines += [f"- {e['text']}" for e in data["key_context"]]
        return "\n".join(lines) + "\n"
    if section == "blockers":
        lines = [f"- {e['text']}" for e in data["open"]] or ["None"]
        lines += [f"- (cleared {e['cleared']}) {e['text']}" for e in data["cleared"]]
        return "\n".join(lines) + "\n"
    entries = data[section]
    return "".join(f"{i}. [{e['ts']}] {e['text'].replace(chr(10), chr(10) + '   ')}\n"
                   for i, e in enumerate(entries, 1)) or "(none)\n"


def journals(store) -> list[dict]:
    """Every session of the project with a journal, most recently updated first."""
    rows = []
    for session in store.sessions():
        if not session.journal_path.exists():
            continue
        try:
            journal = load(session)
        except (OSError, CsaError):
            continue
        p = journal.progress()
        rows.append({"session_id": session.id, "status": journal.status,
                     "goal": journal.meta.get("goal"), "updated_at":
                     journal.meta.get("updated_at") or "", "done": p["done"],
                     "total": p["total"], "compaction_count":
                     journal.meta.get("compaction_count", 0)})
    rows.sort(key=lambda r: r["updated_at"], reverse=True)
    return rows


def require(session: Session) -> Journal:
    journal = load(session)
    if journal.is_empty():
        raise UsageError(f"Session {session.id} has no journal yet; start one with: csa "
                         f"session note -s {session.id[:10]} --goal \"...\"")
    return journal


def apply(session: Session, action: str, text: str | None = None, *,
          rationale: str | None = None, reason: str | None = None) -> dict:
    """One `csa session note` action: an entry kind, or a step/blocker/lifecycle action."""
    from csa.journal import SECTIONS, add_entry

    if action == "done":
        return finish_step(session, text)
    if action in SECTIONS:
        return add_entry(session, action, text, rationale=rationale)
    if action == "current":
        return mark_current(session, text)
    if action == "clear-blocker":
        return clear_blocker(session, text or "")
    if action == "pause":
        return pause(session, reason)
    if action == "resume":
        return resume(session)
    return close(session, {"complete": "completed", "abandon": "abandoned"}[action], reason)
