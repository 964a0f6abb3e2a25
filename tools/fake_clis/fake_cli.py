"""Fake versions of the AI coding CLIs that csa drives: claude, codex, gemini, opencode.

One stdlib-only implementation, dispatched on the tool name (first argument, or the
program name).  Each fake accepts the real CLI's argv, rejects unknown flags the way the
real one does, keeps a tiny conversation store so that resume carries history, writes a
plausible copy of the tool's own transcript file, and prints the real tool's event stream.

See README.md beside this file for the argv accepted, the output shapes and every
FAKE_* environment variable.

Start-up matters (the test suite runs these hundreds of times): only builtin/frozen
modules are imported at the top; json is done with the C accelerator `_json` directly
(importing the `json` package pulls in `re`, which costs ~5 ms).  Keep it that way.
"""

import os
import sys
import time

# ----------------------------------------------------------------------------- JSON

try:
    import _json

    class _ScanCtx:
        strict = True
        object_hook = None
        object_pairs_hook = None
        parse_float = float
        parse_int = int
        memo = {}

        @staticmethod
        def parse_constant(name):
            return {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}[name]

    def _no_default(o):
        raise TypeError(f"not JSON serializable: {type(o)!r}")

    _ENCODE = _json.make_encoder(
        None, _no_default, _json.encode_basestring, None, ":", ",", False, False, True
    )
    _SCAN = _json.make_scanner(_ScanCtx())

    def dumps(obj):
        return "".join(_ENCODE(obj, 0))

    def loads(s):
        i = len(s) - len(s.lstrip())
        try:
            obj, end = _SCAN(s, i)
        except StopIteration:
            raise ValueError("no JSON value") from None
        if s[end:].strip():
            raise ValueError("extra data after JSON value")
        return obj

    dumps({"probe": [1, 0.5, None, True, "x"]})
    loads('{"probe": [1, 0.5, null, true, "x"]}')
except Exception:  # not CPython, or the private API changed: use the public module
    import json as _json_mod

    def dumps(obj):
        return _json_mod.dumps(obj, ensure_ascii=False, separators=(",", ":"))

    loads = _json_mod.loads


# ----------------------------------------------------------------------------- constants

TOOLS = ("claude", "codex", "gemini", "opencode")
VERSIONS = {
    "claude": "2.1.197",
    "codex": "0.169.0",
    "gemini": "0.61.0",
    "opencode": "1.18.0",
}
VERSION_LINES = {
    "claude": "2.1.197 (Claude Code) (fake)",
    "codex": "codex-cli 0.169.0 (fake)",
    "gemini": "0.61.0 (fake)",
    "opencode": "1.18.0 (fake)",
}
DEFAULT_MODELS = {
    "claude": "claude-opus-4-8[1m]",
    "codex": "gpt-5.5",
    "gemini": "gemini-2.5-pro",
    "opencode": "mock/mock-model",
}
OUTPUT_TOKENS = 5
ECHO_CHARS = 200
_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_HEX = "0123456789abcdef"

CLAUDE_TOOLS = [
    "Task",
    "Bash",
    "CronCreate",
    "CronDelete",
    "CronList",
    "Edit",
    "EnterWorktree",
    "ExitWorktree",
    "NotebookEdit",
    "Read",
    "ReportFindings",
    "ScheduleWakeup",
    "SendMessage",
    "Skill",
    "TaskCreate",
    "TaskGet",
    "TaskList",
    "TaskOutput",
    "TaskStop",
    "TaskUpdate",
    "WebFetch",
    "WebSearch",
    "Workflow",
    "Write",
]
CLAUDE_SKILLS = [
    "deep-research",
    "update-config",
    "verify",
    "debug",
    "code-review",
    "simplify",
    "batch",
    "fewer-permission-prompts",
    "loop",
    "claude-api",
    "run",
    "run-skill-generator",
]
CLAUDE_SLASH = CLAUDE_SKILLS + [
    "clear",
    "compact",
    "config",
    "context",
    "heapdump",
    "init",
    "reload-skills",
    "review",
    "security-review",
    "usage",
    "insights",
    "goal",
    "team-onboarding",
]
CLAUDE_AGENTS = ["claude", "Explore", "general-purpose", "Plan", "statusline-setup"]


class Exit(Exception):
    """Stop with an exit code, optionally printing a message on stderr first."""

    def __init__(self, code, msg=None):
        Exception.__init__(self, code, msg)
        self.code = code
        self.msg = msg


# ----------------------------------------------------------------------------- small helpers


def env(name, default=""):
    return os.environ.get(name, default)


def env_float(name):
    v = os.environ.get(name, "").strip()
    if not v:
        return 0.0
    try:
        return float(v)
    except ValueError:
        return 0.0


def write_fd(fd, data):
    if isinstance(data, str):
        data = data.encode("utf-8", "replace")
    mv = memoryview(data)
    while mv:
        n = os.write(fd, mv)
        mv = mv[n:]


def out_line(obj):
    """One event line on stdout, written (and so flushed) at once."""
    write_fd(1, dumps(obj) + "\n")


def out_text(text):
    write_fd(1, text)


def err_text(text):
    if not text.endswith("\n"):
        text += "\n"
    write_fd(2, text)


def clean(s):
    """argv/stdin text that may hold undecodable bytes -> valid unicode (like node would)."""
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return s.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def now_ms():
    return int(time.time() * 1000)


def iso(ms=None):
    if ms is None:
        ms = now_ms()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def _fmt_uuid(b):
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def uuid4():
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    return _fmt_uuid(bytes(b))


def uuid7():
    b = bytearray(now_ms().to_bytes(6, "big") + os.urandom(10))
    b[6] = (b[6] & 0x0F) | 0x70
    b[8] = (b[8] & 0x3F) | 0x80
    return _fmt_uuid(bytes(b))


def is_uuid(s):
    if len(s) != 36:
        return False
    for i, c in enumerate(s):
        if i in (8, 13, 18, 23):
            if c != "-":
                return False
        elif c not in "0123456789abcdefABCDEF":
            return False
    return True


def rand_alnum(n):
    return "".join(_ALNUM[b % 62] for b in os.urandom(n))


def rand_hex(n):
    return "".join(_HEX[b & 15] for b in os.urandom(n))


_OC_COUNTER = [0]


def opencode_id(prefix, descending=False):
    """opencode's Identifier: 12 hex of (ms*0x1000+counter) (inverted when descending) + 14 base62."""
    _OC_COUNTER[0] += 1
    v = (now_ms() * 0x1000 + _OC_COUNTER[0]) & 0xFFFFFFFFFFFF
    if descending:
        v = ~v & 0xFFFFFFFFFFFF
    return f"{prefix}_{v:012x}{rand_alnum(14)}"


def safe_id(s):
    return bool(s) and "/" not in s and "\\" not in s and not s.startswith(".") and "\0" not in s


def mkdirs(path):
    try:
        os.makedirs(path)
    except FileExistsError:
        pass


def append_lines(path, objs):
    if not path or not objs:
        return
    mkdirs(os.path.dirname(path))
    data = "".join(dumps(o) + "\n" for o in objs).encode("utf-8", "replace")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        write_fd(fd, data)
    finally:
        os.close(fd)


def csa_env():
    return {k: os.environ[k] for k in sorted(os.environ) if k.startswith("CSA_")}


def home():
    return os.environ.get("HOME") or os.path.expanduser("~")


# ----------------------------------------------------------------------------- conversation store


def store_dir(tool):
    base = os.environ.get("FAKE_CLI_HOME")
    if base:
        return os.path.join(base, tool)
    return os.path.join(home(), ".fake-clis", tool)


