"""Issue 13, end to end: the corpus through the CLI's paths (prompt, explicit description,
the tool's reply, its stderr, journal notes, checkpoint notes, search index, import), then
every byte under the state dir (files, SQLite pages and WAL, inflated git objects): 0 leaks."""

from __future__ import annotations

import json
import random

from gone_scan import where
from secret_corpus import build

from csa.importers import import_sessions
from runkit import csa, fake_env, session_id_from

GROUPS = 6


def ok(res):
    assert res.returncode == 0, res.stderr
    return res


def _groups() -> list[list]:
    secrets = build(random.Random(13))
    assert len(secrets) >= 150 and len({s.kind for s in secrets}) >= 100
    return [secrets[i::GROUPS] for i in range(GROUPS)]


def test_the_corpus_leaves_no_byte_on_disk_by_any_path(tmp_path, project, state_dir):
    groups = _groups()
    for n, group in enumerate(groups):
        text = "\n\n".join(f"({s.kind}) {s.text}" for s in group)
        env = fake_env(tmp_path, FAKE_STDERR=text)  # the tool prints them on stderr too
        tool = ("codex", "gemini", "claude-code")[n % 3]
        sid = session_id_from(ok(csa("run", "--tool", tool, "-d", text[:3000], "--",
                                     text, env=env, cwd=project)).stderr)
        # the reply echoes the head of the prompt; a second turn echoes another secret
        ok(csa("run", "-s", sid, "--", group[-1].text, env=env, cwd=project))
        ok(csa("session", "note", "-s", sid, "--discovery", text, env=env, cwd=project))
        ok(csa("session", "checkpoint", "-s", sid, "-m", text[:4000], env=env, cwd=project))
    env = fake_env(tmp_path)
    ok(csa("session", "search", "kind", env=env, cwd=project))  # index every transcript
    ok(csa("session", "list", env=env, cwd=project))

    needles = {s.secret.encode() for g in groups for s in g}
    leaks = {n.decode(): where(state_dir, n) for n in needles}
    assert {k: v for k, v in leaks.items() if v} == {}


def test_the_corpus_through_an_import(project, state_dir, isolated_env):
    """A real codex rollout whose prompts hold the corpus (one across the importer's
    cut), imported."""
    from test_import import place

    secrets = [s for g in _groups() for s in g]
    everything = "\n\n".join(s.text for s in secrets)
    straddle = "x " * 49_990 + secrets[0].text  # crosses the 100,000-character cut
    placed = place("codex", project, isolated_env / "home", text_filter=lambda t: t.replace(
        '"text":"first prompt"', '"text":' + json.dumps(everything)).replace(
        '"text":"second prompt"', '"text":' + json.dumps(straddle)))
    shaped = [s.secret for s in secrets if s.shaped]
    assert all(x in "".join(p.read_text() for p in placed) for x in shaped)  # planted
    report = import_sessions("codex", cd=str(project))
    assert report.created == 1, report
    leaks = {s.kind: where(state_dir, s.secret.encode()) for s in secrets}
    assert {k: v for k, v in leaks.items() if v} == {}
