"""`csa session fork`: a new session whose conversation starts from another session's.

    >>> fork = create_fork(store.resolve("auth-fix"), name="auth-alt")   # nothing runs yet
    >>> fork.read_state().forked_from
    '01JH4QWERT1234567890ABCDEF'

The fork is a sibling of the source (same parent and depth) with `[genealogy]
forked_from`; the source is only read, never locked or written, so its turn count
and provider ids stay as they were. What the fork's first turn does is kept in its
`[fork]` table:

- `mode = "native"`: the tool copies the source's conversation itself
  (claude `--resume X --fork-session`, codex `exec fork X`, opencode `run -s X --fork`;
  Tool.native_fork) and prints a new conversation id, which the fork keeps;
- `mode = "seed"`: the tool cannot fork (gemini-cli), or the fork uses another tool than
  the source: the first prompt is preceded by the source's conversation up to
  `source_seq` (its transcript as it was when forked), cut to SEED_CHARS.

The ForkStart hook (csa.turn.hooks) applies this to the fork's first turn, whether
it is run by `csa session fork ... PROMPT` or by a later `csa run -s FORK PROMPT`,
until a tool has given the fork a conversation id of its own (a first turn that
failed earlier is forked again); after that the fork resumes its own conversation
like any session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from csa.errors import CsaError

if TYPE_CHECKING:
    from csa.session import Session
    from csa.turn.pipeline import Turn

SEED_CHARS = 60_000
SEED_HEAD = ("This conversation continues an earlier one (csa session {sid}, with {tool}). "
             "Here is that conversation so far; carry on from it.\n\n<previous-conversation>\n")
SEED_TAIL = "</previous-conversation>\n\nThe new request:\n\n"


def create_fork(source: Session, *, name: str | None = None, tool: str | None = None) -> Session:
    """Create the fork of `source` (see the module docstring); returns it, not yet run."""
    from csa.config import load_config
    from csa.turn.choose import pick_tool

    store = source.store
    src = source.read_state()
    cfg = load_config(store.root)
    chosen = pick_tool(tool or src.last_tool() or cfg.get("default_tool") or "claude-code",
                       cfg, None, source)  # an ACP agent too (csa.acp)
    tool_name = chosen.name
    src_tool = src.tools.get(tool_name)
    provider_id = src_tool.provider_session_id if src_tool else None
    native = chosen.native_fork and provider_id is not None
    plan = {"from": source.id, "tool": tool_name, "mode": "native" if native else "seed",
            "source_seq": _last_seq(source)}
    if native:
        plan["provider_session_id"] = provider_id

    def build(_hidden: Session, state) -> None:
        state.forked_from = source.id
        state.extra["fork"] = plan

    session, _state, _lock = store.create(
        description=src.description, parent_session_id=src.parent_session_id,
        depth=src.depth, git_branch=src.git_branch, git_head=src.git_head, name=name,
        build=build)
    return session


def _last_seq(session: Session) -> int:
    last = -1
    for ev in session.read_transcript():
        if isinstance(ev.get("seq"), int):
            last = ev["seq"]
    return last


class ForkStart:
    """Hook: the first turn of a fork copies (native) or is seeded with the source's
    conversation."""

    def before_turn(self, turn: Turn) -> None:
        plan = turn.state.extra.get("fork")
        if not isinstance(plan, dict) or turn.options.purpose != "run":
            return
        # Until a tool has printed a conversation id the fork has not started (a first
        # turn that failed before that is tried again); after it, it resumes its own.
        from csa.turn.record import PENDING

        # an id csa chose that the tool never confirmed (the turn failed first) is no
        # conversation yet: fork again
        if any(t.provider_session_id and not t.extra.get(PENDING)
               for t in turn.state.tools.values()):
            return
        pid = plan.get("provider_session_id")
        if plan.get("mode") == "native" and plan.get("tool") == turn.tool.name and \
                isinstance(pid, str) and turn.tool.native_fork:
            turn.fork_from = pid
            return
        turn.prompt = seed_prompt(turn.store.session(str(plan.get("from"))),
                                  plan.get("source_seq"), turn.prompt, turn.warnings)


def seed_prompt(source: Session, upto: object, prompt: str, warnings: list[str]) -> str:
    """`prompt` preceded by the source's conversation (its turns up to seq `upto`)."""
    from csa.conversation import conversation

    if not source.exists():
        warnings.append(f"fork: session {source.id} is gone; starting without its conversation")
        return prompt
    limit = upto if isinstance(upto, int) else None
    try:
        events = (ev for ev in source.read_transcript()
                  if limit is None or not isinstance(ev.get("seq"), int) or ev["seq"] <= limit)
        turns = conversation(events)
        tool = source.read_state().last_tool() or "?"
    except CsaError as e:
        warnings.append(f"fork: could not read session {source.id} ({e}); starting without it")
        return prompt
    body = seed_text(turns)
    return SEED_HEAD.format(sid=source.id, tool=tool) + body + SEED_TAIL + prompt


def seed_text(turns: list[dict], budget: int = SEED_CHARS) -> str:
    """The turns as `User:` / `Assistant:` text, newest kept when over `budget`."""
    blocks = []
    for t in turns:
        if t["purpose"] not in ("run", "imported"):
            continue
        answer = t["answer"] or "".join(t["texts"]).strip()
        blocks.append(f"User: {t['prompt']}\n\nAssistant: {answer}\n\n")
    kept: list[str] = []
    used = 0
    for block in reversed(blocks):
        if used + len(block) > budget:
            kept.append(f"[{len(blocks) - len(kept)} earlier turns left out]\n\n")
            break
        kept.append(block)
        used += len(block)
    return "".join(reversed(kept))