def store_load(tool, sid):
    if not safe_id(sid):
        return None
    try:
        with open(os.path.join(store_dir(tool), sid + ".json"), "rb") as f:
            return loads(f.read().decode("utf-8"))
    except (OSError, ValueError):
        return None


def store_save(rec):
    d = store_dir(rec["tool"])
    mkdirs(d)
    rec["updated_ms"] = now_ms()
    path = os.path.join(d, rec["id"] + ".json")
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(dumps(rec).encode("utf-8", "replace"))
    os.replace(tmp, path)


def store_all(tool):
    d = store_dir(tool)
    try:
        names = os.listdir(d)
    except OSError:
        return []
    recs = []
    for n in names:
        if n.endswith(".json"):
            r = store_load(tool, n[:-5])
            if r:
                recs.append(r)
    return recs


def store_newest(tool, cwd=None):
    recs = [r for r in store_all(tool) if cwd is None or r.get("cwd") == cwd]
    if not recs:
        return None
    return max(recs, key=lambda r: (r.get("updated_ms", 0), r.get("created_ms", 0)))


def new_record(tool, sid, cwd, model):
    ms = now_ms()
    return {
        "tool": tool,
        "id": sid,
        "cwd": cwd,
        "model": model,
        "created_ms": ms,
        "updated_ms": ms,
        "turns": [],
        "replies": [],
        "compactions": 0,
        "transcript": None,
        "last_uuid": None,
    }


# ----------------------------------------------------------------------------- argv parsing


class Spec:
    """Flags of one (sub)command: name -> (dest, kind); kind is 'bool', 'val' or 'list'."""

    def __init__(self, table):
        self.flags = {}
        for names, dest, kind in table:
            for n in names.split("|"):
                self.flags[n] = (dest, kind)


def parse(args, spec, on_unknown, on_missing, stop_at_first_positional=False):
    opts = {}
    pos = []
    i = 0
    n = len(args)
    while i < n:
        a = args[i]
        if a == "--":
            pos.extend(args[i + 1 :])
            i = n
            break
        if len(a) > 1 and a[0] == "-":
            name, val, has_val = a, None, False
            if a.startswith("--") and "=" in a:
                name, _, val = a.partition("=")
                has_val = True
            ent = spec.flags.get(name)
            if ent is None and not a.startswith("--") and len(a) > 2:
                ent2 = spec.flags.get(a[:2])
                if ent2 is not None and ent2[1] != "bool":  # -mVALUE
                    name, val, has_val, ent = a[:2], a[2:], True, ent2
            if ent is None:
                on_unknown(a)
            dest, kind = ent
            if kind == "bool":
                if has_val and val.lower() not in ("true", "false", "1", "0"):
                    on_unknown(a)
                opts[dest] = (not has_val) or val.lower() in ("true", "1")
            else:
                if not has_val:
                    i += 1
                    if i >= n:
                        on_missing(name)
                    val = args[i]
                if kind == "list":
                    opts.setdefault(dest, []).append(val)
                else:
                    opts[dest] = val
        else:
            pos.append(a)
            if stop_at_first_positional:
                return opts, pos, args[i + 1 :]
        i += 1
    return opts, pos, []


# ----------------------------------------------------------------------------- the run context


class Run:
    def __init__(self, tool, argv):
        self.tool = tool
        self.argv = argv
        self.cwd = os.getcwd()
        self.opts = {}
        self.model = None
        self.prompt = None
        self.rec = None
        self.is_new = True
        self.fmt = "stream"  # stream | json | text
        self.n_turns = 0
        self.logged = False

    # -- FAKE_LOG
    def log(self, **extra):
        path = os.environ.get("FAKE_LOG")
        if not path or self.logged:
            return
        self.logged = True
        entry = {
            "tool": self.tool,
            "argv": self.argv,
            "cwd": self.cwd,
            "pid": os.getpid(),
            "ppid": os.getppid(),
            "time_ms": now_ms(),
            "session_id": self.rec["id"] if self.rec else None,
            "resume": (not self.is_new) if self.rec else None,
            "env": csa_env(),
        }
        entry.update(extra)
        try:
            append_lines(path, [entry])
        except OSError:
            pass


def read_prompt(p):
    """Prompt from argv; '-' or absent -> stdin (which csa connects to /dev/null)."""
    if p is not None and p != "-":
        return clean(p)
    try:
        if os.isatty(0):
            return ""
    except OSError:
        return ""
    chunks = []
    while True:
        try:
            b = os.read(0, 65536)
        except OSError:
            break
        if not b:
            break
        chunks.append(b)
    return clean(b"".join(chunks).decode("utf-8", "surrogateescape"))


def begin_turn(run):
    """Common start: misbehaviour hooks that come before any output; record the user turn."""
    if env("FAKE_IGNORE_TERM") not in ("", "0"):
        import signal

        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    run.log()
    if env("FAKE_STDERR"):
        err_text(env("FAKE_STDERR"))
    run.rec["turns"].append(run.prompt)
    run.n_turns = len(run.rec["turns"])
    # the caller writes its transcript line and then store_save()s, before any output


def after_first_line(run):
    """Everything that happens once the provider id is out: crash, secrets, children, sleeps."""
    crash = env("FAKE_CRASH")
    if crash and crash != "0":
        write_fd(1, '{"type":"assistant","message":{"id":"msg_fake_trunc","content":[{"type":"te')
        if crash == "kill":
            os.kill(os.getpid(), 9)
        os._exit(3)
    secret = env("FAKE_SECRET")
    if secret:
        err_text(f"[fake-debug] loaded credential: {secret}")
        out_text(f"[fake-debug] Authorization: Bearer {secret}\n")
    child = env("FAKE_CHILD_SLEEP")
    if child:
        try:
            os.posix_spawnp("sleep", ["sleep", child], dict(os.environ))
        except (OSError, AttributeError):
            import subprocess

            subprocess.Popen(["sleep", child])
    delay = env_float("FAKE_STALL") + env_float("FAKE_SLEEP")
    if delay > 0:
        time.sleep(delay)


def run_nested(spec):
    import shlex
    import subprocess

    levels = spec.split("|||")
    args = shlex.split(levels[0])
    cmd = shlex.split(os.environ.get("FAKE_CSA") or "csa") + ["run"] + args
    child_env = dict(os.environ)
    rest = "|||".join(levels[1:]).strip()
    if rest:
        child_env["FAKE_NESTED"] = rest
    else:
        child_env.pop("FAKE_NESTED", None)
    try:
        p = subprocess.run(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=child_env, cwd=os.getcwd()
        )
        code, out = p.returncode, p.stdout.decode("utf-8", "replace")
    except OSError as e:
        code, out = 127, f"cannot run {cmd[0]}: {e}"
    return f"nested(exit={code}): {out.strip()}"


def make_reply(run):
    text = f"FAKE-REPLY (user turns seen: {run.n_turns}) {run.prompt[:ECHO_CHARS]}"
    if env("FAKE_NESTED").strip():
        text += " " + run_nested(env("FAKE_NESTED"))
    if env("FAKE_PRINT_ENV") not in ("", "0"):
        text += " env=" + dumps(csa_env())
    if env("FAKE_SECRET"):
        text += " secret=" + env("FAKE_SECRET")
    return text


def finish_turn(run, reply):
    run.rec["replies"].append(reply)
    store_save(run.rec)


def exit_code():
    try:
        return int(env("FAKE_EXIT", "0") or "0")
    except ValueError:
        return 1


