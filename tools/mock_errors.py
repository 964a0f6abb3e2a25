"""Scripted API failures for the mock LLM: 429 / 529 / quota / auth in each provider's format.

A script rule with an ``error`` key (see tools/mock_script.py) makes the mock answer a model
request with that failure instead of a reply::

    [{"error": "rate_limit", "apis": ["gemini"]}]            # every gemini request: a 429
    [{"error": "quota", "when": "expensive"}]                # only prompts containing it

Kinds: ``rate_limit``, ``quota``, ``overloaded``, ``auth``. The bodies are the providers'
own shapes (Anthropic Messages, OpenAI Responses and Chat Completions — the same error
object —, Gemini): what the real CLIs see from the real services, so the messages the CLIs
print are the real ones (tools/REALCLI_NOTES.md, "Failure messages").

Example: ``status, body = error_reply("anthropic", "overloaded")  # 529, {"type": "error", ...}``
"""

from __future__ import annotations

from typing import Any

KINDS = ("rate_limit", "quota", "overloaded", "auth")

_ANTHROPIC = {
    "rate_limit": (429, "rate_limit_error", "This request would exceed your account's rate "
                   "limit. Please try again later."),
    "quota": (400, "invalid_request_error", "Your credit balance is too low to access the "
              "Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."),
    "overloaded": (529, "overloaded_error", "Overloaded"),
    "auth": (401, "authentication_error", "invalid x-api-key"),
}
_OPENAI = {
    "rate_limit": (429, "tokens", "rate_limit_exceeded", "Rate limit reached for gpt-5.5 in "
                   "organization org-x on tokens per min (TPM): Limit 30000, Used 29000, "
                   "Requested 2000. Please try again in 2s."),
    "quota": (429, "insufficient_quota", "insufficient_quota", "You exceeded your current "
              "quota, please check your plan and billing details."),
    "overloaded": (503, "server_error", "server_is_overloaded", "The server is overloaded or "
                   "not ready yet."),
    "auth": (401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided: "
             "dummy."),
}
_GEMINI = {
    "rate_limit": (429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).",
                   None),
    "quota": (429, "RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your "
              "plan and billing details.", {
                  "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                  "violations": [{"quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]}),
    "overloaded": (503, "UNAVAILABLE", "The model is overloaded. Please try again later.", None),
    "auth": (400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}),
}


def error_reply(api: str, kind: str) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body) of a `kind` failure as provider `api` sends it."""
    if kind not in KINDS:
        raise ValueError(f"unknown error kind {kind!r}; use one of {', '.join(KINDS)}")
    if api == "anthropic":
        status, etype, message = _ANTHROPIC[kind]
        return status, {"type": "error", "error": {"type": etype, "message": message}}
    if api in ("responses", "chat"):
        status, etype, code, message = _OPENAI[kind]
        return status, {"error": {"message": message, "type": etype, "param": None,
                                  "code": code}}
    if api == "gemini":
        status, gstatus, message, detail = _GEMINI[kind]
        err: dict[str, Any] = {"code": status, "message": message, "status": gstatus}
        if detail:
            err["details"] = [detail]
        return status, {"error": err}
    raise ValueError(f"unknown api {api!r}")
