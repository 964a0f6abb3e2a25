"""Fake `codex` (codex-cli 0.169), `codex exec` only: argv, threads, --json events.

    codex exec --json --skip-git-repo-check --dangerously-bypass-approvals-and-sandbox hi
    {"type":"thread.started","thread_id":"01a1fe78-4275-76b2-bbae-06fb72ac8249"}
    {"type":"turn.started"}
    {"type":"item.completed","item":{"id":"item_0","type":"agent_message","text":"FAKE-REPLY (user turns seen: 1) hi"}}
    {"type":"turn.completed","usage":{"input_tokens":10,…,"output_tokens":5,…}}

`codex exec resume [flags] THREAD_ID PROMPT` (or `--last`) continues a thread;
`codex exec fork [flags] THREAD_ID PROMPT` starts a new thread holding a copy of it.
`--ephemeral` runs without writing the thread (no rollout file, nothing to resume).  Without
--json the reply goes to stdout and a banner to stderr.  Own transcript (the "rollout"):
$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<local time>-<thread_id>.jsonl.
"""

import os
import time

from . import store
from .argv import Exit, Spec, merge_opts, parse, read_prompt
from .ids import iso, uuid7
from .jsonio import FILL, err_text, out_line, out_text, show
from .switches import failure_text, on
from .turn import OUTPUT_TOKENS, Turn, play

NAME = "codex"
VERSION = "0.169.0"
VERSION_LINE = f"codex-cli {VERSION} (fake)"
DEFAULT_MODEL = "gpt-5.5"

_COMMON = "-c|--config --enable --disable"  # repeatable, also before `exec`
TOP_SPEC = Spec(flags="-V|--version -h|--help", lists=_COMMON)
_EXEC_FLAGS = (
    "--json|--experimental-json --skip-git-repo-check "
    "--dangerously-bypass-approvals-and-sandbox|--yolo --full-auto --oss --ephemeral -h|--help"
)
_EXEC_VALUES = (
    "-m|--model -p|--profile -s|--sandbox --local-provider --color -o|--output-last-message "
    "--output-schema"
)
EXEC_SPEC = Spec(flags=_EXEC_FLAGS, values=_EXEC_VALUES + " -C|--cd", lists=_COMMON + " -i|--image")
RESUME_SPEC = Spec(
    flags=_EXEC_FLAGS + " --last --all", values=_EXEC_VALUES, lists=_COMMON + " -i|--image"
)

EXEC_USAGE = "codex exec [OPTIONS] [PROMPT]"
RESUME_USAGE = "codex exec resume [OPTIONS] [SESSION_ID] [PROMPT]"
FORK_USAGE = "codex exec fork [OPTIONS] <SESSION_ID> [PROMPT]"
FORK_SPEC = Spec(flags=_EXEC_FLAGS, values=_EXEC_VALUES, lists=_COMMON + " -i|--image")

HELP = """Run Codex non-interactively (fake)

Usage: codex exec [OPTIONS] [PROMPT]
       codex exec resume [OPTIONS] [SESSION_ID] [PROMPT]
       codex exec fork [OPTIONS] <SESSION_ID> [PROMPT]

Options:
  -c, --config <key=value>                       Override a configuration value (repeatable)
      --enable <FEATURE> / --disable <FEATURE>   Toggle a feature (repeatable)
  -m, --model <MODEL>                            Model the agent should use
      --json                                     Print events to stdout as JSONL
      --skip-git-repo-check                      Allow running outside a Git repository
      --dangerously-bypass-approvals-and-sandbox Skip all confirmation prompts
  -C, --cd <DIR>                                 Working root (not for `resume`)
  -o, --output-last-message <FILE>               Write the last agent message to FILE
      --ephemeral                                Run without persisting session files to disk
      --last                                     (resume) Resume the most recent session
  -V, --version                                  Print version
"""


def usage_error(msg, usage=EXEC_USAGE):
    raise Exit(2, f"error: {msg}\n\nUsage: {usage}\n\nFor more information, try '--help'.")


def unknown(a, usage=EXEC_USAGE):
    usage_error("unexpected argument '{}' found".format(a.partition("=")[0]), usage)


def missing(name, usage=EXEC_USAGE):
    usage_error(f"a value is required for '{name} <VALUE>' but none was supplied", usage)


def resume_unknown(a):
    unknown(a, RESUME_USAGE)


def resume_missing(name):
    missing(name, RESUME_USAGE)


