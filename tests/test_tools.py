"""csa.tools: one module per AI tool (argv, events, ids, failures, rendering), one alias
table, and the registry. Failure texts are the real CLIs' own (tools/REALCLI_NOTES.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from csa.errors import UsageError
from csa.tools import ALIASES, BUILTIN, canonical, get_tool, render_event
from csa.tools.base import InvalidProviderId, TurnOutcome, TurnSpec
from csa.trust import trust_file
from helpers import invoke

IDS = {"claude-code": "6e18d744-aa3e-4066-8a51-26240fe01126",
       "codex": "01a1fe78-4275-76b2-bbae-06fb72ac8249",
       "gemini-cli": "58efe7ad-9377-4131-9a73-09b4a489a6c3",
       "opencode": "ses_e018a0873ffeCGB46t9fJYGY2F"}


# -- names and aliases ----------------------------------------------------------------

def test_aliases_resolve_to_one_name_everywhere():
    assert ALIASES == {"claude": "claude-code", "gemini": "gemini-cli"}
    for alias, name in ALIASES.items():
        assert get_tool(alias).name == name == canonical(alias.upper())
    assert [get_tool(n).name for n in BUILTIN] == list(BUILTIN)


def test_an_unknown_tool_is_one_clear_error():
    with pytest.raises(UsageError, match="unknown tool 'nope': choose from claude-code, codex"):
        get_tool("nope")


def test_cli_accepts_aliases_for_list_and_config(isolated_env, project):
    from csa.config import load_config
    from csa.store import Store
    from helpers import make_session

    store = Store.open()
    a = make_session(store, "a", tools={"claude-code": IDS["claude-code"]})
    make_session(store, "b", tools={"codex": IDS["codex"]})
    res = invoke("session", "list", "--tool", "claude", "--json")
    assert [r["id"] for r in json.loads(res.stdout)] == [a.meta_session_id]

    cfg_dir = project / ".csa"
    cfg_dir.mkdir()
    (cfg_dir / "config.toml").write_text('[tools.claude]\nmodel = "opus"\nbinary = "/x/c"\n'
                                         '[tools.claude-code]\nbinary = "/y/claude"\n')
    trust_file(cfg_dir / "config.toml")  # a project's binary counts once trusted (issue 14)
    tcfg = load_config(project).tool("claude")
    assert (tcfg.name, tcfg.model, tcfg.binary) == ("claude-code", "opus", "/y/claude")


# -- argv and provider ids ------------------------------------------------------------

@pytest.mark.parametrize("name", list(BUILTIN))
def test_resume_puts_only_a_valid_id_on_argv(name):
    tool = get_tool(name)
    good = TurnSpec(binary=tool.binary, prompt="hi", provider_session_id=IDS[name])
    assert IDS[name] in tool.argv(good)
    for bad in ("--last", "-c", "latest", "x y", IDS[name] + "\n", ""):
        assert not tool.valid_id(bad)
        with pytest.raises(InvalidProviderId, match="not a valid"):
            tool.argv(TurnSpec(binary=tool.binary, prompt="hi", provider_session_id=bad))


def test_native_compaction_also_refuses_a_bad_id():
    tool = get_tool("claude-code")
    with pytest.raises(InvalidProviderId):
        tool.compact_argv(TurnSpec(binary="claude", prompt="", provider_session_id="--help"))


def test_a_provider_id_in_the_wrong_format_is_not_taken_from_output():
    turn = TurnOutcome()
    get_tool("codex").observe({"type": "thread.started", "thread_id": "--last"}, turn)
    assert turn.provider_session_id is None and "ignored a provider id" in turn.errors[0]
    get_tool("opencode").observe({"type": "text", "sessionID": IDS["opencode"],
                                  "part": {"text": "hi"}}, turn)
    assert turn.provider_session_id == IDS["opencode"]


# -- failure classification (the real CLIs' messages) ---------------------------------

def claude_result(text: str) -> list[dict]:
    return [{"type": "system", "subtype": "init", "session_id": IDS["claude-code"]},
            {"type": "result", "subtype": "success", "is_error": True, "result": text,
             "session_id": IDS["claude-code"]}]


def codex_failure(text: str) -> list[dict]:
    return [{"type": "thread.started", "thread_id": IDS["codex"]}, {"type": "turn.started"},
            {"type": "error", "message": text},
            {"type": "turn.failed", "error": {"message": text}}]


def gemini_result(text: str) -> list[dict]:
    return [{"type": "init", "session_id": IDS["gemini-cli"], "model": "gemini-2.5-pro"},
            {"type": "result", "status": "error",
             "error": {"type": "FatalError", "message": text}}]


def opencode_error(name: str, text: str, status: int | None = None) -> list[dict]:
    data: dict = {"message": text}
    if status is not None:
        data["statusCode"] = status
    return [{"type": "error", "sessionID": IDS["opencode"],
             "error": {"name": name, "data": data}}]


CASES = [
    ("claude-code", claude_result('API Error: 429 {"type":"error","error":{"type":'
                                  '"rate_limit_error","message":"This request would exceed '
                                  'your account\'s rate limit. Please try again later."}}'),
     "rate_limit"),
    ("claude-code", claude_result("API Error: Request rejected (429) · Rate limited. "
                                  "Please try again later."), "rate_limit"),
    ("claude-code", claude_result('API Error: 529 {"type":"error","error":{"type":'
                                  '"overloaded_error","message":"Overloaded"}}'), "overloaded"),
    ("claude-code", claude_result("API Error: 529 Overloaded. This is a server-side issue, "
                                  "usually temporary — try again in a moment."), "overloaded"),
    ("claude-code", claude_result("Claude AI usage limit reached|1760000400"), "quota"),
    ("claude-code", claude_result("You've hit your limit · resets 1:30am (Asia/Dhaka)"),
     "quota"),
    ("claude-code", claude_result("Invalid API key · Please run /login"), "auth"),
    ("claude-code", claude_result("file not found"), "other"),
    ("codex", codex_failure("exceeded retry limit, last status: 429 Too Many Requests, "
                            "request id: 9c84b52ce87fbe62-SJC"), "rate_limit"),
    ("codex", codex_failure("You've hit your usage limit. Upgrade to Pro or try again in "
                            "4 days 2 hours."), "quota"),
    ("codex", codex_failure("Quota exceeded. Check your plan and billing details."), "quota"),
    ("codex", codex_failure("unexpected status 401 Unauthorized: Incorrect API key provided"),
     "auth"),
    ("codex", codex_failure("stream error: server_is_overloaded"), "overloaded"),
    ("gemini-cli", gemini_result('[API Error: {"error":{"message":"{\\n  \\"error\\": {\\n    '
                                 '\\"code\\": 429,\\n    \\"message\\": \\"Resource has been '
                                 'exhausted (e.g. check quota).\\",\\n    \\"status\\": '
                                 '\\"RESOURCE_EXHAUSTED\\"\\n  }\\n}\\n","code":429,'
                                 '"status":"Too Many Requests"}}]'), "rate_limit"),
    ("gemini-cli", gemini_result("You have exhausted your capacity on this model. Your quota "
                                 "will reset after 2h52m39s."), "quota"),
    ("gemini-cli", gemini_result('{"code":429,"message":"No capacity available for model '
                                 'gemini-3-flash-preview on the server","status":'
                                 '"RESOURCE_EXHAUSTED","details":[{"reason":'
                                 '"MODEL_CAPACITY_EXHAUSTED"}]}'), "overloaded"),
    ("gemini-cli", gemini_result("API key not valid. Please pass a valid API key."), "auth"),
    ("opencode", opencode_error("APIError", "Rate limit reached for gpt-5 in organization "
                                "org-x on tokens per min (TPM)", 429), "rate_limit"),
    ("opencode", opencode_error("APIError", "You exceeded your current quota, please check "
                                "your plan and billing details.", 429), "quota"),
    ("opencode", opencode_error("APIError", "Overloaded", 529), "overloaded"),
    ("opencode", opencode_error("ProviderAuthError", "invalid x-api-key"), "auth"),
    ("opencode", opencode_error("UnknownError", "FAKE_EXIT=3: simulated failure"), "other"),
]


@pytest.mark.parametrize(("name", "events", "kind"), CASES)
def test_failures_are_classified_from_the_real_messages(name, events, kind):
    assert get_tool(name).classify(events, "", 1) == kind


CAPTURED = sorted((Path(__file__).parent / "fixtures" / "failures").glob("*.json"))


@pytest.mark.parametrize("path", CAPTURED, ids=[p.stem for p in CAPTURED])
def test_failures_captured_from_the_real_clis_are_classified(path):
    """stdout events, stderr and exit code of the real CLI against a local server that
    answered every model request with one error (see tools/REALCLI_NOTES.md)."""
    cap = json.loads(path.read_text())
    tool = get_tool(cap["tool"])
    assert tool.classify(cap["events"], cap["stderr"], cap["exit_code"]) == cap["expected"]
    # A turn stopped while the CLI was still retrying is classified from what it saw so far.
    retries = [e for e in cap["events"] if e.get("subtype") == "api_retry"]
    if retries:
        assert tool.classify(retries, "", None) == cap["expected"]


@pytest.mark.parametrize("path", CAPTURED, ids=[p.stem for p in CAPTURED])
def test_retries_seen_in_the_real_clis_output_have_the_failure_kind(path):
    """What a real CLI printed while it retried (claude api_retry events, gemini's
    "Attempt N failed" and opencode's --print-logs lines) is what the failover watch
    (csa.failover.RetryWatch) counts: each has the capture's failure kind."""
    cap = json.loads(path.read_text())
    tool = get_tool(cap["tool"])
    kinds = [tool.retry_kind(event=e) for e in cap["events"]]
    kinds += [tool.retry_kind(line=ln) for ln in cap["stderr"].splitlines()]
    seen = {k for k in kinds if k}
    if cap["expected"] in ("rate_limit", "overloaded") and cap["exit_code"] is None:
        assert seen == {cap["expected"]}  # stopped while retrying: the watch saw it
    assert seen <= {cap["expected"]}


def test_captures_cover_three_real_clis():
    assert {json.loads(p.read_text())["tool"] for p in CAPTURED} >= \
        {"claude-code", "codex", "gemini-cli"}


def test_stderr_and_exit_codes_classify_too():
    assert get_tool("codex").classify([], "ERROR: exceeded retry limit, last status: 429 Too "
                                          "Many Requests", 1) == "rate_limit"
    assert get_tool("gemini-cli").classify([], "Invalid auth method selected.", 41) == "auth"
    assert get_tool("gemini-cli").classify([], "", 41) == "auth"
    assert get_tool("codex").classify([{"type": "item.completed", "item": {
        "type": "agent_message", "text": "the 429 handler is fixed"}}], "", 0) == "other"


# -- rendering for people -------------------------------------------------------------

def test_each_tool_renders_its_own_events():
    assert render_event({"type": "assistant", "message": {"content": [
        {"type": "text", "text": "hi"}, {"type": "tool_use"}]}}) == "hi <tool_use>"
    assert render_event({"type": "item.completed", "item": {"type": "agent_message",
                                                              "text": "ok"}}) == "agent_message: ok"
    assert render_event({"type": "message", "role": "assistant", "content": "yo"}) == \
        "assistant: yo"
    assert render_event({"type": "text", "part": {"text": "t"}}) == "t"
    assert render_event({"type": "text", "part": {"text": "t"}}, tool="opencode") == "t"
    assert render_event({"type": "turn.started"}) == ""


def test_run_takes_an_alias_and_records_the_tool_name(tmp_path, project):
    from runkit import csa, fake_env

    env = fake_env(tmp_path)
    res = csa("run", "--tool", "gemini", "--json", "hi", env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["tool"] == "gemini-cli"
    again = csa("run", "--tool", "GEMINI", "-s", data["session_id"], "--json", "more",
                env=env, cwd=project)
    assert json.loads(again.stdout)["provider_session_id"] == data["provider_session_id"]
