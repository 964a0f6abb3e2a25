"""`csa session clean` and `csa gc` in a loop against concurrent runs and resumes.

A producer keeps adding sessions that were last accessed 30 days ago (born old, never
backdated later); runners start new sessions and resume random old and recent ones
(some slowly, so clean meets live sessions); a cleaner loops over
`clean --days 10` (sometimes --dry-run or --archive) and `gc`. Invariants:

* no clean/gc ever fails or prints a traceback;
* only old sessions that no run ever resumed successfully are removed; a resume that
  exited 0 and a new run that exited 0 leave a session that survives to the end;
* a failed resume says why in one of the expected ways (locked, removed, no match);
* at the end a last `clean --days 10` removes exactly the old, never-resumed sessions,
  every survivor is consistent, and gc (orphan age 0) leaves no leftovers.

Short: 50 cleaner rounds. --stress-long: 1,000.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from csa.store import Store
from runkit import csa, fake_env, session_id_from, sessions
from stresskit import (
    TOOLS,
    check_transcript,
    kill_strays,
    leftovers,
    no_crash,
    seed_rng,
    session_ids_on_disk,
    sessions_dir,
)

pytestmark = pytest.mark.stress

RESUME_FAILURES = ("is locked by PID", "No session matches", "was removed while this run",
                   "no longer exists")


@pytest.fixture
def env(tmp_path, project):
    e = fake_env(tmp_path)
    yield e
    kill_strays("FAKE_CLI_HOME", e["FAKE_CLI_HOME"])


def _born_old(store: Store, n: int) -> str:
    old = datetime.now(UTC) - timedelta(days=30)

    def build(_hidden, state):
        state.created_at = state.last_accessed = old

    _, state, _ = store.create(description=f"old {n}", build=build)
    return state.meta_session_id


def test_clean_and_gc_loop_never_lose_live_or_resumed_sessions(env, project, state_dir, tmp_path,
                                                               stress_long):
    rng, seed = seed_rng("gc")
    rounds = 1000 if stress_long else 50
    store = Store.open(project)
    lock = threading.Lock()
    old: list[str] = [_born_old(store, i) for i in range(6)]
    recent: list[str] = []
    resumed_ok: set[str] = set()
    removed: dict[str, str] = {}  # sid -> which cleaner call
    problems: list[str] = []
    stop = threading.Event()
    stats = {"resumes": 0, "new": 0, "clean": 0, "gc": 0, "dry": 0}

    def producer():
        n = 100
        while not stop.is_set():
            with lock:
                old.append(_born_old(store, n))
            n += 1
            stop.wait(rng.uniform(0.05, 0.3))

    def runner(k: int):
        r = seed_rng(f"gc-runner-{k}")[0]
        while not stop.is_set():
            with lock:
                pool = old + recent
                if r.random() < 0.85:  # mostly sessions that still exist
                    pool = [s for s in pool if s not in removed] or pool
            if r.random() < 0.25 or not pool:
                res = csa("run", "--tool", r.choice(TOOLS), f"new by runner {k}", env=env,
                          cwd=project)
                what = f"seed={seed} new run"
                if "Traceback" in res.stderr or res.returncode != 0:
                    problems.append(f"{what}: rc={res.returncode} {res.stderr}")
                    continue
                sid = session_id_from(res.stderr)
                with lock:
                    recent.append(sid)
                    stats["new"] += 1
                continue
            sid = r.choice(pool)
            e = {**env, "FAKE_SLEEP": r.choice(("0", "0", "0.2", "0.6"))}
            res = csa("run", "-s", sid, "--tool", r.choice(TOOLS), f"resume by runner {k}",
                      env=e, cwd=project)
            what = f"seed={seed} resume {sid}"
            if "Traceback" in res.stderr or "internal error" in res.stderr:
                problems.append(f"{what}: {res.stderr}")
            elif res.returncode == 0:
                with lock:
                    resumed_ok.add(sid)
                    stats["resumes"] += 1
            elif res.returncode != 1 or not any(m in res.stderr for m in RESUME_FAILURES):
                problems.append(f"{what}: unexpected failure rc={res.returncode} {res.stderr}")
            else:
                reason = next(m for m in RESUME_FAILURES if m in res.stderr)
                with lock:
                    stats[reason] = stats.get(reason, 0) + 1

    threads = [threading.Thread(target=producer, daemon=True)]
    threads += [threading.Thread(target=runner, args=(k,), daemon=True) for k in range(2)]
    for t in threads:
        t.start()
    archive = tmp_path / "archive"
    started = time.monotonic()
    try:
        for i in range(rounds):
            op = rng.random()
            if op < 0.6:
                args = ["session", "clean", "--days", "10", "--json"]
                if rng.random() < 0.1:
                    args += ["--archive", str(archive)]
                kind = "clean"
            elif op < 0.7:
                args, kind = ["session", "clean", "--days", "10", "--dry-run", "--json"], "dry"
            else:
                args, kind = ["gc", "--json"], "gc"
            res = csa(*args, env=env, cwd=project)
            stats[kind] += 1
            no_crash(res.stderr, f"seed={seed} round {i} {args}")
            assert res.returncode == 0, f"seed={seed} round {i} {args}: {res.stderr}"
            report = json.loads(res.stdout)
            if kind == "clean":
                for r in report["removed"]:
                    removed[r["id"]] = f"round {i}"
            elif kind == "dry":
                assert report["dry_run"] is True
            with lock:
                lost = (resumed_ok | set(recent)) & set(removed)
            assert not lost, f"seed={seed} round {i}: clean removed resumed/new sessions {lost}"
    finally:
        stop.set()
        for t in threads:
            t.join(120)
    loop_s = time.monotonic() - started
    ctx = f"seed={seed}"
    assert not problems, f"{ctx}: {problems[:5]}"

    # The end state: one more clean removes exactly the old sessions nobody resumed.
    res = csa("session", "clean", "--days", "10", "--json", env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    for r in json.loads(res.stdout)["removed"]:
        removed[r["id"]] = "final"
    must_live = resumed_ok | set(recent)
    assert not must_live & set(removed), ctx
    on_disk = session_ids_on_disk(state_dir, project)
    assert on_disk == must_live, f"{ctx}: missing {must_live - on_disk}, extra {on_disk - must_live}"
    assert set(old) - resumed_ok == set(removed), ctx
    rows = sessions(env, project)
    assert {r["id"] for r in rows} == must_live
    assert not [r for r in rows if r.get("corrupt") or r["status"] in ("running", "died")], ctx
    sdir = sessions_dir(state_dir, project)
    for sid in must_live:
        events = check_transcript(sdir / sid / "transcript.jsonl", f"{ctx} {sid}")
        assert events and events[-1]["type"] == "turn_end", f"{ctx} {sid}"
    archived = {p.name.split(".")[0] for p in archive.glob("*.tar.gz")} if archive.exists() else set()
    assert archived <= set(removed), ctx
    cfg = project / ".csa" / "config.toml"
    cfg.parent.mkdir(exist_ok=True)
    cfg.write_text("[gc]\norphan_dir_age_s = 0\n")
    res = csa("gc", env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    assert leftovers(state_dir, project) == [], ctx
    print(f"\ngc loop: {rounds} rounds in {loop_s:.1f}s {stats}, {len(removed)} removed "
          f"({len(archived)} archived), {len(must_live)} kept; seed={seed}")
