#!/usr/bin/env python3
"""Capture what the real AI CLIs print when their model API fails (429, 529/503, quota, auth).

The mock LLM (tools/mock_llm.py, scripted with an error rule, tools/mock_errors.py) answers
every model request with one error in the provider's format; the real CLI (tools/install-real-clis) runs one prompt against it with the offline
settings of tools/realcli_env.py; its stdout events, stderr and exit code are written as
tests/fixtures/failures/<tool>-<case>.json, which tests/test_tools.py classifies.

    tools/realcli_failures.py                     # every case (about 5 minutes)
    tools/realcli_failures.py codex openai-429    # one case

claude is run with CLAUDE_CODE_MAX_RETRIES=1 and codex with request/stream_max_retries = 1,
so they give up quickly; gemini and opencode keep retrying and are stopped after a timeout.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))
from mock_errors import error_reply  # noqa: E402
from mock_llm import MockLLM  # noqa: E402
from realcli_env import minimal_env, prepare, real_clis_bin  # noqa: E402

OUT = REPO / "tests" / "fixtures" / "failures"

# case -> (provider api, mock_errors kind, expected classification)
CASES = {
    "anthropic-429": ("anthropic", "rate_limit", "rate_limit"),
    "anthropic-529": ("anthropic", "overloaded", "overloaded"),
    "anthropic-401": ("anthropic", "auth", "auth"),
    "openai-429": ("responses", "rate_limit", "rate_limit"),
    "openai-quota": ("responses", "quota", "quota"),
    "openai-503": ("responses", "overloaded", "overloaded"),
    "openai-401": ("responses", "auth", "auth"),
    "gemini-429": ("gemini", "rate_limit", "rate_limit"),
    "gemini-quota": ("gemini", "quota", "quota"),
    "gemini-503": ("gemini", "overloaded", "overloaded"),
    "gemini-400key": ("gemini", "auth", "auth"),
}
RUNS = {"claude": ["anthropic-429", "anthropic-529", "anthropic-401"],
        "codex": ["openai-429", "openai-quota", "openai-503", "openai-401"],
        "gemini": ["gemini-429", "gemini-quota", "gemini-503", "gemini-400key"],
        "opencode": ["openai-429", "openai-quota"]}
ARGV = {"claude": ["claude", "-p", "hi", "--output-format", "stream-json", "--verbose",
                   "--dangerously-skip-permissions"],
        "codex": ["codex", "exec", "--json", "--skip-git-repo-check",
                  "--dangerously-bypass-approvals-and-sandbox", "hi"],
        "gemini": ["gemini", "-p", "hi", "-o", "stream-json", "--yolo"],
        "opencode": ["opencode", "run", "--format", "json", "--auto", "--print-logs",
                     "--log-level", "ERROR", "hi"]}  # as csa runs it: retries on stderr
TOOL = {"claude": "claude-code", "codex": "codex", "gemini": "gemini-cli",
        "opencode": "opencode"}


def capture(cli: str, case: str, workdir: Path, timeout: float = 90) -> dict:
    api, kind, expected = CASES[case]
    status, body = error_reply("chat" if cli == "opencode" else api, kind)
    mock = MockLLM(script=[{"error": kind}]).start()
    home, proj = workdir / "home", workdir / "proj"
    proj.mkdir(parents=True, exist_ok=True)
    env_over, extra, _ = prepare(cli, mock.base_url, home)
    if cli == "codex":  # give up after one retry instead of five
        cfg = home / ".codex" / "config.toml"
        cfg.write_text(cfg.read_text().replace(
            'wire_api = "responses"',
            'wire_api = "responses"\nrequest_max_retries = 1\nstream_max_retries = 1'))
    env = {**minimal_env(real_clis_bin()), **env_over, "CLAUDE_CODE_MAX_RETRIES": "1"}
    try:
        p = subprocess.run(ARGV[cli] + extra, env=env, cwd=proj, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=timeout)
        code, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        code = None
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else e.stdout or ""
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else e.stderr or ""
    finally:
        mock.stop()

    def clean(text: str) -> str:
        text = text.replace(str(real_clis_bin().parent.parent), "<real-clis>")
        return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text.replace(str(home), "<home>"))

    events = []
    for line in clean(out).splitlines():
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if ev.get("subtype") == "init":  # claude's init line is 10 KB of capabilities
            ev = {k: ev[k] for k in ("type", "subtype", "session_id", "model") if k in ev}
        events.append(ev)
    stderr = "\n".join(ln for ln in clean(err).splitlines() if not ln.startswith("    at "))
    return {"cli": cli, "tool": TOOL[cli], "server_reply": {"status": status, "body": body},
            "exit_code": code,
            "note": None if code is not None else f"stopped after {timeout:g} s: still retrying",
            "events": events, "stderr": stderr[-3000:], "expected": expected}


def main(argv: list[str]) -> int:
    import tempfile

    wanted = [(argv[0], argv[1])] if len(argv) == 2 else \
        [(cli, case) for cli, cases in RUNS.items() for case in cases]
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for cli, case in wanted:
            rec = capture(cli, case, Path(tmp) / f"{cli}-{case}")
            print(f"{cli} {case}: exit {rec['exit_code']}, {len(rec['events'])} events")
            if rec["events"] or rec["stderr"].strip():
                name = f"{TOOL[cli]}-{case.split('-', 1)[1]}.json"
                (OUT / name).write_text(json.dumps(rec, indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
