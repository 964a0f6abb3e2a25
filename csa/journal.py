"""The session journal: a plaintext `journal.md` of the goal, key context, progress,
decisions and discoveries that survives compaction and rollover, with a TL;DR kept current.

    >>> add_entry(session, "decision", "lock before check", rationale="smallest fix")
    >>> print(prompt_preamble(session))               # what `csa run --with-journal` prepends

`journal.md` is the truth and stays hand-editable: a small front matter (one
`key: <JSON value>` a line: status, goal, task ids, times, compaction count, git
branch), then entries as list items under fixed `## ` headings. The TL;DR is
re-derived on every write. Open steps live under Next Steps (one may carry the
`<- CURRENT` marker), finished ones under Done: the progress fraction is
done / (done + open). Notes may come from the tool running inside the session
(`csa session note` with `CSA_SESSION_ID` set), so writers serialize on
`.journal.lock`, not on the session lock the running turn holds.
Lifecycle (goal, pause, close, archive) is in csa.journal_life.
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from typing import TYPE_CHECKING

from csa import safeio
from csa.fsutil import atomic_write
from csa.state import iso_ms, utcnow

if TYPE_CHECKING:
    from csa.session import Session

JOURNAL_WAIT_S = 60.0
# kind -> section heading, in display order.
SECTIONS = {
    "context": "Key Context",
    "progress": "Progress",
    "decision": "Decisions",
    "discovery": "Discoveries",
    "blocker": "Blockers",
    "next": "Next Steps",
    "done": "Done",
}
META_ORDER = ("status", "goal", "task_ids", "created_at", "updated_at", "compaction_count",
              "git_branch", "git_last_commit", "paused_at", "pause_note", "closed_at", "reason")
PREAMBLE_LIMIT = 3500
CURRENT = "<- CURRENT"
_ENTRY = re.compile(r"^- \[(?P<ts>[^\]]+)\] (?P<text>.*)$")
_CLEARED = re.compile(r"^~~(?P<text>.*)~~ \(cleared (?P<at>[^)]*)\)$")


class Journal:
    """A parsed journal.md: `meta` (front matter) and `entries` (kind -> [{ts, text, ...}])."""

    def __init__(self, meta: dict | None = None, entries: dict | None = None):
        self.meta = meta or {}
        self.entries = entries or {k: [] for k in SECTIONS}

    @property
    def status(self) -> str:
        return self.meta.get("status") or "active"

    def open_blockers(self) -> list[dict]:
        return [e for e in self.entries["blocker"] if not e.get("cleared")]

    def current_index(self) -> int | None:
        """Index in Next Steps of the current step: the marked one, else the first."""
        steps = self.entries["next"]
        marked = [i for i, e in enumerate(steps) if e.get("current")]
        return marked[0] if marked else (0 if steps else None)

    def progress(self) -> dict:
        """{done, total, current, step}: the fraction and the current step (1-based)."""
        done, steps = len(self.entries["done"]), self.entries["next"]
        i = self.current_index()
        return {"done": done, "total": done + len(steps),
                "current": first_line(steps[i]["text"]) if i is not None else None,
                "step": done + 1 if i is not None else None}

    def is_empty(self) -> bool:
        return not self.meta.get("goal") and not any(self.entries.values())


def first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


def _parse_meta(lines: list[str]) -> tuple[dict, int]:
    """Front matter between `---` lines -> (meta, index of the first body line)."""
    if not lines or lines[0].strip() != "---":
        return {}, 0
    meta: dict = {}
    for i, line in enumerate(lines[1:], 1):
        if line.strip() == "---":
            return meta, i + 1
        key, sep, value = line.partition(":")
        if not sep:
            continue
        value = value.strip()
        try:
            meta[key.strip()] = json.loads(value)
        except ValueError:  # hand-edited: `status: paused` without quotes
            meta[key.strip()] = value
    return {}, 0  # no closing line: not front matter


def _parse_entry(kind: str, m: re.Match) -> dict:
    entry = {"ts": m.group("ts"), "text": m.group("text")}
    if kind == "next" and entry["text"].endswith(CURRENT):
        entry["text"], entry["current"] = entry["text"][: -len(CURRENT)].rstrip(), True
    cleared = _CLEARED.match(entry["text"]) if kind == "blocker" else None
    if cleared:
        entry["text"], entry["cleared"] = cleared.group("text"), cleared.group("at")
    return entry


def parse(text: str) -> Journal:
    """journal.md -> Journal; unknown headings and free text are ignored."""
    lines = text.splitlines()
    meta, start = _parse_meta(lines)
    by_heading = {v: k for k, v in SECTIONS.items()}
    journal = Journal(meta)
    current = None
    for line in lines[start:]:
        if line.startswith("## "):
            current = by_heading.get(line[3:].strip())
            continue
        if current is None:
            continue
        m = _ENTRY.match(line)
        if m:
            journal.entries[current].append(_parse_entry(current, m))
        elif line.startswith("  ") and journal.entries[current]:
            journal.entries[current][-1]["text"] += "\n" + line.strip()
    return journal


def read_text(session: Session) -> str | None:
    """journal.md as it is (None when the session has no journal yet)."""
    try:
        return safeio.read_text(session.journal_path, "journal")
    except FileNotFoundError:
        return None


def load(session: Session) -> Journal:
    raw = read_text(session)
    return parse(raw) if raw is not None else Journal()


def read(session: Session) -> dict[str, list[dict]]:
    """The entries by kind (the `journal --json` shape)."""
    return load(session).entries


def tldr(journal: Journal) -> list[str]:
    """The TL;DR lines: objective, status, progress fraction, current step, blocker, next."""
    e, meta, lines = journal.entries, journal.meta, []
    if meta.get("goal"):
        lines.append(f"**Objective**: {meta['goal']}")
    if meta.get("task_ids"):
        lines.append(f"**Tasks**: {', '.join(meta['task_ids'])}")
    if journal.status != "active":
        why = meta.get("reason") or meta.get("pause_note")
        lines.append(f"**Status**: {journal.status}" + (f" ({why})" if why else ""))
    if e["progress"]:
        lines.append(f"**Latest**: {first_line(e['progress'][-1]['text'])}")
    p = journal.progress()
    if p["total"]:
        lines.append(f"**Progress**: {p['done']}/{p['total']} steps complete")
    if p["current"]:
        lines.append(f"**Current**: {p['current']} (step {p['step']})")
    blockers = journal.open_blockers()
    lines.append("**Blocker**: " + (first_line(blockers[-1]["text"]) if blockers else "None"))
    if e["next"]:
        lines.append("**Next**: " + "; ".join(first_line(s["text"]) for s in e["next"][:3]))
    if e["decision"]:
        lines.append(f"**Decisions**: {len(e['decision'])}, latest: "
                     f"{first_line(e['decision'][-1]['text'])}")
    if meta.get("compaction_count"):
        lines.append(f"**Compactions**: {meta['compaction_count']}")
    return lines


def _entry_lines(kind: str, entry: dict) -> list[str]:
    first, *rest = entry["text"].split("\n")
    if entry.get("cleared"):
        first = f"~~{first}~~ (cleared {entry['cleared']})"
    if entry.get("current"):
        first = f"{first} {CURRENT}"
    return [f"- [{entry['ts']}] {first}", *(f"  {r}" for r in rest)]


def render(journal: Journal, title: str) -> str:
    parts = []
    if journal.meta:
        keys = [k for k in META_ORDER if k in journal.meta] + \
            [k for k in journal.meta if k not in META_ORDER]
        parts += ["---", *(f"{k}: {json.dumps(journal.meta[k], ensure_ascii=False)}"
                           for k in keys), "---"]
    parts += [f"# Journal: {title}", "", "## TL;DR", *tldr(journal), ""]
    for kind, heading in SECTIONS.items():
        parts.append(f"## {heading}")
        for entry in journal.entries[kind]:
            parts += _entry_lines(kind, entry)
        parts.append("")
    return "\n".join(parts)


@contextmanager
def editing(session: Session, title: str | None = None, *, wait: float = JOURNAL_WAIT_S):
    """Hold the journal lock, yield the parsed Journal, write it back (atomically).

    The title is the session's description unless given; `updated_at` is refreshed.
    `wait`: how long another writer may hold the lock before CsaError.
    """
    from csa.mutex import hold

    if title is None:
        title = session.load(reconcile=False).description
    with hold(session.journal_lock_path, timeout=wait, make_dir=False,
              busy=f"Session {session.id}: another csa process has held its journal for "
                   f"{wait:g} s; retry"):
        journal = load(session)
        yield journal
        journal.meta.setdefault("created_at", iso_ms(utcnow()))
        journal.meta["updated_at"] = iso_ms(utcnow())
        atomic_write(session.journal_path, render(journal, title).encode())


def clean(session: Session, text: str) -> str:
    """Redacted, then whitespace collapsed (a rule may need the text's lines first)."""
    redact = session.store.redactor.text
    return redact(" ".join(redact(text).split()))


def add_entry(session: Session, kind: str, note: str, *, rationale: str | None = None,
              title: str | None = None) -> dict:
    """Append one entry (redacted) and rewrite journal.md atomically with a fresh TL;DR.

    The journal's title is the session's description unless `title` is given.
    """
    if kind not in SECTIONS:
        raise ValueError(f"unknown journal entry kind {kind!r}")
    body = clean(session, note)
    if rationale:
        body += f"\nRationale: {clean(session, rationale)}"
    entry = {"ts": iso_ms(utcnow()), "text": body}
    with editing(session, title) as journal:
        from csa.journal_life import check_open

        check_open(session, journal)
        journal.entries[kind].append(entry)
    return {"kind": kind, **entry}


def context_text(journal: Journal, limit: int = PREAMBLE_LIMIT,
                 header: str = "[Session journal kept by csa — context that survives "
                               "compaction]") -> str:
    """The TL;DR, key context, recent decisions, discoveries, open blockers and next steps."""
    e = journal.entries
    lines = [header, *tldr(journal)]
    picks = (("Key context", e["context"], 10), ("Decision", e["decision"], 5),
             ("Discovery", e["discovery"], 5), ("Blocker", journal.open_blockers(), 3),
             ("Next", e["next"], 5))
    for label, entries, n in picks:
        for entry in entries[-n:]:
            mark = f" {CURRENT}" if entry.get("current") else ""
            lines.append(f"- {label}: {entry['text'].replace(chr(10), ' ')}{mark}")
    text = "\n".join(lines)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text + "\n[End of journal]"


def prompt_preamble(session: Session, limit: int = PREAMBLE_LIMIT) -> str:
    """A compact journal summary for the start of a prompt ('' when there is no journal)."""
    journal = load(session)
    return "" if journal.is_empty() else context_text(journal, limit)
