"""csa end to end with the REAL claude / codex / gemini / opencode CLIs, offline.

Each CLI talks to tools/mock_llm.py on 127.0.0.1 (inside a private network namespace
where possible, see conftest.py). Per tool:

* lifecycle: new session (`--json`), resume by a lower-case 8-char prefix, compress
  (claude-code native `/compact`, the others rollover), one more turn after compaction;
  with CSA_CAPTURE_FIXTURES=1 the CLI's own transcript of the two-turn session is copied
  to tests/fixtures/import/<tool>/.
* redaction: the model's reply carries fake API keys; nothing csa wrote under
  CSA_STATE_DIR may contain them.

Run: `python -m pytest -s tests/integration` (timings are printed in the summary too).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import string
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # the object behind the `realcli` fixture (conftest.py)
    from conftest import RealCli

TOOL_IDS = ["claude-code", "codex", "gemini-cli", "opencode"]
ULID_RE = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")
FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "import"
# Read at import: tests/conftest.py drops CSA_* variables while each test runs.
CAPTURE = os.environ.get("CSA_CAPTURE_FIXTURES") == "1"
FIRST, SECOND, AFTER = "first prompt", "second prompt", "after compaction"


# --- where each CLI keeps its own conversation -----------------------------------------

def claude_project_dir(rc: RealCli) -> Path:
    # claude 2.1.330 turns every non-alphanumeric character of the cwd into '-'.
    mangled = re.sub(r"[^A-Za-z0-9]", "-", os.path.realpath(rc.project))
    return rc.home / ".claude" / "projects" / mangled


def own_transcript_files(rc: RealCli, provider_id: str) -> list[Path]:
    """The CLI's own files for conversation `provider_id` (empty list: none found).

    opencode keeps everything in SQLite; its entry is the database file.
    """
    if rc.tool == "claude-code":
        pdir = claude_project_dir(rc)
        main = pdir / f"{provider_id}.jsonl"
        if not main.is_file():
            return []
        # Subagent/sidechain transcripts, when the CLI writes any, live under <id>/.
        side = sorted(p for p in (pdir / provider_id).rglob("*") if p.is_file())
        return [main, *side]
    if rc.tool == "codex":
        codex_home = Path(rc.tool_env["CODEX_HOME"])
        return sorted(codex_home.glob(f"sessions/*/*/*/rollout-*-{provider_id}.jsonl"))
    if rc.tool == "gemini-cli":
        found = []
        for p in sorted(rc.home.glob(".gemini/tmp/*/chats/session-*.json*")):
            if p.stem.endswith(provider_id[:8]) and provider_id in p.read_text(errors="replace"):
                found.append(p)
        return found
    db = Path(rc.tool_env["XDG_DATA_HOME"]) / "opencode" / "opencode.db"
    return [db] if db.is_file() else []


def opencode_export(rc: RealCli, provider_id: str) -> dict:
    res = rc.tool_cmd("export", provider_id)
    assert res.returncode == 0, f"opencode export failed:\n{res.stderr[-2000:]}"
    data = json.loads(res.stdout)
    assert data["info"]["id"] == provider_id
    return data


# --- the tests ---------------------------------------------------------------------------

@pytest.mark.parametrize("tool", TOOL_IDS)
def test_lifecycle_new_resume_compress(tool: str, realcli: RealCli) -> None:
    rc = realcli

    # a. new session --------------------------------------------------------------------
    mark = rc.mark()
    res = rc.csa("run", "--tool", tool, FIRST, "--json", label="new")
    assert res.returncode == 0, "new: " + rc.explain(res)
    data = json.loads(res.stdout)
    sid = data["session_id"]
    assert ULID_RE.fullmatch(sid), data
    assert f"csa: session {sid} ({tool})" in res.stderr
    assert data["tool"] == tool and data["exit_code"] == 0 and data["status"] == "finished"
    provider = data["provider_session_id"]
    assert provider, f"new: no provider session id in {data}"
    st = rc.state(sid)
    assert st["tools"][tool]["provider_session_id"] == provider
    assert st["turn_count"] == 1 and st["phase"] == "active"
    if tool in ("claude-code", "gemini-cli"):  # the real CLI took csa's chosen id (issue 12)
        prompt = next(e for e in rc.transcript(sid) if e["type"] == "prompt")
        assert prompt["argv"][-2:] == ["--session-id", provider], prompt["argv"]
    assert own_transcript_files(rc, provider), \
        f"new: {tool}'s own transcript for {provider} not found under {rc.home}"
    if tool == "opencode":
        opencode_export(rc, provider)
    reqs = rc.model_requests_since(mark)
    assert reqs, "new: the mock saw no model request"
    # opencode also sends a title request on a new session; it counts 1 as well.
    assert all(r["user_turns"] == 1 for r in reqs), [(r["n"], r["user_turns"]) for r in reqs]
    answered = [r for r in reqs if r["reply"] == data["final_text"]]
    assert len(answered) == 1, (f"new: final_text {data['final_text']!r} is not one of the "
                                f"mock's replies {[r['reply'] for r in reqs]}")

    # b. resume by a lower-case 8-char prefix -------------------------------------------
    mark = rc.mark()
    res = rc.csa("run", "--session", sid[:8].lower(), SECOND, label="resume")
    assert res.returncode == 0, "resume: " + rc.explain(res)
    assert sid in res.stderr
    reqs = rc.model_requests_since(mark)
    assert reqs and reqs[-1]["user_turns"] == 2, \
        f"resume: history not carried: {[(r['n'], r['user_turns']) for r in reqs]}"
    assert res.stdout.strip() == reqs[-1]["reply"]
    st = rc.state(sid)
    assert st["tools"][tool]["provider_session_id"] == provider, "resume changed the provider id"
    assert st["turn_count"] == 2
    if CAPTURE:
        capture_fixtures(rc, provider, replies=[data["final_text"], res.stdout.strip()])

    # c. compress, then one more turn ----------------------------------------------------
    mark = rc.mark()
    res = rc.csa("session", "compress", "-s", sid, "--json", label="compress")
    assert res.returncode == 0, "compress: " + rc.explain(res)
    comp = json.loads(res.stdout)
    assert comp["success"] is True and comp["compaction_count"] == 1, comp
    assert comp["old_provider_session_id"] == provider, comp
    st = rc.state(sid)
    if tool == "claude-code":
        assert comp["method"] == "native", comp
        new_provider = st["tools"][tool]["provider_session_id"]
    else:
        assert comp["method"] == "rollover", comp
        new_provider = comp["new_provider_session_id"]
        assert new_provider and new_provider != provider, comp
        assert st["tools"][tool]["provider_session_id"] == new_provider
        assert provider in st["tools"][tool].get("previous_provider_session_ids", []), \
            st["tools"][tool]
        assert own_transcript_files(rc, new_provider), "compress: no transcript for the new id"
    ctx = st["context_status"]
    assert ctx["is_compacted"] is True and ctx["compaction_count"] == 1, ctx
    assert ctx.get("last_compacted_at"), ctx
    assert st["phase"] == "available", st["phase"]
    assert rc.model_requests_since(mark), "compress: the mock saw no model request"

    mark = rc.mark()
    res = rc.csa("run", "--session", sid, AFTER, label="after-compact")
    assert res.returncode == 0, "after compaction: " + rc.explain(res)
    st = rc.state(sid)
    assert st["phase"] == "active", st["phase"]
    assert st["tools"][tool]["provider_session_id"] == new_provider
    reqs = rc.model_requests_since(mark)
    # The compacted context is one user turn (claude's summary, or the rollover seed),
    # plus this prompt: 2. A fresh conversation would be 1; the old one 3 or more.
    assert reqs and reqs[-1]["user_turns"] == 2, \
        f"after compaction: {[(r['n'], r['user_turns']) for r in reqs]}"
    assert res.stdout.strip() == reqs[-1]["reply"]


def _fake_key(prefix: str, n: int, suffix: str = "") -> str:
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(n)) + suffix


def _git_objects_text(git_dir: Path) -> bytes:
    """Every object of a git repository, decompressed (a byte search of .git would miss them)."""
    git = shutil.which("git")
    if git is None:
        return b""
    res = subprocess.run([git, "--git-dir", str(git_dir), "cat-file", "--batch-all-objects",
                          "--batch"], capture_output=True, stdin=subprocess.DEVNULL)
    return res.stdout


@pytest.mark.parametrize("tool", TOOL_IDS)
def test_redaction_of_secrets_in_replies(tool: str, realcli: RealCli) -> None:
    rc = realcli
    anthropic = _fake_key("sk-ant-api03-", 60, "AA")
    github = _fake_key("ghp_", 36)
    needles = [anthropic, github, anthropic[len("sk-ant-api03-"):-2], github[len("ghp_"):]]
    rc.mock.secret = f"{anthropic} {github}"
    try:
        res = rc.csa("run", "--tool", tool, "print the deploy keys", "--json", label="redaction")
    finally:
        rc.mock.secret = None
    assert res.returncode == 0, "redaction: " + rc.explain(res)
    data = json.loads(res.stdout)
    sid, provider = data["session_id"], data["provider_session_id"]
    assert any(anthropic in (r.get("reply") or "") for r in rc.mock.model_requests())

    # The secret did come out of the tool (its own transcript has it in clear text),
    # so its absence below is csa's redaction and not a reply that never arrived.
    if tool == "opencode":
        own = json.dumps(opencode_export(rc, provider))
    else:
        own = "".join(p.read_text(errors="replace") for p in own_transcript_files(rc, provider))
    assert anthropic in own and github in own, f"{tool}'s own transcript lacks the secret"

    leaks: list[str] = []
    scanned = 0
    for path in sorted(rc.state_dir.rglob("*")):
        if path.is_dir() and path.name == ".git":
            blob = _git_objects_text(path)
            if any(n.encode() in blob for n in needles):
                leaks.append(f"{path} (git objects)")
        if not path.is_file():
            continue
        scanned += 1
        blob = path.read_bytes()
        if any(n.encode() in blob for n in needles):
            leaks.append(str(path))
    assert scanned > 0
    assert not leaks, f"secret written in clear under CSA_STATE_DIR: {leaks}"
    transcript = (rc.session_dir(sid) / "transcript.jsonl").read_text()
    assert "[REDACTED" in transcript, "transcript shows no redaction marker"
    if anthropic in res.stdout:
        print(f"[{tool}] note: `csa run --json` stdout carries the secret unredacted "
              "(only what is written to disk is redacted)")


# --- fixtures for a future `csa import` -------------------------------------------------

def capture_fixtures(rc: RealCli, provider: str, replies: list[str]) -> None:
    """Copy the CLI's own transcript of a two-turn session to tests/fixtures/import/<tool>/."""
    dest = FIXTURES_DIR / rc.tool
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    files: list[str] = []
    if rc.tool == "opencode":
        export = rc.tool_cmd("export", provider)
        assert export.returncode == 0, export.stderr
        json.loads(export.stdout)
        (dest / f"export-{provider}.json").write_text(export.stdout)
        files.append(f"export-{provider}.json  (stdout of `opencode export {provider}`)")
    else:
        for src in own_transcript_files(rc, provider):
            if rc.tool == "claude-code":
                rel = src.relative_to(claude_project_dir(rc))
                where = f"$HOME/.claude/projects/<mangled cwd>/{rel}"
            elif rc.tool == "codex":
                rel = Path(src.name)
                where = f"$CODEX_HOME/{src.relative_to(Path(rc.tool_env['CODEX_HOME']))}"
            else:
                rel = Path(src.name)
                where = f"$HOME/{src.relative_to(rc.home)}"
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest / rel)
            files.append(f"{rel}  (from {where})")
    meta = {
        "tool": rc.tool,
        "cli_version": rc.version,
        "provider_session_id": provider,
        "prompts": [FIRST, SECOND],
        "replies": replies,
        "captured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "home": str(rc.home),
        "project_dir": str(rc.project),
        "files": [f.split("  ")[0] for f in files],
    }
    (dest / "capture.json").write_text(json.dumps(meta, indent=2) + "\n")
    notes = ""
    if rc.tool == "gemini-cli":
        notes = (
            "\nOn a resume gemini 0.61 first writes a new header line and its session context "
            "to `session-<current minute>-<uuid8>.jsonl`. In the same minute as the original "
            "file that is the same file (a second header line appears mid-file); in a later "
            "minute it is a separate stub with no turns, while the resumed turns are still "
            "appended to the original file. "
            + ("This capture crossed a minute boundary: the later file is such a stub.\n"
               if len(files) > 1 else "This capture stayed within one minute.\n"))
    listing = "\n".join(f"- `{f.split('  ')[0]}` {f.split('  ', 1)[1]}" for f in files)
    (dest / "README.md").write_text(
        f"# {rc.tool} — captured from the real CLI ({rc.version})\n\n"
        f"Generated by `CSA_CAPTURE_FIXTURES=1 python -m pytest tests/integration "
        f"-k 'lifecycle and {rc.tool}'` on {meta['captured_at']}: csa ran a new session "
        f"(`{FIRST}`) and resumed it once (`{SECOND}`) against tools/mock_llm.py, then these "
        f"files of the CLI's own store were copied as they were:\n\n{listing}\n\n"
        f"`capture.json` records the provider session id, prompts and mock replies. The files "
        f"contain the test's temporary paths (HOME `{rc.home}`, project "
        f"`{rc.project}`); they are not meaningful, only their shape is. Do not edit by hand: "
        f"regenerate instead.\n{notes}"
    )


def test_network_namespace_isolates(netns, tmp_path: Path) -> None:
    """Inside the tests' namespace the mock's loopback works and any other address fails."""
    if netns is None:
        pytest.skip("no private network namespace in use (see 'network isolation' in the summary)")
    from mock_llm import MockLLM  # tools/ is on sys.path (conftest.py)

    probe = (
        "import socket,sys\n"
        "socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5).close()\n"
        "for host in ('192.0.2.1', '1.1.1.1'):\n"
        "    try:\n"
        "        socket.create_connection((host, 443), timeout=5)\n"
        "    except OSError:\n"
        "        continue\n"
        "    sys.exit(f'reached {host}')\n"
    )
    with MockLLM(netns=netns.path) as mock:
        res = subprocess.run(netns.wrap([sys.executable, "-c", probe, str(mock.port)]),
                             capture_output=True, text=True, stdin=subprocess.DEVNULL,
                             timeout=30)
    assert res.returncode == 0, res.stderr
