"""The transcript's event catalogue: each event type csa writes, how it is built, its text
for search, and how it reads for people.

Example::

    tw.write(catalogue.prompt(tool="codex", text="fix the tests", purpose="run"))
    tw.write(catalogue.stderr("warning: slow disk"))
    catalogue.text(ev)        # what the search index holds for an event ('' for none)
    catalogue.render(ev)      # its line in `csa session logs` (None: not shown)

A builder returns ``{"type": ..., **fields}``; the transcript writer adds the envelope
(:func:`envelope`: ``v``, ``seq``, ``ts``) and redacts. The types, and who writes them:

==========  ===========================================================================
prompt      the turn's prompt, before the tool is spawned (runner)
warning     a note csa adds to a turn, e.g. low memory (runner)
event       a JSON object the tool printed on stdout (the writer's hot path)
stdout      any other line the tool printed on stdout (the writer's hot path)
stderr      a line the tool printed on stderr (runner's relay)
turn_end    the turn's outcome (runner)
compaction  the outcome of ``csa session compress`` (compress)
tool_choice why ``--tool auto`` chose the turn's tool (autotool)
failover    a failed turn moves on to the next tool, and why (failover)
commits     commits made in the project during a turn (attribution)
imported    one message read from a tool's own store (importers)
evicted     the one-line stub that replaces an evicted transcript (budget)
corrupt     never written: the reader's stand-in for a line that is not an event
==========  ===========================================================================

What is inside an ``event`` is the tool's own shape: its line for people comes from the
tool (``Tool.render``, through :func:`csa.tools.render_event`); its search text is the
string values of text-like keys (TEXT_KEYS), whatever the tool.
"""

from __future__ import annotations

import os
from typing import Any

VERSION = 1
MAX_TEXT = 20_000  # of one event, in the search index
# Keys whose string values are worth searching in tool events (ids, hashes and
# timestamps are not).
TEXT_KEYS = frozenset({"text", "content", "result", "command", "aggregated_output", "output",
                       "message", "thinking", "query", "description", "summary", "title",
                       "prompt", "error", "stderr", "stdout", "input", "name"})


# -- building ------------------------------------------------------------------------------

def envelope(seq: int, ts: str, event: dict) -> dict:
    """The record on disk: ``{"v":1,"seq":N,"ts":...}`` followed by the event's fields."""
    return {"v": VERSION, "seq": seq, "ts": ts, **event}


def prompt(*, tool: str | None, text: str, purpose: str | None = None, resume: bool = False,
           provider_session_id: str | None = None, model: str | None = None,
           argv: list[str] | None = None) -> dict:
    """The prompt of a turn, with how the tool was started (argv without the prompt)."""
    return {"type": "prompt", "tool": tool, "purpose": purpose, "text": text, "resume": resume,
            "provider_session_id": provider_session_id, "model": model, "argv": argv}


def warning(text: str) -> dict:
    return {"type": "warning", "text": text}


def stderr(text: str) -> dict:
    return {"type": "stderr", "text": text}


def stdout_event(event: dict) -> dict:
    """A JSON object the tool printed. The writer's hot path spells the same bytes itself."""
    return {"type": "event", "stream": "stdout", "event": event}


def stdout_text(text: str) -> dict:
    """A line of stdout that is not a JSON object. Hot path: as stdout_event."""
    return {"type": "stdout", "text": text}


def turn_end(*, tool: str | None, exit_code: int | None, status: str,
             provider_session_id: str | None = None, duration_s: float | None = None,
             tokens: dict | None = None, cost_usd: float | None = None,
             final_text: str | None = None, errors: list[str] | None = None,
             peak_rss_bytes: int | None = None, failure: str | None = None) -> dict:
    ev = {"type": "turn_end", "tool": tool, "exit_code": exit_code, "status": status,
          "provider_session_id": provider_session_id, "duration_s": duration_s,
          "tokens": tokens, "cost_usd": cost_usd, "final_text": final_text,
          "errors": errors, "peak_rss_bytes": peak_rss_bytes}
    if failure is not None:  # the tool's classification of its failure
        ev["failure"] = failure
    return ev


def compaction(*, session_id: str, tool: str | None, method: str, success: bool, message: str,
               old_provider_session_id: str | None, new_provider_session_id: str | None,
               compaction_count: int, exit_code: int | None) -> dict:
    return {"type": "compaction", "session_id": session_id, "tool": tool, "method": method,
            "success": success, "message": message,
            "old_provider_session_id": old_provider_session_id,
            "new_provider_session_id": new_provider_session_id,
            "compaction_count": compaction_count, "exit_code": exit_code}


def tool_choice(*, tool: str, reason: str, parent_tool: str | None = None) -> dict:
    """Why `--tool auto` chose `tool` (parent_tool: the parent's, when there is one)."""
    return {"type": "tool_choice", "tool": tool, "reason": reason, "parent_tool": parent_tool}


def failover(*, to: str, kind: str, reason: str, exit_code: int | None = None,
             **fields: Any) -> dict:
    """A turn of tool `from` failed with `kind` and is retried on tool `to`."""
    return {"type": "failover", "from": fields.get("from"), "to": to, "kind": kind,
            "reason": reason, "exit_code": exit_code}


def commits(*, commits: list[dict], head_before: str | None, head_after: str | None) -> dict:
    """Commits (sha, subject) made in the project while a turn ran."""
    return {"type": "commits", "commits": commits, "head_before": head_before,
            "head_after": head_after}