def huge_lines(head, tail):
    """FAKE_HUGE_MB: N MB of lines `head + filler + tail`, written in ~1 MB chunks."""
    try:
        mb = float(env("FAKE_HUGE_MB", "0") or "0")
    except ValueError:
        mb = 0
    if mb <= 0:
        return
    total = int(mb * 1024 * 1024)
    filler = ("lorem ipsum dolor sit amet consectetur " * 100)[:3000]
    written = 0
    k = 0
    chunk = []
    size = 0
    while written < total:
        line = f"{head}[{k}] {filler}{tail}\n"
        k += 1
        chunk.append(line)
        size += len(line)
        written += len(line)
        if size >= 1 << 20:
            write_fd(1, "".join(chunk))
            chunk, size = [], 0
    if chunk:
        write_fd(1, "".join(chunk))


def split_template(obj_with_marker):
    s = dumps(obj_with_marker)
    head, _, tail = s.partition("@@FILL@@")
    return head, tail


# ============================================================================= claude

CLAUDE_SPEC = Spec(
    [
        ("-p|--print", "print", "bool"),
        ("--output-format", "output_format", "val"),
        ("--input-format", "input_format", "val"),
        ("--verbose", "verbose", "bool"),
        ("--dangerously-skip-permissions", "skip_permissions", "bool"),
        ("--allow-dangerously-skip-permissions", "allow_skip_permissions", "bool"),
        ("--model", "model", "val"),
        ("--fallback-model", "fallback_model", "val"),
        ("-r|--resume", "resume", "val"),
        ("-c|--continue", "continue", "bool"),
        ("--session-id", "session_id", "val"),
        ("--fork-session", "fork_session", "bool"),
        ("--append-system-prompt", "append_system_prompt", "val"),
        ("--append-system-prompt-file", "append_system_prompt_file", "val"),
        ("--system-prompt", "system_prompt", "val"),
        ("--system-prompt-file", "system_prompt_file", "val"),
        ("--permission-mode", "permission_mode", "val"),
        ("--permission-prompt-tool", "permission_prompt_tool", "val"),
        ("--allowedTools|--allowed-tools", "allowed_tools", "list"),
        ("--disallowedTools|--disallowed-tools", "disallowed_tools", "list"),
        ("--tools", "tools", "val"),
        ("--max-turns", "max_turns", "val"),
        ("--max-budget-usd", "max_budget_usd", "val"),
        ("--mcp-config", "mcp_config", "list"),
        ("--strict-mcp-config", "strict_mcp_config", "bool"),
        ("--settings", "settings", "val"),
        ("--setting-sources", "setting_sources", "val"),
        ("--add-dir", "add_dir", "list"),
        ("--agents", "agents", "val"),
        ("--agent", "agent", "val"),
        ("--json-schema", "json_schema", "val"),
        ("--include-partial-messages", "include_partial_messages", "bool"),
        ("--replay-user-messages", "replay_user_messages", "bool"),
        ("--no-session-persistence", "no_session_persistence", "bool"),
        ("--disable-slash-commands", "disable_slash_commands", "bool"),
        ("--effort", "effort", "val"),
        ("-d|--debug", "debug", "bool"),
        ("--ide", "ide", "bool"),
        ("-v|--version", "version", "bool"),
        ("-h|--help", "help", "bool"),
    ]
)

CLAUDE_HELP = """Usage: claude [options] [command] [prompt]   (fake)

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
  --dangerously-skip-permissions    Bypass all permission checks
  -v, --version                     Output the version number
  -h, --help                        Display help for command
"""


def claude_unknown(a):
    raise Exit(1, "error: unknown option '{}'".format(a.partition("=")[0]))


def claude_missing(name):
    raise Exit(1, f"error: option '{name} <value>' argument missing")


def claude_project_dir(cwd):
    return os.path.join(
        home(), ".claude", "projects", "".join(c if c in _ALNUM else "-" for c in cwd)
    )


def claude_main(run):
    opts, pos, _ = parse(run.argv, CLAUDE_SPEC, claude_unknown, claude_missing)
    run.opts = opts
    if opts.get("version"):
        out_text(VERSION_LINES["claude"] + "\n")
        return 0
    if opts.get("help"):
        out_text(CLAUDE_HELP)
        return 0
    if len(pos) > 1:
        raise Exit(1, f"error: too many arguments. Expected 1 argument but got {len(pos)}.")
    if not opts.get("print"):
        raise Exit(1, "Error: this fake claude only supports print mode (-p/--print).")
    fmt = opts.get("output_format", "text")
    if fmt not in ("text", "json", "stream-json"):
        raise Exit(
            1,
            f"error: option '--output-format <format>' argument '{fmt}' is invalid. "
            "Allowed choices are text, json, stream-json.",
        )
    if fmt == "stream-json" and not opts.get("verbose"):
        raise Exit(1, "Error: When using --print, --output-format=stream-json requires --verbose")
    run.fmt = {"text": "text", "json": "json", "stream-json": "stream"}[fmt]
    if opts.get("input_format", "text") != "text":
        raise Exit(1, "Error: fake claude supports only --input-format text")
    if (
        env("FAKE_STRICT") not in ("", "0")
        and opts.get("skip_permissions")
        and hasattr(os, "geteuid")
        and os.geteuid() == 0
        and env("IS_SANDBOX") != "1"
    ):
        raise Exit(
            1,
            "--dangerously-skip-permissions cannot be used with root/sudo privileges "
            "for security reasons",
        )
    sid_opt = opts.get("session_id")
    if sid_opt is not None and not is_uuid(sid_opt):
        raise Exit(1, "Error: Invalid session ID. Must be a valid UUID.")
    resuming = "resume" in opts or opts.get("continue")
    if sid_opt and resuming and not opts.get("fork_session"):
        raise Exit(
            1,
            "Error: --session-id can only be used with --continue or --resume if "
            "--fork-session is also specified.",
        )
    run.prompt = read_prompt(pos[0] if pos else None)
    if not run.prompt.strip():
        raise Exit(
            1,
            "Error: Input must be provided either through stdin or as a prompt "
            "argument when using --print",
        )
    run.model = opts.get("model") or DEFAULT_MODELS["claude"]

    if resuming:
        if "resume" in opts:
            rec = store_load("claude", opts["resume"])
            if rec is None:
                return claude_no_conversation(run, opts["resume"])
        else:
            rec = store_newest("claude", run.cwd)
            if rec is None:
                raise Exit(1, "No conversation found to continue")
        if opts.get("fork_session"):
            new_id = sid_opt or uuid4()
            fork = new_record("claude", new_id, run.cwd, run.model)
            fork["turns"] = list(rec["turns"])
            fork["replies"] = list(rec["replies"])
            fork["compactions"] = rec.get("compactions", 0)
            rec = fork
        else:
            run.is_new = False
        rec["model"] = run.model
    else:
        sid = sid_opt or uuid4()
        if sid_opt and store_load("claude", sid) is not None:
            raise Exit(1, f"Error: Session ID {sid} is already in use.")
        rec = new_record("claude", sid, run.cwd, run.model)
    if not rec.get("transcript"):
        rec["transcript"] = os.path.join(claude_project_dir(run.cwd), rec["id"] + ".jsonl")
    run.rec = rec

    words = run.prompt.strip().split(None, 1)
    if words and words[0] == "/compact":
        return claude_compact(run)
    return claude_turn(run)


def claude_no_conversation(run, sid):
    msg = f"No conversation found with session ID: {sid}"
    run.log(error=msg)
    if run.fmt != "text":
        res = claude_result(sid, run.model, None, 0, 0, 0, is_error=True, errors=[msg], num_turns=0)
        out_line(res)
    raise Exit(1, msg)


