"""ACP transport: drive any Agent Client Protocol agent over its stdio, beside headless JSON.

    [tools.goose]                       # any ACP agent, no code
    transport = "acp"
    command = ["goose", "acp"]
    family = "goose"

    csa run --transport acp --tool claude-code "fix the tests"   # claude-agent-acp

csa is the ACP client: `initialize`, `session/new` (or `session/load` to resume),
`session/prompt`, streamed `session/update` notifications, `session/cancel` on a
timeout or Ctrl-C. What the agent says reaches the turn as one JSON line per ACP
message (events.py), through the same relay and transcript writer as a headless tool's
stdout, so redaction, seq, timer flush, heartbeat and liveness are the headless ones.

    events.py    the recorded shapes ({"type": "acp", "method": ...}), observe and render
    policy.py    answering permission requests (acp.permissions: allow | deny | allow-read)
    tool.py      AcpTool: a built-in tool's ACP command, or a configured generic agent;
                 which transport a turn uses
    process.py   AcpProcess: the agent's process plus the client thread, shaped like a
                 Popen for the relay (stdout = the event lines; soft_stop = session/cancel)
    client.py    the SDK client (agent-client-protocol, imported only on ACP turns)
    probe.py     `csa doctor`: run `initialize` with a timeout
"""
