"""Session digests: a small summary that outlives the transcript (turns, tokens, cost,
tool-call histogram, errors, outcome).

    >>> d = new_digest(); add_turn(d, status="finished", exit_code=0, tokens={"input_tokens": 10},
    ...                            cost_usd=0.01, tool_calls={"Bash": 2}, errors=0)
    >>> d["outcome"], d["turns"]
    ('success', 1)
    >>> digest_events(session.read_transcript())   # rebuild one (imports, old sessions)

The runner updates the digest in `state.toml` (`[digest]`) after every turn; budget
gc only evicts transcripts of digested sessions, because the digest is what is left.
"""

from __future__ import annotations

from collections.abc import Iterable

OUTCOMES = {"finished": "success", "failed": "failed", "timeout": "timeout",
            "interrupted": "interrupted", "died": "died"}


def new_digest() -> dict:
    return {"turns": 0, "tokens": {}, "cost_usd": 0.0, "tool_calls": {}, "errors": 0,
            "outcome": "unknown", "last_exit_code": -1}


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
             cost_usd: float | None, tool_calls: dict | None, errors: int) -> dict:
    """Fold one finished turn into digest `d` (in place) and return it."""
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
    return d


def digest_events(events: Iterable[dict]) -> dict:
    """A digest from transcript events (csa's own, or normalized imported ones)."""
    from csa.errors import UsageError
    from csa.tools import get_tool
    from csa.tools.base import TurnOutcome

    d = new_digest()
    parser = None
    outcome = TurnOutcome()
    open_turn = False  # a csa prompt without its turn_end: the run died
    for ev in events:
        kind = ev.get("type")
        if kind == "prompt":
            if open_turn:
                _close(d, outcome, "died", -1)
            tool = ev.get("tool")
            try:
                parser = get_tool(tool) if isinstance(tool, str) and tool else None
            except UsageError:  # a tool no longer installed: its events are not read
                parser = None
            outcome = TurnOutcome()
            open_turn = True
        elif kind == "event" and isinstance(ev.get("event"), dict) and \
                (parser is not None or ev["event"].get("type") == "acp"):
            try:
                if ev["event"].get("type") == "acp":  # any tool's ACP transport (csa.acp)
                    from csa.acp.events import observe

                    observe(ev["event"], outcome)
                else:
                    parser.observe(ev["event"], outcome)
            except Exception:  # noqa: BLE001 - a digest is best effort
                pass
        elif kind == "imported":
            if ev.get("role") == "tool_call" and ev.get("name"):
                outcome.count_tool(str(ev["name"]))
            if ev.get("is_error"):
                outcome.errors.append(str(ev.get("text") or "error"))
            usage = ev.get("usage")
            if isinstance(usage, dict):
                outcome.add_tokens(**usage)
            if ev.get("role") == "user":
                if outcome.events:
                    _close(d, outcome, "finished", 0)
                outcome = TurnOutcome()
                outcome.events = 1
        elif kind == "turn_end":
            if isinstance(ev.get("tokens"), dict) and ev["tokens"]:
                outcome.tokens = dict(ev["tokens"])
            if _num(ev.get("cost_usd")):
                outcome.cost_usd = ev["cost_usd"]
            _close(d, outcome, str(ev.get("status") or "finished"), ev.get("exit_code"))
            outcome = TurnOutcome()
            open_turn = False
    if open_turn:
        _close(d, outcome, "died", -1)
    elif outcome.events:  # the last imported exchange
        _close(d, outcome, "finished", 0)
    return d


def _close(d: dict, outcome, status: str, exit_code) -> None:
    add_turn(d, status=status, exit_code=exit_code if isinstance(exit_code, int) else 0,
             tokens=outcome.tokens, cost_usd=outcome.cost_usd, tool_calls=outcome.tool_calls,
             errors=len(outcome.errors))