def claude_init(run):
    sid = run.rec["id"]
    return {
        "type": "system",
        "subtype": "init",
        "cwd": run.cwd,
        "session_id": sid,
        "tools": list(CLAUDE_TOOLS),
        "mcp_servers": [],
        "model": run.model,
        "permissionMode": "bypassPermissions"
        if run.opts.get("skip_permissions")
        else run.opts.get("permission_mode", "default"),
        "slash_commands": list(CLAUDE_SLASH),
        "apiKeySource": "ANTHROPIC_API_KEY" if os.environ.get("ANTHROPIC_API_KEY") else "none",
        "claude_code_version": VERSIONS["claude"],
        "output_style": "default",
        "agents": list(CLAUDE_AGENTS),
        "skills": list(CLAUDE_SKILLS),
        "plugins": [],
        "analytics_disabled": True,
        "product_feedback_disabled": True,
        "uuid": uuid4(),
        "memory_paths": {"auto": claude_project_dir(run.cwd) + "/memory/"},
        "fast_mode_state": "off",
    }


def claude_usage(inp, outp):
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


def claude_cost(inp, outp):
    return round(inp * 5e-6 + outp * 25e-6, 9)


def claude_result(
    sid, model, text, inp, outp, duration, is_error=False, errors=None, num_turns=1, subtype=None,
    prior_cost=0.0,
):
    # Like claude 2.1.330: `usage` is per turn, `total_cost_usd` the session's running total
    # (reloaded on --resume); modelUsage.costUSD is this call's.
    cost = claude_cost(inp, outp) or 0
    res = {"type": "result"}
    res["subtype"] = subtype or ("error_during_execution" if errors is not None else "success")
    res["is_error"] = is_error
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
    res["usage"] = claude_usage(inp, outp)
    res["modelUsage"] = (
        {}
        if not inp
        else {
            model: {
                "inputTokens": inp,
                "outputTokens": outp,
                "cacheReadInputTokens": 0,
                "cacheCreationInputTokens": 0,
                "webSearchRequests": 0,
                "costUSD": cost,
                "contextWindow": 1000000 if model.endswith("[1m]") else 200000,
                "maxOutputTokens": 64000,
            }
        }
    )
    res["permission_denials"] = []
    if errors is not None:
        res["errors"] = errors
    res["terminal_reason"] = "completed" if errors is None else "error"
    res["fast_mode_state"] = "off"
    res["uuid"] = uuid4()
    return res


def claude_assistant(run, msg_id, text, inp):
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


def claude_transcript_base(run, typ, ts):
    u = uuid4()
    line = {
        "parentUuid": run.rec.get("last_uuid"),
        "isSidechain": False,
        "userType": "external",
        "cwd": run.cwd,
        "sessionId": run.rec["id"],
        "version": VERSIONS["claude"],
        "gitBranch": "",
        "type": typ,
        "uuid": u,
        "timestamp": ts,
    }
    run.rec["last_uuid"] = u
    return line


