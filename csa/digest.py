"""Session digests: the small plaintext summary that outlives the transcript (turns,
tokens, cost, tool-call histogram, errors, outcome, retry / human-intervention /
compaction markers, key snippets, and the turn DAG of imports).

    >>> d = new_digest(); add_turn(d, status="finished", exit_code=0, tokens={"input_tokens": 10},
    ...                            cost_usd=0.01, tool_calls={"Bash": 2}, errors=0,
    ...                            prompt="fix it", answer="done")
    >>> d["outcome"], d["turns"], d["snippets"]["last_answer"]
    ('success', 1, 'done')
    >>> digest_events(session.read_transcript())   # rebuild one (imports, old sessions)

The runner updates the digest in `state.toml` (`[digest]`) after every turn; retention
(csa.retention) evicts only transcripts of digested sessions, because the digest is what
is left. Its fields are listed in docs/retention.md ("Digests"); `analyzed_at` is when it
was last brought up to date. Field meanings never change; new ones may be added.
"""

from __future__ import annotations

from collections.abc import Iterable

from csa.digest_marks import cut, dag_shape, is_intervention, manual_compaction, mark, snip

VERSION = 2
OUTCOMES = {"finished": "success", "failed": "failed", "timeout": "timeout",
            "interrupted": "interrupted", "died": "died"}


def new_digest() -> dict:
    return {"version": VERSION, "turns": 0, "tokens": {}, "cost_usd": 0.0, "tool_calls": {},
            "errors": 0, "outcome": "unknown", "last_exit_code": -1, "compactions": 0,
            "retries": 0, "interventions": 0, "markers": [], "snippets": {}}


def _num(v) -> int | float:
    """A count or amount read back from state.toml; anything else (hand-edited) counts as 0."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or v in (_INF, -_INF):
        return 0
    return v


_INF = float("inf")


def _table(d: dict, key: str) -> dict:
    value = d.get(key)
    if not isinstance(value, dict):
        value = d[key] = {}
    return value


def add_turn(d: dict, *, status: str, exit_code: int | None, tokens: dict | None,
             cost_usd: float | None, tool_calls: dict | None, errors: int,
             compactions: int = 0, user_turn: bool = True, retries: list[str] | None = None,
             prompt: str | None = None, answer: str | None = None,
             error_texts: list[str] | None = None, ts: str | None = None,
             stamp: bool = True) -> dict:
    """Fold one finished turn into digest `d` (in place) and return it. A turn that was
    only the tool's own compaction (`user_turn=False`) is not counted as a turn."""
    d.setdefault("version", VERSION)
    if user_turn:
        d["turns"] = int(_num(d.get("turns", 0))) + 1
    totals = _table(d, "tokens")
    for k, v in (tokens or {}).items():
        if isinstance(v, int) and not isinstance(v, bool):
            totals[k] = int(_num(totals.get(k, 0))) + v
    if _num(cost_usd):
        d["cost_usd"] = round(float(_num(d.get("cost_usd", 0.0))) + float(_num(cost_usd)), 9)
    calls = _table(d, "tool_calls")
    for k, v in (tool_calls or {}).items():
        calls[k] = int(_num(calls.get(k, 0))) + int(_num(v))
    d["errors"] = int(_num(d.get("errors", 0))) + int(errors)
    # A non-zero exit with status "finished" cannot happen; "failed" covers it.
    d["outcome"] = OUTCOMES.get(status, "unknown") if exit_code == 0 or status != "finished" \
        else "failed"
    d["last_exit_code"] = exit_code if exit_code is not None else -1
    for text in retries or []:
        mark(d, "retry", text, ts=ts)
    for _ in range(compactions):
        mark(d, "compaction", "the tool compacted its context", ts=ts)
    if status == "interrupted":
        mark(d, "intervention", "turn interrupted (Ctrl-C)", ts=ts)
    for text in error_texts or []:
        mark(d, "error", text, ts=ts)
    if user_turn:
        snip(d, "prompt", prompt)
    snip(d, "answer", answer)
    if error_texts:
        snip(d, "error", error_texts[-1])
    if stamp:  # digest_events stamps once, at the end
        d["analyzed_at"] = _now()
    return d


def _now() -> str:
    from csa.state import iso_ms, utcnow

    return iso_ms(utcnow())


def digest_events(events: Iterable[dict]) -> dict:
    """A digest from transcript events (csa's own, or normalized imported ones)."""
    d = new_digest()
    folder = _Folder(d)
    for ev in events:
        folder.take(ev)
    folder.end()
    shape = dag_shape(folder.imported)
    if shape is not None:
        d["dag"] = shape
    d["analyzed_at"] = _now()
    return d