def imported(role: str, text: str, *, source: str, source_ts: str | None = None,
             **extra: Any) -> dict:
    """One normalized message of a tool's own store. ``extra``: name, is_error, usage,
    model, id, ...; unset ones (None, False, {}) are left out."""
    ev: dict[str, Any] = {"type": "imported", "role": role, "text": text, "source": source}
    if source_ts is not None:
        ev["source_ts"] = source_ts
    for k, v in extra.items():
        if v is not None and v is not False and v != {}:
            ev[k] = v
    return ev


def evicted(*, size: int, sha256: str, last_seq: int | None) -> dict:
    """What is left of an evicted transcript: its size, hash and last seq."""
    return {"type": "evicted", "bytes": size, "sha256": sha256, "last_seq": last_seq}


def corrupt(line_no: int, reason: str) -> dict:
    """The reader's stand-in for a line that is not an event (never written)."""
    return {"type": "corrupt", "line": line_no, "error": reason}


def is_eviction_stub(path: str | os.PathLike[str]) -> bool:
    """True when the transcript is nothing but an eviction stub."""
    from csa.safeio import open_stream

    try:
        with open_stream(path, "transcript") as f:  # never a FIFO or a link
            head = f.read(4096)
    except OSError:  # also csa.safeio.UnsafeFile
        return False
    first, _, rest = head.partition(b"\n")
    return b'"type":"evicted"' in first and not rest.strip()


# -- text for search -----------------------------------------------------------------------

def text(ev: dict) -> str:
    """The searchable text of one transcript event ('' when there is none)."""
    kind = ev.get("type")
    if kind in ("prompt", "stdout", "stderr", "warning", "imported"):
        return str(ev.get("text") or "")[:MAX_TEXT]
    if kind == "turn_end":
        return str(ev.get("final_text") or "")[:MAX_TEXT]
    if kind == "compaction":
        return str(ev.get("message") or "")
    if kind in ("tool_choice", "failover"):
        return str(ev.get("reason") or "")
    if kind == "commits":
        return "\n".join(str(c.get("subject") or "") for c in ev.get("commits") or [])
    if kind == "event":  # any tool's shape: the string values of its text-like keys
        out: list[str] = []
        _collect(ev.get("event"), out, 0)
        return "\n".join(out)[:MAX_TEXT]
    return ""


def _collect(obj: Any, out: list[str], depth: int) -> None:
    if depth > 8:
        return
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, str):
                if k in TEXT_KEYS and v.strip():
                    out.append(v)
            else:
                _collect(v, out, depth + 1)
    elif isinstance(obj, list):
        for v in obj:
            if isinstance(v, str):
                if v.strip():
                    out.append(v)
            else:
                _collect(v, out, depth + 1)


# -- rendering for people ------------------------------------------------------------------

def render(ev: dict) -> str | None:
    """One transcript event as a line for people (None: not shown). Never raises: an event
    whose fields have unexpected types (hand-edited, foreign) gets a plain line."""
    try:
        return _render(ev)
    except Exception:  # noqa: BLE001 - any odd shape of any field
        try:
            shown = short(str(ev))
        except RecursionError:
            shown = "[too deeply nested]"
        seq = ev.get("seq") if isinstance(ev, dict) else None
        return f"?? unreadable event (seq {seq if type(seq) is int else -1}): {shown}"


def _render(ev: dict) -> str | None:
    kind = ev.get("type")
    ts = ev.get("ts") or ""  # the one timestamp format of every command (state.iso_ms)
    if kind == "prompt":
        return f"{ts} ▶ prompt ({ev.get('tool')}{', resume' if ev.get('resume') else ''}): " \
               f"{short(ev.get('text'))}"
    if kind == "turn_end":
        final = (ev.get("final_text") or "").strip()
        failure = f" ({ev['failure']})" if ev.get("failure") else ""
        return (f"{ts} ■ turn end: {ev.get('status')}{failure} exit={ev.get('exit_code')} "
                f"{ev.get('duration_s')}s" + (f"\n{final}" if final else ""))
    if kind == "stderr":
        return f"{ts} ! {ev.get('text')}"
    if kind == "stdout":
        return f"{ts}   {ev.get('text')}"
    if kind == "event":
        from csa.tools import render_event  # each tool knows its events' shapes

        e = ev.get("event") or {}
        shown = short(render_event(e))
        return f"{ts}   [{e.get('type', '?')}] {shown}" if shown else None
    if kind == "imported":
        name = f" {ev['name']}" if ev.get("name") else ""
        when = ev.get("source_ts") or ev.get("ts") or ""
        return f"{when} · {ev.get('role')}{name}: {short(ev.get('text'))}"
    if kind == "compaction":
        return (f"{ts} ◆ compaction ({ev.get('method')}): {ev.get('message')}; provider id "
                f"{ev.get('old_provider_session_id')} -> {ev.get('new_provider_session_id')}")
    if kind == "tool_choice":
        return f"{ts} ◆ {ev.get('reason')}"
    if kind == "failover":
        return (f"{ts} ◆ failover: {ev.get('from')} failed ({ev.get('kind')}: "
                f"{short(ev.get('reason'), 120)}) -> {ev.get('to')}")
    if kind == "commits":
        shown = ", ".join(f"{str(c.get('sha'))[:10]} {short(c.get('subject'), 60)}"
                          for c in ev.get("commits") or [])
        return f"{ts} ◆ commits: {shown}"
    if kind == "corrupt":
        return f"?? corrupt line {ev.get('line')}: {ev.get('error')}"
    rest = [f"{k}={v}" for k, v in ev.items() if k not in ("v", "seq", "ts", "type") and v is not None]
    return f"{ts} · {kind}: {short(' '.join(rest))}"


def short(value: Any, width: int = 200) -> str:
    """``value`` as one line of at most ``width`` characters."""
    flat = " ".join(str(value or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