def claude_turn(run):
    t0 = now_ms()
    begin_turn(run)
    user_line = claude_transcript_base(run, "user", iso())
    user_line["message"] = {"role": "user", "content": run.prompt}
    append_lines(run.rec["transcript"], [user_line])
    store_save(run.rec)
    stream = run.fmt == "stream"
    sid = run.rec["id"]
    if stream:
        out_line(claude_init(run))
    after_first_line(run)
    reply = make_reply(run)
    inp = 10 * run.n_turns
    msg_id = f"msg_fake_{rand_hex(12)}"
    if stream:
        tmpl = claude_assistant(run, msg_id, "@@FILL@@", inp)
        huge_lines(*split_template(tmpl))
        out_line(claude_assistant(run, msg_id, reply, inp))
    code = exit_code()
    duration = max(1, now_ms() - t0)
    if code:
        res = claude_result(
            sid,
            run.model,
            None,
            inp,
            OUTPUT_TOKENS,
            duration,
            is_error=True,
            errors=[f"FAKE_EXIT={code}: simulated failure during execution"],
        )
    else:
        prior = run.rec.get("cost_total", 0.0)
        res = claude_result(sid, run.model, reply, inp, OUTPUT_TOKENS, duration,
                            prior_cost=prior)
        run.rec["cost_total"] = res["total_cost_usd"]
    if run.fmt == "text":
        out_text(reply + "\n")
    else:
        out_line(res)
    a_line = claude_transcript_base(run, "assistant", iso())
    a_line["message"] = {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "model": run.model,
        "content": [{"type": "text", "text": reply}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": inp, "output_tokens": OUTPUT_TOKENS},
    }
    a_line["requestId"] = "req_fake_" + rand_hex(12)
    append_lines(run.rec["transcript"], [a_line])
    finish_turn(run, reply)
    return code


def claude_compact(run):
    """`-p "/compact" --resume ID`: the slash command really runs in print mode."""
    t0 = now_ms()
    run.log(compact=True)
    if env("FAKE_IGNORE_TERM") not in ("", "0"):
        import signal

        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if env("FAKE_STDERR"):
        err_text(env("FAKE_STDERR"))
    sid = run.rec["id"]
    stream = run.fmt == "stream"
    if stream:
        out_line(claude_init(run))
    delay = env_float("FAKE_STALL") + env_float("FAKE_SLEEP")
    if delay > 0:
        time.sleep(delay)
    if stream:
        out_line(
            {
                "type": "system",
                "subtype": "status",
                "status": "compacting",
                "session_id": sid,
                "uuid": uuid4(),
            }
        )
    n = len(run.rec["turns"])
    code = exit_code()
    if n < 2:
        msg = "Not enough messages to compact."
        if stream:
            out_line(
                {
                    "type": "system",
                    "subtype": "status",
                    "status": None,
                    "compact_result": "failed",
                    "compact_error": msg,
                    "session_id": sid,
                    "uuid": uuid4(),
                }
            )
            out_line(claude_assistant(run, f"msg_fake_{rand_hex(12)}", msg, 0))
        res = claude_result(
            sid, run.model, msg, 0, 0, max(1, now_ms() - t0), is_error=True, num_turns=0
        )
        if run.fmt == "text":
            out_text(msg + "\n")
        else:
            out_line(res)
        if run.is_new:  # nothing to keep for a brand-new session
            return code or 1
        store_save(run.rec)
        return code or 1
    pre_tokens = 10 * n + OUTPUT_TOKENS * len(run.rec["replies"])
    gist = " | ".join(t[:40] for t in run.rec["turns"])
    summary = f"[compacted summary of {n} user turns] {gist}"
    run.rec["turns"] = [summary]
    run.rec["replies"] = []
    run.rec["compactions"] = run.rec.get("compactions", 0) + 1
    boundary = {
        "type": "system",
        "subtype": "compact_boundary",
        "session_id": sid,
        "uuid": uuid4(),
        "compact_metadata": {
            "trigger": "manual",
            "pre_tokens": pre_tokens,
            "post_tokens": 10,
            "duration_ms": max(1, now_ms() - t0),
        },
    }
    if stream:
        out_line(boundary)
        out_line(
            {
                "type": "system",
                "subtype": "status",
                "status": None,
                "compact_result": "success",
                "session_id": sid,
                "uuid": uuid4(),
            }
        )
    # the summary is one model call: its tokens show in usage/modelUsage/total_cost_usd
    res = claude_result(sid, run.model, "", pre_tokens, 10, max(1, now_ms() - t0), num_turns=0)
    if run.fmt == "text":
        out_text("\n")
    else:
        out_line(res)
    b_line = claude_transcript_base(run, "system", iso())
    b_line.update(
        {
            "subtype": "compact_boundary",
            "content": "Conversation compacted",
            "level": "info",
            "compactMetadata": {"trigger": "manual", "preTokens": pre_tokens},
        }
    )
    s_line = claude_transcript_base(run, "user", iso())
    s_line.update({"isCompactSummary": True, "message": {"role": "user", "content": summary}})
    append_lines(run.rec["transcript"], [b_line, s_line])
    store_save(run.rec)
    return code


# ============================================================================= codex

_CODEX_COMMON = [
    ("-c|--config", "config", "list"),
    ("--enable", "enable", "list"),
    ("--disable", "disable", "list"),
]
CODEX_TOP_SPEC = Spec(
    _CODEX_COMMON
    + [
        ("-V|--version", "version", "bool"),
        ("-h|--help", "help", "bool"),
    ]
)
_CODEX_EXEC = _CODEX_COMMON + [
    ("--json|--experimental-json", "json", "bool"),
    ("--skip-git-repo-check", "skip_git_repo_check", "bool"),
    ("--dangerously-bypass-approvals-and-sandbox|--yolo", "bypass", "bool"),
    ("--full-auto", "full_auto", "bool"),
    ("-m|--model", "model", "val"),
    ("-p|--profile", "profile", "val"),
    ("-s|--sandbox", "sandbox", "val"),
    ("-i|--image", "image", "list"),
    ("--oss", "oss", "bool"),
    ("--local-provider", "local_provider", "val"),
    ("--color", "color", "val"),
    ("-o|--output-last-message", "output_last_message", "val"),
    ("--output-schema", "output_schema", "val"),
    ("--ephemeral", "ephemeral", "bool"),
    ("-h|--help", "help", "bool"),
]
CODEX_EXEC_SPEC = Spec(_CODEX_EXEC + [("-C|--cd", "cd", "val")])
CODEX_RESUME_SPEC = Spec(_CODEX_EXEC + [("--last", "last", "bool"), ("--all", "all", "bool")])

CODEX_HELP = """Run Codex non-interactively (fake)

Usage: codex exec [OPTIONS] [PROMPT]
       codex exec resume [OPTIONS] [SESSION_ID] [PROMPT]

Options:
  -c, --config <key=value>                       Override a configuration value (repeatable)
      --enable <FEATURE> / --disable <FEATURE>   Toggle a feature (repeatable)
  -m, --model <MODEL>                            Model the agent should use
      --json                                     Print events to stdout as JSONL
      --skip-git-repo-check                      Allow running outside a Git repository
      --dangerously-bypass-approvals-and-sandbox Skip all confirmation prompts
  -C, --cd <DIR>                                 Working root (not for `resume`)
  -o, --output-last-message <FILE>               Write the last agent message to FILE
      --last                                     (resume) Resume the most recent session
  -V, --version                                  Print version
"""


_CODEX_USAGE = ["codex exec [OPTIONS] [PROMPT]"]


def codex_usage_err(msg, usage=None):
    raise Exit(
        2,
        f"error: {msg}\n\nUsage: {usage or _CODEX_USAGE[0]}\n\nFor more information, try '--help'.",
    )


def codex_unknown(a):
    name = a.partition("=")[0]
    codex_usage_err(f"unexpected argument '{name}' found")


def codex_missing(name):
    codex_usage_err(f"a value is required for '{name} <VALUE>' but none was supplied")


def codex_home():
    return os.environ.get("CODEX_HOME") or os.path.join(home(), ".codex")


def codex_overrides(opts):
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


def codex_main(run):
    top, pos, rest = parse(
        run.argv, CODEX_TOP_SPEC, codex_unknown, codex_missing, stop_at_first_positional=True
    )
    if top.get("version"):
        out_text(VERSION_LINES["codex"] + "\n")
        return 0
    if top.get("help") and not pos:
        out_text(CODEX_HELP)
        return 0
    if not pos:
        raise Exit(2, "Error: this fake codex only supports `codex exec` (non-interactive).")
    if pos[0] not in ("exec", "e"):
        codex_usage_err(f"unrecognized subcommand '{pos[0]}'", "codex [OPTIONS] [PROMPT]")
    opts, epos, erest = parse(
        rest, CODEX_EXEC_SPEC, codex_unknown, codex_missing, stop_at_first_positional=True
    )
    resume = bool(epos) and epos[0] == "resume"
    if resume:
        _CODEX_USAGE[0] = "codex exec resume [OPTIONS] [SESSION_ID] [PROMPT]"
        ropts, rpos, _ = parse(erest, CODEX_RESUME_SPEC, codex_unknown, codex_missing)
        for k, v in ropts.items():
            if isinstance(v, list):
                opts.setdefault(k, []).extend(v)
            else:
                opts[k] = v
        epos = rpos
    elif epos:
        more_opts, more_pos, _ = parse(erest, CODEX_EXEC_SPEC, codex_unknown, codex_missing)
        for k, v in more_opts.items():
            if isinstance(v, list):
                opts.setdefault(k, []).extend(v)
            else:
                opts[k] = v
        epos = epos + more_pos
    for k in ("config", "enable", "disable"):
        if k in top:
            opts[k] = top[k] + opts.get(k, [])
    run.opts = opts
    if opts.get("help"):
        out_text(CODEX_HELP)
        return 0
    overrides = codex_overrides(opts)
    if (
        env("FAKE_STRICT") not in ("", "0")
        and "CODEX_HOME" in os.environ
        and not os.path.isdir(os.environ["CODEX_HOME"])
    ):
        raise Exit(
            1,
            'Error: CODEX_HOME points to "{}", but that path does not exist'.format(
                os.environ["CODEX_HOME"]
            ),
        )
    if opts.get("cd"):
        try:
            os.chdir(opts["cd"])
        except OSError as e:
            raise Exit(
                1, "Error: failed to change directory to {}: {}".format(opts["cd"], e)
            ) from None
        run.cwd = os.getcwd()
    run.fmt = "stream" if opts.get("json") else "text"
    run.model = opts.get("model") or overrides.get("model") or DEFAULT_MODELS["codex"]
    provider = overrides.get("model_provider", "openai")

    if resume:
        if opts.get("last"):
            if len(epos) > 1:
                codex_unknown(epos[1])
            sid, prompt_arg = None, (epos[0] if epos else None)
        else:
            if len(epos) > 2:
                codex_usage_err(
                    f"unexpected argument '{epos[2]}' found",
                    "codex exec resume [OPTIONS] [SESSION_ID] [PROMPT]",
                )
            sid = epos[0] if epos else None
            prompt_arg = epos[1] if len(epos) > 1 else None
            if sid is None:
                raise Exit(1, "Error: `codex exec resume` needs a SESSION_ID or --last")
    else:
        if len(epos) > 1:
            codex_usage_err(f"unexpected argument '{epos[1]}' found")
        sid, prompt_arg = None, (epos[0] if epos else None)

    run.prompt = read_prompt(prompt_arg)
    if not run.prompt.strip():
        raise Exit(1, "No prompt provided via stdin.")

    if resume:
        if opts.get("last"):
            rec = store_newest("codex", None if opts.get("all") else run.cwd)
            if rec is None:
                raise Exit(
                    1, "Error: thread/resume: no recorded session found to resume with --last"
                )
        else:
            rec = store_load("codex", sid)
            if rec is None:
                msg = (
                    "Error: thread/resume: thread/resume failed: no rollout found for thread "
                    f"id {sid} (code -32600)"
                )
                run.log(error=msg)
                raise Exit(1, msg)
        run.is_new = False
        rec["model"] = run.model
    else:
        rec = new_record("codex", uuid7(), run.cwd, run.model)
    run.rec = rec
    return codex_turn(run, provider)


def codex_turn(run, provider):
    rec = run.rec
    tid = rec["id"]
    begin_turn(run)
    ts = iso()
    lines = []
    if not rec.get("transcript"):
        lt = time.localtime()
        rec["transcript"] = os.path.join(
            codex_home(),
            "sessions",
            time.strftime("%Y", lt),
            time.strftime("%m", lt),
            time.strftime("%d", lt),
            "rollout-{}-{}.jsonl".format(time.strftime("%Y-%m-%dT%H-%M-%S", lt), tid),
        )
        lines.append(
            {
                "timestamp": ts,
                "type": "session_meta",
                "payload": {
                    "id": tid,
                    "timestamp": ts,
                    "cwd": run.cwd,
                    "originator": "codex_exec",
                    "cli_version": VERSIONS["codex"],
                    "instructions": None,
                    "source": "exec",
                    "model_provider": provider,
                },
            }
        )
    lines.append(
        {
            "timestamp": ts,
            "type": "turn_context",
            "payload": {
                "cwd": run.cwd,
                "approval_policy": "never",
                "sandbox_policy": {"type": "danger-full-access"},
                "model": run.model,
                "summary": "auto",
            },
        }
    )
    lines.append(
        {
            "timestamp": ts,
            "type": "response_item",
            "payload": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": run.prompt}],
            },
        }
    )
    lines.append(
        {
            "timestamp": ts,
            "type": "event_msg",
            "payload": {"type": "user_message", "message": run.prompt, "images": []},
        }
    )
    append_lines(rec["transcript"], lines)
    store_save(rec)

    stream = run.fmt == "stream"
    if stream:
        out_line({"type": "thread.started", "thread_id": tid})
    else:
        err_text(
            "OpenAI Codex v{} (research preview)\n--------\nworkdir: {}\nmodel: {}\n"
            "provider: {}\napproval: never\nsandbox: danger-full-access\nsession id: {}\n"
            "--------\nuser\n{}".format(
                VERSIONS["codex"], run.cwd, run.model, provider, tid, run.prompt
            )
        )
    after_first_line(run)
    if stream:
        out_line({"type": "turn.started"})
    reply = make_reply(run)
    inp = 10 * run.n_turns
    if stream:
        huge_lines(
            *split_template(
                {
                    "type": "item.completed",
                    "item": {"id": "item_r", "type": "reasoning", "text": "@@FILL@@"},
                }
            )
        )
        out_line(
            {
                "type": "item.completed",
                "item": {"id": "item_0", "type": "agent_message", "text": reply},
            }
        )
    code = exit_code()
    # Like codex 0.169: on a resumed thread, turn.completed reports the thread's running total.
    totals = run.rec.setdefault("usage_total", {"input_tokens": 0, "output_tokens": 0})
    totals["input_tokens"] += inp
    totals["output_tokens"] += OUTPUT_TOKENS
    usage = {
        "input_tokens": totals["input_tokens"],
        "cached_input_tokens": 0,
        "cache_write_input_tokens": 0,
        "output_tokens": totals["output_tokens"],
        "reasoning_output_tokens": 0,
    }
    if stream:
        if code:
            msg = f"FAKE_EXIT={code}: simulated failure"
            out_line({"type": "error", "message": msg})
            out_line({"type": "turn.failed", "error": {"message": msg}})
        else:
            out_line({"type": "turn.completed", "usage": usage})
    else:
        err_text(f"codex\n{reply}\ntokens used\n{inp + OUTPUT_TOKENS}")
        out_text(reply + "\n")
    if run.opts.get("output_last_message"):
        with open(run.opts["output_last_message"], "w", encoding="utf-8") as f:
            f.write(reply)
    ts = iso()
    append_lines(
        rec["transcript"],
        [
            {
                "timestamp": ts,
                "type": "response_item",
                "payload": {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": reply}],
                },
            },
            {
                "timestamp": ts,
                "type": "event_msg",
                "payload": {"type": "agent_message", "message": reply},
            },
            {
                "timestamp": ts,
                "type": "event_msg",
                "payload": {"type": "token_count", "info": {"total_token_usage": usage}},
            },
        ],
    )
    finish_turn(run, reply)
    return code


