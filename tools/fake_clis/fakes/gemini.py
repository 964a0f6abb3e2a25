"""Fake `gemini` (gemini-cli 0.61), non-interactive only: argv, sessions, stream-json events.

    gemini -p hi -o stream-json --yolo -m gemini-2.5-flash
    {"type":"init","timestamp":"…","session_id":"6e18d744-…","model":"gemini-2.5-flash"}
    {"type":"message","timestamp":"…","role":"user","content":"hi"}
    {"type":"message","timestamp":"…","role":"assistant","content":"FAKE-REPLY (user turns seen: 1) hi","delta":true}
    {"type":"result","timestamp":"…","status":"success","stats":{"total_tokens":15,…}}

`--resume ID|latest|N` continues a session of this project (`--list-sessions` lists them);
`--session-id ID` names a new one.  Own transcript:
~/.gemini/tmp/<cwd basename>/chats/session-<YYYY-MM-DDTHH-MM>-<id[:8]>.jsonl.
"""

import os
import time

from . import store
from .argv import FORMATS, Exit, Spec, parse, read_prompt
from .ids import ALNUM, iso, now_ms, safe_id, uuid4
from .jsonio import FILL, err_text, loads, out_line, out_text, show
from .switches import failure_text, on
from .turn import OUTPUT_TOKENS, Turn, play

NAME = "gemini"
VERSION_LINE = "0.61.0 (fake)"
DEFAULT_MODEL = "gemini-2.5-pro"  # unless ~/.gemini/settings.json names one

SPEC = Spec(
    flags="-y|--yolo --list-sessions -s|--sandbox -d|--debug -l|--list-extensions "
    "--screen-reader --checkpointing -v|--version -h|--help",
    values="-p|--prompt -i|--prompt-interactive -o|--output-format --approval-mode -m|--model "
    "-r|--resume --session-id --delete-session",
    lists="--include-directories --allowed-tools --allowed-mcp-server-names -e|--extensions",
)

HELP = """Usage: gemini [options] [query..]   (fake)

Gemini CLI - fake for csa's tests (non-interactive only)

Options:
  -p, --prompt            Prompt; runs non-interactively                  [string]
  -o, --output-format     [choices: "text", "json", "stream-json"]
  -m, --model             Model                                            [string]
  -y, --yolo              Automatically accept all actions                [boolean]
  -r, --resume            Resume a session: "latest", an index or a session ID
      --session-id        Use this session ID for a new session            [string]
      --list-sessions     List the sessions of this project               [boolean]
  -v, --version           Show version number                             [boolean]
  -h, --help              Show help                                       [boolean]
"""


def unknown(a):
    raise Exit(1, HELP + "\nUnknown argument: {}".format(a.lstrip("-").partition("=")[0]))


def missing(name):
    raise Exit(1, HELP + "\nNot enough arguments following: {}".format(name.lstrip("-")))


def main(run):
    opts, pos, _ = parse(run.argv, SPEC, unknown, missing)
    run.opts = opts
    if opts.get("version"):
        return show(VERSION_LINE + "\n")
    if opts.get("help"):
        return show(HELP)
    fmt = opts.get("output_format", "text")
    if fmt not in FORMATS:
        raise Exit(
            1,
            HELP + f'\nInvalid values:\n  Argument: output-format, Given: "{fmt}", '
            'Choices: "text", "json", "stream-json"',
        )
    run.fmt = FORMATS[fmt]
    if on("FAKE_STRICT") and not settings("security", "auth", "selectedType"):
        raise Exit(41, "Invalid auth method selected.")
    if opts.get("list_sessions"):
        return list_sessions(run.cwd)
    if "prompt" in opts and pos:
        raise Exit(1, "Cannot use both a positional prompt and the --prompt (-p) flag together")
    if "prompt_interactive" in opts:
        raise Exit(1, "Error: this fake gemini does not support interactive mode (-i)")
    prompt_arg = opts.get("prompt") if "prompt" in opts else (" ".join(pos) if pos else None)
    run.prompt = read_prompt(prompt_arg)
    if not run.prompt.strip():
        raise Exit(
            1,
            "No input provided via stdin. Input can be provided by piping data into "
            "gemini or using the --prompt option.",
        )
    run.model = opts.get("model") or default_model()
    run.rec = choose_session(run, opts)
    return play(run, GeminiTurn(run))


def settings(*keys):
    """A value from ~/.gemini/settings.json, or None."""
    try:
        with open(os.path.join(store.home(), ".gemini", "settings.json"), "rb") as f:
            value = loads(f.read().decode("utf-8"))
        for k in keys:
            value = value[k]
        return value
    except (OSError, ValueError, KeyError, TypeError):
        return None


def default_model():
    name = settings("model", "name")
    return name if isinstance(name, str) and name else DEFAULT_MODEL


def sessions(cwd):
    """This project's sessions, oldest first (what --resume N counts)."""
    return sorted(store.all_records(NAME, cwd), key=lambda r: r.get("created_ms", 0))


