"""Unit tests of tools/mock_llm.py over real HTTP on 127.0.0.1 (urllib, no CLIs).

Example: ``pytest tests/test_mock_llm.py -q``
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parent.parent / "tools"
sys.path.insert(0, str(TOOLS))

import mock_llm  # noqa: E402
from mock_llm import MockLLM, count_user_turns, schema_instance  # noqa: E402

REMINDER = "<system-reminder>\nAs you answer, use the context below.\n</system-reminder>\n"


@pytest.fixture
def mock():
    with MockLLM() as m:
        yield m


def post(mock: MockLLM, path: str, body: dict) -> tuple[int, dict[str, str], bytes]:
    """POST JSON to the mock; returns (status, headers, raw body) even for 4xx."""
    req = urllib.request.Request(
        mock.base_url + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def sse_events(raw: bytes) -> list[tuple[str | None, str]]:
    """Split a text/event-stream body into (event name, data) pairs, checking the framing."""
    text = raw.decode()
    assert text.endswith("\n\n"), "every SSE event ends with a blank line"
    out = []
    for block in text.split("\n\n")[:-1]:
        name, data = None, None
        for line in block.split("\n"):
            field, _, value = line.partition(": ")
            if field == "event":
                name = value
            elif field == "data":
                data = value
            else:
                raise AssertionError(f"unexpected SSE line {line!r}")
        assert data is not None
        out.append((name, data))
    return out


# --- Anthropic Messages --------------------------------------------------------


def test_anthropic_streaming_event_sequence(mock):
    body = {
        "model": "claude-x",
        "stream": True,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    }
    status, headers, raw = post(mock, "/v1/messages?beta=true", body)
    assert status == 200
    assert headers["Content-Type"] == "text/event-stream"
    assert int(headers["Content-Length"]) == len(raw)
    events = sse_events(raw)
    names = [n for n, _ in events]
    assert names == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    datas = [json.loads(d) for _, d in events]
    assert all(d["type"] == n for n, d in zip(names, datas, strict=True))
    start = datas[0]["message"]
    assert start["role"] == "assistant" and start["content"] == [] and start["model"] == "claude-x"
    assert "input_tokens" in start["usage"]
    assert datas[1]["content_block"] == {"type": "text", "text": ""}
    assert datas[2]["delta"] == {"type": "text_delta", "text": "MOCK-REPLY #1 (user turns seen: 1)"}
    assert datas[4]["delta"]["stop_reason"] == "end_turn"
    assert datas[4]["usage"]["output_tokens"] > 0


def test_anthropic_non_streaming_is_a_message_object(mock):
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    status, headers, raw = post(mock, "/v1/messages", body)
    assert status == 200 and headers["Content-Type"] == "application/json"
    msg = json.loads(raw)
    assert msg["type"] == "message" and msg["role"] == "assistant"
    assert msg["content"] == [{"type": "text", "text": "MOCK-REPLY #1 (user turns seen: 1)"}]
    assert msg["stop_reason"] == "end_turn"
    assert mock.requests[-1]["stream"] is False


def test_probe_head_and_get_root(mock):
    for method in ("HEAD", "GET"):
        req = urllib.request.Request(mock.base_url + "/", method=method)
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200
    assert [r["api"] for r in mock.requests] == ["probe", "probe"]


# --- OpenAI Responses ----------------------------------------------------------


def test_responses_streaming(mock):
    body = {
        "model": "gpt-5.5",
        "stream": True,
        "input": [
            {
                "type": "message",
                "role": "developer",
                "content": [{"type": "input_text", "text": "sys"}],
            },
            {
                "type": "message",
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "<environment_context>x</environment_context>"}
                ],
            },
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "hello"}],
            },
        ],
    }
    status, headers, raw = post(mock, "/v1/responses", body)
    assert status == 200 and headers["Content-Type"] == "text/event-stream"
    datas = [json.loads(d) for _, d in sse_events(raw)]
    assert [d["sequence_number"] for d in datas] == list(range(len(datas)))
    types = [d["type"] for d in datas]
    assert types[-2:] == ["response.output_item.done", "response.completed"]
    item = datas[-2]["item"]
    assert item["type"] == "message" and item["role"] == "assistant"
    assert item["status"] == "completed"
    assert item["content"] == [
        {"type": "output_text", "text": "MOCK-REPLY #1 (user turns seen: 1)", "annotations": []}
    ]
    resp = datas[-1]["response"]
    assert resp["status"] == "completed" and resp["output"] == [item]
    assert resp["usage"]["input_tokens_details"]["cached_tokens"] == 0
    assert resp["usage"]["output_tokens_details"]["reasoning_tokens"] == 0


# --- OpenAI Chat Completions ---------------------------------------------------


def test_chat_streaming_one_chunk_then_done(mock):
    body = {"model": "mock-model", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    status, _, raw = post(mock, "/v1/chat/completions", body)
    assert status == 200
    events = sse_events(raw)
    assert [n for n, _ in events] == [None, None]
    chunk = json.loads(events[0][1])
    assert events[1][1] == "[DONE]"
    assert chunk["object"] == "chat.completion.chunk"
    choice = chunk["choices"][0]
    assert choice["delta"]["content"] == "MOCK-REPLY #1 (user turns seen: 1)"
    assert choice["finish_reason"] == "stop"
    assert chunk["usage"]["total_tokens"] == 15


def test_chat_non_streaming(mock):
    body = {"model": "m", "stream": False, "messages": [{"role": "user", "content": "hi"}]}
    _, _, raw = post(mock, "/v1/chat/completions", body)
    obj = json.loads(raw)
    assert obj["object"] == "chat.completion"
    assert obj["choices"][0]["message"]["content"].startswith("MOCK-REPLY #1")


# --- Gemini --------------------------------------------------------------------


def test_gemini_stream_and_generate(mock):
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    status, headers, raw = post(
        mock, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", body
    )
    assert status == 200 and headers["Content-Type"] == "text/event-stream"
    ((name, data),) = sse_events(raw)
    assert name is None
    obj = json.loads(data)
    cand = obj["candidates"][0]
    assert cand["content"]["parts"][0]["text"] == "MOCK-REPLY #1 (user turns seen: 1)"
    assert cand["finishReason"] == "STOP"
    assert obj["usageMetadata"]["totalTokenCount"] == 15

    _, headers, raw = post(mock, "/v1beta/models/gemini-2.5-flash:generateContent", body)
    assert headers["Content-Type"] == "application/json"
    assert json.loads(raw)["candidates"][0]["content"]["parts"][0]["text"].startswith(
        "MOCK-REPLY #2"
    )
    assert [(r["model"], r["stream"]) for r in mock.requests] == [
        ("gemini-2.5-flash", True),
        ("gemini-2.5-flash", False),
    ]


def test_gemini_json_mode_fits_schema(mock):
    schema = {
        "type": "OBJECT",
        "properties": {
            "reasoning": {"type": "STRING"},
            "next_speaker": {"type": "STRING", "enum": ["user", "model"]},
            "score": {"type": "INTEGER", "description": "Complexity score from 1-100."},
            "optional": {"type": "STRING"},
        },
        "required": ["reasoning", "next_speaker", "score"],
    }
    body = {
        "contents": [{"role": "user", "parts": [{"text": "route"}]}],
        "generationConfig": {"responseMimeType": "application/json", "responseJsonSchema": schema},
    }
    mock.secret = "HUSH"
    _, _, raw = post(mock, "/v1beta/models/flash-lite:generateContent", body)
    text = json.loads(raw)["candidates"][0]["content"]["parts"][0]["text"]
    # The secret would make the JSON unparseable, so JSON replies go without it.
    assert json.loads(text) == {"reasoning": "x", "next_speaker": "user", "score": 1}


def test_schema_instance_minimal_values():
    schema = {
        "$defs": {
            "Item": {
                "type": "object",
                "required": ["ok"],
                "properties": {"ok": {"type": "boolean"}},
            }
        },
        "type": "object",
        "required": ["n", "f", "s", "b", "arr", "nested", "ref", "union", "nullable", "const"],
        "properties": {
            "n": {"type": "integer"},
            "f": {"type": "number", "minimum": 2.5},
            "s": {"type": "string"},
            "b": {"type": "boolean"},
            "arr": {"type": "array", "items": {"type": "string"}},
            "nested": {"type": "object", "properties": {"x": {"type": "string"}}},
            "ref": {"$ref": "#/$defs/Item"},
            "union": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
            "nullable": {"type": ["null", "string"]},
            "const": {"const": "fixed"},
        },
    }
    assert schema_instance(schema) == {
        "n": 0,
        "f": 2.5,
        "s": "x",
        "b": False,
        "arr": [],
        "nested": {},
        "ref": {"ok": False},
        "union": 0,
        "nullable": "x",
        "const": "fixed",
    }
    assert schema_instance({"type": "array", "minItems": 2, "items": {"enum": ["a", "b"]}}) == [
        "a",
        "a",
    ]


# --- user-turn counting --------------------------------------------------------


def test_user_turns_anthropic_like_claude_code():
    first = [
        {
            "role": "user",
            "content": [{"type": "text", "text": REMINDER}, {"type": "text", "text": "hello"}],
        },
        {"role": "system", "content": "# Environment"},
    ]
    resumed = [
        *first,
        {"role": "assistant", "content": [{"type": "text", "text": "r1"}]},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}],
        },
        # tool_result plus an attached reminder is tool plumbing, not a turn
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": "ok"},
                {"type": "text", "text": REMINDER},
            ],
        },
        {"role": "assistant", "content": [{"type": "text", "text": "done"}]},
        {"role": "user", "content": "second"},
    ]
    assert count_user_turns("anthropic", {"messages": first}) == 1
    assert count_user_turns("anthropic", {"messages": resumed}) == 2


def test_user_turns_anthropic_after_compact():
    messages = [
        {
            "role": "user",
            "content": "This session is being continued from a previous conversation...",
        },
        {"role": "assistant", "content": [{"type": "text", "text": "r2"}]},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": REMINDER},
                {"type": "text", "text": "<local-command-caveat>Caveat</local-command-caveat>"},
                {"type": "text", "text": "<command-name>/compact</command-name>"},
                {"type": "text", "text": "<local-command-stdout>Compacted </local-command-stdout>"},
                {"type": "text", "text": "after compact"},
            ],
        },
    ]
    assert count_user_turns("anthropic", {"messages": messages}) == 2


def test_user_turns_responses_like_codex():
    def msg(role, text, kind="input_text"):
        return {"type": "message", "role": role, "content": [{"type": kind, "text": text}]}

    first = [
        msg("developer", "You are Codex"),
        msg("user", "# AGENTS.md instructions for /p\n\n<INSTRUCTIONS>be nice</INSTRUCTIONS>"),
        msg("user", "<environment_context>\n  <cwd>/p</cwd>\n</environment_context>"),
        msg("user", "hello"),
    ]
    resumed = [
        *first,
        {"type": "reasoning", "summary": []},
        {"type": "function_call", "name": "shell", "arguments": "{}", "call_id": "c"},
        {"type": "function_call_output", "call_id": "c", "output": "ok"},
        msg("assistant", "r1", "output_text"),
        msg("user", "second"),
    ]
    assert count_user_turns("responses", {"input": first}) == 1
    assert count_user_turns("responses", {"input": resumed}) == 2
    assert count_user_turns("responses", {"input": "plain string prompt"}) == 1


def test_user_turns_chat_like_opencode():
    title = [
        {"role": "system", "content": "You are a title generator."},
        {"role": "user", "content": "Generate a title for this conversation:\n"},
        {"role": "user", "content": '"hello there"'},
    ]
    resumed = [
        {"role": "system", "content": "You are opencode"},
        {"role": "user", "content": '"hello there"'},
        {"role": "assistant", "content": "r1"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "t"}]},
        {"role": "tool", "tool_call_id": "t", "content": "ok"},
        {"role": "user", "content": [{"type": "text", "text": "second"}]},
    ]
    # One prompt split over two user messages is one turn.
    assert count_user_turns("chat", {"messages": title}) == 1
    assert count_user_turns("chat", {"messages": resumed}) == 2


def test_user_turns_gemini_like_gemini_cli():
    preamble = (
        "<session_context>\nThis is the Gemini CLI. We are setting up the context for our chat."
    )
    contents = [
        {"role": "user", "parts": [{"text": preamble}]},
        {"role": "user", "parts": [{"text": "hello"}]},
        {"role": "model", "parts": [{"text": "r1", "thought": False}]},
        {"role": "model", "parts": [{"functionCall": {"name": "ls", "args": {}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "ls", "response": {}}}]},
        {"role": "model", "parts": [{"text": "r2"}]},
        {"role": "user", "parts": [{"text": "second"}]},
    ]
    assert count_user_turns("gemini", {"contents": contents[:2]}) == 1
    assert count_user_turns("gemini", {"contents": contents}) == 2


def test_user_turn_count_in_reply_over_http(mock):
    history = {
        "model": "m",
        "messages": [
            {"role": "user", "content": "one"},
            {"role": "assistant", "content": "r"},
            {"role": "user", "content": "two"},
        ],
    }
    _, _, raw = post(mock, "/v1/chat/completions", history)
    assert (
        json.loads(raw)["choices"][0]["message"]["content"] == "MOCK-REPLY #1 (user turns seen: 2)"
    )
    assert mock.requests[-1]["user_turns"] == 2


def test_reply_counter_counts_model_replies_only(mock):
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    post(mock, "/v1/messages", body)
    post(mock, "/npm-registry/x", {})
    _, _, raw = post(mock, "/v1/messages", body)
    assert json.loads(raw)["content"][0]["text"].startswith("MOCK-REPLY #2 ")
    assert [r.get("n") for r in mock.requests] == [1, None, 2]
    assert len(mock.model_requests("anthropic")) == 2


# --- 404, secret, log, binding -------------------------------------------------


def test_unknown_paths_get_404_json(mock):
    status, headers, raw = post(mock, "/v1/messages/count_tokens", {"messages": []})
    assert status == 404 and headers["Content-Type"] == "application/json"
    assert json.loads(raw)["error"]["type"] == "not_found"
    req = urllib.request.Request(mock.base_url + "/npm-registry/@opencode-ai%2fplugin")
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(req, timeout=10)
    assert exc.value.code == 404
    assert [(r["method"], r["api"], r["status"]) for r in mock.requests] == [
        ("POST", "unknown", 404),
        ("GET", "unknown", 404),
    ]


def test_secret_is_appended_to_every_api():
    with MockLLM(secret="TOPSECRET-42") as m:
        user = {"role": "user", "content": "hi"}
        replies = [
            json.loads(post(m, "/v1/messages", {"messages": [user]})[2])["content"][0]["text"],
            json.loads(post(m, "/v1/chat/completions", {"messages": [user]})[2])["choices"][0][
                "message"
            ]["content"],
            json.loads(post(m, "/v1/responses", {"input": [user]})[2])["output"][0]["content"][0][
                "text"
            ],
            json.loads(
                post(
                    m,
                    "/v1beta/models/g:generateContent",
                    {"contents": [{"parts": [{"text": "a"}]}]},
                )[2]
            )["candidates"][0]["content"]["parts"][0]["text"],
        ]
        assert all(r.endswith(" TOPSECRET-42") for r in replies), replies
        m.secret = None
        text = json.loads(post(m, "/v1/messages", {"messages": [user]})[2])["content"][0]["text"]
        assert text == "MOCK-REPLY #5 (user turns seen: 1)"


def test_request_log_in_memory_and_jsonl(tmp_path):
    log = tmp_path / "mock.jsonl"
    with MockLLM(log=log, keep_bodies=True) as m:
        post(
            m,
            "/v1/chat/completions",
            {"model": "mm", "stream": True, "messages": [{"role": "user", "content": "x"}]},
        )
        urllib.request.urlopen(urllib.request.Request(m.base_url + "/", method="HEAD"), timeout=10)
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == 2 == len(m.requests)
    first = lines[0]
    assert {
        k: first[k]
        for k in ("method", "path", "api", "model", "user_turns", "stream", "n", "status")
    } == {
        "method": "POST",
        "path": "/v1/chat/completions",
        "api": "chat",
        "model": "mm",
        "user_turns": 1,
        "stream": True,
        "n": 1,
        "status": 200,
    }
    assert "body" not in first, "bodies stay out of the JSONL log"
    assert m.requests[0]["body"]["model"] == "mm"
    assert lines[1]["method"] == "HEAD" and lines[1]["api"] == "probe"


def test_keep_alive_and_content_length(mock):
    conn = http.client.HTTPConnection("127.0.0.1", mock.port, timeout=10)
    try:
        for i in range(3):
            payload = json.dumps({"messages": [{"role": "user", "content": "hi"}], "stream": True})
            conn.request(
                "POST", "/v1/messages", body=payload, headers={"Content-Type": "application/json"}
            )
            resp = conn.getresponse()
            data = resp.read()
            assert resp.status == 200 and resp.version == 11
            assert int(resp.getheader("Content-Length")) == len(data)
            assert resp.getheader("Connection", "").lower() != "close"
            assert f"MOCK-REPLY #{i + 1} ".encode() in data
        conn.request("GET", "/nothing")
        resp = conn.getresponse()
        assert resp.status == 404 and json.loads(resp.read())["error"]
    finally:
        conn.close()


def test_binds_loopback_only():
    for host in ("0.0.0.0", "localhost", "::", "192.168.1.10"):
        with pytest.raises(ValueError, match="127.0.0.1"):
            MockLLM(host=host)
    with MockLLM() as m:
        assert m._server is not None
        assert m._server.server_address[0] == "127.0.0.1"
        assert m.base_url == f"http://127.0.0.1:{m.port}"


def test_start_stop_idempotent_and_port_released():
    m = MockLLM()
    with pytest.raises(RuntimeError):
        _ = m.port
    m.start()
    port = m.port
    assert m.start() is m
    m.stop()
    m.stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)


def test_command_line_prints_port_and_serves(tmp_path):
    log = tmp_path / "cli.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable,
            str(TOOLS / "mock_llm.py"),
            "--port",
            "0",
            "--log",
            str(log),
            "--secret",
            "S3",
        ],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        assert first.startswith("PORT=")
        port = int(first.removeprefix("PORT="))
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/messages",
            data=json.dumps({"messages": [{"role": "user", "content": "hi"}]}).encode(),
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert json.loads(resp.read())["content"][0]["text"].endswith(" S3")
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
        proc.stdout.close()
    assert json.loads(log.read_text().splitlines()[0])["api"] == "anthropic"


def test_command_line_refuses_other_hosts():
    res = subprocess.run(
        [sys.executable, str(TOOLS / "mock_llm.py"), "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=30,
    )
    assert res.returncode != 0 and "127.0.0.1" in res.stderr


def test_reply_text_format():
    assert mock_llm.reply_text(3, 2) == "MOCK-REPLY #3 (user turns seen: 2)"
    assert mock_llm.reply_text(1, 1, "sec") == "MOCK-REPLY #1 (user turns seen: 1) sec"


def test_netns_mock_reachable_only_inside_the_namespace():
    realcli_env = pytest.importorskip("realcli_env")
    if not realcli_env.netns_available():
        pytest.skip("no private network namespaces here (needs root on Linux)")
    probe = "import sys,urllib.request;print(urllib.request.urlopen(sys.argv[1], timeout=5).status)"
    with realcli_env.NetNamespace() as ns, MockLLM(netns=ns.path) as m:
        inside = subprocess.run(
            ns.wrap([sys.executable, "-c", probe, m.base_url + "/"]),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=30,
        )
        assert inside.stdout.strip() == "200", inside.stderr
        # The test process itself is outside: the same port is not there.
        with pytest.raises(OSError):
            urllib.request.urlopen(m.base_url + "/", timeout=2)
        assert [r["api"] for r in m.requests] == ["probe"]
