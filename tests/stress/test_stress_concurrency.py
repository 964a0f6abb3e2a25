"""Load: many concurrent `csa run`s on one project plus contended resumes of 4 sessions.

All new runs (mixed tools) must succeed with distinct ids. Resumes of the same
session run one at a time: each either wins (exit 0) or loses with
`Session <id> is locked by PID <pid> (...)` and exit 1; the winners' turns never
interleave in the transcript, the provider conversation sees them one after another
(the fake's "user turns seen: N" counts 2, 3, ... across the winners), and state.toml,
events.jsonl and the listing agree. A lister runs all along and must never fail or
see a corrupt session.

Short: 24 new runs + 8 resumes. --stress-long: 64 + 16.
"""

from __future__ import annotations

import json
import re
import threading
import time
import tomllib

import pytest

from runkit import csa, fake_env, session_id_from, sessions
from stresskit import (
    LOCKED_RE,
    TOOLS,
    Proc,
    check_transcript,
    kill_strays,
    leftovers,
    no_crash,
    seed_rng,
    sessions_dir,
    turns_of,
)

pytestmark = pytest.mark.stress

TURNS_SEEN = re.compile(r"FAKE-REPLY \(user turns seen: (\d+)\)")


@pytest.fixture
def env(tmp_path, project):
    e = fake_env(tmp_path)
    yield e
    kill_strays("FAKE_CLI_HOME", e["FAKE_CLI_HOME"])


def test_concurrent_runs_and_contended_resumes(env, project, state_dir, stress_long):
    rng, seed = seed_rng("concurrency")
    n_new, n_resume = (64, 16) if stress_long else (24, 8)
    base = {}
    for tool in TOOLS:
        res = csa("run", "--tool", tool, f"base {tool}", env=env, cwd=project)
        assert res.returncode == 0, res.stderr
        base[session_id_from(res.stderr)] = tool
    base_ids = list(base)
    jobs = [("new", i) for i in range(n_new)] + [("resume", j) for j in range(n_resume)]
    rng.shuffle(jobs)

    stop = threading.Event()
    lister_errors: list[str] = []
    listings = [0]

    def lister():
        while not stop.is_set():
            res = csa("session", "list", "--json", env=env, cwd=project)
            listings[0] += 1
            if res.returncode != 0 or "Traceback" in res.stderr:
                lister_errors.append(res.stderr)
                continue
            bad = [r for r in json.loads(res.stdout) if r.get("corrupt")]
            if bad:
                lister_errors.append(f"corrupt during the storm: {bad}")

    t = threading.Thread(target=lister, daemon=True)
    t.start()
    started = time.monotonic()
    procs: list[tuple[str, int, str | None, Proc]] = []
    for kind, n in jobs:
        if kind == "new":
            tool = TOOLS[n % len(TOOLS)]
            e = {**env, "FAKE_SLEEP": rng.choice(("0", "0.1", "0.3"))}
            procs.append((kind, n, None, Proc(["run", "--tool", tool, f"new job {n}"], e, project,
                                              stdout=-1)))
        else:
            sid = base_ids[n % len(base_ids)]
            e = {**env, "FAKE_SLEEP": "1.5"}
            procs.append((kind, n, sid, Proc(["run", "-s", sid, f"resume job {n}"], e, project,
                                             stdout=-1)))
    for *_, p in procs:
        p.wait(180)
    storm_s = time.monotonic() - started
    stop.set()
    t.join(60)
    ctx = f"seed={seed}"
    assert not lister_errors, f"{ctx}: {lister_errors[:3]}"

    new_ids: list[str] = []
    winners: dict[str, list[Proc]] = {sid: [] for sid in base_ids}
    losers = 0
    for kind, n, sid, p in procs:
        what = f"{ctx} {kind} job {n}: {p.args}"
        no_crash(p.stderr, what)
        if kind == "new":
            assert p.popen.returncode == 0, f"{what}: {p.stderr}"
            assert p.sid(), what
            assert f"FAKE-REPLY (user turns seen: 1) new job {n}" in p.stdout, what
            new_ids.append(p.sid())
        elif p.popen.returncode == 0:
            winners[sid].append(p)
        else:
            assert p.popen.returncode == 1, f"{what}: rc={p.popen.returncode} {p.stderr}"
            lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
            assert len(lines) == 1 and LOCKED_RE.search(lines[0]) and sid in lines[0], \
                f"{what}: a loser must get the one-line locked error, got {p.stderr!r}"
            losers += 1
    assert len(set(new_ids)) == n_new, f"{ctx}: id collision among {new_ids}"
    assert not set(new_ids) & set(base_ids)

    sdir = sessions_dir(state_dir, project)
    for sid in base_ids:
        wins = winners[sid]
        assert wins, f"{ctx}: no resume of {sid} won"
        seen = sorted(int(TURNS_SEEN.search(p.stdout).group(1)) for p in wins)
        assert seen == list(range(2, 2 + len(wins))), \
            f"{ctx} {sid}: the provider saw overlapping turns: {seen}"
        events = check_transcript(sdir / sid / "transcript.jsonl", f"{ctx} {sid}")
        turns = turns_of(events)
        assert len(turns) == 1 + len(wins), f"{ctx} {sid}"
        for turn in turns:  # one turn at a time: each prompt's events end with its turn_end
            kinds = [e["type"] for e in turn]
            assert kinds[-1] == "turn_end" and kinds.count("turn_end") == 1, f"{ctx} {kinds}"
            assert turn[-1]["exit_code"] == 0
        state = tomllib.loads((sdir / sid / "state.toml").read_text())
        assert state["turn_count"] == 1 + len(wins), ctx
        assert state["run"]["status"] == "finished", ctx
        assert state["tools"][base[sid]]["turn_count"] == 1 + len(wins), ctx
    for sid in new_ids:
        events = check_transcript(sdir / sid / "transcript.jsonl", f"{ctx} {sid}")
        assert [e["type"] for e in events][0] == "prompt" and events[-1]["type"] == "turn_end"
        state = tomllib.loads((sdir / sid / "state.toml").read_text())
        assert state["turn_count"] == 1 and state["run"]["status"] == "finished", ctx

    rows = sessions(env, project)
    assert len(rows) == len(base_ids) + n_new, ctx
    assert all(r["status"] == "active" and not r.get("corrupt") for r in rows), ctx
    res = csa("events", "--json", env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    evs = [json.loads(line) for line in res.stdout.splitlines()]
    count = {k: sum(1 for e in evs if e["type"] == k)
             for k in ("session_start", "resume", "session_end", "lock_conflict")}
    n_wins = sum(len(w) for w in winners.values())
    assert count == {"session_start": len(base_ids) + n_new, "resume": n_wins,
                     "session_end": len(base_ids) + n_new + n_wins, "lock_conflict": losers}, \
        f"{ctx}: {count}"
    assert leftovers(state_dir, project) == [], ctx
    print(f"\nconcurrency: {n_new} new + {n_resume} resumes in {storm_s:.1f}s: "
          f"{n_wins} winners, {losers} locked out, {listings[0]} listings; seed={seed}")
