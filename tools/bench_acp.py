"""Headless vs ACP, per real agent: first model request size and wall time per turn.

For each agent, the same prompt is sent N times as a new conversation over each
transport, against tools/mock_llm.py (which keeps the request bodies):

* headless: the CLI's one-shot JSON mode (`claude -p … --output-format stream-json`,
  `codex exec --json`, `gemini -p … -o stream-json`, `opencode run --format json`),
  timed from spawn to exit;
* acp: the ACP agent (`claude-agent-acp`, `codex-acp`, `gemini --acp`, `opencode acp`)
  through the agent-client-protocol SDK: spawn, initialize, session/new,
  session/prompt, then stdin closed; timed from spawn to the prompt's answer
  ("answer") and to the agent's exit ("exit"; agents that ignore EOF get SIGTERM
  after 1 s, as csa does).

The request measured is the turn's main model request: the first one that offers
tools (opencode's title request, which offers none, is skipped). Bytes are the body
as sent (JSON re-serialised compactly, so whitespace does not count).

    python3 tools/bench_acp.py --netns -n 5 claude codex gemini opencode
    python3 tools/bench_acp.py --markdown docs-table.md -n 5      # the docs table
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tools/ is not a package

import realcli_env  # noqa: E402
from acp_probe import AGENTS, Recorder, _start, acp_env, bin_dir_for  # noqa: E402
from mock_llm import MockLLM  # noqa: E402

PROMPT = "Say hello in one short sentence."
SHUTDOWN_S = 1.0


def headless_argv(agent: str, bin_dir: Path) -> list[str]:
    """The one-shot JSON command of `agent` for a new conversation with PROMPT."""
    b = str(bin_dir / agent)
    return {
        "claude": [b, "-p", PROMPT, "--output-format", "stream-json", "--verbose",
                   "--dangerously-skip-permissions"],
        "codex": [b, "exec", "--json", "--skip-git-repo-check",
                  "--dangerously-bypass-approvals-and-sandbox", PROMPT],
        "gemini": [b, "-p", PROMPT, "-o", "stream-json", "--yolo"],
        "opencode": [b, "run", "--format", "json", "--auto", PROMPT],
    }[agent]


def main_request(mock: MockLLM, start: int) -> dict[str, Any] | None:
    """The first model request since `start` whose body offers tools."""
    for r in mock.requests[start:]:
        body = r.get("body")
        if "n" in r and isinstance(body, dict) and body.get("tools"):
            return r
    return None


def body_bytes(record: dict[str, Any] | None) -> int | None:
    if record is None:
        return None
    return len(json.dumps(record["body"], separators=(",", ":"), ensure_ascii=False).encode())


def run_headless(agent: str, bin_dir: Path, mock: MockLLM, home: Path,
                 project: Path) -> tuple[float, int | None]:
    env, _args, _files = realcli_env.prepare(agent, mock, home)
    env = {**realcli_env.minimal_env(bin_dir), **env}
    start, t0 = len(mock.requests), time.monotonic()
    res = subprocess.run(headless_argv(agent, bin_dir), env=env, cwd=project,
                         stdin=subprocess.DEVNULL, capture_output=True, timeout=300)
    secs = time.monotonic() - t0
    if res.returncode != 0:
        raise RuntimeError(f"{agent} headless exit {res.returncode}: {res.stderr[-500:]!r}")
    return secs, body_bytes(main_request(mock, start))


async def _acp_turn(agent: str, bin_dir: Path, mock: MockLLM, home: Path,
                    project: Path) -> tuple[float, float, int | None]:
    from acp import text_block

    env = acp_env(agent, mock, home, bin_dir)
    start, t0 = len(mock.requests), time.monotonic()
    with open(home / "acp-stderr.log", "ab") as log:
        ag, _init, _ = await _start(agent, env, project, bin_dir, Recorder(), log)
        try:
            sid = (await ag.conn.new_session(cwd=str(project), mcp_servers=[])).session_id
            resp = await asyncio.wait_for(
                ag.conn.prompt(session_id=sid, prompt=[text_block(PROMPT)]), 300)
            answer = time.monotonic() - t0
            if resp.stop_reason != "end_turn":
                raise RuntimeError(f"{agent} acp stop reason {resp.stop_reason}")
        finally:
            await ag.close(SHUTDOWN_S)
        done = time.monotonic() - t0
    return answer, done, body_bytes(main_request(mock, start))


def bench(agent: str, bin_dir: Path, root: Path, n: int) -> dict[str, Any]:
    """Median wall times and request sizes of `n` new turns per transport."""
    out: dict[str, Any] = {"agent": agent}
    with MockLLM(keep_bodies=True) as mock:
        home, project = root / agent / "home", root / agent / "proj"
        project.mkdir(parents=True)
        heads, acps, exits, hsize, asize = [], [], [], set(), set()
        for _ in range(n):  # interleaved, so load drifts hit both alike
            secs, size = run_headless(agent, bin_dir, mock, home, project)
            heads.append(secs)
            hsize.add(size)
            answer, done, size = asyncio.run(_acp_turn(agent, bin_dir, mock, home, project))
            acps.append(answer)
            exits.append(done)
            asize.add(size)
    out.update(headless_s=statistics.median(heads), acp_answer_s=statistics.median(acps),
               acp_exit_s=statistics.median(exits), headless_bytes=sorted(hsize, key=str),
               acp_bytes=sorted(asize, key=str), n=n,
               load=os.getloadavg()[0])
    return out


def markdown(rows: list[dict[str, Any]]) -> str:
    head = ("| agent | first request, headless | first request, ACP | turn, headless | "
            "turn, ACP (answer / exit) |\n|---|---|---|---|---|\n")

    def size(v: list) -> str:
        return " / ".join(f"{x:,} B" if isinstance(x, int) else "?" for x in v)

    return head + "".join(
        f"| {r['agent']} | {size(r['headless_bytes'])} | {size(r['acp_bytes'])} | "
        f"{r['headless_s']:.2f} s | {r['acp_answer_s']:.2f} / {r['acp_exit_s']:.2f} s |\n"
        for r in rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("agents", nargs="*", default=list(AGENTS))
    ap.add_argument("-n", type=int, default=5, help="turns per transport (median)")
    ap.add_argument("--netns", action="store_true", help="re-run inside `unshare -n`")
    ap.add_argument("--markdown", help="write the table to this file")
    args = ap.parse_args(argv)
    bin_dir = bin_dir_for(__file__, args, argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-acp-") as tmp:
        for agent in args.agents:
            row = bench(agent, bin_dir, Path(tmp), args.n)
            rows.append(row)
            print(json.dumps(row), flush=True)
    table = markdown(rows)
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
