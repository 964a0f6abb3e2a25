"""One user turn, the same order for every fake; a tool fills in the hooks of `Turn`.

    class CodexTurn(Turn):
        def first_line(self):
            out_line({"type": "thread.started", "thread_id": self.run.rec["id"]})
        ...
    return play(run, CodexTurn(run))

play() stores the prompt, writes the tool's transcript, prints the first line (the one
with the provider id), applies the FAKE_* switches at their place, builds the reply, and
stores it.  `Run` is what a tool's main() learned from argv.
"""

import os

from . import store, switches
from .argv import Exit
from .ids import now_ms
from .jsonio import append_lines, huge_lines, out_line

OUTPUT_TOKENS = 5  # every reply "costs" 5 output tokens
ECHO_CHARS = 200  # the reply echoes this much of the prompt


class Run:
    """One invocation: tool, argv and what main() decided (format, model, prompt, session)."""

    def __init__(self, tool, argv):
        self.tool = tool
        self.argv = argv
        self.cwd = os.getcwd()
        self.opts = {}
        self.model = None
        self.prompt = None
        self.rec = None  # the store record of the provider session (store.py)
        self.is_new = True
        self.fmt = "stream"  # stream | json | text
        self.n_turns = 0  # user turns of the session, this one included
        self.t0 = 0  # ms when the turn started
        self.logged = False
        # False under the tool's no-persistence switch (claude --no-session-persistence,
        # codex exec --ephemeral): nothing of the turn is written to the tool's store.
        self.persist = True

    @property
    def stream(self):
        return self.fmt == "stream"

    @property
    def input_tokens(self):
        return 10 * self.n_turns

    def log(self, **extra):
        switches.log_invocation(self, extra)

    def resume(self, rec):
        """Continue the stored session `rec` (its model becomes this call's)."""
        self.is_new = False
        rec["model"] = self.model
        return rec

    def fail(self, msg):
        """Unknown session id: logged (FAKE_LOG), then exit 1 with `msg` on stderr."""
        self.log(error=msg)
        raise Exit(1, msg)


class Turn:
    """Hooks of one turn, in the order play() calls them; `self.run` is the Run."""

    def __init__(self, run):
        self.run = run

    def user_lines(self):
        """Transcript lines for the prompt (plus the file's header when it is new)."""
        return []

    def first_line(self):
        """The first output, carrying the provider id (stream formats)."""

    def before_reply(self):
        """Lines between the first line and the reply (stream formats)."""

    def filler_event(self):
        """FAKE_HUGE_MB: an event with jsonio.FILL where the filler text goes."""
        raise NotImplementedError

    def reply_event(self, reply):
        """The event that carries the reply (stream formats)."""
        raise NotImplementedError

    def final(self, reply, code):
        """The last output: result/usage lines, or the plain reply; `code` from FAKE_EXIT."""

    def reply_lines(self, reply):
        """Transcript lines for the reply."""
        return []


def reply_text(run):
    """`FAKE-REPLY (user turns seen: N) <prompt>` plus the switches' extras."""
    return f"FAKE-REPLY (user turns seen: {run.n_turns}) {run.prompt[:ECHO_CHARS]}" + (
        switches.reply_extras()
    )


def play(run, turn):
    """Run one turn through `turn`'s hooks; returns the exit status."""
    run.t0 = now_ms()
    switches.before_output(run)
    run.rec["turns"].append(run.prompt)
    run.n_turns = len(run.rec["turns"])
    lines = turn.user_lines()  # (may set the transcript path first)
    if run.persist:
        append_lines(run.rec["transcript"], lines)
        store.save(run.rec)  # the user turn is stored before any output (FAKE_CRASH keeps it)
    turn.first_line()
    switches.after_first_line()
    if os.environ.get("FAKE_API_ERROR"):
        from .api_errors import fail, wanted

        kind = wanted(run.tool)
        if kind:
            store.save(run.rec)
            return fail(run, kind)
    turn.before_reply()
    reply = reply_text(run)
    if run.stream:
        mb = switches.huge_mb()
        if mb > 0:
            huge_lines(turn.filler_event(), mb)
        out_line(turn.reply_event(reply))
        switches.pause_at("mid")
    code = switches.exit_code()
    turn.final(reply, code)
    run.rec["replies"].append(reply)
    if run.persist:
        append_lines(run.rec["transcript"], turn.reply_lines(reply))
        store.save(run.rec)
    return code