# ============================================================================= gemini

GEMINI_SPEC = Spec(
    [
        ("-p|--prompt", "prompt", "val"),
        ("-i|--prompt-interactive", "prompt_interactive", "val"),
        ("-o|--output-format", "output_format", "val"),
        ("-y|--yolo", "yolo", "bool"),
        ("--approval-mode", "approval_mode", "val"),
        ("-m|--model", "model", "val"),
        ("-r|--resume", "resume", "val"),
        ("--session-id", "session_id", "val"),
        ("--list-sessions", "list_sessions", "bool"),
        ("--delete-session", "delete_session", "val"),
        ("-s|--sandbox", "sandbox", "bool"),
        ("-d|--debug", "debug", "bool"),
        ("--include-directories", "include_directories", "list"),
        ("--allowed-tools", "allowed_tools", "list"),
        ("--allowed-mcp-server-names", "allowed_mcp_server_names", "list"),
        ("-e|--extensions", "extensions", "list"),
        ("-l|--list-extensions", "list_extensions", "bool"),
        ("--screen-reader", "screen_reader", "bool"),
        ("--checkpointing", "checkpointing", "bool"),
        ("-v|--version", "version", "bool"),
        ("-h|--help", "help", "bool"),
    ]
)

GEMINI_HELP = """Usage: gemini [options] [query..]   (fake)

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


def gemini_unknown(a):
    name = a.lstrip("-").partition("=")[0]
    raise Exit(1, GEMINI_HELP + f"\nUnknown argument: {name}")


def gemini_missing(name):
    raise Exit(1, GEMINI_HELP + "\nNot enough arguments following: {}".format(name.lstrip("-")))


def gemini_project(cwd):
    base = os.path.basename(cwd.rstrip("/")) or "root"
    return "".join(c.lower() if c in _ALNUM else "-" for c in base)


def gemini_sessions(cwd):
    return sorted(
        (r for r in store_all("gemini") if r.get("cwd") == cwd),
        key=lambda r: r.get("created_ms", 0),
    )


def gemini_main(run):
    opts, pos, _ = parse(run.argv, GEMINI_SPEC, gemini_unknown, gemini_missing)
    run.opts = opts
    if opts.get("version"):
        out_text(VERSION_LINES["gemini"] + "\n")
        return 0
    if opts.get("help"):
        out_text(GEMINI_HELP)
        return 0
    fmt = opts.get("output_format", "text")
    if fmt not in ("text", "json", "stream-json"):
        raise Exit(
            1,
            GEMINI_HELP + f'\nInvalid values:\n  Argument: output-format, Given: "{fmt}", '
            'Choices: "text", "json", "stream-json"',
        )
    run.fmt = {"text": "text", "json": "json", "stream-json": "stream"}[fmt]
    if env("FAKE_STRICT") not in ("", "0"):
        settings = os.path.join(home(), ".gemini", "settings.json")
        try:
            with open(settings, "rb") as f:
                sel = loads(f.read().decode("utf-8"))["security"]["auth"]["selectedType"]
        except (OSError, ValueError, KeyError, TypeError):
            sel = None
        if not sel:
            raise Exit(41, "Invalid auth method selected.")
    if opts.get("list_sessions"):
        sessions = gemini_sessions(run.cwd)
        if not sessions:
            out_text("No previous sessions found for this project.\n")
        else:
            out_text(f"\nAvailable sessions for this project ({len(sessions)}):\n")
            for i, r in enumerate(sessions, 1):
                first = (r["turns"][0] if r["turns"] else "")[:60].replace("\n", " ")
                out_text(f"  {i}. {first} [{r['id']}]\n")
        return 0
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
    run.model = opts.get("model") or gemini_default_model()

    rid = opts.get("resume")
    rec = None
    if rid is not None:
        sessions = gemini_sessions(run.cwd)
        if rid == "latest":
            if sessions:
                rec = sessions[-1]
            else:
                err_text("No previous sessions found for this project.")
        elif rid.isdigit():
            idx = int(rid)
            if 1 <= idx <= len(sessions):
                rec = sessions[idx - 1]
        else:
            rec = store_load("gemini", rid)
        if rec is None and rid != "latest":
            msg = (
                f'Error resuming session: Invalid session identifier "{rid}".\nUse --list-sessions '
                "to see available sessions, then use --resume {number}, --resume {uuid}, or "
                "--resume latest."
            )
            run.log(error=msg)
            raise Exit(1, msg)
        if rec is not None:
            run.is_new = False
            rec["model"] = run.model
    if rec is None:
        sid = opts.get("session_id") or uuid4()
        if not safe_id(sid):
            raise Exit(1, f'Invalid session ID "{sid}".')
        if opts.get("session_id") and store_load("gemini", sid) is not None:
            raise Exit(1, f'Session ID "{sid}" already exists. Use --resume to continue it.')
        rec = new_record("gemini", sid, run.cwd, run.model)
    run.rec = rec
    return gemini_turn(run)


def gemini_default_model():
    try:
        with open(os.path.join(home(), ".gemini", "settings.json"), "rb") as f:
            name = loads(f.read().decode("utf-8"))["model"]["name"]
            if isinstance(name, str) and name:
                return name
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return DEFAULT_MODELS["gemini"]


def gemini_turn(run):
    rec = run.rec
    sid = rec["id"]
    t0 = now_ms()
    begin_turn(run)
    lines = []
    if not rec.get("transcript"):
        rec["transcript"] = os.path.join(
            home(),
            ".gemini",
            "tmp",
            gemini_project(run.cwd),
            "chats",
            "session-{}-{}.jsonl".format(time.strftime("%Y-%m-%dT%H-%M", time.gmtime()), sid[:8]),
        )
        lines.append(
            {
                "sessionId": sid,
                "projectHash": gemini_project(run.cwd),
                "startTime": iso(t0),
                "lastUpdated": iso(t0),
                "kind": "main",
            }
        )
    lines.append(
        {
            "id": uuid4(),
            "timestamp": iso(),
            "type": "user",
            "sessionId": sid,
            "content": [{"text": run.prompt}],
        }
    )
    append_lines(rec["transcript"], lines)
    store_save(rec)
    stream = run.fmt == "stream"
    if stream:
        out_line({"type": "init", "timestamp": iso(t0), "session_id": sid, "model": run.model})
    after_first_line(run)
    if stream:
        out_line({"type": "message", "timestamp": iso(), "role": "user", "content": run.prompt})
    reply = make_reply(run)
    inp = 10 * run.n_turns
    if stream:
        huge_lines(
            *split_template(
                {
                    "type": "message",
                    "timestamp": iso(),
                    "role": "assistant",
                    "content": "@@FILL@@",
                    "delta": True,
                }
            )
        )
        out_line(
            {
                "type": "message",
                "timestamp": iso(),
                "role": "assistant",
                "content": reply,
                "delta": True,
            }
        )
    code = exit_code()
    tok = {
        "total_tokens": inp + OUTPUT_TOKENS,
        "input_tokens": inp,
        "output_tokens": OUTPUT_TOKENS,
        "cached": 0,
        "input": inp,
    }
    stats = dict(tok)
    stats.update(
        {"duration_ms": max(1, now_ms() - t0), "tool_calls": 0, "models": {run.model: dict(tok)}}
    )
    if stream:
        res = {"type": "result", "timestamp": iso(), "status": "error" if code else "success"}
        if code:
            res["error"] = {"type": "FatalError", "message": f"FAKE_EXIT={code}: simulated failure"}
        res["stats"] = stats
        out_line(res)
    elif run.fmt == "json":
        obj = {
            "session_id": sid,
            "response": reply,
            "stats": {
                "models": {
                    run.model: {
                        "api": {"totalRequests": 1, "totalErrors": 1 if code else 0},
                        "tokens": {
                            "prompt": inp,
                            "candidates": OUTPUT_TOKENS,
                            "total": inp + OUTPUT_TOKENS,
                            "cached": 0,
                        },
                    }
                },
                "tools": {"totalCalls": 0},
                "files": {"totalLinesAdded": 0, "totalLinesRemoved": 0},
            },
        }
        if code:
            obj["error"] = {"type": "FatalError", "message": f"FAKE_EXIT={code}: simulated failure"}
        write_fd(1, dumps(obj) + "\n")
    else:
        out_text(reply + "\n")
    append_lines(
        rec["transcript"],
        [
            {
                "id": uuid4(),
                "timestamp": iso(),
                "type": "gemini",
                "sessionId": sid,
                "content": reply,
                "model": run.model,
                "tokens": {"input": inp, "output": OUTPUT_TOKENS, "total": inp + OUTPUT_TOKENS},
            }
        ],
    )
    finish_turn(run, reply)
    return code


# ============================================================================= opencode

_OC_GLOBAL = [
    ("--print-logs", "print_logs", "bool"),
    ("--log-level", "log_level", "val"),
    ("--pure", "pure", "bool"),
    ("-h|--help", "help", "bool"),
]
OPENCODE_TOP_SPEC = Spec(_OC_GLOBAL + [("-v|--version", "version", "bool")])
OPENCODE_RUN_SPEC = Spec(
    _OC_GLOBAL
    + [
        ("--format", "format", "val"),
        ("-m|--model", "model", "val"),
        ("-s|--session", "session", "val"),
        ("-c|--continue", "continue", "bool"),
        ("--fork", "fork", "bool"),
        ("--auto", "auto", "bool"),
        ("--agent", "agent", "val"),
        ("--share", "share", "bool"),
        ("-f|--file", "file", "list"),
        ("--title", "title", "val"),
        ("--attach", "attach", "val"),
        ("--port", "port", "val"),
        ("--command", "command", "val"),
        ("--variant", "variant", "val"),
    ]
)
OPENCODE_EXPORT_SPEC = Spec(_OC_GLOBAL)

OPENCODE_HELP = """opencode run [message..]   (fake)

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