class _Folder:
    """Reads a transcript's events in order and folds each turn into the digest."""

    def __init__(self, d: dict):
        from csa.tools.base import TurnOutcome

        self.d, self.new_outcome = d, TurnOutcome
        self.parser = None
        self.outcome = TurnOutcome()
        self.open_turn = False  # a csa prompt without its turn_end: the run died
        self.prompt: str | None = None
        self.user_turn = True
        self.imported: list[dict] = []  # uuid / parent_uuid of imported events

    def take(self, ev: dict) -> None:
        kind = ev.get("type")
        if kind == "prompt":
            self._prompt(ev)
        elif kind == "event" and isinstance(ev.get("event"), dict):
            self._event(ev["event"])
        elif kind == "imported":
            self._imported(ev)
        elif kind == "compaction" and ev.get("success"):
            mark(self.d, "compaction", ev.get("message"), ts=ev.get("ts"))
        elif kind == "turn_end":
            self._turn_end(ev)

    def _event(self, event: dict) -> None:
        try:
            if event.get("type") == "acp":  # any tool's ACP transport (csa.acp)
                from csa.acp.events import observe

                observe(event, self.outcome)
            elif self.parser is not None:
                self.parser.take_event(event, self.outcome)
        except Exception:  # noqa: BLE001 - a digest is best effort
            pass

    def _prompt(self, ev: dict) -> None:
        from csa.errors import UsageError
        from csa.tools import get_tool

        if self.open_turn:
            self._close("died", -1, None)
        tool = ev.get("tool")
        try:
            self.parser = get_tool(tool) if isinstance(tool, str) and tool else None
        except UsageError:  # a tool no longer installed: its events are not read
            self.parser = None
        self.outcome = self.new_outcome()
        self.open_turn = True
        self.prompt = ev.get("text") if ev.get("purpose", "run") == "run" else None
        self.user_turn = ev.get("purpose", "run") == "run"

    def _turn_end(self, ev: dict) -> None:
        if isinstance(ev.get("tokens"), dict) and ev["tokens"]:
            self.outcome.tokens = dict(ev["tokens"])
        if _num(ev.get("cost_usd")):
            self.outcome.cost_usd = ev["cost_usd"]
        if isinstance(ev.get("final_text"), str):
            self.outcome.final_text = ev["final_text"]
        errors = [str(e) for e in ev.get("errors") or [] if e]
        self._close(str(ev.get("status") or "finished"), ev.get("exit_code"), ev.get("ts"),
                    errors)
        self.open_turn = False

    def _imported(self, ev: dict) -> None:
        if isinstance(ev.get("uuid"), str):
            self.imported.append(ev)
        role, text, ts = ev.get("role"), ev.get("text"), ev.get("source_ts")
        o = self.outcome
        if role == "user" and is_intervention(text):
            mark(self.d, "intervention", text, ts=ts)
            return
        if role == "system" and ev.get("subtype") == "turn_aborted":  # codex: stopped by the user
            mark(self.d, "intervention", text, ts=ts)
        if role == "system" and ev.get("subtype") == "compact_boundary":
            mark(self.d, "compaction", text or "context compacted", ts=ts)
        if role == "system" and ev.get("subtype") in ("api_retry", "retry"):
            o.retries.append(str(text or "retry"))
        if role == "tool_call" and ev.get("name"):
            o.count_tool(str(ev["name"]))
        if ev.get("is_error"):
            o.errors.append(str(text or "error"))
        usage = ev.get("usage")
        if isinstance(usage, dict):
            o.add_tokens(**usage)
        if role == "assistant" and isinstance(text, str) and text.strip():
            o.final_text = text
        if role == "user":
            if o.events:
                self._close("finished", 0, ts)
            self.outcome = self.new_outcome()
            self.outcome.events = 1
            self.prompt, self.user_turn = text, True

    def _close(self, status: str, exit_code, ts, end_errors: list[str] | None = None) -> None:
        o = self.outcome
        errors = list(o.errors) + [e for e in end_errors or [] if e not in o.errors]
        add_turn(self.d, status=status, exit_code=exit_code if isinstance(exit_code, int) else 0,
                 tokens=o.tokens, cost_usd=o.cost_usd, tool_calls=o.tool_calls,
                 errors=len(o.errors), compactions=0,
                 user_turn=self.user_turn and not manual_compaction(o),
                 retries=o.retries, prompt=self.prompt, answer=o.final_text,
                 error_texts=[cut(e) for e in errors], ts=ts, stamp=False)

    def end(self) -> None:
        if self.open_turn:
            self._close("died", -1, None)
        elif self.outcome.events:  # the last imported exchange
            self._close("finished", 0, None)
