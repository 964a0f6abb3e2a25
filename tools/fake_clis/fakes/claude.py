"""Fake `claude` (Claude Code 2.1.x), print mode only: argv, sessions, stream-json events.

    claude -p hi --output-format stream-json --verbose --dangerously-skip-permissions
    {"type":"system","subtype":"init","session_id":"6e18d744-…","model":"claude-opus-4-8[1m]",…}
    {"type":"assistant","message":{…,"content":[{"type":"text","text":"FAKE-REPLY (user turns seen: 1) hi"}]},…}
    {"type":"result","subtype":"success","is_error":false,"result":"FAKE-REPLY (user turns seen: 1) hi",…}

`--resume ID`, `-c`, `--fork-session` and `--session-id UUID` choose the session;
`--no-session-persistence` plays the turn without storing it (it cannot be resumed);
`-p "/compact"` is a command, played by claude_compact.py.  Own transcript:
~/.claude/projects/<cwd with every non-alphanumeric char -> '-'>/<session_id>.jsonl.
"""

import os

from . import store
from .argv import FORMATS, Exit, Spec, parse, read_prompt
from .ids import ALNUM, is_uuid, iso, now_ms, rand_hex, uuid4
from .jsonio import FILL, out_line, out_text, show
from .switches import failure_text, on
from .turn import OUTPUT_TOKENS, Turn, play

NAME = "claude"
VERSION = "2.1.197"
VERSION_LINE = f"{VERSION} (Claude Code) (fake)"
DEFAULT_MODEL = "claude-opus-4-8[1m]"

# what the real init event lists (claude 2.1.197)
TOOLS = (
    "Task Bash CronCreate CronDelete CronList Edit EnterWorktree ExitWorktree NotebookEdit Read "
    "ReportFindings ScheduleWakeup SendMessage Skill TaskCreate TaskGet TaskList TaskOutput "
    "TaskStop TaskUpdate WebFetch WebSearch Workflow Write"
).split()
SKILLS = (
    "deep-research update-config verify debug code-review simplify batch "
    "fewer-permission-prompts loop claude-api run run-skill-generator"
).split()
SLASH_COMMANDS = (
    SKILLS
    + (
        "clear compact config context heapdump init reload-skills review security-review usage "
        "insights goal team-onboarding"
    ).split()
)
AGENTS = ["claude", "Explore", "general-purpose", "Plan", "statusline-setup"]

SPEC = Spec(
    flags="-p|--print --verbose --dangerously-skip-permissions "
    "--allow-dangerously-skip-permissions -c|--continue --fork-session --strict-mcp-config "
    "--include-partial-messages --replay-user-messages --no-session-persistence "
    "--disable-slash-commands -d|--debug --ide -v|--version -h|--help",
    values="--output-format --input-format --model --fallback-model -r|--resume --session-id "
    "--append-system-prompt --append-system-prompt-file --system-prompt --system-prompt-file "
    "--permission-mode --permission-prompt-tool --tools --max-turns --max-budget-usd "
    "--settings --setting-sources --agents --agent --json-schema --effort",
    lists="--allowedTools|--allowed-tools --disallowedTools|--disallowed-tools --mcp-config "
    "--add-dir",
)

HELP = """Usage: claude [options] [command] [prompt]   (fake)

Fake Claude Code for csa's tests: print mode only.

Options:
  -p, --print                       Print response and exit
  --output-format <format>          "text", "json" or "stream-json" (needs --verbose)
  --verbose                         Verbose output
  --model <model>                   Model for the session
  -r, --resume <sessionId>          Resume a conversation by session ID
  -c, --continue                    Continue the most recent conversation in this directory
  --session-id <uuid>               Use a specific session ID (must be a valid UUID)
  --fork-session                    With --resume/--continue: continue under a new session ID
  --no-session-persistence          Don't save sessions to disk; they can't be resumed
  --dangerously-skip-permissions    Bypass all permission checks
  -v, --version                     Output the version number
  -h, --help                        Display help for command
"""


def unknown(a):
    raise Exit(1, "error: unknown option '{}'".format(a.partition("=")[0]))


def missing(name):
    raise Exit(1, f"error: option '{name} <value>' argument missing")


def main(run):
    opts, pos, _ = parse(run.argv, SPEC, unknown, missing)
    run.opts = opts
    if opts.get("version"):
        return show(VERSION_LINE + "\n")
    if opts.get("help"):
        return show(HELP)
    run.fmt = check_flags(opts, pos)
    run.prompt = read_prompt(pos[0] if pos else None)
    if not run.prompt.strip():
        raise Exit(
            1,
            "Error: Input must be provided either through stdin or as a prompt "
            "argument when using --print",
        )
    run.model = opts.get("model") or DEFAULT_MODEL
    run.persist = not opts.get("no_session_persistence")
    run.rec = choose_session(run, opts)
    words = run.prompt.strip().split(None, 1)
    if words and words[0] == "/compact":
        from .claude_compact import compact

        return compact(run)
    if os.environ.get("FAKE_CLAUDE_AUTO_COMPACT"):  # (only then: a turn loads only its fake)
        from .claude_compact import auto_compact

        auto_compact(run)
    return play(run, ClaudeTurn(run))


