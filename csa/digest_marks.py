"""What a digest keeps beyond the counts: retry and human-intervention markers, key
snippets, and (for imports) the shape of the `uuid`/`parentUuid` turn DAG.

    >>> d = new_digest(); mark(d, "intervention", "[Request interrupted by user]", ts=None)
    >>> d["interventions"], d["markers"][0]["kind"]
    (1, 'intervention')
    >>> snip(d, "prompt", "fix the flaky test"); d["snippets"]["first_prompt"]
    'fix the flaky test'
    >>> dag_shape([{"uuid": "a"}, {"uuid": "b", "parent_uuid": "a"}, {"uuid": "c", "parent_uuid": "a"}])
    {'nodes': 3, 'roots': 1, 'forks': 1, 'leaves': 2, 'main_chain': 2}

Snippets are cut to SNIPPET_CHARS from text that is already redacted (the transcript, or
the redacted outcome of a run); markers are capped at MAX_MARKERS (the first ones kept,
the counters go on counting).
"""

from __future__ import annotations

from collections.abc import Iterable

SNIPPET_CHARS = 200
MAX_MARKERS = 20
MARKER_CHARS = 120
# Texts that say a person stepped in (claude writes these as user messages).
INTERVENTION_PREFIXES = ("[Request interrupted by user", "[Request cancelled by user")
COUNTERS = {"retry": "retries", "intervention": "interventions", "compaction": "compactions",
            "error": None}


def manual_compaction(outcome) -> bool:
    """The turn was a compaction the user asked for (`/compact`), not a user turn."""
    found = getattr(outcome, "compactions", None) or []
    return any(c.get("trigger") == "manual" for c in found)


def is_intervention(text: object) -> bool:
    return isinstance(text, str) and text.lstrip().startswith(INTERVENTION_PREFIXES)


def cut(text: object, limit: int = SNIPPET_CHARS) -> str:
    """text on one line (whitespace runs as one space), cut to limit characters.

    Only a prefix of a long text is folded (an imported tool result can be megabytes):
    the folded prefix is a prefix of the folded whole, so once it is longer than limit
    the result is the same."""
    t = str(text or "")
    window = 2 * limit + 64
    while True:
        s = " ".join(t[:window].split())
        if len(s) > limit or window >= len(t):
            break
        window *= 4
    return s if len(s) <= limit else s[:limit - 1] + "…"


def mark(d: dict, kind: str, text: object, *, ts: str | None) -> None:
    """Count one marker of `kind` (retry, intervention, compaction, error) and keep it."""
    counter = COUNTERS.get(kind)
    if counter:
        d[counter] = _int(d.get(counter)) + 1
    markers = d.get("markers")
    if not isinstance(markers, list):
        markers = d["markers"] = []
    if len(markers) < MAX_MARKERS:
        m = {"kind": kind, "text": cut(text, MARKER_CHARS)}
        if ts:
            m["ts"] = ts
        markers.append(m)


def snip(d: dict, role: str, text: object) -> None:
    """Keep a key snippet: the first prompt, the last prompt, answer and error."""
    if not isinstance(text, str) or not text.strip():
        return
    snippets = d.get("snippets")
    if not isinstance(snippets, dict):
        snippets = d["snippets"] = {}
    if role == "prompt":
        snippets.setdefault("first_prompt", cut(text))
        snippets["last_prompt"] = cut(text)
    else:  # "answer" | "error"
        snippets[f"last_{role}"] = cut(text)


def dag_shape(events: Iterable[dict]) -> dict | None:
    """The turn DAG of imported events that carry `uuid` (and `parent_uuid`): how many
    nodes and roots, forks (a message answered or edited more than once: a retry or an
    edit), leaves (branch ends), and the longest root-to-leaf chain. None without uuids."""
    parent: dict[str, str | None] = {}
    for ev in events:
        u = ev.get("uuid")
        if isinstance(u, str) and u:
            p = ev.get("parent_uuid")
            parent.setdefault(u, p if isinstance(p, str) and p else None)
    if not parent:
        return None
    children: dict[str, int] = {}
    for p in parent.values():
        if p is not None and p in parent:
            children[p] = children.get(p, 0) + 1
    roots = sum(1 for p in parent.values() if p is None or p not in parent)
    depth: dict[str, int] = {}
    for u in parent:
        _depth(u, parent, depth)
    return {"nodes": len(parent), "roots": roots,
            "forks": sum(1 for n in children.values() if n > 1),
            "leaves": sum(1 for u in parent if u not in children),
            "main_chain": max(depth.values())}


def _depth(u: str, parent: dict, depth: dict) -> int:
    """Chain length from a root to `u` (iterative: chains are thousands long)."""
    path: list[str] = []
    on_path: set[str] = set()
    while u not in depth:
        path.append(u)
        on_path.add(u)
        p = parent.get(u)
        if p is None or p not in parent or p in on_path:
            depth[u] = 1
            path.pop()
            break
        u = p
    base = depth[u]
    for v in reversed(path):
        base += 1
        depth[v] = base
    return base


def _int(v) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else 0
