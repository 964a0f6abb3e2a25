"""`csa session export`: a session (and with `tree`, its descendants) as md, html or jsonl.

    >>> text = export(store.resolve("auth-fix"), "md")          # reads like a conversation
    >>> page = export(session, "html", tree=True)               # one self-contained file
    >>> lines = export(session, "jsonl")                        # the transcript's events

Everything comes from the transcript and state.toml, which csa redacted before
writing them (csa.conversation turns the events into turns). Markdown and HTML show
each turn's prompt, its tool calls folded (`<details>`), the answer, timestamps and
tokens; HTML escapes every value and loads nothing from outside. JSONL is one header
line per session (`{"type": "session", ...}`) followed by its transcript events.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

import orjson

from csa.conversation import conversation
from csa.errors import UsageError

if TYPE_CHECKING:
    from csa.session import Session

FORMATS = ("md", "html", "jsonl")
MAX_TREE = 10_000


def export(session: Session, fmt: str, *, tree: bool = False) -> str:
    """The export of `session` (and its descendants with `tree`) in format `fmt`."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}: choose md, html or jsonl")
    sessions = with_descendants(session) if tree else [(session, 0)]
    if fmt == "jsonl":
        return "".join(_jsonl(s) for s, _level in sessions)
    parts = [(s, level, s.load(reconcile=False), conversation(s.read_transcript()))
             for s, level in sessions]
    return markdown(parts) if fmt == "md" else page(parts)


def with_descendants(session: Session) -> list[tuple[Session, int]]:
    """`session` then its children, depth first, each with its level below `session`."""
    out: list[tuple[Session, int]] = []
    stack = [(session.id, 0)]
    seen: set[str] = set()
    index = session.store.index
    while stack and len(out) < MAX_TREE:
        sid, level = stack.pop()
        if sid in seen:
            continue
        seen.add(sid)
        out.append((session.store.session(sid), level))
        children = index.query("parent = ? AND corrupt = 0", (sid,), order="id DESC")
        stack += [(r["id"], level + 1) for r in children]
    return out


def _jsonl(session: Session) -> str:
    head = {"type": "session", **session.load(reconcile=False).summary()}
    lines = [orjson.dumps(head)]
    lines += [orjson.dumps(ev) for ev in session.read_transcript()]
    return b"\n".join(lines).decode() + "\n"


# -- markdown ---------------------------------------------------------------------------

def markdown(parts) -> str:
    out: list[str] = []
    for _session, level, state, turns in parts:
        out += _md_session(state, turns, level)
    return "\n".join(out).rstrip() + "\n"


def _md_session(state, turns: list[dict], level: int) -> list[str]:
    title = state.name or state.meta_session_id
    out = [f"{'#' * min(level + 1, 3)} {_md_inline(title)}: {_md_inline(state.description)}",
           ""]
    out += [f"- {k}: {_md_inline(str(v))}" for k, v in _facts(state).items()]
    out.append("")
    for n, turn in enumerate(turns, 1):
        out += _md_turn(n, turn, min(level + 2, 4))
    return out


def _md_turn(n: int, t: dict, depth: int) -> list[str]:
    head = f"{'#' * depth} Turn {n}" + (f" ({t['purpose']})" if t["purpose"] != "run" else "")
    out = [f"{head} · {t['ts'] or '?'} · {t['tool'] or '?'}", ""]
    if t["prompt"]:
        out += ["**Prompt**", "", *_quote(t["prompt"]), ""]
    if t["tool_calls"]:
        out += [f"<details><summary>Tool calls ({len(t['tool_calls'])})</summary>", ""]
        for call in t["tool_calls"]:
            out.append(f"- `{_md_inline(call['name']).replace('`', '')}`")
            for label in ("input", "output"):
                if call[label]:
                    out += ["", f"  {label}:", "", *_fence(call[label], "  ")]
            out.append("")
        out += ["</details>", ""]
    answer = _answer(t)
    if answer:
        out += ["**Answer**", "", answer, ""]
    meta = _turn_meta(t)
    if meta:
        out += [f"_{meta}_", ""]
    return out


def _quote(text: str) -> list[str]:
    return ["> " + line if line else ">" for line in text.splitlines()]


