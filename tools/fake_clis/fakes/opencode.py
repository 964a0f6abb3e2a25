"""Fake `opencode` (1.18): `opencode run` and `opencode export`, --format json events.

    opencode run --format json --auto -m mock/mock-model hi
    {"type":"step_start","timestamp":…,"sessionID":"ses_e018a0873ffeCGB46t9fJYGY2F","part":{…,"type":"step-start"}}
    {"type":"text","timestamp":…,"sessionID":"ses_…","part":{…,"type":"text","text":"FAKE-REPLY (user turns seen: 1) hi",…}}
    {"type":"step_finish","timestamp":…,"sessionID":"ses_…","part":{…,"tokens":{"total":15,…},"cost":0}}

`-s ID` continues a session, `-c` the newest in this cwd, `--fork` copies it under a new
id.  The real tool keeps sessions in SQLite; the fake writes
$XDG_DATA_HOME/opencode/fake-storage/<sessionID>.jsonl and `opencode export ID` prints JSON.
"""

import os

from . import store
from .argv import Exit, Spec, parse, read_prompt
from .ids import now_ms, rand_alnum
from .jsonio import FILL, dumps, out_line, out_text, show
from .switches import failure_text
from .turn import OUTPUT_TOKENS, Turn, play

NAME = "opencode"
VERSION_LINE = "1.18.0 (fake)"
DEFAULT_MODEL = "mock/mock-model"

_GLOBAL = dict(flags="--print-logs --pure -h|--help", values="--log-level")
TOP_SPEC = Spec(flags=_GLOBAL["flags"] + " -v|--version", values=_GLOBAL["values"])
RUN_SPEC = Spec(
    flags=_GLOBAL["flags"] + " -c|--continue --fork --auto --share",
    values=_GLOBAL["values"] + " --format -m|--model -s|--session --agent --title --attach "
    "--port --command --variant",
    lists="-f|--file",
)
EXPORT_SPEC = Spec(**_GLOBAL)

HELP = """opencode run [message..]   (fake)

run opencode with a message

Positionals:
  message  message to send                                   [array] [default: []]

Options:
      --format    format: default (formatted) or json (raw JSON events)
                                     [string] [choices: "default", "json"] [default: "default"]
  -m, --model     model to use in the format of provider/model                 [string]
  -s, --session   session id to continue                                        [string]
  -c, --continue  continue the last session                                    [boolean]
      --auto      auto-approve permissions                                     [boolean]
  -h, --help      show help                                                    [boolean]
  -v, --version   show version number                                          [boolean]

Also: opencode export <sessionID>
"""

_counter = [0]


def new_id(prefix, descending=False):
    """opencode's Identifier: 12 hex of (ms*0x1000+counter) (inverted when descending) + 14 base62.

    Session ids descend (newest sorts first), message and part ids ascend.
    """
    _counter[0] += 1
    v = (now_ms() * 0x1000 + _counter[0]) & 0xFFFFFFFFFFFF
    if descending:
        v = ~v & 0xFFFFFFFFFFFF
    return f"{prefix}_{v:012x}{rand_alnum(14)}"


def unknown(a):
    raise Exit(1, HELP + "\nUnknown argument: {}".format(a.lstrip("-").partition("=")[0]))


def missing(name):
    raise Exit(1, HELP + "\nNot enough arguments following: {}".format(name.lstrip("-")))


def main(run):
    top, pos, rest = parse(run.argv, TOP_SPEC, unknown, missing, stop_at_first_positional=True)
    if top.get("version"):
        return show(VERSION_LINE + "\n")
    if not pos and top.get("help"):
        return show(HELP)
    if not pos:
        raise Exit(
            1,
            "Error: this fake opencode supports only `opencode run` and `opencode export` (no TUI).",
        )
    if pos[0] == "export":
        return export(rest)
    if pos[0] != "run":
        raise Exit(1, HELP + f"\nUnknown argument: {pos[0]}")
    opts, words, _ = parse(rest, RUN_SPEC, unknown, missing)
    run.opts = opts
    if opts.get("help") or top.get("help"):
        return show(HELP)
    fmt = opts.get("format", "default")
    if fmt not in ("default", "json"):
        raise Exit(
            1,
            HELP + f'\nInvalid values:\n  Argument: format, Given: "{fmt}", '
            'Choices: "default", "json"',
        )
    run.fmt = "stream" if fmt == "json" else "text"
    run.model = opts.get("model") or DEFAULT_MODEL
    if "/" not in run.model:
        raise Exit(1, f"Error: Model {run.model} is not in the format provider/model")
    run.prompt = read_prompt(" ".join(words) if words else None)
    if not run.prompt.strip():
        raise Exit(1, "Error: You must provide a message or a command")
    run.rec = choose_session(run, opts)
    return play(run, OpencodeTurn(run))


