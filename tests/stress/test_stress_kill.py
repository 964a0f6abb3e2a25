"""Chaos: `kill -9` of `csa run` (and of its tool) at random points, then check everything.

Each round starts one csa command and SIGKILLs it after a random delay: while the
session is being created, while it relays a slow or huge turn, around the final
state write and the lock release, or (a few rounds) csa and its tool together, or a
`csa session delete` half-way. Delays are drawn from the phase being aimed at (from
the spawn, or from the "csa: session ..." announcement). Then every session must be
listable and not corrupt, keep what its transcript held before each round, read with
contiguous `seq` (a torn tail only where the next writer drops it), be not alive, and
resume; a session whose id was announced must exist; `csa gc` with
`gc.orphan_dir_age_s = 0` must leave no `.new-*`/`.trash-*`/temp leftovers.

Short: 25 rounds. --stress-long: 200 rounds. STRESS_SEED=N replays a run.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter

import pytest

from csa.store import Store
from runkit import csa, fake_env, sessions
from stresskit import (
    TOOLS,
    Proc,
    check_transcript,
    good_prefix,
    kill_strays,
    leftovers,
    no_crash,
    seed_rng,
    session_ids_on_disk,
    sessions_dir,
    wait_no_strays,
)

pytestmark = pytest.mark.stress

KINDS = ("new", "new_late", "at_create", "at_create", "resume", "resume_late", "resume_slow",
         "resume_huge", "at_state_write", "at_state_write", "at_turn_end", "at_turn_end",
         "both", "both", "delete")
# Kinds that watch the file system and kill the moment a phase starts.
WATCHED = {"at_create", "at_state_write", "at_turn_end"}


@pytest.fixture
def chaos_env(tmp_path, project):
    env = fake_env(tmp_path)
    yield env
    kill_strays("FAKE_CLI_HOME", env["FAKE_CLI_HOME"])


def _kill_round(rng, kind: str, env: dict, project, pool: list[str], state_dir) -> dict:
    """One round; returns what happened (for the invariants and the failure message)."""
    extra: dict[str, str] = {}
    tool = rng.choice(TOOLS)
    fresh = kind.startswith("new") or kind == "at_create"
    sid = rng.choice(pool) if pool and not fresh else None
    if (sid is None and not fresh) or (kind == "delete" and len(pool) < 4):
        kind, sid = "new", None
    if kind == "resume_slow" or kind == "both":
        extra["FAKE_SLEEP"] = f"{rng.uniform(0.05, 0.4):.3f}"
    if kind == "resume_huge":
        extra["FAKE_HUGE_MB"] = str(rng.choice((1, 2, 3)))
    run_env = {**env, **extra}
    prefix = b""
    if kind == "delete":
        args = ["session", "delete", "-s", sid] + (["--force"] if rng.random() < 0.3 else [])
    elif sid is not None:
        args = ["run", "-s", sid, "--tool", tool, f"resume round {kind}"]
        prefix = good_prefix(sessions_dir(state_dir, project) / sid / "transcript.jsonl")
    else:
        args = ["run", "--tool", tool, f"new round {kind}"]
    p = Proc(args, run_env, project)
    if kind in WATCHED:
        _kill_when(p, _phase_started(kind, state_dir, project, sid))
    elif kind in ("new_late", "resume_late"):
        # aim at the end of the turn: final state write, result, lock release
        p.announced.wait(10)
        time.sleep(rng.uniform(0.0, 0.12))
        p.kill9()
    elif kind == "both":
        deadline = time.monotonic() + 5
        while not p.tool_pids() and p.popen.poll() is None and time.monotonic() < deadline:
            time.sleep(0.003)
        time.sleep(rng.uniform(0.0, 0.08))
        p.kill9(with_tool=True, rng=rng)
    else:
        time.sleep(rng.uniform(0.0, 0.45 if kind != "resume_slow" else 0.7))
        p.kill9()
    rc = p.wait(30)
    return {"kind": kind, "args": args, "rc": rc, "stderr": p.stderr, "sid": sid,
            "announced": p.sid() if sid is None else None, "prefix": prefix, "env": extra}


def _phase_started(kind: str, state_dir, project, sid: str | None):
    """A predicate that turns true when the aimed-at phase of the run has begun
    (names left by earlier rounds' kills do not count)."""
    sdir = sessions_dir(state_dir, project)
    if kind == "at_create":  # the hidden dir a new session is built in
        old = set(_listdir(sdir))
        return lambda: any(n.startswith(".new-") and n not in old for n in _listdir(sdir))
    if kind == "at_state_write":  # atomic_write's temp file next to state.toml
        old = set(_listdir(sdir / sid))
        return lambda: any(n.startswith(".state.toml.") and n not in old
                           for n in _listdir(sdir / sid))
    transcript = sdir / sid / "transcript.jsonl"
    ends = good_prefix(transcript).count(b'"type":"turn_end"')
    return lambda: good_prefix(transcript).count(b'"type":"turn_end"') > ends


def _listdir(path) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def _kill_when(p: Proc, started, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and p.popen.poll() is None:
        if started():
            break
    p.kill9()


def test_kill9_chaos(chaos_env, project, state_dir, stress_long):
    env = chaos_env
    rng, seed = seed_rng("kill")
    rounds = 200 if stress_long else 25
    started = time.monotonic()
    pool: list[str] = []
    deleted: set[str] = set()
    announced: set[str] = set()
    log: list[dict] = []
    # a few sessions with finished turns to resume
    for tool in TOOLS[:2]:
        res = csa("run", "--tool", tool, "seed session", env=env, cwd=project)
        assert res.returncode == 0, res.stderr
    pool += sorted(session_ids_on_disk(state_dir, project))
    for i in range(rounds):
        kind = rng.choice(KINDS)
        r = _kill_round(rng, kind, env, project, pool, state_dir)
        r["round"] = i
        log.append(r)
        ctx = f"seed={seed} round {i}: {r['args']} env={r['env']} rc={r['rc']}"
        no_crash(r["stderr"], ctx)
        if r["rc"] != -9:  # it finished before the kill
            if r["kind"] == "delete":
                assert r["rc"] in (0, 1), f"{ctx}\n{r['stderr']}"
            else:
                assert r["rc"] in (0, 1), f"{ctx}\n{r['stderr']}"
                if r["rc"] == 1:  # only a busy session (an orphaned tool) is acceptable
                    assert "is locked by PID" in r["stderr"], f"{ctx}\n{r['stderr']}"
        if r["announced"]:
            announced.add(r["announced"])
        on_disk = session_ids_on_disk(state_dir, project)
        if r["kind"] == "delete" and r["sid"] not in on_disk:
            deleted.add(r["sid"])
        for s in announced - deleted:
            assert s in on_disk, f"{ctx}: announced session {s} does not exist"
        if r["sid"] and r["sid"] in on_disk:
            now = (sessions_dir(state_dir, project) / r["sid"] / "transcript.jsonl")
            assert now.read_bytes().startswith(r["prefix"]) if now.exists() else not r["prefix"], \
                f"{ctx}: the transcript lost or changed what it held before the round"
        pool = sorted(on_disk)
    chaos_s = time.monotonic() - started
    killed = Counter(r["kind"] for r in log if r["rc"] == -9)

    # Let orphaned tools (their csa was killed) finish, as they would on a real machine.
    wait_no_strays("FAKE_CLI_HOME", env["FAKE_CLI_HOME"], timeout=20)
    ctx = f"seed={seed}"
    ids = session_ids_on_disk(state_dir, project)
    assert announced - deleted <= ids, ctx
    rows = sessions(env, project)
    assert {r["id"] for r in rows} == ids, ctx
    corrupt = [r for r in rows if r.get("corrupt")]
    assert not corrupt, f"{ctx}: corrupt sessions after kill -9: {corrupt}"
    store = Store.open(project)
    sdir = sessions_dir(state_dir, project)
    for sid in sorted(ids):
        store.session(sid).read_state()  # raises on a corrupt state.toml
        before = check_transcript(sdir / sid / "transcript.jsonl", f"{ctx} {sid}")
        alive = csa("session", "is-alive", "-s", sid, env=env, cwd=project)
        assert alive.returncode == 1 and alive.stdout.strip() == "not alive", \
            f"{ctx} {sid}: {alive.stdout} {alive.stderr}"
        res = csa("run", "-s", sid, "after the chaos", env=env, cwd=project)
        no_crash(res.stderr, f"{ctx} resume {sid}")
        assert res.returncode == 0, f"{ctx} resume {sid}: {res.stderr}"
        after = check_transcript(sdir / sid / "transcript.jsonl", f"{ctx} {sid} after resume")
        assert after[:len(before)] == before, f"{ctx} {sid}: resume rewrote history"
        assert after[-1]["type"] == "turn_end" and after[-1]["exit_code"] == 0
    rows = sessions(env, project)
    assert not [r for r in rows if r.get("corrupt") or r.get("status") in ("running", "died")]

    # What gc collects with no age limit is everything a kill can leave behind.
    cfg = project / ".csa" / "config.toml"
    cfg.parent.mkdir(exist_ok=True)
    cfg.write_text("[gc]\norphan_dir_age_s = 0\n")
    res = csa("gc", "--json", env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert leftovers(state_dir, project) == [], f"{ctx}: gc left {leftovers(state_dir, project)}"
    print(f"\nkill chaos: {rounds} rounds in {chaos_s:.1f}s, {len(ids)} sessions, "
          f"{len(deleted)} deleted, gc removed {len(report['orphan_dirs'])} orphan dirs and "
          f"{len(report['stale_locks'])} stale locks; killed by kind {dict(killed)}; seed={seed}")
