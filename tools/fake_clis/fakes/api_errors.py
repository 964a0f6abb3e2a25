"""FAKE_API_ERROR: the model API fails, and the fake prints what the real CLI prints then.

    FAKE_API_ERROR=rate_limit codex exec --json hi          # every fake: a 429
    FAKE_API_ERROR=claude:quota,gemini:overloaded ...       # per tool (others answer)
    FAKE_API_RETRIES=3                                      # failed attempts shown first

Kinds: rate_limit, quota, overloaded, auth. The lines are the ones captured from the real
CLIs against a failing server (tests/fixtures/failures/, tools/REALCLI_NOTES.md "Failure
messages"): claude `api_retry` lines, then a synthetic assistant line and an error
`result` (exit 1); codex `Reconnecting...` errors, then `error` + `turn.failed` (exit 1);
gemini retries a 429/503 on stderr (`Attempt N failed with status 429. Retrying with
backoff...`) and fails a quota at once with an error `result`; opencode retries silently
(its `--print-logs` ERROR lines name each failed attempt) and ends with an `error` line.
The retrying CLIs (gemini, opencode) print FAKE_API_RETRIES attempts (default 40), one
every 0.15 s, before giving up: a caller that stops them earlier sees what the real
ones print while they wait.
"""

import os
import time

from .ids import iso, now_ms, uuid4
from .jsonio import dumps, err_text, out_line

KINDS = ("rate_limit", "quota", "overloaded", "auth")
STATUS = {"rate_limit": 429, "quota": 429, "overloaded": 529, "auth": 401}

CLAUDE = {
    "rate_limit": ("rate_limit", "API Error: Request rejected (429) · This request would exceed "
                   "your account's rate limit. Please try again later."),
    "quota": ("rate_limit", "Claude AI usage limit reached|1760000400"),
    "overloaded": ("overloaded", "API Error: 529 Overloaded. This is a server-side issue, "
                   "usually temporary — try again in a moment."),
    "auth": ("authentication_failed", "Invalid API key · Fix external API key"),
}
CODEX = {
    "rate_limit": "exceeded retry limit, last status: 429 Too Many Requests",
    "quota": "Quota exceeded. Check your plan and billing details.",
    "overloaded": "Selected model is at capacity. Please try a different model.",
    "auth": "unexpected status 401 Unauthorized: Incorrect API key provided: dummy., "
            "url: http://127.0.0.1:PORT/v1/responses",
}
GEMINI_BODY = {
    "rate_limit": (429, "Resource has been exhausted (e.g. check quota).", "RESOURCE_EXHAUSTED"),
    "overloaded": (503, "The model is overloaded. Please try again later.", "UNAVAILABLE"),
}
GEMINI_FINAL = {
    "rate_limit": "[API Error: Resource has been exhausted (e.g. check quota).]",
    "quota": "[API Error: You have exhausted your daily quota on this model.]\nPlease wait and "
             "try again later. To increase your limits, request a quota increase through AI "
             "Studio, or switch to another /auth method",
    "overloaded": "[API Error: The model is overloaded. Please try again later.]",
    "auth": '[API Error: {"error":{"code":400,"message":"API key not valid. Please pass a valid '
            'API key.","status":"INVALID_ARGUMENT"}}]',
}
OPENCODE = {
    "rate_limit": "Rate limit reached for gpt-5.5 in organization org-x on tokens per min "
                  "(TPM): Limit 30000, Used 29000, Requested 2000. Please try again in 2s.",
    "quota": "You exceeded your current quota, please check your plan and billing details.",
    "overloaded": "The server is overloaded or not ready yet.",
    "auth": "Incorrect API key provided: dummy.",
}


def wanted(tool):
    """The kind FAKE_API_ERROR asks of `tool` ("claude", "codex", ...), or None."""
    for item in os.environ.get("FAKE_API_ERROR", "").split(","):
        scope, _, kind = item.strip().rpartition(":")
        if kind in KINDS and scope in ("", tool):
            return kind
    return None


def retries(default):
    try:
        return max(0, int(os.environ.get("FAKE_API_RETRIES", "")))
    except ValueError:
        return default


def fail(run, kind):
    """Print the tool's failure for `kind` (after its first line); returns the exit status."""
    return {"claude": _claude, "codex": _codex, "gemini": _gemini,
            "opencode": _opencode}[run.tool](run, kind)


def _claude(run, kind):
    error, text = CLAUDE[kind]
    sid = run.rec["id"]
    if run.stream:
        for n in range(1, retries(1) + 1):
            out_line({"type": "system", "subtype": "api_retry", "attempt": n,
                      "max_retries": retries(1), "retry_delay_ms": 500,
                      "error_status": STATUS[kind], "error": error, "session_id": sid,
                      "uuid": uuid4()})
        out_line({"type": "assistant", "message": {
            "id": uuid4(), "model": "<synthetic>", "role": "assistant", "type": "message",
            "stop_reason": "stop_sequence", "content": [{"type": "text", "text": text}]},
            "parent_tool_use_id": None, "session_id": sid, "uuid": uuid4(), "error": error})
    out_line({"type": "result", "subtype": "success", "is_error": True,
              "duration_ms": now_ms() - run.t0, "num_turns": 1, "result": text,
              "stop_reason": "stop_sequence", "session_id": sid, "total_cost_usd": 0,
              "terminal_reason": "api_error", "api_error_status": STATUS[kind]})
    return 1


def _codex(run, kind):
    text = CODEX[kind]
    if kind in ("rate_limit", "overloaded"):
        for n in range(1, retries(1) + 1):
            out_line({"type": "error", "message": f"Reconnecting... {n}/{retries(1)} "
                      f"(unexpected status {STATUS[kind]})"})
    out_line({"type": "error", "message": text})
    out_line({"type": "turn.failed", "error": {"message": text}})
    return 1


def _gemini(run, kind):
    if kind in GEMINI_BODY:
        code, message, status = GEMINI_BODY[kind]
        body = dumps({"error": {"code": code, "message": message, "status": status}})
        for n in range(1, retries(40) + 1):
            err_text(f"Attempt {n} failed with status {code}. Retrying with backoff... "
                     f"_ApiError: {body}\n  status: {code}\n}}")
            time.sleep(0.15)
    if run.stream:
        out_line({"type": "result", "timestamp": iso(now_ms()), "status": "error",
                  "error": {"type": "unknown", "message": GEMINI_FINAL[kind]},
                  "stats": {"total_tokens": 0, "input_tokens": 0, "output_tokens": 0}})
    else:
        err_text(GEMINI_FINAL[kind])
    return 1


def _opencode(run, kind):
    text = OPENCODE[kind]
    logs = "--print-logs" in run.argv
    for _ in range(retries(40)):
        if logs:
            err_text(f"timestamp={iso(now_ms())} level=ERROR run=fake message=\"stream error\" "
                     f"providerID=mock modelID=mock-model session.id={run.rec['id']} "
                     f"error.error=\"AI_APICallError: {text}\"")
        time.sleep(0.15)
    out_line({"type": "error", "timestamp": now_ms(), "sessionID": run.rec["id"],
              "error": {"name": "APIError", "data": {"message": text,
                                                     "statusCode": STATUS[kind],
                                                     "isRetryable": kind != "auth"}}})
    return 1