def choose_session(run, opts):
    """-s ID (unknown: exit 1), -c (newest here, else new), --fork; else a new titled one."""
    rec = None
    if opts.get("session"):
        rec = store.load(NAME, opts["session"])
        if rec is None:
            run.fail("Error: Session not found: {}".format(opts["session"]))
    elif opts.get("continue"):
        rec = store.newest(NAME, run.cwd)
    if rec is None:
        rec = store.new_record(NAME, new_id("ses", descending=True), run.cwd, run.model)
        rec["title"] = opts.get("title") or run.prompt[:50]
        return rec
    if opts.get("fork"):
        return store.fork(rec, new_id("ses", descending=True), run.cwd, run.model)
    return run.resume(rec)


def data_dir():
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(store.home(), ".local", "share")
    return os.path.join(base, "opencode")


class OpencodeTurn(Turn):
    """step_start, text, step_finish (or error); user/assistant messages in the storage file."""

    def __init__(self, run):
        Turn.__init__(self, run)
        self.msg_id = None

    def user_lines(self):
        run, sid = self.run, self.run.rec["id"]
        if not run.rec.get("transcript"):
            run.rec["transcript"] = os.path.join(data_dir(), "fake-storage", sid + ".jsonl")
        parts = [{"type": "text", "text": run.prompt}]
        line = {
            "type": "message",
            "role": "user",
            "id": new_id("msg"),
            "sessionID": sid,
            "timestamp": run.t0,
            "parts": parts,
        }
        self.msg_id = new_id("msg")  # the reply's message: made after the user's (ids ascend)
        return [line]

    def first_line(self):
        if self.run.stream:
            out_line(self.event("step_start", self.run.t0, self.part("step-start")))

    def event(self, typ, ts, part):
        return {"type": typ, "timestamp": ts, "sessionID": self.run.rec["id"], "part": part}

    def part(self, typ, **fields):
        sid = self.run.rec["id"]
        return {
            "id": new_id("prt"),
            "messageID": self.msg_id,
            "sessionID": sid,
            "type": typ,
            **fields,
        }

    def filler_event(self):
        ts = now_ms()
        return self.event("text", ts, self.part("text", text=FILL, time={"start": ts, "end": ts}))

    def reply_event(self, reply):
        ts = now_ms()
        timing = {"start": self.run.t0, "end": ts}
        return self.event("text", ts, self.part("text", text=reply, time=timing))

    def final(self, reply, code):
        run = self.run
        if not run.stream:
            out_text(reply + "\n")
        elif code:
            error = {"name": "UnknownError", "data": {"message": failure_text(code)}}
            out_line(
                {"type": "error", "timestamp": now_ms(), "sessionID": run.rec["id"], "error": error}
            )
        else:
            out_line(self.event("step_finish", now_ms(), self.finish_part()))

    def finish_part(self):
        inp = self.run.input_tokens
        tokens = {
            "total": inp + OUTPUT_TOKENS,
            "input": inp,
            "output": OUTPUT_TOKENS,
            "reasoning": 0,
            "cache": {"write": 0, "read": 0},
        }
        part = {
            "id": new_id("prt"),
            "reason": "stop",
            "messageID": self.msg_id,
            "sessionID": self.run.rec["id"],
            "type": "step-finish",
        }
        part.update(tokens=tokens, cost=0)
        return part

    def reply_lines(self, reply):
        run = self.run
        return [
            {
                "type": "message",
                "role": "assistant",
                "id": self.msg_id,
                "sessionID": run.rec["id"],
                "timestamp": now_ms(),
                "modelID": run.model,
                "parts": [{"type": "text", "text": reply}],
                "tokens": {"input": run.input_tokens, "output": OUTPUT_TOKENS},
            }
        ]


def export(args):
    """`opencode export ID`: the session as one JSON object (info + messages)."""
    opts, pos, _ = parse(args, EXPORT_SPEC, unknown, missing)
    if opts.get("help"):
        return show("opencode export [sessionID]   (fake)\n")
    if not pos:
        raise Exit(1, "Error: fake opencode export needs a sessionID")
    rec = store.load(NAME, pos[0])
    if rec is None:
        raise Exit(1, f"Error: Session not found: {pos[0]}")
    messages = []
    for i, t in enumerate(rec["turns"]):
        info = {"role": "user", "sessionID": rec["id"]}
        messages.append({"info": info, "parts": [{"type": "text", "text": t}]})
        if i < len(rec["replies"]):
            info = {"role": "assistant", "sessionID": rec["id"], "modelID": rec.get("model")}
            messages.append({"info": info, "parts": [{"type": "text", "text": rec["replies"][i]}]})
    times = {"created": rec.get("created_ms"), "updated": rec.get("updated_ms")}
    info = {
        "id": rec["id"],
        "title": rec.get("title", ""),
        "directory": rec.get("cwd"),
        "time": times,
    }
    out_text(dumps({"info": info, "messages": messages}) + "\n")
    return 0
