"""Scripted shell tool calls of tools/mock_llm.py (tools/mock_script.py), over real HTTP, no CLIs.

Each API gets the request a real CLI sends (the tools it offers, the shapes of its tool
call and tool result entries, as recorded from claude 2.1.330, codex 0.169, gemini 0.61
and opencode 1.18) and must answer with a call of that CLI's shell tool, then with the
scripted final text once the result comes back.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

import pytest
from test_mock_llm import TOOLS, post, sse_events

sys.path.insert(0, str(TOOLS))

from mock_llm import MockLLM  # noqa: E402
from mock_script import decide, load_rules, pending_result  # noqa: E402

RULE = {"when": "spawn a child", "shell": 'echo "$CSA_BIN"', "then": "done: {output}"}
PATHS = {"anthropic": "/v1/messages?beta=true", "responses": "/v1/responses",
         "chat": "/v1/chat/completions",
         "gemini": "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"}
SHELL = {"anthropic": "Bash", "responses": "exec_command", "chat": "bash",
         "gemini": "run_shell_command"}
APIS = list(PATHS)


def first_body(api: str, prompt: str, tools: bool = True) -> dict:
    """A first request as the CLI of `api` sends it, offering its shell tool (and another)."""
    names = [SHELL[api], "read_file"] if tools else []
    if api == "anthropic":
        return {"model": "claude-x", "stream": True,
                "tools": [{"name": n, "input_schema": {}} for n in names],
                "messages": [{"role": "user", "content": [
                    {"type": "text", "text": "<system-reminder>ctx</system-reminder>"},
                    {"type": "text", "text": prompt}]},
                    {"role": "system", "content": "claude puts a system entry last"}]}
    if api == "responses":
        return {"model": "gpt-5.5", "stream": True,
                "tools": [{"type": "function", "name": n, "parameters": {}} for n in names],
                "input": [{"type": "message", "role": "developer", "content": []},
                          {"type": "message", "role": "user",
                           "content": [{"type": "input_text", "text": prompt}]}]}
    if api == "chat":
        return {"model": "mock-model", "stream": True,
                "tools": [{"type": "function", "function": {"name": n}} for n in names],
                "messages": [{"role": "system", "content": "sys"},
                             {"role": "user", "content": prompt}]}
    return {"contents": [{"role": "user", "parts": [{"text": prompt}]}],
            "tools": [{"functionDeclarations": [{"name": n} for n in names]}]}


def the_call(api: str, raw: bytes) -> tuple[str, str, dict]:
    """(call id, tool name, arguments) from a streamed reply that calls one tool."""
    datas = [json.loads(d) for _, d in sse_events(raw) if d != "[DONE]"]
    if api == "anthropic":
        block = datas[1]["content_block"]
        assert block["type"] == "tool_use" and block["input"] == {}
        assert datas[2]["delta"]["type"] == "input_json_delta"
        assert datas[4]["delta"]["stop_reason"] == "tool_use"
        return block["id"], block["name"], json.loads(datas[2]["delta"]["partial_json"])
    if api == "responses":
        item = datas[1]["item"]
        assert datas[1]["type"] == "response.output_item.done" and item["type"] == "function_call"
        assert datas[2]["response"]["output"] == [item]
        return item["call_id"], item["name"], json.loads(item["arguments"])
    if api == "chat":
        call = datas[0]["choices"][0]["delta"]["tool_calls"][0]
        assert call["index"] == 0 and call["type"] == "function"
        assert datas[-1]["choices"][0]["finish_reason"] == "tool_calls"
        return call["id"], call["function"]["name"], json.loads(call["function"]["arguments"])
    fc = datas[0]["candidates"][0]["content"]["parts"][0]["functionCall"]
    return fc["id"], fc["name"], fc["args"]


def the_text(api: str, raw: bytes) -> str:
    datas = [json.loads(d) for _, d in sse_events(raw) if d != "[DONE]"]
    if api == "anthropic":
        return datas[2]["delta"]["text"]
    if api == "responses":
        return datas[1]["item"]["content"][0]["text"]
    if api == "chat":
        return datas[0]["choices"][0]["delta"]["content"]
    return datas[0]["candidates"][0]["content"]["parts"][0]["text"]


def followup_body(api: str, body: dict, call: tuple[str, str, dict], output: str) -> dict:
    """`body` plus the model's call and the tool's result, as the CLI sends it next."""
    call_id, name, args = call
    body = json.loads(json.dumps(body))
    if api == "anthropic":
        body["messages"][-1:-1] = [
            {"role": "assistant", "content": [{"type": "tool_use", "id": call_id, "name": name,
                                               "input": args}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": call_id,
                 "content": [{"type": "text", "text": output}]},
                {"type": "text", "text": "<system-reminder>after the tool</system-reminder>"}]}]
    elif api == "responses":
        body["input"] += [
            {"type": "reasoning", "summary": []},
            {"type": "function_call", "call_id": call_id, "name": name,
             "arguments": json.dumps(args)},
            {"type": "function_call_output", "call_id": call_id, "output": output}]
    elif api == "chat":
        body["messages"] += [
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": call_id, "type": "function",
                 "function": {"name": name, "arguments": json.dumps(args)}}]},
            {"role": "tool", "tool_call_id": call_id, "content": output}]
    else:
        # gemini-cli may give the call its own id; the tool name is what links them.
        body["contents"] += [
            {"role": "model", "parts": [{"functionCall": {"name": name, "args": args}}]},
            {"role": "user", "parts": [{"functionResponse": {
                "id": "run_shell_command-1", "name": name, "response": {"output": output}}}]}]
    return body


@pytest.mark.parametrize("api", APIS)
def test_call_then_final_text_in_each_api(api):
    with MockLLM(script=[RULE]) as mock:
        body = first_body(api, "please spawn a child now")
        status, _h, raw = post(mock, PATHS[api], body)
        assert status == 200
        call = the_call(api, raw)
        command_arg = "cmd" if api == "responses" else "command"
        assert call[1] == SHELL[api] and call[2][command_arg] == 'echo "$CSA_BIN"'
        rec = mock.requests[-1]
        assert rec["tool_call"]["name"] == SHELL[api] and rec["reply"] is None

        status, _h, raw = post(mock, PATHS[api], followup_body(api, body, call, "/x/csa\n"))
        assert status == 200
        assert the_text(api, raw) == "done: /x/csa\n"
        assert mock.requests[-1]["tool_output"] == "/x/csa\n"
        # The follow-up still counts one user turn: tool results are not turns.
        assert mock.requests[-1]["user_turns"] == 1


@pytest.mark.parametrize("api", APIS)
def test_no_call_without_the_tool_or_the_text(api):
    with MockLLM(script=[RULE]) as mock:
        # opencode's title request offers no tools: it gets text even for a matching prompt.
        _s, _h, raw = post(mock, PATHS[api], first_body(api, "spawn a child", tools=False))
        assert the_text(api, raw).startswith("MOCK-REPLY #1")
        _s, _h, raw = post(mock, PATHS[api], first_body(api, "just say hi"))
        assert the_text(api, raw).startswith("MOCK-REPLY #2")
        assert not any(r.get("tool_call") for r in mock.requests)


def test_a_new_turn_after_the_answer_is_not_a_follow_up():
    rules = load_rules([RULE])
    body = first_body("chat", "spawn a child")
    call = ("call_1", "bash", {"command": RULE["shell"]})
    done = followup_body("chat", body, call, "out")
    assert pending_result("chat", done) == (RULE["shell"], "out")
    done["messages"] += [{"role": "assistant", "content": "done: out"},
                         {"role": "user", "content": "spawn a child again"}]
    assert pending_result("chat", done) is None
    action = decide(rules, "chat", done, "spawn a child again")
    assert action is not None and action[0] == "call"
    done["messages"][-1]["content"] = "thanks"
    assert decide(rules, "chat", done, "thanks") is None


def test_result_of_an_unscripted_command_gets_the_usual_reply():
    body = followup_body("chat", first_body("chat", "spawn a child"),
                         ("c1", "bash", {"command": "ls"}), "a.txt")
    assert decide(load_rules([RULE]), "chat", body, "spawn a child") is None


def test_rule_without_then_answers_as_usual_and_args_and_apis():
    rules = load_rules([
        {"when": "go", "shell": "true", "apis": ["anthropic"]},
        {"when": "go", "shell": "pwd", "args": {"login": False, "yield_time_ms": 500}},
    ])
    with MockLLM(script=rules) as mock:
        _s, _h, raw = post(mock, PATHS["responses"], first_body("responses", "go"))
        call_id, name, args = the_call("responses", raw)
        assert args == {"cmd": "pwd", "login": False, "yield_time_ms": 500}
        _s, _h, raw = post(mock, PATHS["anthropic"], first_body("anthropic", "go"))
        call = the_call("anthropic", raw)
        assert call[2]["command"] == "true"
        follow = followup_body("anthropic", first_body("anthropic", "go"), call, "")
        _s, _h, raw = post(mock, PATHS["anthropic"], follow)
        assert the_text("anthropic", raw) == "MOCK-REPLY #3 (user turns seen: 1)"
        assert mock.requests[-1]["tool_output"] == ""


def test_non_streaming_call_shapes():
    with MockLLM(script=[RULE]) as mock:
        for api in ("anthropic", "responses", "chat"):
            body = {**first_body(api, "spawn a child"), "stream": False}
            _s, headers, raw = post(mock, PATHS[api].split("?")[0], body)
            assert headers["Content-Type"] == "application/json"
            obj = json.loads(raw)
            if api == "anthropic":
                assert obj["stop_reason"] == "tool_use" and obj["content"][0]["name"] == "Bash"
            elif api == "responses":
                assert obj["output"][0]["type"] == "function_call"
            else:
                choice = obj["choices"][0]
                assert choice["finish_reason"] == "tool_calls"
                assert choice["message"]["tool_calls"][0]["function"]["name"] == "bash"
        path = "/v1beta/models/g:generateContent"
        _s, _h, raw = post(mock, path, first_body("gemini", "spawn a child"))
        part = json.loads(raw)["candidates"][0]["content"]["parts"][0]
        assert part["functionCall"]["name"] == "run_shell_command"


def test_secret_is_appended_to_the_final_text():
    with MockLLM(script=[RULE], secret="S3") as mock:
        body = first_body("chat", "spawn a child")
        _s, _h, raw = post(mock, PATHS["chat"], body)
        call = the_call("chat", raw)
        _s, _h, raw = post(mock, PATHS["chat"], followup_body("chat", body, call, "o"))
        assert the_text("chat", raw) == "done: o S3"


def test_load_rules_checks_its_input(tmp_path):
    assert load_rules(None) == []
    assert load_rules(json.dumps(RULE))[0].then == RULE["then"]
    for bad in ([{"when": "x"}], [{"when": "x", "shell": "y", "oops": 1}],
                [{"when": "x", "shell": "y", "apis": ["grpc"]}], 3):
        with pytest.raises(ValueError):
            load_rules(bad)
    with pytest.raises(ValueError):
        MockLLM(script=[{"when": "x"}])


def test_script_file_is_reread_on_every_request(tmp_path):
    script = tmp_path / "rules.json"
    script.write_text("[]")
    with MockLLM(script=script) as mock:
        _s, _h, raw = post(mock, PATHS["chat"], first_body("chat", "spawn a child"))
        assert the_text("chat", raw).startswith("MOCK-REPLY")
        script.write_text(json.dumps([RULE]))
        _s, _h, raw = post(mock, PATHS["chat"], first_body("chat", "spawn a child"))
        assert the_call("chat", raw)[1] == "bash"


def test_command_line_script_from_env(tmp_path):
    script = tmp_path / "rules.json"
    script.write_text(json.dumps([RULE]))
    proc = subprocess.Popen([sys.executable, str(TOOLS / "mock_llm.py")],
                            env={"MOCK_LLM_SCRIPT": str(script), "PATH": "/usr/bin:/bin"},
                            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline().strip().removeprefix("PORT="))
        body = {**first_body("chat", "spawn a child"), "stream": False}
        req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions",
                                     data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            msg = json.loads(resp.read())["choices"][0]["message"]
        assert msg["tool_calls"][0]["function"]["name"] == "bash"
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
        proc.stdout.close()


def test_hold_rule_keeps_a_matching_request_in_flight():
    import threading
    import time

    with MockLLM(script=[{"hold": 30, "when": "hold on", "apis": ["chat"]}]) as mock:
        t0 = time.monotonic()
        _s, _h, raw = post(mock, PATHS["chat"], first_body("chat", "quick"))
        assert the_text("chat", raw).startswith("MOCK-REPLY") and not mock.holds
        done: list[bytes] = []
        worker = threading.Thread(target=lambda: done.append(
            post(mock, PATHS["chat"], first_body("chat", "hold on please"))[2]))
        worker.start()
        while not mock.holds and time.monotonic() - t0 < 10:
            time.sleep(0.02)
        assert mock.holds and mock.holds[0]["api"] == "chat" and not done
        # A held reply answers when the mock stops, instead of blocking the test.
        mock.stop()
        worker.join(10)
        assert time.monotonic() - t0 < 20
    with pytest.raises(ValueError):
        load_rules([{"hold": "long"}])
    with pytest.raises(ValueError):
        load_rules([{"hold": 1, "apis": ["grpc"]}])