def check_flags(opts, pos):
    """The real claude's refusals, in its order; returns the output format (Run.fmt)."""
    if len(pos) > 1:
        raise Exit(1, f"error: too many arguments. Expected 1 argument but got {len(pos)}.")
    if not opts.get("print"):
        raise Exit(1, "Error: this fake claude only supports print mode (-p/--print).")
    fmt = opts.get("output_format", "text")
    if fmt not in FORMATS:
        raise Exit(
            1,
            f"error: option '--output-format <format>' argument '{fmt}' is invalid. "
            "Allowed choices are text, json, stream-json.",
        )
    if fmt == "stream-json" and not opts.get("verbose"):
        raise Exit(1, "Error: When using --print, --output-format=stream-json requires --verbose")
    if opts.get("input_format", "text") != "text":
        raise Exit(1, "Error: fake claude supports only --input-format text")
    if (
        on("FAKE_STRICT")
        and opts.get("dangerously_skip_permissions")
        and hasattr(os, "geteuid")
        and os.geteuid() == 0
        and os.environ.get("IS_SANDBOX", "") != "1"
    ):
        raise Exit(
            1,
            "--dangerously-skip-permissions cannot be used with root/sudo privileges "
            "for security reasons",
        )
    sid = opts.get("session_id")
    if sid is not None and not is_uuid(sid):
        raise Exit(1, "Error: Invalid session ID. Must be a valid UUID.")
    if sid and ("resume" in opts or opts.get("continue")) and not opts.get("fork_session"):
        raise Exit(
            1,
            "Error: --session-id can only be used with --continue or --resume if "
            "--fork-session is also specified.",
        )
    return FORMATS[fmt]


def choose_session(run, opts):
    """The store record to play: resumed (-r/-c), forked from one, or new (--session-id)."""
    sid = opts.get("session_id")
    if "resume" in opts or opts.get("continue"):
        rec = resumed(run, opts)
        if opts.get("fork_session"):
            rec = store.fork(rec, sid or uuid4(), run.cwd, run.model)
        else:
            run.resume(rec)
    else:
        if sid and store.load(NAME, sid) is not None:
            raise Exit(1, f"Error: Session ID {sid} is already in use.")
        rec = store.new_record(NAME, sid or uuid4(), run.cwd, run.model)
    if not rec.get("transcript"):
        rec["transcript"] = os.path.join(project_dir(run.cwd), rec["id"] + ".jsonl")
    return rec


def resumed(run, opts):
    if "resume" not in opts:
        rec = store.newest(NAME, run.cwd)
        if rec is None:
            raise Exit(1, "No conversation found to continue")
        return rec
    rec = store.load(NAME, opts["resume"])
    if rec is None:
        msg = f"No conversation found with session ID: {opts['resume']}"
        if run.fmt != "text":
            out_line(
                result_event(opts["resume"], run.model, None, 0, 0, 0, errors=[msg], num_turns=0)
            )
        run.fail(msg)
    return rec


def project_dir(cwd):
    return os.path.join(
        store.home(), ".claude", "projects", "".join(c if c in ALNUM else "-" for c in cwd)
    )