def opencode_unknown(a):
    raise Exit(1, OPENCODE_HELP + "\nUnknown argument: {}".format(a.lstrip("-").partition("=")[0]))


def opencode_missing(name):
    raise Exit(1, OPENCODE_HELP + "\nNot enough arguments following: {}".format(name.lstrip("-")))


def opencode_main(run):
    top, pos, rest = parse(
        run.argv,
        OPENCODE_TOP_SPEC,
        opencode_unknown,
        opencode_missing,
        stop_at_first_positional=True,
    )
    if top.get("version"):
        out_text(VERSION_LINES["opencode"] + "\n")
        return 0
    if not pos:
        if top.get("help"):
            out_text(OPENCODE_HELP)
            return 0
        raise Exit(
            1,
            "Error: this fake opencode supports only `opencode run` and "
            "`opencode export` (no TUI).",
        )
    if pos[0] == "export":
        return opencode_export(run, rest)
    if pos[0] != "run":
        raise Exit(1, OPENCODE_HELP + f"\nUnknown argument: {pos[0]}")
    opts, mpos, _ = parse(rest, OPENCODE_RUN_SPEC, opencode_unknown, opencode_missing)
    run.opts = opts
    if opts.get("help") or top.get("help"):
        out_text(OPENCODE_HELP)
        return 0
    fmt = opts.get("format", "default")
    if fmt not in ("default", "json"):
        raise Exit(
            1,
            OPENCODE_HELP + f'\nInvalid values:\n  Argument: format, Given: "{fmt}", '
            'Choices: "default", "json"',
        )
    run.fmt = "stream" if fmt == "json" else "text"
    run.model = opts.get("model") or DEFAULT_MODELS["opencode"]
    if "/" not in run.model:
        raise Exit(1, f"Error: Model {run.model} is not in the format provider/model")
    prompt_arg = " ".join(mpos) if mpos else None
    run.prompt = read_prompt(prompt_arg)
    if not run.prompt.strip():
        raise Exit(1, "Error: You must provide a message or a command")
    rec = None
    if opts.get("session"):
        rec = store_load("opencode", opts["session"])
        if rec is None:
            msg = "Error: Session not found: {}".format(opts["session"])
            run.log(error=msg)
            raise Exit(1, msg)
    elif opts.get("continue"):
        rec = store_newest("opencode", run.cwd)
    if rec is not None:
        if opts.get("fork"):
            fork = new_record("opencode", opencode_id("ses", descending=True), run.cwd, run.model)
            fork["turns"] = list(rec["turns"])
            fork["replies"] = list(rec["replies"])
            rec = fork
        else:
            run.is_new = False
        rec["model"] = run.model
    else:
        rec = new_record("opencode", opencode_id("ses", descending=True), run.cwd, run.model)
        rec["title"] = opts.get("title") or run.prompt[:50]
    run.rec = rec
    return opencode_turn(run)


