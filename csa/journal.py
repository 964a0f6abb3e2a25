"""The session journal: a plaintext `journal.md` of progress, decisions and discoveries
that survives compaction and rollover, with a TL;DR kept current.

    >>> add_entry(session, "decision", "lock before check", rationale="smallest fix")
    >>> print(prompt_preamble(session))               # what `csa run --with-journal` prepends

`journal.md` is the truth and stays hand-editable: entries are list items under
fixed `## ` headings, and the TL;DR is re-derived from them on every write. Notes
may come from the tool running inside the session (`csa session note` with
`CSA_SESSION_ID` set), so writers serialize on `.journal.lock`, not on the
session lock the running turn holds.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from csa import safeio
from csa.fsutil import atomic_write
from csa.state import iso_ms, utcnow

if TYPE_CHECKING:
    from csa.session import Session

JOURNAL_WAIT_S = 60.0
# kind -> section heading, in display order.
SECTIONS = {
    "progress": "Progress",
    "decision": "Decisions",
    "discovery": "Discoveries",
    "blocker": "Blockers",
    "next": "Next Steps",
    "done": "Done",
}
PREAMBLE_LIMIT = 2500
_ENTRY = re.compile(r"^- \[(?P<ts>[^\]]+)\] (?P<text>.*)$")


def _locked(session: Session):
    """One journal writer at a time (csa.mutex); never recreates a deleted session dir."""
    from csa.mutex import hold

    return hold(session.journal_lock_path, timeout=JOURNAL_WAIT_S, make_dir=False,
                busy=f"Session {session.id}: another csa process has held its journal for "
                     f"{JOURNAL_WAIT_S:g} s; retry")


def parse(text: str) -> dict[str, list[dict]]:
    """Sections -> entries ({ts, text}); unknown headings and free text are ignored."""
    by_heading = {v: k for k, v in SECTIONS.items()}
    out: dict[str, list[dict]] = {k: [] for k in SECTIONS}
    current = None
    for line in text.splitlines():
        if line.startswith("## "):
            current = by_heading.get(line[3:].strip())
            continue
        if current is None:
            continue
        m = _ENTRY.match(line)
        if m:
            out[current].append({"ts": m.group("ts"), "text": m.group("text")})
        elif line.startswith("  ") and out[current]:
            out[current][-1]["text"] += "\n" + line.strip()
    return out


def read_text(session: Session) -> str | None:
    """journal.md as it is (None when the session has no journal yet)."""
    try:
        return safeio.read_text(session.journal_path, "journal")
    except FileNotFoundError:
        return None


def read(session: Session) -> dict[str, list[dict]]:
    raw = read_text(session)
    return parse(raw) if raw is not None else {k: [] for k in SECTIONS}


def tldr(entries: dict[str, list[dict]]) -> list[str]:
    """The TL;DR lines: latest progress, open blockers, next step, counts."""
    lines = []
    if entries["progress"]:
        lines.append(f"**Current**: {entries['progress'][-1]['text'].splitlines()[0]}")
    done = len(entries["done"])
    if done:
        lines.append(f"**Done**: {done} item(s), latest: "
                     f"{entries['done'][-1]['text'].splitlines()[0]}")
    lines.append("**Blocker**: " + (entries["blocker"][-1]["text"].splitlines()[0]
                                    if entries["blocker"] else "none"))
    if entries["next"]:
        lines.append(f"**Next**: {entries['next'][-1]['text'].splitlines()[0]}")
    if entries["decision"]:
        lines.append(f"**Decisions**: {len(entries['decision'])}, latest: "
                     f"{entries['decision'][-1]['text'].splitlines()[0]}")
    return lines


def render(entries: dict[str, list[dict]], title: str) -> str:
    parts = [f"# Journal: {title}", "", "## TL;DR", *tldr(entries), ""]
    for kind, heading in SECTIONS.items():
        parts.append(f"## {heading}")
        for e in entries[kind]:
            first, *rest = e["text"].split("\n")
            parts.append(f"- [{e['ts']}] {first}")
            parts += [f"  {r}" for r in rest]
        parts.append("")
    return "\n".join(parts)


def add_entry(session: Session, kind: str, note: str, *, rationale: str | None = None,
              title: str | None = None) -> dict:
    """Append one entry (redacted) and rewrite journal.md atomically with a fresh TL;DR.

    The journal's title is the session's description unless `title` is given.
    """
    if kind not in SECTIONS:
        raise ValueError(f"unknown journal entry kind {kind!r}")
    if title is None:
        title = session.load(reconcile=False).description
    # redacted before the whitespace is collapsed: a rule may need the note's lines
    # (a .pgpass line, a private key block, a YAML value)
    redact = session.store.redactor.text
    body = " ".join(redact(note).split())
    if rationale:
        body += f"\nRationale: {' '.join(redact(rationale).split())}"
    entry = {"ts": iso_ms(utcnow()), "text": redact(body)}
    with _locked(session):
        entries = read(session)
        entries[kind].append(entry)
        atomic_write(session.journal_path, render(entries, title).encode())
    return {"kind": kind, **entry}


def prompt_preamble(session: Session, limit: int = PREAMBLE_LIMIT) -> str:
    """A compact journal summary for the start of a prompt ('' when there is no journal)."""
    entries = read(session)
    if not any(entries.values()):
        return ""
    lines = ["[Session journal kept by csa — context that survives compaction]", *tldr(entries)]
    for kind, label, n in (("decision", "Decision", 5), ("discovery", "Discovery", 5),
                           ("blocker", "Blocker", 3), ("next", "Next", 3)):
        for e in entries[kind][-n:]:
            lines.append(f"- {label}: {e['text'].replace(chr(10), ' ')}")
    text = "\n".join(lines)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text + "\n[End of journal]"