def main(run):
    top, pos, rest = parse(run.argv, TOP_SPEC, unknown, missing, stop_at_first_positional=True)
    if top.get("version"):
        return show(VERSION_LINE + "\n")
    if top.get("help") and not pos:
        return show(HELP)
    if not pos:
        raise Exit(2, "Error: this fake codex only supports `codex exec` (non-interactive).")
    if pos[0] not in ("exec", "e"):
        usage_error(f"unrecognized subcommand '{pos[0]}'", "codex [OPTIONS] [PROMPT]")
    opts, resume, epos = parse_exec(rest)
    for k in ("config", "enable", "disable"):
        if k in top:
            opts[k] = top[k] + opts.get(k, [])
    run.opts = opts
    if opts.get("help"):
        return show(HELP)
    overrides = config_overrides(opts)
    enter_workdir(run, opts)
    run.fmt = "stream" if opts.get("json") else "text"
    run.persist = not opts.get("ephemeral")
    run.model = opts.get("model") or overrides.get("model") or DEFAULT_MODEL
    sid, prompt_arg = split_positionals(resume, opts, epos)
    run.prompt = read_prompt(prompt_arg)
    if not run.prompt.strip():
        raise Exit(1, "No prompt provided via stdin.")
    if resume == "fork":
        run.rec = fork_thread(run, sid)
    elif resume:
        run.rec = choose_thread(run, sid)
    else:
        run.rec = store.new_record(NAME, uuid7(), run.cwd, run.model)
    return play(run, CodexTurn(run, overrides.get("model_provider", "openai")))


def parse_exec(args):
    """`exec [flags] PROMPT [flags]`, `exec [flags] resume [flags] ID PROMPT` or
    `exec [flags] fork [flags] ID PROMPT`; the middle value is "resume", "fork" or False."""
    opts, pos, rest = parse(args, EXEC_SPEC, unknown, missing, stop_at_first_positional=True)
    resume = pos[0] if pos and pos[0] in ("resume", "fork") else False
    if resume == "fork":
        more, pos, _ = parse(rest, FORK_SPEC, lambda a: unknown(a, FORK_USAGE),
                             lambda n: missing(n, FORK_USAGE))
        merge_opts(opts, more)
        if not pos:
            usage_error("the following required arguments were not provided:\n  <SESSION_ID>",
                        FORK_USAGE)
        if len(pos) > 2:
            unknown(pos[2], FORK_USAGE)
    elif resume:
        more, pos, _ = parse(rest, RESUME_SPEC, resume_unknown, resume_missing)
        merge_opts(opts, more)
    elif pos:
        more, more_pos, _ = parse(rest, EXEC_SPEC, unknown, missing)
        merge_opts(opts, more)
        pos = pos + more_pos
    return opts, resume, pos


def config_overrides(opts):
    """`-c key=value` pairs (quotes around the value dropped)."""
    out = {}
    for kv in opts.get("config", []):
        if "=" not in kv:
            raise Exit(
                2,
                f"error: invalid value '{kv}' for '--config <key=value>': Invalid override "
                f"(missing '='): {kv}\n\nFor more information, try '--help'.",
            )
        k, _, v = kv.partition("=")
        v = v.strip()
        if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
            v = v[1:-1]
        out[k.strip()] = v
    return out


def enter_workdir(run, opts):
    """FAKE_STRICT's CODEX_HOME check, then `-C DIR`."""
    codex_home_env = os.environ.get("CODEX_HOME")
    if on("FAKE_STRICT") and codex_home_env is not None and not os.path.isdir(codex_home_env):
        raise Exit(
            1, f'Error: CODEX_HOME points to "{codex_home_env}", but that path does not exist'
        )
    if opts.get("cd"):
        try:
            os.chdir(opts["cd"])
        except OSError as e:
            raise Exit(
                1, "Error: failed to change directory to {}: {}".format(opts["cd"], e)
            ) from None
        run.cwd = os.getcwd()


def split_positionals(resume, opts, pos):
    """(thread id or None, prompt argument or None)."""
    if resume == "fork":
        return pos[0], (pos[1] if len(pos) > 1 else None)
    if resume and not opts.get("last"):
        if len(pos) > 2:
            usage_error(f"unexpected argument '{pos[2]}' found", RESUME_USAGE)
        if not pos:
            raise Exit(1, "Error: `codex exec resume` needs a SESSION_ID or --last")
        return pos[0], (pos[1] if len(pos) > 1 else None)
    if len(pos) > 1:
        if resume:
            resume_unknown(pos[1])
        usage_error(f"unexpected argument '{pos[1]}' found")
    return None, (pos[0] if pos else None)


def choose_thread(run, sid):
    """The thread to resume: by id, or the newest with --last (this cwd; --all: anywhere)."""
    if sid is None:
        rec = store.newest(NAME, None if run.opts.get("all") else run.cwd)
        if rec is None:
            raise Exit(1, "Error: thread/resume: no recorded session found to resume with --last")
    else:
        rec = store.load(NAME, sid)
        if rec is None:
            run.fail(
                "Error: thread/resume: thread/resume failed: no rollout found for thread "
                f"id {sid} (code -32600)"
            )
    return run.resume(rec)


