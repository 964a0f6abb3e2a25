"""Bad input fuzz (hypothesis): garbage state.toml, transcripts, config files, lock files and
command-line arguments. csa must answer with a clear error or ignore the entry: exit
0, 1 or 2, never a traceback or its last-resort "internal error", a listing never
fails because of one broken session, and no process is ever killed because a lock
file names it.

The CLI runs in-process (click's runner) so hundreds of examples stay cheap; a few
inputs that only a real process can carry (a NUL byte on stdin) run the executable.

Short: 80 examples per target (160 for arguments), derandomized so CI sees the same
ones every run. --stress-long: 1,000 (2,000), new ones each run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csa.lock import proc_start_time
from csa.store import Store
from runkit import CSA, fake_env
from runkit import csa as csa_proc
from stresskit import TOOLS, check_cli, cli, inproc_env, no_crash, session_id_from_cli

pytestmark = pytest.mark.stress

# a run also ends with 124 (--timeout) or with the tool's own code (FAKE_EXIT/FAKE_CRASH: 3)
RUN_CODES = (0, 1, 2, 3, 124)


def fuzz_settings(stress_long: bool, scale: int = 1) -> settings:
    """Short: a fixed set of examples (the same in every CI run). Long: new ones each run."""
    return settings(max_examples=(1000 if stress_long else 80) * scale, deadline=None,
                    database=None, derandomize=not stress_long,
                    suppress_health_check=list(HealthCheck))


# -- strategies --------------------------------------------------------------------------------

ODD_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40) | st.sampled_from([
    "", " ", "\x00", "\u202e\u0645\u0631\u062d\u0628\u0627", "e\u0301\u0301\u0301", "\U0001F600" * 5,
    "\ufeff", "\r\n", "\t-", "--help", "-s", "../../etc/passwd", "x" * 3000, "\x1b[31mred",
    "\u2028\u2029", "\\", '"', "'''", "ʕ•ᴥ•ʔ"])

TOML_LITERALS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    ODD_TEXT.map(lambda s: json.dumps(s)),
    st.sampled_from([
        "nan", "-inf", "+inf", "-0.0", "0x7FFFFFFF", "0o777", "0b1010", "true", "false",
        "1979-05-27T07:32:00Z", "1979-05-27T00:32:00.999999-07:00", "1979-05-27T07:32:00",
        "1979-05-27", "07:32:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
        '"2026-13-45T99:99:99Z"', '""', "[]", "{}", '[1, "a", 2.5, true]',
        "{ a = 1, b = { c = [] } }", '"01JH4QWERT1234567890ABCDEF"', '"/tmp/outside"',
        '"running"', '"died"', '"retired"', '"available"', "-1", "0", "9223372036854775807",
        "-9223372036854775808", "18446744073709551616", '"claude-code"', '"codex"']),
    st.lists(st.integers(-5, 2**64), max_size=4).map(lambda v: "[" + ", ".join(map(str, v)) + "]"),
)


def _deep(n: int, kind: str) -> str:
    return "[" * n + "]" * n if kind == "array" else "{a=" * n + "1" + "}" * n


@st.composite
def mutated_toml(draw, base: str) -> bytes:
    """A real TOML file with values replaced, lines dropped or added, cut, or plain garbage."""
    mode = draw(st.sampled_from(["edit", "edit", "edit", "drop", "add", "truncate", "binary",
                                 "text", "huge", "deep", "dup"]))
    lines = base.splitlines()
    if mode == "edit":
        for _ in range(draw(st.integers(1, 3))):
            idx = [i for i, ln in enumerate(lines) if " = " in ln]
            if not idx:
                break
            i = draw(st.sampled_from(idx))
            lines[i] = lines[i].split(" = ", 1)[0] + " = " + draw(TOML_LITERALS)
        return "\n".join(lines).encode() + b"\n"
    if mode == "drop":
        for _ in range(draw(st.integers(1, 3))):
            if lines:
                lines.pop(draw(st.integers(0, len(lines) - 1)))
        return "\n".join(lines).encode() + b"\n"
    if mode == "add":
        key = draw(st.sampled_from(["x", "tools", "run", "genealogy", "description", '"\\u0000"',
                                    "tools.codex", "run.status", "[run]", "[tools.codex]",
                                    "[[tools]]", "[genealogy]"]))
        line = key if key.startswith("[") else f"{key} = {draw(TOML_LITERALS)}"
        lines.insert(draw(st.integers(0, len(lines))), line)
        return "\n".join(lines).encode() + b"\n"
    if mode == "truncate":
        data = base.encode()
        return data[:draw(st.integers(0, len(data)))]
    if mode == "binary":
        return draw(st.binary(max_size=600))
    if mode == "text":
        return draw(ODD_TEXT).encode("utf-8")
    if mode == "huge":
        return base.replace('description = "', 'description = "' + "ü" * 300_000, 1).encode()
    if mode == "deep":
        return (base + f"\ndeep = {_deep(draw(st.integers(50, 3000)), draw(st.sampled_from(['array', 'table'])))}\n").encode()
    return (base + "\n" + base).encode()


def _json_line(draw) -> bytes:
    seq = draw(st.one_of(st.integers(-(2**70), 2**70), st.sampled_from(
        [None, "3", 1.5, [], {}, True, 2**64, -1])))
    rec = {"v": draw(st.sampled_from([1, 2, "1", None])), "seq": seq,
           "ts": draw(st.sampled_from(["2026-11-21T14:17:39.059Z", "garbage", None, 5])),
           "type": draw(st.sampled_from(["prompt", "event", "stdout", "stderr", "turn_end",
                                         "evicted", "corrupt", "", "x" * 50, None, 7]))}
    if draw(st.booleans()):
        rec["text"] = draw(ODD_TEXT)
    if draw(st.booleans()):
        rec["event"] = draw(st.sampled_from([{"type": "result", "result": None}, [], "s", None]))
    if draw(st.booleans()):
        rec["exit_code"] = draw(st.sampled_from([0, 1, "0", None, 2**70, -9]))
    if draw(st.booleans()):
        rec["final_text"] = draw(ODD_TEXT)
    return json.dumps(rec, ensure_ascii=draw(st.booleans())).encode()


@st.composite
def transcript_bytes(draw, base: bytes) -> bytes:
    parts = []
    if draw(st.booleans()):
        keep = base.splitlines(keepends=True)
        parts.append(b"".join(keep[:draw(st.integers(0, len(keep)))]))
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["json", "json", "text", "binary", "array", "deep", "long",
                                     "nul", "surrogate", "blank"]))
        if kind == "json":
            line = _json_line(draw)
        elif kind == "text":
            line = draw(ODD_TEXT).encode()
        elif kind == "binary":
            line = draw(st.binary(max_size=200))
        elif kind == "array":
            line = b'[1, 2, {"seq": 5}]'
        elif kind == "deep":
            line = ('{"v":1,"seq":1,"type":"event","event":' + "[" * 5000 + "]" * 5000 + "}"
                    ).encode()
        elif kind == "long":
            line = json.dumps({"v": 1, "seq": 1, "type": "stdout", "text": "z" * 200_000}).encode()
        elif kind == "nul":
            line = b'{"v":1,"seq":1,"type":"stdout","text":"a\x00b"}\x00\x00'
        elif kind == "surrogate":
            line = b'{"v":1,"seq":2,"type":"stdout","text":"\\ud800 lone \\udfff"}'
        else:
            line = b""
        parts.append(line + draw(st.sampled_from([b"\n", b"\n", b"\r\n", b""])))
    return b"".join(parts)


# -- fixtures ------------------------------------------------------------------------------------

class World:
    """A project with a healthy session H and a session S that each example breaks anew."""

    def __init__(self, tmp_path: Path, project: Path):
        self.project = project
        res = cli("run", "--tool", "codex", "the session to break")
        check_cli(res, "setup", codes=(0,))
        self.sid = session_id_from_cli(res)
        check_cli(cli("run", "-s", self.sid, "second turn"), "setup", codes=(0,))
        res = cli("run", "--tool", "claude-code", "a healthy bystander")
        check_cli(res, "setup", codes=(0,))
        self.healthy = session_id_from_cli(res)
        self.store = Store.open(project)
        self.sdir = self.store.session(self.sid).dir
        self.pristine = tmp_path / "pristine"
        for sid in (self.sid, self.healthy):
            shutil.copytree(self.store.session(sid).dir, self.pristine / sid, symlinks=True)
        self.state_text = (self.sdir / "state.toml").read_text()
        self.transcript = (self.sdir / "transcript.jsonl").read_bytes()

    def restore(self) -> None:
        """Both sessions back as they were (a command may have broken or removed them)."""
        for sid in (self.sid, self.healthy):
            sdir = self.store.session(sid).dir
            shutil.rmtree(sdir, ignore_errors=True)
            if sdir.is_symlink() or sdir.exists():
                os.unlink(sdir)
            shutil.copytree(self.pristine / sid, sdir, symlinks=True)

    def listing_ok(self, what: str) -> list[dict]:
        res = cli("session", "list", "--json")
        check_cli(res, f"{what}: list", codes=(0,))
        rows = json.loads(res.stdout)
        healthy = [r for r in rows if r["id"] == self.healthy]
        assert healthy and not healthy[0].get("corrupt"), f"{what}: bystander hurt: {healthy}"
        return rows


@pytest.fixture
def world(tmp_path, project, monkeypatch):
    inproc_env(monkeypatch, tmp_path)
    return World(tmp_path, project)


def _session_commands(sid: str) -> list[list[str]]:
    return [
        ["session", "list"], ["session", "list", "--tree"], ["session", "list", "--status",
                                                             "corrupt", "--json"],
        ["session", "show", "-s", sid, "--json"], ["session", "show", "-s", sid],
        ["session", "result", "-s", sid], ["session", "result", "-s", sid, "--json"],
        ["session", "logs", "-s", sid], ["session", "logs", "-s", sid, "--json"],
        ["session", "logs", "-s", sid, "--tail", "2"], ["session", "artifacts", "-s", sid],
        ["session", "is-alive", "-s", sid, "--json"], ["session", "journal", "-s", sid],
        ["session", "note", "-s", sid, "--progress", "fuzz"],
        ["run", "-s", sid, "--timeout", "30", "resume a broken session"],
        ["run", "--last", "--timeout", "30", "resume the newest"],
        ["session", "clean", "--days", "0", "--dry-run"], ["session", "clean", "--days", "0"],
        ["gc", "--dry-run"], ["gc"], ["gc", "--max-bytes", "1", "--force"],
        ["session", "search", "FAKE"], ["events", "--json"],
        ["session", "checkpoint", "-s", sid], ["session", "verify", "-s", sid],
        ["session", "delete", "-s", sid], ["session", "wait", "-s", sid, "--timeout", "1"],
        ["session", "compress", "-s", sid, "--timeout", "30"],
    ]


# -- state.toml ------------------------------------------------------------------------------

def test_fuzz_state_toml(world, stress_long):
    cmds = _session_commands(world.sid)

    @fuzz_settings(stress_long)
    @given(data=st.data())
    def inner(data):
        world.restore()
        blob = data.draw(mutated_toml(world.state_text), label="state.toml")
        (world.sdir / "state.toml").write_bytes(blob)
        rows = world.listing_ok("state.toml")
        assert world.sid in {r["id"] for r in rows}, "a broken session vanished from the listing"
        for args in data.draw(st.lists(st.sampled_from(cmds), min_size=1, max_size=3),
                              label="commands"):
            check_cli(cli(*args), f"state.toml {blob[:200]!r}: csa {' '.join(args)}")
        world.restore()
        world.listing_ok("after")

    inner()


# -- transcript.jsonl -------------------------------------------------------------------------

def test_fuzz_transcript(world, stress_long):
    cmds = _session_commands(world.sid)
    cmds += [["run", "-s", world.sid, "--timeout", "30", "resume"]] * 4

    @fuzz_settings(stress_long)
    @given(data=st.data())
    def inner(data):
        world.restore()
        blob = data.draw(transcript_bytes(world.transcript), label="transcript")
        path = world.sdir / "transcript.jsonl"
        path.write_bytes(blob)
        for args in data.draw(st.lists(st.sampled_from(cmds), min_size=1, max_size=3),
                              label="commands"):
            res = cli(*args)
            what = f"transcript {blob[:300]!r}: csa {' '.join(args)}"
            check_cli(res, what)
            if args[:2] == ["run", "-s"] and res.exit_code == 0 and path.exists():
                # what csa appended is whole lines of JSON objects with int seqs in order
                data_now = path.read_bytes()
                assert data_now.endswith(b"\n"), what
                tail = data_now.splitlines()[-3:]
                seqs = [json.loads(x)["seq"] for x in tail]
                assert all(type(s) is int for s in seqs), (what, tail)
                assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), (what, seqs)
        world.restore()
        world.listing_ok("transcript")

    inner()


# -- config files --------------------------------------------------------------------------------

CONFIG_KEYS = ["default_tool", "max_recursion_depth", "memory_policy", "memory_margin_mb",
               "checkpoint_on_turn_end", "with_journal", "index_on_turn_end", "events.max_bytes",
               "events.keep", "gc.retire_after_days", "gc.orphan_dir_age_s", "events", "gc",
               "tools", "unknown_key", "tools.codex", "tools.nosuchtool.binary"]
CONFIG_KEYS += [f"tools.{t}.{k}" for t in TOOLS for k in ("binary", "args", "env", "model",
                                                          "max_concurrent", "bogus")]
CONFIG_VALUES = st.one_of(TOML_LITERALS, st.sampled_from([
    '"codex"', '"nope"', '"warn"', '"refuse"', '"off"', '"/nonexistent/bin"', '"/bin/true"',
    '"/bin/false"', '"/"', '"~/x"', '"claude"', '["--help"]', '["-c", "x=y", "\\u0000"]',
    '[1, {a = 1}]', '{ PATH = "" }', '{ FAKE_EXIT = "3" }', '{ FAKE_CRASH = "1" }',
    '{ "A" = 1, B = [1] }', '{ X = "\\u0000" }', "0", "-1", "1", "2", "1099511627776"]))


INTS = st.one_of(st.integers(-(2**65), 2**65).map(str), st.sampled_from(
    ["0", "-1", "1", "2", "9223372036854775807", "1099511627776"]))
BOOLS = st.sampled_from(["true", "false"])
STRINGS = ODD_TEXT.map(json.dumps)
INLINE_ENV = st.dictionaries(ODD_TEXT.filter(bool), ODD_TEXT, max_size=3).map(
    lambda d: "{ " + ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in d.items()) + " }")
# Keys with a value of the validated outer type but odd content (values the type check
# lets through), and the inner keys that are not type-checked at all.
TYPED_KEYS = {
    "default_tool": st.sampled_from([*TOOLS, "nope", "", "CODEX"]).map(json.dumps),
    "max_recursion_depth": INTS, "memory_policy": st.sampled_from(['"warn"', '"refuse"', '"off"']),
    "memory_margin_mb": INTS, "checkpoint_on_turn_end": BOOLS, "with_journal": BOOLS,
    "index_on_turn_end": BOOLS, "events.max_bytes": TOML_LITERALS,
    "events.keep": TOML_LITERALS, "gc.retire_after_days": TOML_LITERALS,
    "gc.orphan_dir_age_s": TOML_LITERALS,
}
for _t in TOOLS:
    TYPED_KEYS.update({
        f"tools.{_t}.binary": st.sampled_from(['"/nonexistent/bin"', '"/bin/true"', '"/bin/false"',
                                               '"/"', '"~/x"', '""', '"a\u0000b"', '"codex"']),
        f"tools.{_t}.args": st.lists(ODD_TEXT, max_size=3).map(json.dumps),
        f"tools.{_t}.env": INLINE_ENV | st.just('{ X = "\u0000" }'),
        f"tools.{_t}.model": STRINGS,
        f"tools.{_t}.max_concurrent": INTS,
    })


@st.composite
def config_text(draw) -> bytes:
    mode = draw(st.sampled_from(["typed", "typed", "typed", "typed", "keys", "keys", "binary",
                                 "text", "deep"]))
    if mode == "typed":
        keys = draw(st.lists(st.sampled_from(sorted(TYPED_KEYS)), min_size=1, max_size=4,
                             unique=True))
        return "".join(f"{k} = {draw(TYPED_KEYS[k])}\n" for k in keys).encode()
    if mode == "binary":
        return draw(st.binary(max_size=300))
    if mode == "text":
        return draw(ODD_TEXT).encode()
    if mode == "deep":
        return f"tools = {_deep(draw(st.integers(100, 3000)), 'table')}\n".encode()
    lines = [f"{draw(st.sampled_from(CONFIG_KEYS))} = {draw(CONFIG_VALUES)}"
             for _ in range(draw(st.integers(1, 5)))]
    return ("\n".join(lines) + "\n").encode()


def test_fuzz_config_files(world, project, stress_long):
    glob = Path(os.environ["XDG_CONFIG_HOME"]) / "csa" / "config.toml"
    glob.parent.mkdir(parents=True, exist_ok=True)
    local = project / ".csa" / "config.toml"
    local.parent.mkdir(exist_ok=True)
    sid = world.sid
    cmds = [["config", "show"], ["config", "show", "--json"], ["doctor", "--json"],
            *[["run", "--tool", t, "--timeout", "30", "hi"] for t in TOOLS],
            ["run", "--timeout", "30", "hi"],
            ["run", "-s", sid, "--timeout", "30", "again"], ["session", "list"], ["gc"],
            ["events"], ["session", "clean", "--days", "1", "--dry-run"],
            ["session", "compress", "-s", sid, "--timeout", "30"],
            ["session", "note", "-s", sid, "--next", "x"]]

    @fuzz_settings(stress_long)
    @given(data=st.data())
    def inner(data):
        world.restore()
        g = data.draw(st.none() | config_text(), label="global")
        p = data.draw(st.none() | config_text(), label="project")
        for path, blob in ((glob, g), (local, p)):
            if blob is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(blob)
        for args in data.draw(st.lists(st.sampled_from(cmds), min_size=1, max_size=3),
                              label="commands"):
            check_cli(cli(*args), f"config global={g!r} project={p!r}: csa {' '.join(args)}",
                      codes=RUN_CODES if args[0] == "run" else (0, 1, 2))

    try:
        inner()
    finally:
        glob.unlink(missing_ok=True)
        local.unlink(missing_ok=True)


# -- lock files -------------------------------------------------------------------------------------

class Bystander:
    """An innocent `sleep`, leader of its own process group, not our child (so it does not
    linger as a zombie when killed)."""

    def __init__(self):
        out = subprocess.run(["sh", "-c", "setsid sleep 600 >/dev/null 2>&1 & echo $!"],
                             capture_output=True, text=True, check=True).stdout
        self.pid = int(out)
        deadline = time.monotonic() + 5
        while os.getpgid(self.pid) != self.pid and time.monotonic() < deadline:
            time.sleep(0.01)  # setsid has not run yet
        self.start = proc_start_time(self.pid)

    def alive(self) -> bool:
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            return False
        return proc_start_time(self.pid) == self.start and state != "Z"

    def kill(self) -> None:
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)


@pytest.fixture
def bystanders():
    """Two innocent processes, each in its own process group, that a lock file may name."""
    procs = [Bystander(), Bystander()]
    yield procs
    for p in procs:
        p.kill()


def test_fuzz_lock_files(world, bystanders, stress_long):
    a, b = bystanders
    # wrong start times only: a record with the right one is a real orphaned tool
    wrong_start = (proc_start_time(a.pid) or 0) + 12345
    pids = st.sampled_from([a.pid, b.pid, 1, 0, -1, 2**22 - 1, 2**40, 999_999_999, "123",
                            "x", 1.5, None, [1], {"a": 1}, True])
    record = st.fixed_dictionaries({}, optional={
        "pid": pids, "pid_start": st.sampled_from([None, 1.0, wrong_start, "x", -5]),
        "tool": st.sampled_from(["codex", None, 5, "../../x"]),
        "reason": ODD_TEXT, "since": ODD_TEXT, "session": ODD_TEXT,
        "tool_pid": pids, "tool_pgid": pids,
        "tool_start": st.sampled_from([None, wrong_start, "x", 0])})
    content = st.one_of(record.map(lambda r: json.dumps(r).encode()), st.binary(max_size=200),
                        ODD_TEXT.map(str.encode), st.just(b"[1,2]"), st.just(b"null"))
    sid = world.sid
    cmds = [["session", "is-alive", "-s", sid], ["session", "is-alive", "-s", sid, "--json"],
            ["run", "-s", sid, "--tool", "codex", "--timeout", "30", "resume"],
            ["run", "-s", sid, "--tool", "gemini-cli", "--timeout", "30", "resume"],
            ["gc"], ["session", "kill", "-s", sid, "--grace", "0.2"],
            ["session", "delete", "-s", sid], ["session", "show", "-s", sid],
            ["session", "wait", "-s", sid, "--timeout", "1"],
            ["session", "clean", "--days", "0", "--dry-run"]]

    @fuzz_settings(stress_long)
    @given(data=st.data())
    def inner(data):
        world.restore()
        locks = world.sdir / "locks"
        planted = {}
        for name in data.draw(st.lists(st.sampled_from(
                ["session.lock", "codex.lock", "gemini-cli.lock", "junk.lock"]), max_size=3,
                unique=True), label="lock files"):
            how = data.draw(st.sampled_from(["content", "content", "content", "dir"]))
            path = locks / name
            if how == "dir":
                path.unlink(missing_ok=True)
                path.mkdir()
                planted[name] = "dir"
            else:
                planted[name] = data.draw(content)
                path.write_bytes(planted[name])
        if data.draw(st.booleans()) and not planted:
            shutil.rmtree(locks)
            locks.write_bytes(b"not a directory")
            planted["locks"] = "file"
        world.listing_ok(f"locks {planted}")
        for args in data.draw(st.lists(st.sampled_from(cmds), min_size=1, max_size=3),
                              label="commands"):
            check_cli(cli(*args), f"locks {planted}: csa {' '.join(args)}")
            for p in (a, b):
                assert p.alive(), f"locks {planted}: csa {' '.join(args)} killed an " \
                                         "innocent process named in a lock file"
        world.restore()
        world.listing_ok("after")

    inner()


def test_lock_file_fifo_does_not_hang(world):
    """A FIFO where a lock file should be: csa must not block forever opening it."""
    for name in ("session.lock", "codex.lock"):
        path = world.sdir / "locks" / name
        path.unlink(missing_ok=True)
        os.mkfifo(path)
    env = fake_env(world.project.parent)
    for args in (["session", "list", "--json"], ["session", "is-alive", "-s", world.sid],
                 ["run", "-s", world.sid, "resume"], ["gc"]):
        try:
            res = csa_proc(*args, env=env, cwd=world.project, timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail(f"csa {' '.join(args)} hangs on a FIFO lock file")
        no_crash(res.stderr, f"fifo: {args}")
        assert res.returncode in (0, 1), f"fifo: {args}: {res.stderr}"


# -- command-line arguments -----------------------------------------------------------------------

NUMBERS = st.one_of(st.integers(-(2**70), 2**70).map(str), st.floats().map(repr),
                    st.sampled_from(["nan", "inf", "-inf", "1e309", "-0", "0", "1e-300", "0x10",
                                     "", " ", "1_000", "١٢", "5d", "99999999999999999999"]))
WHEN = st.one_of(ODD_TEXT, NUMBERS, st.sampled_from([
    "2d", "36h", "1w", "0s", "99999999999999999999d", "1e400d", "9" * 400 + "d",
    "999999999w", "0001-01-01", "9999-12-31T23:59:59", "2026-11-01T00:00:00+25:00",
    "2026-02-30", "-1d", "1.5.5h", " 3 h "]))


@st.composite
def cli_args(draw, sid: str) -> list[str]:
    kind = draw(st.sampled_from(["prefix", "since", "days", "limit", "tool", "prompt", "timeout",
                                 "size", "search", "events", "desc"]))
    if kind == "prefix":
        prefix = draw(st.one_of(ODD_TEXT, st.sampled_from(
            [sid[:4], sid.lower()[:10], sid + "0", sid[:-1] + "U", "-" + sid[:6], "0", "O", "I",
             "L", "u"])))
        sub = draw(st.sampled_from([["session", "show", "-s"], ["session", "result", "-s"],
                                    ["session", "is-alive", "-s"], ["session", "logs", "-s"],
                                    ["run", "--timeout", "30", "-s"], ["events", "-s"],
                                    ["session", "delete", "-s"]]))
        return [*sub, prefix] + (["hello"] if sub[0] == "run" else [])
    if kind == "since":
        return ["session", "list", "--since", draw(WHEN)]
    if kind == "days":
        return ["session", "clean", "--days", draw(NUMBERS), "--dry-run"]
    if kind == "limit":
        return ["session", "list", "--limit", draw(NUMBERS)]
    if kind == "tool":
        return ["session", "list", "--tool", draw(ODD_TEXT)] if draw(st.booleans()) else \
            ["run", "--tool", draw(ODD_TEXT), "--timeout", "30", "hi"]
    if kind == "prompt":
        return ["run", "--tool", draw(st.sampled_from(TOOLS)), "--timeout", "30", "--",
                draw(st.one_of(ODD_TEXT, st.sampled_from(["-", "--", "-x", "--help", "\x00",
                                                          "a\x00b", " " * 10, "x" * 150_000])))]
    if kind == "timeout":
        return ["run", "--tool", "codex", draw(st.sampled_from(["--timeout", "--idle-timeout"])),
                draw(NUMBERS), "hi"]
    if kind == "size":
        return ["gc", "--dry-run", "--max-bytes", draw(NUMBERS)]
    if kind == "search":
        return ["session", "search", draw(ODD_TEXT) or "x", "--limit", draw(NUMBERS)]
    if kind == "events":
        return ["events", "--since", draw(WHEN), "--limit", draw(NUMBERS)]
    return ["run", "--tool", "codex", "--timeout", "30", "-d", draw(ODD_TEXT), "-m",
            draw(ODD_TEXT), "hi"]


def test_fuzz_cli_arguments(world, stress_long):
    @fuzz_settings(stress_long, scale=2)
    @given(args=cli_args(world.sid))
    def inner(args):
        if not world.sdir.exists():
            world.restore()
        check_cli(cli(*args), f"csa {args!r}", codes=RUN_CODES if args[0] == "run" else (0, 1, 2))

    inner()
    world.restore()
    world.listing_ok("after the argument fuzz")


def test_nul_and_odd_prompts_through_the_real_executable(world, tmp_path):
    """What only a real process can carry: a NUL byte on stdin, odd bytes as arguments."""
    env = fake_env(tmp_path)
    cases = [(["run", "--tool", "codex", "-"], "before\x00after"),
             (["run", "--tool", "gemini-cli", "-"], "nul \x00 for gemini"),
             (["run", "--tool", "claude-code", "--", "--leading-dashes"], None),
             (["run", "--tool", "opencode", "\u202e\U0001F600 e\u0301"], None),
             (["run", "--tool", "codex", "-"], b"not utf-8 \xff\xfe on stdin"),
             (["run", "--tool", "claude-code", b"not utf-8 \xff in argv"], None),
             (["run", "--tool", "codex", "-d", b"\xc3", "-m", b"\xff", "odd"], None),
             (["session", "show", "-s", "\u0130\u0131"], None)]
    for args, stdin in cases:
        if isinstance(stdin, str):
            stdin = stdin.encode()
        res = subprocess.run([*CSA, *args], env=env, cwd=world.project, input=stdin,
                             stdin=None if stdin else subprocess.DEVNULL, capture_output=True,
                             timeout=60)
        err = res.stderr.decode("utf-8", "replace")
        no_crash(err, f"{args} stdin={stdin!r}")
        assert res.returncode in (0, 1, 2), f"{args}: {res.returncode} {err}"
    rows = world.listing_ok("after odd prompts")
    assert not [r for r in rows if r.get("corrupt") or r["status"] in ("running", "died")], rows


def test_lock_record_never_kills_an_innocent_process(world, bystanders):
    """A resume reaps a dead run's orphaned tool only when the lock record proves it is
    that tool (own group, recorded start time); a damaged record never kills anything."""
    a, b = bystanders
    lock = world.sdir / "locks" / "codex.lock"
    records = [{"pid": 999_999_999, "tool_pid": a.pid, "tool_pgid": a.pid},
               {"pid": 999_999_999, "tool_pid": a.pid, "tool_pgid": b.pid,
                "tool_start": proc_start_time(a.pid)},
               {"pid": "x", "tool_pid": a.pid, "tool_start": "soon"},
               {"pid": 999_999_999, "tool_pid": a.pid, "tool_pgid": 1,
                "tool_start": (proc_start_time(a.pid) or 0) + 1}]
    for rec in records:
        lock.write_text(json.dumps(rec))
        res = cli("run", "-s", world.sid, "--tool", "codex", "resume")
        check_cli(res, f"record {rec}", codes=(0,))
        assert a.alive() and b.alive(), f"record {rec} got a process killed"
    # the real thing: a dead csa's tool, in its own group, with its start time
    lock.write_text(json.dumps({"pid": 999_999_999, "tool_pid": b.pid, "tool_pgid": b.pid,
                                "tool_start": proc_start_time(b.pid)}))
    check_cli(cli("run", "-s", world.sid, "--tool", "codex", "resume"), "orphan", codes=(0,))
    assert not b.alive() and a.alive()
