"""Failover: a turn whose tool fails with a rate limit, quota or overload goes on with the next.

    >>> chain(cfg, ["codex", "gemini-cli"], first="claude-code")
    ['codex', 'gemini-cli']
    >>> result = run_with_failover(claim, options)     # csa.turn.run calls it
    >>> result.tool, result.tool_reason
    ('codex', 'failover: claude-code failed (rate_limit)')

`failover = [...]` in config or `--failover a,b` names the tools to try, in order, after
the run's own tool. A turn that fails with one of FAILOVER_KINDS (the tool's own
classification of its events, stderr and exit code) is run again, in the same csa
session, by the next tool that is installed and has not had this turn yet: each tool at
most once per turn, so a run never loops. The next tool is seeded with what the session
knows (description, the tools' last answers, the journal). Each switch is a `failover`
event in the transcript and a `[[failover]]` entry in state.toml; the result says which
tool answered and why.

Tools that retry a rate limit by themselves for minutes (gemini, opencode; claude and
codex a few times) are watched while there is a tool to fail over to: after
`failover_retries` failed attempts (default 2) csa stops the tool and moves on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from csa.config import Config
from csa.errors import CsaError, UsageError
from csa.tools import canonical
from csa.tools.base import FAILOVER_KINDS, Tool

if TYPE_CHECKING:
    from csa.turn.claim import Claim
    from csa.turn.outcome import RunResult
    from csa.turn.relay import Relay
    from csa.turn.request import TurnOptions

REASON_CHARS = 200
KEEP_SWITCHES = 50  # [[failover]] entries kept in state.toml


def chain(cfg: Config, requested: list[str] | None, first: str) -> list[str]:
    """The tools to fail over to after `first`: --failover, else config `failover`."""
    names = requested if requested is not None else (cfg.get("failover") or [])
    out: list[str] = []
    for raw in names:
        name = canonical(str(raw))
        if name and name != first and name not in out:
            pick(name, cfg)  # an unknown name is a usage error now, not after a failure
            out.append(name)
    return out


class RetryWatch:
    """Counts the failed attempts a tool reports while it retries; after `limit` of them
    (rate_limit, quota or overloaded) it tells the relay to stop the tool."""

    def __init__(self, tool: Tool, limit: int):
        self.tool, self.limit, self.seen = tool, max(1, limit), 0

    def line(self, text: str) -> tuple[str, str] | None:
        return self._count(self.tool.retry_kind(line=text))

    def event(self, event: dict) -> tuple[str, str] | None:
        return self._count(self.tool.retry_kind(event=event))

    def _count(self, kind: str | None) -> tuple[str, str] | None:
        if kind is None:
            return None
        self.seen += 1
        if self.seen < self.limit:
            return None
        return kind, f"{self.tool.name} kept retrying a {kind} failure ({self.seen} attempts)"


def failure_kind(tool: Tool, relay: Relay) -> str | None:
    """Why a turn failed (csa.tools.base.FAILURE_KINDS), None when it did not fail or was
    interrupted by the user."""
    if relay.status not in ("failed", "timeout"):
        return None
    if relay.gave_up:
        return relay.gave_up
    return tool.classify(list(relay.tail_events), relay.stderr_text(), relay.exit_code)


def run_with_failover(claim: Claim, options: TurnOptions) -> RunResult:
    """Run the turn; on a failover-worthy failure, again with the next tool (never a tool
    twice). Returns the last attempt's result."""
    slots: list = []  # the failover tools' concurrency slots, held until the run ends
    try:
        return _attempts(claim, options, slots)
    finally:
        for slot in slots:
            slot.release()