def opencode_data_dir():
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(home(), ".local", "share")
    return os.path.join(base, "opencode")


def opencode_turn(run):
    rec = run.rec
    sid = rec["id"]
    if not rec.get("transcript"):
        rec["transcript"] = os.path.join(opencode_data_dir(), "fake-storage", sid + ".jsonl")
    begin_turn(run)
    t0 = now_ms()
    user_msg = opencode_id("msg")
    append_lines(
        rec["transcript"],
        [
            {
                "type": "message",
                "role": "user",
                "id": user_msg,
                "sessionID": sid,
                "timestamp": t0,
                "parts": [{"type": "text", "text": run.prompt}],
            }
        ],
    )
    store_save(rec)
    msg_id = opencode_id("msg")
    stream = run.fmt == "stream"
    if stream:
        out_line(
            {
                "type": "step_start",
                "timestamp": t0,
                "sessionID": sid,
                "part": {
                    "id": opencode_id("prt"),
                    "messageID": msg_id,
                    "sessionID": sid,
                    "type": "step-start",
                },
            }
        )
    after_first_line(run)
    reply = make_reply(run)
    inp = 10 * run.n_turns
    ts = now_ms()
    if stream:
        huge_lines(
            *split_template(
                {
                    "type": "text",
                    "timestamp": ts,
                    "sessionID": sid,
                    "part": {
                        "id": opencode_id("prt"),
                        "messageID": msg_id,
                        "sessionID": sid,
                        "type": "text",
                        "text": "@@FILL@@",
                        "time": {"start": ts, "end": ts},
                    },
                }
            )
        )
        out_line(
            {
                "type": "text",
                "timestamp": ts,
                "sessionID": sid,
                "part": {
                    "id": opencode_id("prt"),
                    "messageID": msg_id,
                    "sessionID": sid,
                    "type": "text",
                    "text": reply,
                    "time": {"start": t0, "end": ts},
                },
            }
        )
    else:
        out_text(reply + "\n")
    code = exit_code()
    if stream:
        if code:
            out_line(
                {
                    "type": "error",
                    "timestamp": now_ms(),
                    "sessionID": sid,
                    "error": {
                        "name": "UnknownError",
                        "data": {"message": f"FAKE_EXIT={code}: simulated failure"},
                    },
                }
            )
        else:
            out_line(
                {
                    "type": "step_finish",
                    "timestamp": now_ms(),
                    "sessionID": sid,
                    "part": {
                        "id": opencode_id("prt"),
                        "reason": "stop",
                        "messageID": msg_id,
                        "sessionID": sid,
                        "type": "step-finish",
                        "tokens": {
                            "total": inp + OUTPUT_TOKENS,
                            "input": inp,
                            "output": OUTPUT_TOKENS,
                            "reasoning": 0,
                            "cache": {"write": 0, "read": 0},
                        },
                        "cost": 0,
                    },
                }
            )
    append_lines(
        rec["transcript"],
        [
            {
                "type": "message",
                "role": "assistant",
                "id": msg_id,
                "sessionID": sid,
                "timestamp": now_ms(),
                "modelID": run.model,
                "parts": [{"type": "text", "text": reply}],
                "tokens": {"input": inp, "output": OUTPUT_TOKENS},
            }
        ],
    )
    finish_turn(run, reply)
    return code


def opencode_export(run, args):
    opts, pos, _ = parse(args, OPENCODE_EXPORT_SPEC, opencode_unknown, opencode_missing)
    if opts.get("help"):
        out_text("opencode export [sessionID]   (fake)\n")
        return 0
    if not pos:
        raise Exit(1, "Error: fake opencode export needs a sessionID")
    rec = store_load("opencode", pos[0])
    if rec is None:
        raise Exit(1, f"Error: Session not found: {pos[0]}")
    messages = []
    for i, t in enumerate(rec["turns"]):
        messages.append(
            {
                "info": {"role": "user", "sessionID": rec["id"]},
                "parts": [{"type": "text", "text": t}],
            }
        )
        if i < len(rec["replies"]):
            messages.append(
                {
                    "info": {
                        "role": "assistant",
                        "sessionID": rec["id"],
                        "modelID": rec.get("model"),
                    },
                    "parts": [{"type": "text", "text": rec["replies"][i]}],
                }
            )
    out_text(
        dumps(
            {
                "info": {
                    "id": rec["id"],
                    "title": rec.get("title", ""),
                    "directory": rec.get("cwd"),
                    "time": {"created": rec.get("created_ms"), "updated": rec.get("updated_ms")},
                },
                "messages": messages,
            }
        )
        + "\n"
    )
    return 0


# ============================================================================= entry point

MAINS = {
    "claude": claude_main,
    "codex": codex_main,
    "gemini": gemini_main,
    "opencode": opencode_main,
}


def main(argv=None):
    argv = list(sys.argv if argv is None else argv)
    prog = os.path.basename(argv[0]) if argv else ""
    if prog in TOOLS:
        tool, args = prog, argv[1:]
    elif len(argv) > 1 and argv[1] in TOOLS:
        tool, args = argv[1], argv[2:]
    else:
        err_text("usage: fake_cli.py {claude|codex|gemini|opencode} [ARGS...]")
        return 2
    args = [clean(a) for a in args]
    run = Run(tool, args)
    try:
        return MAINS[tool](run) or 0
    except Exit as e:
        if e.msg:
            err_text(e.msg)
        run.log(error=e.msg, exit=e.code)
        return e.code
    except BrokenPipeError:
        try:
            os.close(1)
        except OSError:
            pass
        return 1


def entry(argv=None):
    """Run and leave at once (no interpreter teardown: that is measurable start-up cost too)."""
    code = main(argv)
    os._exit(code & 0xFF if code >= 0 else 1)


if __name__ == "__main__":
    entry()