def list_sessions(cwd):
    found = sessions(cwd)
    if not found:
        out_text("No previous sessions found for this project.\n")
        return 0
    out_text(f"\nAvailable sessions for this project ({len(found)}):\n")
    for i, r in enumerate(found, 1):
        first = (r["turns"][0] if r["turns"] else "")[:60].replace("\n", " ")
        out_text(f"  {i}. {first} [{r['id']}]\n")
    return 0


def choose_session(run, opts):
    """--resume latest|N|ID (unknown: exit 1; `latest` with none: a new one), else new."""
    rid = opts.get("resume")
    rec = None
    if rid == "latest":
        rec = (sessions(run.cwd) or [None])[-1]
        if rec is None:
            err_text("No previous sessions found for this project.")
    elif rid is not None:
        if rid.isdigit():
            found = sessions(run.cwd)
            rec = found[int(rid) - 1] if 1 <= int(rid) <= len(found) else None
        else:
            rec = store.load(NAME, rid)
        if rec is None:
            run.fail(
                f'Error resuming session: Invalid session identifier "{rid}".\nUse --list-sessions '
                "to see available sessions, then use --resume {number}, --resume {uuid}, or "
                "--resume latest."
            )
    if rec is not None:
        return run.resume(rec)
    sid = opts.get("session_id") or uuid4()
    if not safe_id(sid):
        raise Exit(1, f'Invalid session ID "{sid}".')
    if opts.get("session_id") and store.load(NAME, sid) is not None:
        raise Exit(  # gemini 0.61: ExitCodes.FATAL_INPUT_ERROR
            42,
            f'Error starting session: Session ID "{sid}" already exists. Use --resume to '
            "resume it, or provide a different ID.",
        )
    return store.new_record(NAME, sid, run.cwd, run.model)


def project(cwd):
    base = os.path.basename(cwd.rstrip("/")) or "root"
    return "".join(c.lower() if c in ALNUM else "-" for c in base)


class GeminiTurn(Turn):
    """init, user message, assistant message(s), result; a JSONL chat file."""

    def user_lines(self):
        run, sid = self.run, self.run.rec["id"]
        lines = []
        if not run.rec.get("transcript"):
            name = "session-{}-{}.jsonl".format(
                time.strftime("%Y-%m-%dT%H-%M", time.gmtime()), sid[:8]
            )
            run.rec["transcript"] = os.path.join(
                store.home(), ".gemini", "tmp", project(run.cwd), "chats", name
            )
            lines.append(
                {
                    "sessionId": sid,
                    "projectHash": project(run.cwd),
                    "startTime": iso(run.t0),
                    "lastUpdated": iso(run.t0),
                    "kind": "main",
                }
            )
        content = [{"text": run.prompt}]
        return lines + [
            {
                "id": uuid4(),
                "timestamp": iso(),
                "type": "user",
                "sessionId": sid,
                "content": content,
            }
        ]

    def first_line(self):
        run = self.run
        if run.stream:
            out_line(
                {
                    "type": "init",
                    "timestamp": iso(run.t0),
                    "session_id": run.rec["id"],
                    "model": run.model,
                }
            )

    def before_reply(self):
        if self.run.stream:
            out_line(
                {"type": "message", "timestamp": iso(), "role": "user", "content": self.run.prompt}
            )

    def filler_event(self):
        return self.reply_event(FILL)

    def reply_event(self, reply):
        return {
            "type": "message",
            "timestamp": iso(),
            "role": "assistant",
            "content": reply,
            "delta": True,
        }

    def final(self, reply, code):
        run, inp = self.run, self.run.input_tokens
        error = {"type": "FatalError", "message": failure_text(code)}
        if run.stream:
            res = {"type": "result", "timestamp": iso(), "status": "error" if code else "success"}
            if code:
                res["error"] = error
            tok = {
                "total_tokens": inp + OUTPUT_TOKENS,
                "input_tokens": inp,
                "output_tokens": OUTPUT_TOKENS,
                "cached": 0,
                "input": inp,
            }
            res["stats"] = dict(
                tok,
                duration_ms=max(1, now_ms() - run.t0),
                tool_calls=0,
                models={run.model: dict(tok)},
            )
            out_line(res)
        elif run.fmt == "json":
            obj = {"session_id": run.rec["id"], "response": reply, "stats": json_stats(run, code)}
            if code:
                obj["error"] = error
            out_line(obj)
        else:
            out_text(reply + "\n")

    def reply_lines(self, reply):
        run, inp = self.run, self.run.input_tokens
        tokens = {"input": inp, "output": OUTPUT_TOKENS, "total": inp + OUTPUT_TOKENS}
        return [
            {
                "id": uuid4(),
                "timestamp": iso(),
                "type": "gemini",
                "sessionId": run.rec["id"],
                "content": reply,
                "model": run.model,
                "tokens": tokens,
            }
        ]


def json_stats(run, code):
    """The `stats` object of `-o json`."""
    inp = run.input_tokens
    tokens = {"prompt": inp, "candidates": OUTPUT_TOKENS, "total": inp + OUTPUT_TOKENS, "cached": 0}
    return {
        "models": {
            run.model: {
                "api": {"totalRequests": 1, "totalErrors": 1 if code else 0},
                "tokens": tokens,
            }
        },
        "tools": {"totalCalls": 0},
        "files": {"totalLinesAdded": 0, "totalLinesRemoved": 0},
    }
