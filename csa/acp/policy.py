"""Answer an agent's permission request from config `acp.permissions`, never by asking.

    >>> answer("allow-read", "read", [{"optionId": "a", "kind": "allow_once"},
    ...                               {"optionId": "r", "kind": "reject_once"}])
    Answer(option_id='a', outcome='allowed', why='allow-read: a read-only tool call (read)')
    >>> answer(None, "edit", OPTIONS).outcome           # no policy configured
    'unanswered'

Policies: `allow` (every request: the agent acts as freely as a headless turn, which
csa starts with each tool's bypass flag), `deny` (none), `allow-read` (only tool calls
of the read-only kinds below). With no policy a run never waits for a person: the
request is denied and recorded as `unanswered`. Denying picks the agent's reject option
(once rather than always: nothing is remembered beyond this turn); when it offers none,
the answer is the protocol's `cancelled` outcome.
"""

from __future__ import annotations

from dataclasses import dataclass

POLICIES = ("allow", "deny", "allow-read")
READ_KINDS = frozenset({"read", "search", "think"})  # ACP ToolKind values that change nothing


@dataclass
class Answer:
    option_id: str | None  # None: the `cancelled` outcome
    outcome: str  # allowed | denied | unanswered
    why: str


def answer(policy: str | None, kind: str | None, options: list[dict]) -> Answer:
    """The option to select for a tool call of `kind` (options as on the wire)."""
    if policy == "allow":
        allowed, why = True, "allow"
    elif policy == "allow-read":
        allowed = kind in READ_KINDS
        why = f"allow-read: {'a read-only' if allowed else 'not a read-only'} tool call " \
              f"({kind or 'kind not given'})"
    elif policy == "deny":
        allowed, why = False, "deny"
    else:
        chosen = _pick(options, ("reject_once", "reject_always"))
        return Answer(chosen, "unanswered", "no acp.permissions policy: denied")
    wanted = ("allow_once", "allow_always") if allowed else ("reject_once", "reject_always")
    chosen = _pick(options, wanted)
    if allowed and chosen is None:  # nothing to select that allows it
        return Answer(_pick(options, ("reject_once", "reject_always")), "denied",
                      f"{why}, but the agent offered no allow option")
    return Answer(chosen, "allowed" if allowed else "denied", why)


def _pick(options: list[dict], kinds: tuple[str, ...]) -> str | None:
    for kind in kinds:
        for opt in options:
            if isinstance(opt, dict) and opt.get("kind") == kind and opt.get("optionId"):
                return str(opt["optionId"])
    return None
