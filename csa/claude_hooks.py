"""Claude Code hooks backed by the csa journal: PreCompact, SessionStart, UserPromptSubmit.

    $ echo '{"hook_event_name":"PreCompact","cwd":"/proj","trigger":"auto"}' | csa hooks run
    [csa journal — keep this through the compaction] ...

Claude Code runs each hook with a JSON object on stdin (`hook_event_name`, `session_id`,
`cwd`, plus `trigger` for PreCompact, `source` for SessionStart, `prompt` for
UserPromptSubmit). On exit 0 what a hook prints goes: for PreCompact, into the custom
instructions of the compaction summary; for SessionStart and UserPromptSubmit, into
Claude's context. So the PreCompact hook bumps the journal's `compaction_count` and
prints the TL;DR, key context and next steps; SessionStart prints the journal context;
UserPromptSubmit prints it only when the prompt asks to continue ("where were we").

The journal is found without csa around Claude: $CSA_SESSION_ID when Claude runs
inside a csa session, else the csa session whose provider conversation is Claude's
`session_id` (an imported or csa-run conversation), else the most recently updated
active (or paused) journal of the project of `cwd` (or of the nearest parent that has
csa sessions). A hook never fails the user's tool: bad input, no
project, no journal -> nothing printed, exit 0 (`handle` never raises).
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from csa.session import Session

EVENTS = {"precompact": "PreCompact", "pre-compact": "PreCompact",
          "sessionstart": "SessionStart", "session-start": "SessionStart",
          "userpromptsubmit": "UserPromptSubmit", "user-prompt-submit": "UserPromptSubmit"}
# Claude Code cuts a hook's output (PreCompact at 10,000 characters): stay well under.
OUTPUT_LIMIT = 4000

_PHRASES = re.compile(
    r"\bwhere (?:were|was|are) (?:we|i)\b(?! going)|\bwhere (?:did )?(?:we|i) (?:leave|left|stop)"
    r"(?:ped)? off\b|\b(?:we|i|you) left off\b|\bpick(?:ing)? (?:it |this |things )?(?:back )?up where\b"
    r"|\bwhat (?:were|was) (?:we|i) (?:doing|working on)\b|\bcatch me up\b"
    r"|\bremind me (?:where|what we)\b|\bcontinue (?:from|where) (?:we|i|the last|last)\b")
_NEGATION = {"don't", "dont", "do", "not", "never", "stop", "no"}
_LEAD = {"ok", "okay", "so", "please", "let's", "lets", "now", "alright", "right", "hi",
         "hey", "well", "then", "and", "good", "morning", "yes", "yeah", "sure", "go", "ahead"}
_VERBS = {"continue", "resume", "proceed", "carry", "keep", "continuing", "resuming"}
_FILLER = {"on", "going", "where", "we", "i", "left", "off", "from", "the", "last", "time",
           "session", "work", "working", "task", "our", "my", "please", "with", "it", "this",
           "that", "previous", "earlier", "before", "again", "yesterday", "so", "far", "then",
           "ok", "okay", "now", "what", "doing", "were", "was", "you", "us", "let's", "lets",
           "job", "stuff", "things", "there", "thanks", "thank", "ahead", "up", "stopped"}


def wants_continue(prompt: str) -> bool:
    """True when the prompt asks to pick up earlier work ("continue", "where were we")."""
    words = re.findall(r"[a-z']+", (prompt or "").lower().replace("\u2019", "'"))
    if not words or len(words) > 30:
        return False
    text = " ".join(words)
    m = _PHRASES.search(text)
    if m:
        before = text[: m.start()].split()
        return not _NEGATION.intersection(before[-3:])
    i = 0
    while i < len(words) and words[i] in _LEAD:
        i += 1
    if i == len(words) or words[i] not in _VERBS or _NEGATION.intersection(words[:i]):
        return False
    rest = words[i + 1:]
    if words[i] in ("carry", "keep"):  # "carry on", "keep going"
        if not rest or rest[0] not in ("on", "going"):
            return False
        rest = rest[1:]
    return all(w in _FILLER for w in rest)


def find_session(cwd: str | None, claude_session_id: str | None) -> Session | None:
    """The csa session whose journal this Claude session should see (None: no journal)."""
    from csa.errors import CsaError
    from csa.journal_life import journals

    store = _project_store(cwd or os.environ.get("CLAUDE_PROJECT_DIR") or None)
    candidates = []
    if os.environ.get("CSA_SESSION_ID"):
        candidates.append(lambda: store.session(os.environ["CSA_SESSION_ID"]))
    if claude_session_id:
        candidates.append(lambda: store.resolve(claude_session_id))
    for get in candidates:
        try:
            session = get()
        except (CsaError, ValueError, OSError):
            continue
        if session.journal_path.exists():
            return session
    for row in journals(store):
        if row["status"] in ("active", "paused"):
            return store.session(row["session_id"])
    return None


def _project_store(cwd: str | None):
    """The csa project of `cwd`: its own, else the nearest parent dir's that has sessions
    (Claude started in a subdirectory of a project that is not a git repository)."""
    from csa.store import Store

    store = Store.open(cwd)
    first = store
    while not store.sessions_dir.is_dir():
        parent = store.root.parent
        if parent == store.root:
            return first
        store = Store.open(parent)
    return store


def pre_compact(data: dict, session: Session) -> str:
    from csa.journal import context_text
    from csa.journal_life import count_compaction

    journal = count_compaction(session)
    n = journal.meta["compaction_count"]
    if os.environ.get("CSA_SESSION_ID") == session.id:  # inside csa: keep the uncompacted state
        from csa.journal_life import save_checkpoint

        save_checkpoint(session, f"before Claude Code compaction #{n}")
    head = (f"[csa session journal {session.id} — compaction #{n}; keep this context "
            "verbatim in the summary: objective, progress, current step, key context, "
            "decisions, next steps]")
    return context_text(journal, OUTPUT_LIMIT, header=head)


def session_start(data: dict, session: Session) -> str:
    from csa.journal import context_text, load

    journal = load(session)
    n = journal.meta.get("compaction_count") or 0
    head = (f"[csa: {journal.status} session journal {session.id}"
            + (f", after {n} compaction(s)" if n else "") + "]")
    return context_text(journal, OUTPUT_LIMIT, header=head) + \
        f"\nFull journal: csa session journal -s {session.id}"


def user_prompt_submit(data: dict, session: Session) -> str:
    if not wants_continue(str(data.get("prompt") or "")):
        return ""
    return session_start(data, session)


HANDLERS = {"PreCompact": pre_compact, "SessionStart": session_start,
            "UserPromptSubmit": user_prompt_submit}


def handle(event: str | None, raw: str) -> str:
    """What the hook prints for `raw` (stdin); '' on any problem. Never raises."""
    from csa.errors import CsaError

    try:
        try:
            data = json.loads(raw) if raw.strip() else {}
        except ValueError:  # not Claude Code's input: not ours to judge
            return ""
        if not isinstance(data, dict):
            return ""
        name = EVENTS.get((event or str(data.get("hook_event_name") or "")).lower())
        if name is None:
            return ""
        # UserPromptSubmit: decide on the prompt before touching any file (most prompts)
        if name == "UserPromptSubmit" and not wants_continue(str(data.get("prompt") or "")):
            return ""
        cwd = data.get("cwd") if isinstance(data.get("cwd"), str) else None
        sid = data.get("session_id") if isinstance(data.get("session_id"), str) else None
        session = find_session(cwd, sid)
        return HANDLERS[name](data, session) if session is not None else ""
    except CsaError:  # foreseeable (no such cwd, unreadable state dir): nothing to add
        return ""
    except Exception as e:  # noqa: BLE001 - a hook must never break Claude Code
        if os.environ.get("CSA_DEBUG"):
            raise
        print(f"csa hook: {type(e).__name__}: {e}", file=sys.stderr)
        return ""
