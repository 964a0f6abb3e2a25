"""The fake AI CLIs in tools/fake_clis speak the real tools' argv and event formats.

The output shapes are checked key-for-key (recursively) against output captured from the
real CLIs (tools/fake_clis/samples, copied from /work/shared/samples), so any drift between
the fakes and the real tools fails here rather than silently in csa's own tests.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FAKES = REPO / "tools" / "fake_clis"
FAKE_BIN = FAKES / "bin"
SAMPLES = FAKES / "samples"
from helpers import SHARED  # noqa: E402

SHARED_SAMPLES = SHARED / "samples"

SAMPLE_FILES = {
    "claude": "claude.stream.jsonl",
    "codex": "codex.jsonl",
    "gemini": "gemini.stream.jsonl",
    "opencode": "opencode.jsonl",
}

# argv exactly as csa builds it (TOOLS.md), new turn and resume.
NEW_ARGV = {
    "claude": lambda p: [
        "claude",
        "-p",
        p,
        "--output-format",
        "stream-json",
        "--verbose",
        "--dangerously-skip-permissions",
        "--model",
        "claude-opus-4-8[1m]",
    ],
    "codex": lambda p: [
        "codex",
        "exec",
        "--json",
        "--skip-git-repo-check",
        "--dangerously-bypass-approvals-and-sandbox",
        "-m",
        "gpt-5.5",
        "-c",
        "model_provider=mock",
        "-c",
        "model=gpt-5.5",
        "-c",
        'model_providers.mock={name="mock",base_url="http://127.0.0.1:9/v1",'
        'env_key="MOCK_API_KEY",wire_api="responses"}',
        "-c",
        "check_for_update_on_startup=false",
        "-c",
        "analytics.enabled=false",
        "--disable",
        "plugins",
        "--disable",
        "remote_plugin",
        "--disable",
        "apps",
        p,
    ],
    "gemini": lambda p: [
        "gemini",
        "-p",
        p,
        "-o",
        "stream-json",
        "--yolo",
        "-m",
        "gemini-2.5-flash",
    ],
    "opencode": lambda p: [
        "opencode",
        "run",
        "--format",
        "json",
        "--auto",
        "-m",
        "mock/mock-model",
        p,
    ],
}
RESUME_ARGV = {
    "claude": lambda sid, p: [
        "claude",
        "-p",
        p,
        "--output-format",
        "stream-json",
        "--verbose",
        "--dangerously-skip-permissions",
        "--resume",
        sid,
    ],
    "codex": lambda sid, p: [
        "codex",
        "exec",
        "resume",
        "--json",
        "--skip-git-repo-check",
        "--dangerously-bypass-approvals-and-sandbox",
        "-m",
        "gpt-5.5",
        "-c",
        "model_provider=mock",
        "--disable",
        "plugins",
        sid,
        p,
    ],
    "gemini": lambda sid, p: [
        "gemini",
        "-p",
        p,
        "-o",
        "stream-json",
        "--yolo",
        "-m",
        "gemini-2.5-flash",
        "--resume",
        sid,
    ],
    "opencode": lambda sid, p: ["opencode", "run", "--format", "json", "--auto", "-s", sid, p],
}
UNKNOWN_IDS = {
    "claude": "5d1c7a3e-0000-4000-8000-000000000000",
    "codex": "01a1fe78-4275-76b2-bbae-000000000000",
    "gemini": "5d1c7a3e-0000-4000-8000-000000000000",
    "opencode": "ses_e018a0873ffeAAAAAAAAAAAAAA",
}
ID_PATTERNS = {
    "claude": r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
    "codex": r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
    "gemini": r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
    "opencode": r"ses_[0-9a-f]{12}[0-9A-Za-z]{14}",
}
TOOLS = list(SAMPLE_FILES)
SHARED_MODULES = ("argv", "ids", "jsonio", "store", "switches", "turn")


# ----------------------------------------------------------------------------- helpers


@pytest.fixture
def proj(tmp_path):
    p = tmp_path / "proj"
    p.mkdir()
    return p


def fake_env(**extra):
    env = dict(os.environ)  # HOME/XDG_* already isolated by conftest's autouse fixture
    env["PATH"] = str(FAKE_BIN) + os.pathsep + env.get("PATH", "")
    env["CODEX_HOME"] = str(Path(env["HOME"]) / ".codex")
    for k in [k for k in env if k.startswith("FAKE_")]:
        del env[k]
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run(argv, cwd, timeout=20, **extra):
    return subprocess.run(
        argv,
        cwd=cwd,
        env=fake_env(**extra),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def events(stdout):
    return [json.loads(line) for line in stdout.splitlines()]


def kind(tool, ev):
    """What makes two lines 'the same event' for shape comparison."""
    if tool == "claude" and ev["type"] == "system":
        return ("system", ev.get("subtype"))
    if tool == "gemini" and ev["type"] == "message":
        return ("message", ev.get("role"))
    return (ev["type"],)


DYNAMIC_KEY_PARENTS = {"modelUsage", "models"}  # dicts keyed by model name


def shape(v, parent=None):
    if isinstance(v, dict):
        if parent in DYNAMIC_KEY_PARENTS:
            return {"<model>": shape(next(iter(v.values())), None)} if v else {}
        return {k: shape(x, k) for k, x in v.items()}
    if isinstance(v, list):
        return [shape(v[0], parent)] if v else []
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if v is None:
        return "null"
    return "string"


def compatible(fake, real, path="$"):
    """Same keys at every level; same scalar types where the real value is not null."""
    if isinstance(real, dict):
        assert isinstance(fake, dict), f"{path}: expected object, got {fake!r}"
        assert set(fake) == set(real), (
            f"{path}: keys differ: only fake {sorted(set(fake) - set(real))}, "
            f"only real {sorted(set(real) - set(fake))}"
        )
        for k in real:
            compatible(fake[k], real[k], f"{path}.{k}")
    elif isinstance(real, list):
        assert isinstance(fake, list), f"{path}: expected array"
        if real and fake:
            compatible(fake[0], real[0], path + "[0]")
    elif real != "null":
        assert fake == real, f"{path}: expected {real}, got {fake}"


def sample_events(tool):
    return events((SAMPLES / SAMPLE_FILES[tool]).read_text())


def reply_text(tool, evs):
    if tool == "claude":
        return [e for e in evs if e["type"] == "result"][-1]["result"]
    if tool == "codex":
        return [
            e for e in evs if e["type"] == "item.completed" and e["item"]["type"] == "agent_message"
        ][-1]["item"]["text"]
    if tool == "gemini":
        return "".join(
            e["content"] for e in evs if e["type"] == "message" and e["role"] == "assistant"
        )
    return "".join(e["part"]["text"] for e in evs if e["type"] == "text")


def provider_id(tool, evs):
    first = evs[0]
    return {
        "claude": lambda: first["session_id"],
        "codex": lambda: first["thread_id"],
        "gemini": lambda: first["session_id"],
        "opencode": lambda: first["sessionID"],
    }[tool]()


def transcript_files(tool, home):
    pattern = {
        "claude": ".claude/projects/*/*.jsonl",
        "codex": ".codex/sessions/*/*/*/rollout-*.jsonl",
        "gemini": ".gemini/tmp/*/chats/session-*.jsonl",
        "opencode": ".local/share/opencode/**/*.jsonl",
    }[tool]
    return list(Path(home).glob(pattern))


# ----------------------------------------------------------------------------- tests


@pytest.mark.skipif(not SHARED_SAMPLES.is_dir(), reason="no /work/shared/samples here")
def test_sample_copies_match_shared_samples():
    for name in SAMPLE_FILES.values():
        assert (SAMPLES / name).read_bytes() == (SHARED_SAMPLES / name).read_bytes(), name


def test_launchers_are_executable_and_stdlib_only():
    for tool in TOOLS:
        assert os.access(FAKE_BIN / tool, os.X_OK), tool
    for module in [FAKES / "fake_cli.py", *sorted((FAKES / "fakes").glob("*.py"))]:
        src = module.read_text()
        top_imports = set(re.findall(r"^(?:import|from) (\w+)", src, re.M))  # not `from .x`
        assert top_imports <= {"os", "sys", "time", "_json", "json", "fakes"}, (module, top_imports)


@pytest.mark.parametrize("tool", TOOLS)
def test_a_turn_loads_only_its_own_fake(tool, proj):
    """Start-up stays lean: one tool module, no slow stdlib packages (json, re, subprocess...)."""
    code = (
        "import sys; sys.path[0] = sys.argv.pop(1); import fake_cli; fake_cli.main(); "
        "sys.stderr.write(' '.join(sorted(sys.modules)))"
    )
    argv = NEW_ARGV[tool]("hi")
    r = run([sys.executable, "-S", "-E", "-c", code, str(FAKES), *argv], proj)
    assert r.returncode == 0 and "user turns seen: 1" in r.stdout, r.stderr
    loaded = set(r.stderr.split())
    fakes = {m for m in loaded if m.startswith("fakes.")}
    assert fakes <= {f"fakes.{tool}"} | {f"fakes.{m}" for m in SHARED_MODULES}, fakes
    assert f"fakes.{tool}" in fakes
    assert not loaded & {"json", "re", "subprocess", "shlex", "signal", "uuid", "fakes.spawn"}


@pytest.mark.parametrize("tool", TOOLS)
def test_new_turn_matches_real_shape_then_resume_carries_history(tool, proj):
    r = run(NEW_ARGV[tool]("hello there"), proj)
    assert r.returncode == 0, r.stderr
    evs = events(r.stdout)  # every stdout line is JSON
    sample = sample_events(tool)
    real_by_kind = {}
    for ev in sample:
        real_by_kind.setdefault(kind(tool, ev), ev)
    fake_kinds = [kind(tool, ev) for ev in evs]
    assert fake_kinds == [kind(tool, ev) for ev in sample]  # same events, same order
    for ev in evs:
        compatible(shape(ev), shape(real_by_kind[kind(tool, ev)]))

    sid = provider_id(tool, evs)
    assert re.fullmatch(ID_PATTERNS[tool], sid), sid
    assert reply_text(tool, evs) == "FAKE-REPLY (user turns seen: 1) hello there"
    # the id is on every line where the real tool puts it on every line
    if tool in ("claude", "opencode"):
        key = "session_id" if tool == "claude" else "sessionID"
        assert all(ev[key] == sid for ev in evs)
    assert transcript_files(tool, os.environ["HOME"]), "tool's own transcript not written"

    r2 = run(RESUME_ARGV[tool](sid, "second turn"), proj)
    assert r2.returncode == 0, r2.stderr
    evs2 = events(r2.stdout)
    assert provider_id(tool, evs2) == sid
    assert reply_text(tool, evs2) == "FAKE-REPLY (user turns seen: 2) second turn"
    assert len(transcript_files(tool, os.environ["HOME"])) == 1  # same transcript continued


def test_new_turn_token_usage_is_deterministic(proj):
    evs = events(run(NEW_ARGV["claude"]("x"), proj).stdout)
    res = evs[-1]
    assert res["usage"]["input_tokens"] == 10 and res["usage"]["output_tokens"] == 5
    assert res["total_cost_usd"] > 0 and res["is_error"] is False
    assert evs[0]["model"] == "claude-opus-4-8[1m]"
    evs = events(run(NEW_ARGV["gemini"]("x"), proj).stdout)
    assert evs[0]["model"] == "gemini-2.5-flash"
    assert evs[-1]["stats"]["input_tokens"] == 10 and evs[-1]["stats"]["total_tokens"] == 15


@pytest.mark.parametrize("tool", TOOLS)
def test_unknown_flag_is_rejected(tool, proj):
    argv = NEW_ARGV[tool]("hi")
    argv.insert(len(argv) - 1 if tool in ("codex", "opencode") else 1, "--no-such-flag")
    r = run(argv, proj)
    assert r.returncode != 0
    assert "no-such-flag" in r.stderr
    assert not r.stdout


@pytest.mark.parametrize("tool", TOOLS)
def test_unknown_resume_id_fails(tool, proj):
    r = run(RESUME_ARGV[tool](UNKNOWN_IDS[tool], "hi"), proj)
    assert r.returncode != 0
    assert UNKNOWN_IDS[tool] in r.stderr
    expected = {
        "claude": "No conversation found with session ID:",
        "codex": "no rollout found for thread id",
        "gemini": "Invalid session identifier",
        "opencode": "Session not found",
    }[tool]
    assert expected in r.stderr


def test_claude_unknown_resume_prints_error_result(proj):
    r = run(RESUME_ARGV["claude"](UNKNOWN_IDS["claude"], "hi"), proj)
    (res,) = events(r.stdout)
    assert res["type"] == "result" and res["subtype"] == "error_during_execution"
    assert res["is_error"] is True and "result" not in res
    assert res["errors"] == ["No conversation found with session ID: " + UNKNOWN_IDS["claude"]]


@pytest.mark.parametrize(
    "tool,expected",
    [
        ("claude", "2.1.197 (Claude Code) (fake)"),
        ("codex", "codex-cli 0.169.0 (fake)"),
        ("gemini", "0.61.0 (fake)"),
        ("opencode", "1.18.0 (fake)"),
    ],
)
def test_version_and_help(tool, expected, proj):
    r = run([tool, "--version"], proj)
    assert r.returncode == 0 and r.stdout.strip() == expected
    r = run([tool, "--help"], proj)
    assert r.returncode == 0 and "fake" in r.stdout


def test_claude_stream_json_requires_verbose(proj):
    r = run(["claude", "-p", "hi", "--output-format", "stream-json"], proj)
    assert r.returncode == 1
    assert "requires --verbose" in r.stderr


def test_claude_compact_success_collapses_history(proj):
    sid = events(run(NEW_ARGV["claude"]("one"), proj).stdout)[0]["session_id"]
    run(RESUME_ARGV["claude"](sid, "two"), proj)
    r = run(RESUME_ARGV["claude"](sid, "/compact"), proj)
    assert r.returncode == 0, r.stderr
    evs = events(r.stdout)
    assert [kind("claude", e) for e in evs] == [
        ("system", "init"),
        ("system", "status"),
        ("system", "compact_boundary"),
        ("system", "status"),
        ("result",),
    ]
    assert evs[1]["status"] == "compacting"
    assert evs[3]["status"] is None and evs[3]["compact_result"] == "success"
    assert "compact_error" not in evs[3]
    assert evs[2]["compact_metadata"]["trigger"] == "manual"
    assert evs[-1]["is_error"] is False and evs[-1]["result"] == ""
    assert all(e["session_id"] == sid for e in evs)
    compatible(shape(evs[-1]), shape(sample_events("claude")[-1]))
    r = run(RESUME_ARGV["claude"](sid, "three"), proj)
    assert reply_text("claude", events(r.stdout)) == "FAKE-REPLY (user turns seen: 2) three"


def test_claude_compact_not_enough_messages(proj):
    sid = events(run(NEW_ARGV["claude"]("one"), proj).stdout)[0]["session_id"]
    r = run(RESUME_ARGV["claude"](sid, "/compact"), proj)
    evs = events(r.stdout)
    status = [e for e in evs if e.get("subtype") == "status"]
    assert [s["status"] for s in status] == ["compacting", None]
    assert status[1]["compact_result"] == "failed"
    assert status[1]["compact_error"] == "Not enough messages to compact."
    assert evs[-1]["type"] == "result" and evs[-1]["is_error"] is True
    assert r.returncode != 0
    # nothing was compacted and /compact did not count as a turn
    r = run(RESUME_ARGV["claude"](sid, "two"), proj)
    assert reply_text("claude", events(r.stdout)) == "FAKE-REPLY (user turns seen: 2) two"


@pytest.mark.parametrize(
    "tool,cmd", [("codex", "/compact"), ("gemini", "/compress"), ("opencode", "/compact")]
)
def test_slash_compact_is_an_ordinary_prompt_elsewhere(tool, cmd, proj):
    sid = provider_id(tool, events(run(NEW_ARGV[tool]("one"), proj).stdout))
    r = run(RESUME_ARGV[tool](sid, cmd), proj)
    assert reply_text(tool, events(r.stdout)) == f"FAKE-REPLY (user turns seen: 2) {cmd}"


@pytest.mark.parametrize("tool", TOOLS)
def test_fake_exit(tool, proj):
    r = run(NEW_ARGV[tool]("hi"), proj, FAKE_EXIT=7)
    assert r.returncode == 7
    evs = events(r.stdout)
    last = evs[-1]
    if tool == "claude":
        assert last["type"] == "result" and last["is_error"] is True
        assert last["subtype"] == "error_during_execution" and last["errors"]
    elif tool == "codex":
        assert last["type"] == "turn.failed"
    elif tool == "gemini":
        assert last["type"] == "result" and last["status"] == "error"
    else:
        assert last["type"] == "error"


@pytest.mark.parametrize("tool", ["claude", "codex"])
def test_fake_crash(tool, proj):
    r = run(NEW_ARGV[tool]("hi"), proj, FAKE_CRASH=1)
    assert r.returncode == 3
    lines = r.stdout.split("\n")
    json.loads(lines[0])  # the provider id got out
    assert lines[-1] and not lines[-1].endswith("}")  # partial line, no newline
    r = run(NEW_ARGV[tool]("hi"), proj, FAKE_CRASH="kill")
    assert r.returncode == -signal.SIGKILL


@pytest.mark.parametrize("tool", TOOLS)
def test_fake_secret_and_stderr(tool, proj):
    r = run(NEW_ARGV[tool]("hi"), proj, FAKE_SECRET="sk-test-XYZZY", FAKE_STDERR="oops-on-stderr")
    assert r.returncode == 0
    assert "sk-test-XYZZY" in r.stderr and "oops-on-stderr" in r.stderr
    plain = [line for line in r.stdout.splitlines() if not line.startswith("{")]
    assert len(plain) == 1 and "sk-test-XYZZY" in plain[0]
    evs = events("\n".join(line for line in r.stdout.splitlines() if line.startswith("{")))
    assert "sk-test-XYZZY" in reply_text(tool, evs)


def test_fake_sleep_after_first_line(proj):
    p = subprocess.Popen(
        NEW_ARGV["codex"]("hi"),
        cwd=proj,
        env=fake_env(FAKE_SLEEP=0.6),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
    )
    t0 = time.monotonic()
    first = json.loads(p.stdout.readline())
    t_first = time.monotonic() - t0
    rest = p.stdout.read()
    total = time.monotonic() - t0
    p.wait(timeout=10)
    assert first["type"] == "thread.started"
    assert t_first < 0.5 <= total
    assert "user turns seen: 1" in rest


def test_fake_huge_output_is_valid_and_fast(proj):
    t0 = time.monotonic()
    r = run(NEW_ARGV["gemini"]("hi"), proj, FAKE_HUGE_MB=4)
    assert time.monotonic() - t0 < 5
    assert len(r.stdout) >= 4 * 1024 * 1024
    evs = events(r.stdout)
    assert evs[0]["type"] == "init" and evs[-1]["type"] == "result"
    assert evs[-2]["content"].startswith("FAKE-REPLY (user turns seen: 1)")
    r = run(NEW_ARGV["claude"]("hi"), proj, FAKE_HUGE_MB=1)
    assert events(r.stdout)[-1]["result"].startswith("FAKE-REPLY")


def test_fake_log_and_print_env(proj, tmp_path):
    log = tmp_path / "fake.log"
    r = run(
        NEW_ARGV["opencode"]("hi"),
        proj,
        FAKE_LOG=log,
        FAKE_PRINT_ENV=1,
        CSA_SESSION_ID="csa-123",
        CSA_DEPTH="2",
    )
    evs = events(r.stdout)
    assert '"CSA_SESSION_ID":"csa-123"' in reply_text("opencode", evs)
    (entry,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert entry["tool"] == "opencode" and entry["argv"][:1] == ["run"]
    assert entry["cwd"] == str(proj) and entry["session_id"] == provider_id("opencode", evs)
    assert all(k.startswith("CSA_") for k in entry["env"])
    assert entry["env"]["CSA_DEPTH"] == "2" and entry["env"]["CSA_SESSION_ID"] == "csa-123"


def test_fake_nested_runs_csa(proj, tmp_path):
    fake_csa = tmp_path / "fake_csa.py"
    fake_csa.write_text(
        "import os, sys\nprint('csa got', sys.argv[1:], os.environ.get('FAKE_NESTED'))\n"
        "sys.exit(5)\n"
    )
    r = run(
        NEW_ARGV["claude"]("hi"),
        proj,
        FAKE_CSA=f"{sys.executable} {fake_csa}",
        FAKE_NESTED="--tool codex 'do it' ||| --tool gemini next",
    )
    text = reply_text("claude", events(r.stdout))
    assert "nested(exit=5): csa got ['run', '--tool', 'codex', 'do it'] --tool gemini next" in text


def test_fake_ignore_term(proj):
    p = subprocess.Popen(
        NEW_ARGV["claude"]("hi"),
        cwd=proj,
        env=fake_env(FAKE_IGNORE_TERM=1, FAKE_SLEEP=5),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
    )
    try:
        p.stdout.readline()
        p.terminate()
        with pytest.raises(subprocess.TimeoutExpired):
            p.wait(timeout=0.3)
    finally:
        p.kill()
        p.wait()


def test_fake_child_sleep_outlives_the_fake(proj):
    p = subprocess.Popen(
        NEW_ARGV["gemini"]("hi"),
        cwd=proj,
        env=fake_env(FAKE_CHILD_SLEEP=30),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert p.wait(timeout=10) == 0
        os.killpg(p.pid, 0)  # the grandchild is still alive in the fake's process group
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_prompt_from_stdin_and_store_location(proj, tmp_path):
    store = tmp_path / "store"
    r = subprocess.run(
        ["codex", "exec", "--json", "--skip-git-repo-check", "-"],
        cwd=proj,
        env=fake_env(FAKE_CLI_HOME=store),
        input="from stdin",
        capture_output=True,
        text=True,
        timeout=20,
    )
    evs = events(r.stdout)
    assert reply_text("codex", evs) == "FAKE-REPLY (user turns seen: 1) from stdin"
    tid = provider_id("codex", evs)
    assert json.loads((store / "codex" / f"{tid}.json").read_text())["turns"] == ["from stdin"]
    r = run(["claude", "-p", "--output-format", "text"], proj)  # no prompt, stdin is /dev/null
    assert r.returncode == 1 and "Input must be provided" in r.stderr


def test_claude_session_id_and_continue(proj):
    sid = "0b0c6c4e-1111-4222-8333-444455556666"
    r = run(["claude", "-p", "a", "--output-format", "json", "--session-id", sid], proj)
    assert json.loads(r.stdout)["session_id"] == sid
    r = run(["claude", "-p", "b", "--output-format", "json", "--session-id", sid], proj)
    assert r.returncode == 1 and "already in use" in r.stderr
    r = run(["claude", "-p", "c", "--output-format", "json", "-c"], proj)
    assert json.loads(r.stdout)["result"] == "FAKE-REPLY (user turns seen: 2) c"


def test_codex_exec_resume_has_no_cd_flag(proj):
    sid = provider_id("codex", events(run(NEW_ARGV["codex"]("one"), proj).stdout))
    r = run(["codex", "exec", "resume", "--json", "-C", str(proj), sid, "two"], proj)
    assert r.returncode == 2 and "'-C'" in r.stderr
    rollout = transcript_files("codex", os.environ["HOME"])[0]
    first = json.loads(rollout.read_text().splitlines()[0])
    assert first["type"] == "session_meta" and first["payload"]["id"] == sid
    assert rollout.name.endswith(f"-{sid}.jsonl")


def test_every_fake_switch_is_documented():
    code = "".join(p.read_text() for p in [*(FAKES / "fakes").glob("*.py"), *FAKE_BIN.iterdir()])
    switches = set(re.findall(r"\bFAKE_[A-Z][A-Z_]*", code))
    readme = (FAKES / "README.md").read_text()
    assert switches and not {s for s in switches if f"`{s}" not in readme}