class ClaudeTurn(Turn):
    """init, assistant, result on stdout; user and assistant lines in the transcript."""

    def __init__(self, run):
        Turn.__init__(self, run)
        self.msg_id = f"msg_fake_{rand_hex(12)}"

    def user_lines(self):
        line = transcript_line(self.run, "user")
        line["message"] = {"role": "user", "content": self.run.prompt}
        return [line]

    def first_line(self):
        if self.run.stream:
            out_line(init_event(self.run))

    def filler_event(self):
        return assistant_event(self.run, self.msg_id, FILL, self.run.input_tokens)

    def reply_event(self, reply):
        return assistant_event(self.run, self.msg_id, reply, self.run.input_tokens)

    def final(self, reply, code):
        run = self.run
        sid, inp, duration = run.rec["id"], run.input_tokens, max(1, now_ms() - run.t0)
        if code:
            errors = [failure_text(code) + " during execution"]
            res = result_event(sid, run.model, None, inp, OUTPUT_TOKENS, duration, errors=errors)
        else:
            prior = run.rec.get("cost_total", 0.0)
            res = result_event(
                sid, run.model, reply, inp, OUTPUT_TOKENS, duration, prior_cost=prior
            )
            run.rec["cost_total"] = res["total_cost_usd"]
        print_result(run, res, reply)

    def reply_lines(self, reply):
        line = transcript_line(self.run, "assistant")
        line["message"] = {
            "id": self.msg_id,
            "type": "message",
            "role": "assistant",
            "model": self.run.model,
            "content": [{"type": "text", "text": reply}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": self.run.input_tokens, "output_tokens": OUTPUT_TOKENS},
        }
        line["requestId"] = "req_fake_" + rand_hex(12)
        return [line]


def print_result(run, res, text):
    """The result event (json, stream-json) or just its text (text)."""
    if run.fmt == "text":
        out_text(text + "\n")
    else:
        out_line(res)


def init_event(run):
    return {
        "type": "system",
        "subtype": "init",
        "cwd": run.cwd,
        "session_id": run.rec["id"],
        "tools": list(TOOLS),
        "mcp_servers": [],
        "model": run.model,
        "permissionMode": "bypassPermissions"
        if run.opts.get("dangerously_skip_permissions")
        else run.opts.get("permission_mode", "default"),
        "slash_commands": list(SLASH_COMMANDS),
        "apiKeySource": "ANTHROPIC_API_KEY" if os.environ.get("ANTHROPIC_API_KEY") else "none",
        "claude_code_version": VERSION,
        "output_style": "default",
        "agents": list(AGENTS),
        "skills": list(SKILLS),
        "plugins": [],
        "analytics_disabled": True,
        "product_feedback_disabled": True,
        "uuid": uuid4(),
        "memory_paths": {"auto": project_dir(run.cwd) + "/memory/"},
        "fast_mode_state": "off",
    }


def assistant_event(run, msg_id, text, inp):
    return {
        "type": "assistant",
        "message": {
            "id": msg_id,
            "type": "message",
            "role": "assistant",
            "model": run.model.replace("[1m]", ""),
            "content": [{"type": "text", "text": text}],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": inp,
                "output_tokens": OUTPUT_TOKENS,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
            },
            "context_management": None,
        },
        "parent_tool_use_id": None,
        "session_id": run.rec["id"],
        "uuid": uuid4(),
        "request_id": "req_fake_" + rand_hex(12),
    }


def result_event(
    sid, model, text, inp, outp, duration, is_error=None, errors=None, num_turns=1, prior_cost=0.0
):
    """The `result` line; `errors` makes it an error_during_execution without `result`.

    Like claude 2.1.330: `usage` is per turn, `total_cost_usd` the session's running total
    (reloaded on --resume); modelUsage.costUSD is this call's.
    """
    cost = round(inp * 5e-6 + outp * 25e-6, 9) or 0
    res = {"type": "result"}
    res["subtype"] = "error_during_execution" if errors is not None else "success"
    res["is_error"] = errors is not None if is_error is None else is_error
    res["api_error_status"] = None
    res["duration_ms"] = duration
    res["duration_api_ms"] = duration // 2
    res["ttft_ms"] = duration // 2
    res["ttft_stream_ms"] = duration // 2
    res["time_to_request_ms"] = 1
    res["num_turns"] = num_turns
    if errors is None:
        res["result"] = text
    res["stop_reason"] = "end_turn" if errors is None else None
    res["session_id"] = sid
    res["total_cost_usd"] = round(prior_cost + cost, 9)
    res["usage"] = usage(inp, outp)
    res["modelUsage"] = {model: model_usage(model, inp, outp, cost)} if inp else {}
    res["permission_denials"] = []
    if errors is not None:
        res["errors"] = errors
    res["terminal_reason"] = "completed" if errors is None else "error"
    res["fast_mode_state"] = "off"
    res["uuid"] = uuid4()
    return res


def usage(inp, outp):
    return {
        "input_tokens": inp,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": outp,
        "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
        "service_tier": "standard",
        "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 0},
        "inference_geo": "",
        "iterations": [],
        "speed": "standard",
    }


def model_usage(model, inp, outp, cost):
    return {
        "inputTokens": inp,
        "outputTokens": outp,
        "cacheReadInputTokens": 0,
        "cacheCreationInputTokens": 0,
        "webSearchRequests": 0,
        "costUSD": cost,
        "contextWindow": 1000000 if model.endswith("[1m]") else 200000,
        "maxOutputTokens": 64000,
    }


def transcript_line(run, typ):
    """The common fields of a transcript line, chained to the previous one by parentUuid."""
    u = uuid4()
    line = {
        "parentUuid": run.rec.get("last_uuid"),
        "isSidechain": False,
        "userType": "external",
        "cwd": run.cwd,
        "sessionId": run.rec["id"],
        "version": VERSION,
        "gitBranch": "",
        "type": typ,
        "uuid": u,
        "timestamp": iso(),
    }
    run.rec["last_uuid"] = u
    return line
