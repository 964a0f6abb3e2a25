#!/usr/bin/env python3
"""Capture what the real AI CLIs print when their model API fails (429, 529/503, quota, auth).

A local server on 127.0.0.1 answers every model request with one error in the provider's
format; the real CLI (tools/install-real-clis) runs one prompt against it with the offline
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
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))
from realcli_env import minimal_env, prepare, real_clis_bin  # noqa: E402

OUT = REPO / "tests" / "fixtures" / "failures"

# case -> (HTTP status, body, expected classification); bodies are the providers' own shapes.
CASES = {
    "anthropic-429": (429, {"type": "error", "error": {"type": "rate_limit_error", "message":
                      "This request would exceed your account's rate limit. Please try again "
                      "later."}}, "rate_limit"),
    "anthropic-529": (529, {"type": "error", "error": {"type": "overloaded_error",
                                                        "message": "Overloaded"}}, "overloaded"),
    "anthropic-401": (401, {"type": "error", "error": {"type": "authentication_error",
                                                        "message": "invalid x-api-key"}}, "auth"),
    "openai-429": (429, {"error": {"message": "Rate limit reached for gpt-5.5 in organization "
                         "org-x on tokens per min (TPM): Limit 30000, Used 29000, Requested "
                         "2000. Please try again in 2s.", "type": "tokens", "param": None,
                                   "code": "rate_limit_exceeded"}}, "rate_limit"),
    "openai-quota": (429, {"error": {"message": "You exceeded your current quota, please check "
                           "your plan and billing details.", "type": "insufficient_quota",
                                     "param": None, "code": "insufficient_quota"}}, "quota"),
    "openai-503": (503, {"error": {"message": "The server is overloaded or not ready yet.",
                                   "type": "server_error", "code": "server_is_overloaded"}},
                   "overloaded"),
    "openai-401": (401, {"error": {"message": "Incorrect API key provided: dummy.",
                                   "type": "invalid_request_error", "code": "invalid_api_key"}},
                   "auth"),
    "gemini-429": (429, {"error": {"code": 429, "message": "Resource has been exhausted (e.g. "
                         "check quota).", "status": "RESOURCE_EXHAUSTED"}}, "rate_limit"),
    "gemini-quota": (429, {"error": {"code": 429, "message": "You exceeded your current quota, "
                           "please check your plan and billing details.",
                           "status": "RESOURCE_EXHAUSTED", "details": [{
                               "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                               "violations": [{"quotaId": "GenerateRequestsPerDayPerProject"
                                                          "PerModel-FreeTier"}]}]}}, "quota"),
    "gemini-503": (503, {"error": {"code": 503, "message": "The model is overloaded. Please try "
                         "again later.", "status": "UNAVAILABLE"}}, "overloaded"),
    "gemini-400key": (400, {"error": {"code": 400, "message": "API key not valid. Please pass a "
                            "valid API key.", "status": "INVALID_ARGUMENT", "details": [{
                                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                "reason": "API_KEY_INVALID"}]}}, "auth"),
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
        "opencode": ["opencode", "run", "--format", "json", "--auto", "hi"]}
TOOL = {"claude": "claude-code", "codex": "codex", "gemini": "gemini-cli",
        "opencode": "opencode"}


def error_server(status: int, body: dict) -> ThreadingHTTPServer:
    data = json.dumps(body).encode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def reply(self, code: int, payload: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_HEAD(self):  # claude's connectivity probe
            self.reply(200, b"")

        def do_GET(self):  # opencode's plugin lookup
            self.reply(404, b"{}")

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.reply(status, data)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def capture(cli: str, case: str, workdir: Path, timeout: float = 90) -> dict:
    status, body, expected = CASES[case]
    srv = error_server(status, body)
    home, proj = workdir / "home", workdir / "proj"
    proj.mkdir(parents=True, exist_ok=True)
    env_over, extra, _ = prepare(cli, f"http://127.0.0.1:{srv.server_address[1]}", home)
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
        srv.shutdown()

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
