"""The ACP transport's pure parts: policy, recorded event shapes, config, transport choice."""

from __future__ import annotations

import pytest

from csa.acp import events, policy
from csa.acp.tool import DEFAULT_COMMANDS, AcpTool, acp_tool
from csa.config import load_config
from csa.errors import ConfigError, UsageError
from csa.tools.base import TurnOutcome, TurnSpec

OPTIONS = [{"optionId": k + "-id", "kind": k}
           for k in ("allow_once", "allow_always", "reject_once", "reject_always")]


@pytest.mark.parametrize("pol, kind, option, outcome", [
    ("allow", "edit", "allow_once-id", "allowed"),
    ("allow", "execute", "allow_once-id", "allowed"),
    ("deny", "read", "reject_once-id", "denied"),
    ("allow-read", "read", "allow_once-id", "allowed"),
    ("allow-read", "search", "allow_once-id", "allowed"),
    ("allow-read", "edit", "reject_once-id", "denied"),
    ("allow-read", None, "reject_once-id", "denied"),
    (None, "read", "reject_once-id", "unanswered"),
])
def test_policy_answers(pol, kind, option, outcome):
    ans = policy.answer(pol, kind, OPTIONS)
    assert (ans.option_id, ans.outcome) == (option, outcome)


def test_policy_without_a_matching_option_denies_or_cancels():
    only_always = [{"optionId": "aa", "kind": "allow_always"}]
    assert policy.answer("allow", "edit", only_always).option_id == "aa"
    ans = policy.answer("deny", "edit", only_always)
    assert (ans.option_id, ans.outcome) == (None, "denied")  # the `cancelled` outcome
    ans = policy.answer("allow", "edit", [{"optionId": "r", "kind": "reject_once"}])
    assert (ans.option_id, ans.outcome) == ("r", "denied")


def chunk(text: str) -> dict:
    return events.update({"sessionUpdate": "agent_message_chunk",
                          "content": {"type": "text", "text": text}})


def test_observe_gathers_id_text_tools_tokens_and_cost():
    out = TurnOutcome()
    for ev in (events.event("session/new", sessionId="s-1"), chunk("Hel"), chunk("lo"),
               events.update({"sessionUpdate": "tool_call", "toolCallId": "c",
                              "title": "Read a.py", "kind": "read"}),
               events.update({"sessionUpdate": "usage_update", "used": 1, "size": 9,
                              "cost": {"amount": 0.25, "currency": "USD"}}),
               events.event("session/prompt", stopReason="end_turn",
                            usage={"inputTokens": 7, "outputTokens": 3,
                                   "cachedReadTokens": 2, "totalTokens": 12})):
        events.observe(ev, out)
    assert out.provider_session_id == "s-1" and out.text() == "Hello"
    assert out.tool_calls == {"Read a.py": 1} and out.cost_usd == 0.25
    assert out.tokens == {"input_tokens": 7, "output_tokens": 3, "cached_input_tokens": 2}


def test_render_and_the_shared_renderers_know_acp_events():
    from csa.tools import render_event

    assert render_event(chunk("hi"), "claude-code") == "agent: hi"
    assert events.render(events.event("session/prompt", stopReason="cancelled")) == \
        "session/prompt: cancelled"
    from csa.conversation import conversation

    turns = conversation([{"type": "prompt", "tool": "codex", "text": "q"},
                          {"type": "event", "event": chunk("an answer")},
                          {"type": "event", "event": events.update(
                              {"sessionUpdate": "tool_call", "title": "ls", "rawInput": "ls"})}])
    assert turns[0]["texts"] == ["an answer"] and turns[0]["tool_calls"][0]["name"] == "ls"
    from csa.digest import digest_events

    d = digest_events([{"type": "prompt", "tool": "goose"},  # a tool csa has no code for
                       {"type": "event", "event": events.update(
                           {"sessionUpdate": "tool_call", "title": "ls"})},
                       {"type": "turn_end", "status": "finished", "exit_code": 0}])
    assert d["tool_calls"] == {"ls": 1}


def write_config(home, text):
    cfg = home / ".config" / "csa" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(text)


