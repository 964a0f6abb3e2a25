"""What a turn produced: the RunResult returned to callers, from the relay's outcome.

    >>> res = result_of(turn, relay)
    >>> res.session_id, res.exit_code, res.final_text, res.tokens
    >>> res.to_json()                        # what `csa run --json` prints

Some tools report token usage or cost as running totals of the provider session;
the result holds this turn's figures (the totals are kept for the next turn).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from csa.state import ToolState
from csa.tools.base import Tool, TurnOutcome

if TYPE_CHECKING:
    from csa.turn.pipeline import Turn
    from csa.turn.relay import Relay


@dataclass
class RunResult:
    session_id: str
    tool: str
    provider_session_id: str | None
    exit_code: int
    status: str
    duration_s: float
    final_text: str
    tokens: dict[str, int]
    cost_usd: float | None = None
    model: str | None = None
    ephemeral: bool = False
    errors: list[str] = field(default_factory=list)
    outcome: TurnOutcome | None = None
    failure: str | None = None  # rate_limit | quota | overloaded | auth | other (failed turns)
    tool_reason: str | None = None  # why this tool ran: --tool auto, failover
    failover: list[dict] = field(default_factory=list)  # the switches before this attempt
    stderr_tail: list[str] = field(default_factory=list)  # the tool's last stderr lines
    message: str | None = None  # csa.run_messages.failure_line: what `csa run` says at the end

    def to_json(self) -> dict:
        return {
            "session_id": self.session_id, "tool": self.tool,
            "provider_session_id": self.provider_session_id, "exit_code": self.exit_code,
            "status": self.status, "duration_s": round(self.duration_s, 3),
            "final_text": self.final_text, "tokens": self.tokens, "cost_usd": self.cost_usd,
            "model": self.model, "ephemeral": self.ephemeral, "errors": self.errors,
            "failure": self.failure, "tool_reason": self.tool_reason,
            "failover": self.failover,
        }


def result_of(turn: Turn, relay: Relay) -> RunResult:
    """The turn's result once the relay is done (per-turn usage figures)."""
    from csa.failover import failure_kind

    outcome, spec = relay.outcome, turn.spec
    assert spec is not None
    per_turn_usage(turn.tool, outcome, turn.tool_state, turn.provider_id)
    return RunResult(
        session_id=turn.sid, tool=turn.tool.name,
        provider_session_id=outcome.provider_session_id or turn.provider_id,
        exit_code=relay.exit_code, status=relay.status,
        duration_s=time.monotonic() - turn.started, final_text=outcome.text(),
        tokens=dict(outcome.tokens), cost_usd=outcome.cost_usd,
        model=outcome.model or spec.model, ephemeral=turn.ephemeral,
        errors=list(dict.fromkeys(outcome.errors)),  # a tool may report one error twice
        outcome=outcome, stderr_tail=list(relay.stderr_tail),
        failure=failure_kind(turn.tool, relay), tool_reason=turn.options.tool_reason,
        failover=list(turn.options.failover_history))


def per_turn_usage(tool: Tool, outcome: TurnOutcome, tool_state: ToolState | None,
                   provider_id: str | None) -> None:
    """Turn a provider session's running totals into this turn's figures (keeping the totals).

    The previous totals only apply when this turn continued the same provider session.
    """
    same = (tool_state is not None and provider_id is not None
            and outcome.provider_session_id in (None, provider_id))
    previous = tool_state.extra if same and tool_state is not None else {}
    if tool.cumulative_usage:
        reported = dict(outcome.tokens)
        outcome.thread_tokens = reported
        before = previous.get("thread_tokens")
        if not isinstance(before, dict):  # a hand-edited state.toml
            before = {}
        outcome.tokens = {k: max(0, v - int(_number(before.get(k)))) for k, v in reported.items()}
    if tool.cumulative_cost and outcome.cost_usd is not None:
        outcome.thread_cost = outcome.cost_usd
        before_cost = float(_number(previous.get("thread_cost_usd")))
        outcome.cost_usd = max(0.0, outcome.cost_usd - before_cost)


def _number(value) -> int | float:
    """A figure read back from state.toml, or 0 when it is not a finite number."""
    from csa.digest import _num

    return _num(value)