def _fence(text: str, indent: str = "") -> list[str]:
    ticks = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`+", text)), default=0))
    return [indent + ticks, *(indent + line for line in text.splitlines()), indent + ticks]


def _md_inline(text: str) -> str:
    return " ".join((text or "").split())


# -- html -------------------------------------------------------------------------------

STYLE = ("body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
         "line-height:1.45}pre{white-space:pre-wrap;background:#f5f5f5;padding:.5rem;"
         "overflow-x:auto}.prompt{border-left:4px solid #4a7;padding-left:.75rem}"
         ".answer{border-left:4px solid #47a;padding-left:.75rem}.meta{color:#666;"
         "font-size:.9em}section.session{margin-left:calc(var(--level)*1.5rem)}")


def page(parts) -> str:
    e = html.escape
    first = parts[0][2]
    body = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            f"style-src 'unsafe-inline'\">"
            f"<title>{e(first.name or first.meta_session_id)}: {e(first.description)}</title>"
            f"<style>{STYLE}</style></head><body>"]
    for _session, level, state, turns in parts:
        body.append(f"<section class=\"session\" style=\"--level:{int(level)}\">")
        body.append(f"<h{min(level + 1, 3)}>{e(state.name or state.meta_session_id)}: "
                    f"{e(state.description)}</h{min(level + 1, 3)}><ul class=\"meta\">")
        body += [f"<li>{e(k)}: {e(str(v))}</li>" for k, v in _facts(state).items()]
        body.append("</ul>")
        for n, t in enumerate(turns, 1):
            body.append(_html_turn(n, t, min(level + 2, 4)))
        body.append("</section>")
    body.append("</body></html>\n")
    return "\n".join(body)


def _html_turn(n: int, t: dict, depth: int) -> str:
    e = html.escape
    purpose = f" ({e(t['purpose'])})" if t["purpose"] != "run" else ""
    out = [f"<article><h{depth}>Turn {n}{purpose} · <time>{e(str(t['ts'] or '?'))}</time> · "
           f"{e(str(t['tool'] or '?'))}</h{depth}>"]
    if t["prompt"]:
        out.append(f"<div class=\"prompt\"><strong>Prompt</strong><pre>{e(t['prompt'])}</pre>"
                   "</div>")
    if t["tool_calls"]:
        out.append(f"<details><summary>Tool calls ({len(t['tool_calls'])})</summary><ul>")
        for call in t["tool_calls"]:
            out.append(f"<li><code>{e(call['name'])}</code>")
            for label in ("input", "output"):
                if call[label]:
                    out.append(f"<div>{label}:</div><pre>{e(call[label])}</pre>")
            out.append("</li>")
        out.append("</ul></details>")
    answer = _answer(t)
    if answer:
        out.append(f"<div class=\"answer\"><strong>Answer</strong><pre>{e(answer)}</pre></div>")
    meta = _turn_meta(t)
    if meta:
        out.append(f"<p class=\"meta\">{e(meta)}</p>")
    out.append("</article>")
    return "\n".join(out)


# -- shared -----------------------------------------------------------------------------

def _facts(state) -> dict:
    facts = {"id": state.meta_session_id, "project": state.project_path,
             "created": state.created_at.isoformat(), "turns": state.turn_count,
             "tools": ", ".join(state.tools) or "-"}
    if state.name:
        facts["name"] = state.name
    if state.parent_session_id:
        facts["parent"] = state.parent_session_id
    if state.forked_from:
        facts["forked from"] = state.forked_from
    tokens = state.total_tokens()
    if tokens:
        facts["tokens"] = ", ".join(f"{k} {v}" for k, v in sorted(tokens.items()))
    return facts


def _answer(t: dict) -> str:
    if t["answer"]:
        return t["answer"]
    return "".join(t["texts"]).strip()


def _turn_meta(t: dict) -> str:
    bits = []
    if t["status"]:
        bits.append(f"{t['status']}, exit {t['exit_code']}")
    if t["ended_at"]:
        bits.append(f"ended {t['ended_at']}")
    if t["duration_s"] is not None:
        bits.append(f"{t['duration_s']} s")
    if t["tokens"]:
        bits.append("tokens: " + ", ".join(f"{k} {v}" for k, v in sorted(t["tokens"].items())))
    if t["cost_usd"]:
        bits.append(f"${t['cost_usd']:.4f}")
    if t["errors"]:
        bits.append("errors: " + "; ".join(t["errors"]))
    return " · ".join(bits)
