"""The demo agent `csa demo` runs: a stand-in for `claude` and `codex` that speaks their real
output formats (claude's stream-json, codex's `exec --json` JSONL) and needs no API key.

    python -m csa.demo.agent claude -p "plan the parser" --output-format stream-json --verbose
    python -m csa.demo.agent codex exec --json ... resume THREAD_ID "and now?"

It keeps each conversation under `$CSA_DEMO_HOME/<tool>/<id>.json`, so a resume by the
provider id remembers the earlier prompts. A prompt with the word `delegate` makes it
act like an orchestrating agent: it calls `"$CSA_BIN" run` twice, once with codex and once
with claude, and its answer sums up what the two children said.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

CHILDREN = (("codex", "write tests for the parser"), ("claude", "review the parser's error messages"))


def _emit(event: dict) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def _prompt(value: str | None) -> str:
    return sys.stdin.read() if value in (None, "-") else value


def _conversation(tool: str, cid: str | None) -> tuple[str, dict, Path]:
    home = Path(os.environ.get("CSA_DEMO_HOME") or Path.home() / ".csa-demo-agent") / tool
    home.mkdir(parents=True, exist_ok=True)
    cid = cid or str(uuid.uuid4())
    path = home / f"{cid}.json"
    data = json.loads(path.read_text()) if path.exists() else {"prompts": [], "tokens": 0}
    return cid, data, path


def _delegate(tool_call) -> str:
    """Run the two children through csa, as an agent inside csa would."""
    csa = os.environ.get("CSA_BIN") or "csa"
    said = []
    for child_tool, task in CHILDREN:
        tool_call(f'"$CSA_BIN" run --tool {child_tool} "{task}"')
        done = subprocess.run([csa, "run", "--tool", child_tool, task], capture_output=True,
                              text=True, stdin=subprocess.DEVNULL)
        said.append(f"{child_tool} said: {done.stdout.strip() or '(nothing)'}")
    return " | ".join(said)


def answer(tool: str, prompt: str, data: dict, tool_call) -> str:
    """The reply: what it was asked, what it remembers, and the children's answers."""
    data["prompts"].append(prompt)
    first = data["prompts"][0]
    if "delegate" in prompt.lower():
        return f"I split the work in two: {_delegate(tool_call)}"
    if len(data["prompts"]) > 1:
        return (f"({tool}, turn {len(data['prompts'])}) You first asked me: {first!r}. "
                "I delegated it to codex and claude, as the tree shows.")
    return f"({tool}) Done: {prompt.strip()} -- looks good to me."


def claude(argv: list[str]) -> None:
    opts = _options(argv, with_value=("-p", "--resume", "--model", "--output-format"))
    cid, data, path = _conversation("claude", opts.get("--resume"))
    model = opts.get("--model") or "claude-sonnet-4-5"
    _emit({"type": "system", "subtype": "init", "session_id": cid, "model": model,
           "cwd": os.getcwd(), "tools": ["Bash"]})

    def tool_call(command: str) -> None:
        _emit({"type": "assistant", "session_id": cid, "message": {
            "model": model, "role": "assistant", "content": [
                {"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:12]}", "name": "Bash",
                 "input": {"command": command}}]}})

    text = answer("claude", _prompt(opts.get("-p")), data, tool_call)
    usage = {"input_tokens": 40 * len(data["prompts"]), "output_tokens": len(text.split()),
             "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0}
    path.write_text(json.dumps(data))
    _emit({"type": "assistant", "session_id": cid, "message": {
        "model": model, "role": "assistant", "content": [{"type": "text", "text": text}],
        "usage": usage}})
    _emit({"type": "result", "subtype": "success", "is_error": False, "result": text,
           "session_id": cid, "num_turns": 1, "usage": usage})


def codex(argv: list[str]) -> None:
    args = argv[1:] if argv[:1] == ["exec"] else argv
    resume = args[:1] == ["resume"]
    rest = _positionals(args[1:] if resume else args, with_value=("-c", "-m", "--model"))
    cid = rest[0] if resume and len(rest) > 1 else None
    cid, data, path = _conversation("codex", cid)
    _emit({"type": "thread.started", "thread_id": cid})
    _emit({"type": "turn.started"})

    def tool_call(command: str) -> None:
        _emit({"type": "item.completed", "item": {"id": f"item_{uuid.uuid4().hex[:6]}",
                                                  "type": "command_execution",
                                                  "command": command, "status": "completed"}})

    text = answer("codex", _prompt(rest[-1] if rest else None), data, tool_call)
    data["tokens"] += 40 * len(data["prompts"])  # codex reports the thread's running total
    path.write_text(json.dumps(data))
    _emit({"type": "item.completed", "item": {"id": "item_0", "type": "agent_message",
                                              "text": text}})
    _emit({"type": "turn.completed", "usage": {"input_tokens": data["tokens"],
                                               "cached_input_tokens": 0,
                                               "output_tokens": len(text.split())}})


def _options(argv: list[str], with_value: tuple[str, ...]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in with_value:
            nxt = argv[i + 1] if i + 1 < len(argv) else None
            takes = nxt is not None and not (a == "-p" and nxt.startswith("--"))
            out[a] = nxt if takes else None
            i += 2 if takes else 1
            continue
        i += 1
    return out


def _positionals(argv: list[str], with_value: tuple[str, ...]) -> list[str]:
    out, i = [], 0
    while i < len(argv):
        if argv[i] in with_value:
            i += 2
            continue
        if not argv[i].startswith("--") or argv[i] == "-":
            out.append(argv[i])
        i += 1
    return out


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in ("claude", "codex"):
        sys.exit("usage: python -m csa.demo.agent claude|codex ARGS...")
    if "--version" in argv:
        print(f"{argv[0]} (csa demo agent)")
        return
    (claude if argv[0] == "claude" else codex)(argv[1:])


if __name__ == "__main__":
    main()