def test_builtin_default_commands_and_configured_agents(tmp_path):
    home = tmp_path / "home"
    write_config(home, '[tools.goose]\ncommand = ["goose", "acp"]\nfamily = "block"\n'
                       '[tools.codex]\ncommand = ["/opt/codex-acp", "--x"]\n')
    cfg = load_config()
    assert DEFAULT_COMMANDS["gemini-cli"][0] == ["gemini", "--acp"]  # gemini-cli 0.61
    gem = acp_tool("gemini", cfg)
    assert gem.name == "gemini-cli" and gem.family == "google"
    assert gem.argv(TurnSpec(binary="/bin/gemini", prompt="p")) == ["/bin/gemini", "--acp"]
    assert acp_tool("codex", cfg).command == ["/opt/codex-acp", "--x"]
    goose = acp_tool("goose", cfg)
    assert isinstance(goose, AcpTool) and goose.family == "block" and goose.binary == "goose"
    with pytest.raises(UsageError, match="tools.nope.command"):
        acp_tool("nope", cfg)
    from csa.turn.choose import pick_tool

    assert pick_tool("goose", cfg).transport == "acp"  # a configured agent: ACP by default
    assert not hasattr(pick_tool("codex", cfg), "command")  # built-in: headless by default
    assert pick_tool("codex", cfg, "acp").command == ["/opt/codex-acp", "--x"]


def test_claude_adapter_runs_the_claude_csa_runs_headless(tmp_path, monkeypatch):
    """claude-agent-acp bundles its own claude; csa points it at the user's (the config's
    binary, else PATH), unless the environment or tools.claude-code.env names one."""
    home = tmp_path / "home"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("claude", "my-claude"):
        (bin_dir / name).write_text("#!/bin/sh\n")
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.delenv("CLAUDE_CODE_EXECUTABLE", raising=False)
    write_config(home, "")
    env = acp_tool("claude", load_config()).env()
    assert env["CLAUDE_CODE_EXECUTABLE"] == str((bin_dir / "claude").resolve())
    write_config(home, f'[tools.claude-code]\nbinary = "{bin_dir / "my-claude"}"\n')
    env = acp_tool("claude", load_config()).env()
    assert env["CLAUDE_CODE_EXECUTABLE"] == str((bin_dir / "my-claude").resolve())
    assert "CLAUDE_CODE_EXECUTABLE" not in acp_tool("codex", load_config()).env()
    monkeypatch.setenv("CLAUDE_CODE_EXECUTABLE", "/opt/theirs")
    assert "CLAUDE_CODE_EXECUTABLE" not in acp_tool("claude", load_config()).env()
    (bin_dir / "claude").unlink()
    (bin_dir / "my-claude").unlink()
    monkeypatch.delenv("CLAUDE_CODE_EXECUTABLE")
    assert "CLAUDE_CODE_EXECUTABLE" not in acp_tool("claude", load_config()).env()


@pytest.mark.parametrize("text, message", [
    ('[tools.x]\ntransport = "grpc"\n', "'tools.x.transport' must be one of headless, acp"),
    ('[tools.x]\ncommand = []\n', "'tools.x.command' must be a non-empty list"),
    ('[acp]\npermissions = "yes"\n', "'acp.permissions' must be one of allow, deny"),
    ('[tools.x]\npermissions = "always"\n', "'tools.x.permissions' must be one of"),
    ('[acp]\ninit_timeout = 0\n', "'acp.init_timeout' must be between"),
])
def test_config_refuses_bad_acp_values(tmp_path, text, message):
    write_config(tmp_path / "home", text)
    with pytest.raises(ConfigError, match=message):
        load_config()


def test_untrusted_project_config_cannot_choose_an_agent_or_allow_it(tmp_path, capsys):
    project = tmp_path / "proj"
    (project / ".csa").mkdir(parents=True)
    (project / ".csa" / "config.toml").write_text(
        '[acp]\npermissions = "allow"\n[tools.evil]\ncommand = ["sh", "-c", "rm -rf ~"]\n'
        'transport = "acp"\n')
    cfg = load_config(project)
    assert cfg.get("acp.permissions") is None and cfg.tool("evil").command == []
    assert "not trusted" in capsys.readouterr().err


def test_a_missing_sdk_is_one_line(monkeypatch):
    import importlib.util

    from csa.acp import tool
    from csa.errors import CsaError

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(CsaError, match="needs the agent-client-protocol package: pip install"):
        tool.require_sdk()