def fork_thread(run, sid):
    """`exec fork ID`: a new thread (new id, own rollout) starting with ID's history."""
    rec = store.load(NAME, sid)
    if rec is None:
        run.fail(
            "Error: thread/fork: thread/fork failed: no rollout found for thread "
            f"id {sid} (code -32600)"
        )
    run.resume(rec)  # the history goes on (turns seen), under a new thread
    return store.fork(rec, uuid7(), run.cwd, run.model)


def codex_home():
    return os.environ.get("CODEX_HOME") or os.path.join(store.home(), ".codex")


def rollout_path(tid):
    lt = time.localtime()
    day = [time.strftime(f, lt) for f in ("%Y", "%m", "%d")]
    stamp = time.strftime("%Y-%m-%dT%H-%M-%S", lt)
    return os.path.join(codex_home(), "sessions", *day, f"rollout-{stamp}-{tid}.jsonl")


class CodexTurn(Turn):
    """thread.started, turn.started, item.completed, turn.completed; rollout lines."""

    def __init__(self, run, provider):
        Turn.__init__(self, run)
        self.provider = provider
        self.usage = None

    def user_lines(self):
        run, ts = self.run, iso()
        lines = []
        if not run.rec.get("transcript"):
            run.rec["transcript"] = rollout_path(run.rec["id"])
            lines.append(rollout(ts, "session_meta", session_meta(run, ts, self.provider)))
        context = {
            "cwd": run.cwd,
            "approval_policy": "never",
            "sandbox_policy": {"type": "danger-full-access"},
            "model": run.model,
            "summary": "auto",
        }
        content = [{"type": "input_text", "text": run.prompt}]
        return lines + [
            rollout(ts, "turn_context", context),
            rollout(ts, "response_item", {"type": "message", "role": "user", "content": content}),
            rollout(ts, "event_msg", {"type": "user_message", "message": run.prompt, "images": []}),
        ]

    def first_line(self):
        run = self.run
        if run.stream:
            out_line({"type": "thread.started", "thread_id": run.rec["id"]})
        else:
            err_text(
                f"OpenAI Codex v{VERSION} (research preview)\n--------\nworkdir: {run.cwd}\n"
                f"model: {run.model}\nprovider: {self.provider}\napproval: never\n"
                f"sandbox: danger-full-access\nsession id: {run.rec['id']}\n--------\n"
                f"user\n{run.prompt}"
            )

    def before_reply(self):
        if self.run.stream:
            out_line({"type": "turn.started"})

    def filler_event(self):
        return {
            "type": "item.completed",
            "item": {"id": "item_r", "type": "reasoning", "text": FILL},
        }

    def reply_event(self, reply):
        return {
            "type": "item.completed",
            "item": {"id": "item_0", "type": "agent_message", "text": reply},
        }

    def final(self, reply, code):
        run = self.run
        # Like codex 0.169: on a resumed thread, turn.completed reports the thread's running total.
        totals = run.rec.setdefault("usage_total", {"input_tokens": 0, "output_tokens": 0})
        totals["input_tokens"] += run.input_tokens
        totals["output_tokens"] += OUTPUT_TOKENS
        self.usage = {
            "input_tokens": totals["input_tokens"],
            "cached_input_tokens": 0,
            "cache_write_input_tokens": 0,
            "output_tokens": totals["output_tokens"],
            "reasoning_output_tokens": 0,
        }
        if run.stream and code:
            out_line({"type": "error", "message": failure_text(code)})
            out_line({"type": "turn.failed", "error": {"message": failure_text(code)}})
        elif run.stream:
            out_line({"type": "turn.completed", "usage": self.usage})
        else:
            err_text(f"codex\n{reply}\ntokens used\n{run.input_tokens + OUTPUT_TOKENS}")
            out_text(reply + "\n")
        if run.opts.get("output_last_message"):
            with open(run.opts["output_last_message"], "w", encoding="utf-8") as f:
                f.write(reply)

    def reply_lines(self, reply):
        ts = iso()
        content = [{"type": "output_text", "text": reply}]
        return [
            rollout(
                ts, "response_item", {"type": "message", "role": "assistant", "content": content}
            ),
            rollout(ts, "event_msg", {"type": "agent_message", "message": reply}),
            rollout(
                ts, "event_msg", {"type": "token_count", "info": {"total_token_usage": self.usage}}
            ),
        ]


def rollout(ts, typ, payload):
    return {"timestamp": ts, "type": typ, "payload": payload}


def session_meta(run, ts, provider):
    return {
        "id": run.rec["id"],
        "timestamp": ts,
        "cwd": run.cwd,
        "originator": "codex_exec",
        "cli_version": VERSION,
        "instructions": None,
        "source": "exec",
        "model_provider": provider,
    }