def _attempts(claim: Claim, options: TurnOptions, slots: list) -> RunResult:
    from csa.turn.pipeline import run_turn

    choice = claim.choice
    queue = list(choice.failover)
    tried = [choice.tool.name]
    prompt = options.prompt
    history: list[dict] = []
    while True:
        options.give_up_retries = int(choice.cfg.get("failover_retries", 2)) if queue else None
        options.failover_history = list(history)
        result = run_turn(claim, options)
        if result.failure not in FAILOVER_KINDS:
            return result
        nxt = _next_tool(claim, queue, tried, options, slots)
        if nxt is None:
            if history:
                options.say("csa: failover: every tool failed ("
                            + ", ".join(f"{h['from']}: {h['kind']}" for h in history)
                            + f", {result.tool}: {result.failure})")
            return result
        name, binary = nxt
        switch = {"from": result.tool, "to": name, "kind": result.failure,
                  "reason": _reason(result), "exit_code": result.exit_code}
        history.append(switch)
        options.say(f"csa: {result.tool} failed ({result.failure}: {switch['reason']}); "
                    f"failing over to {name} in session {claim.sid}")
        record_switch(claim, switch)
        choice.tool, choice.binary = pick(name, choice.cfg), binary
        tried.append(name)
        options.prompt = seed_prompt(claim, prompt, switch)
        options.with_journal = False  # the seed holds the journal already
        options.tool_reason = f"failover: {switch['from']} failed ({switch['kind']})"


def _next_tool(claim: Claim, queue: list[str], tried: list[str], options: TurnOptions,
               slots: list) -> tuple[str, str] | None:
    """The next tool of the chain that has not had this turn, is installed and has a free
    concurrency slot (tools.<tool>.max_concurrent; taken into `slots`)."""
    from csa.turn.choose import resolve_binary

    choice = claim.choice
    while queue:
        name = queue.pop(0)
        if name in tried:
            continue
        try:
            binary = resolve_binary(pick(name, choice.cfg), choice.cfg)
            limit = choice.cfg.tool(name).max_concurrent
            if limit:
                from csa.slots import acquire_slot

                slots.append(acquire_slot(choice.store.base, name, limit,
                                          wait=choice.wait_slot))
            return name, binary
        except (CsaError, UsageError) as e:  # not installed, no free slot
            options.say(f"csa: failover: skipping {name}: {e}")
    return None


def _reason(result: RunResult) -> str:
    text = "; ".join([*result.errors, result.final_text][:3]).strip("; ") or \
        f"exit {result.exit_code}"
    return " ".join(text.split())[:REASON_CHARS]


def record_switch(claim: Claim, switch: dict) -> None:
    """A switch in the transcript (a `failover` event) and state.toml (`[[failover]]`)."""
    if claim.choice.ephemeral:
        return
    from csa import catalogue
    from csa.state import iso_ms, utcnow

    redactor = claim.choice.store.redactor
    switch["reason"] = redactor.text(switch["reason"])
    note_event(claim, catalogue.failover(**switch))
    state = claim.state
    entries = state.extra.get("failover")
    if not isinstance(entries, list):
        entries = state.extra["failover"] = []
    entries.append({"at": iso_ms(utcnow()), "turn": state.turn_count, **switch})
    del entries[:-KEEP_SWITCHES]
    claim.session.save(state)


def note_event(claim: Claim, event: dict) -> None:
    """Append one csa event to the session's transcript between turns (best effort)."""
    if claim.choice.ephemeral:
        return
    try:
        writer = claim.session.transcript_writer(claim.choice.store.redactor)
        try:
            writer.write(event)
        finally:
            writer.close()
    except (OSError, CsaError):
        pass  # the switch is in state.toml and the result; a full disk must not stop it


def seed_prompt(claim: Claim, prompt: str, switch: dict) -> str:
    """The turn's prompt for the next tool, opened by what the session knows so far."""
    from csa.journal import prompt_preamble

    state = claim.state
    lines = [f"[csa failover] This turn was first given to {switch['from']}, which failed "
             f"({switch['kind']}); you ({switch['to']}) continue csa session {claim.sid}: "
             f"{state.description}"]
    recent = [(n, t.last_action_summary) for n, t in state.tools.items()
              if t.last_action_summary and t.last_exit_code == 0]
    if recent:
        lines.append("[Last answers in this session]")
        lines += [f"- {name}: {text}" for name, text in recent]
    journal = prompt_preamble(claim.session)
    if journal:
        lines.append(journal)
    lines.append("[End of csa context]")
    return "\n".join(lines) + "\n\n" + prompt


def pick(name: str, cfg: Config):
    """Tool `name` over its configured transport (an ACP agent too: csa.acp)."""
    from csa.turn.choose import pick_tool

    return pick_tool(name, cfg)
