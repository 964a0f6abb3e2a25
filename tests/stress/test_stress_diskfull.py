"""Disk full: the state dir on a 2 MiB tmpfs, filled to a few bytes, then runs that hit ENOSPC.

A run whose transcript (or state) write fails with ENOSPC must print a clear error
(no traceback), exit non-zero (or with the tool's code and a warning), leave
state.toml readable and consistent, and keep every transcript byte it had before.
After space is freed the session resumes and its `seq` continues without a gap.
Mounting needs root; without it the tmpfs tests skip, and the unit-level test
(ENOSPC injected into the TranscriptWriter's os.write) still runs.

Short: 5 fill levels with one tool. --stress-long: 9 levels x 4 tools.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import time

import pytest

from csa import transcript as transcript_mod
from csa.store import Store
from csa.transcript import TranscriptWriter, read_events
from runkit import csa, fake_env, session_id_from, sessions
from stresskit import (
    TOOLS,
    check_transcript,
    good_prefix,
    kill_strays,
    leftovers,
    no_crash,
    seed_rng,
    session_ids_on_disk,
    sessions_dir,
)

pytestmark = pytest.mark.stress

FILLER = ".filler"


@pytest.fixture
def small_state(state_dir):
    """CSA_STATE_DIR on a 2 MiB tmpfs (skips where mounting is not permitted)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    try:
        res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs",
                              str(state_dir)], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        pytest.skip(f"cannot mount a tmpfs: {e}")
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root): {res.stderr.strip()}")
    try:
        yield state_dir
    finally:
        for _ in range(50):
            if subprocess.run(["umount", str(state_dir)], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        else:
            subprocess.run(["umount", "-l", str(state_dir)], capture_output=True)


@pytest.fixture
def env(tmp_path, project):
    e = fake_env(tmp_path)
    yield e
    kill_strays("FAKE_CLI_HOME", e["FAKE_CLI_HOME"])


def free_bytes(path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill(state_dir, leave: int) -> None:
    """Fill the tmpfs, then give back `leave` bytes (page-rounded)."""
    path = state_dir / FILLER
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for chunk in (1 << 16, 4096, 1):
            block = b"\0" * chunk
            while True:
                try:
                    if os.write(fd, block) < chunk:
                        break
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
        size = os.fstat(fd).st_size
        os.ftruncate(fd, max(0, size - leave))
    finally:
        os.close(fd)


def unfill(state_dir) -> None:
    try:
        os.unlink(state_dir / FILLER)
    except FileNotFoundError:
        pass


def _check_after_enospc(res, what: str, store: Store, sid: str, before: bytes, tpath) -> None:
    no_crash(res.stderr, what)
    if res.returncode == 0:  # the tool's code: allowed only with a warning
        assert "transcript" in res.stderr or "No space" in res.stderr, f"{what}: {res.stderr}"
    else:
        assert res.returncode == 1, f"{what}: rc={res.returncode} {res.stderr}"
        csa_lines = [ln for ln in res.stderr.splitlines() if ln and not ln.startswith("[")]
        assert csa_lines, what
        assert "No space left on device" in res.stderr or "disk" in res.stderr.lower(), \
            f"{what}: the error does not say the disk is full: {res.stderr}"
    state = store.session(sid).read_state()  # readable, matches its dir
    assert state.meta_session_id == sid
    assert tpath.read_bytes().startswith(before), f"{what}: transcript lost earlier bytes"


def test_enospc_during_runs(small_state, env, project, stress_long):
    state_dir = small_state
    rng, seed = seed_rng("diskfull")
    store = Store.open(project)
    levels = [0, 1024, 8192, 32768, 100_000, 200_000, 400_000, 700_000, 1_000_000]
    tools = TOOLS if stress_long else (rng.choice(TOOLS),)
    if not stress_long:
        levels = [0, 8192, 100_000, rng.choice(levels[4:]), 700_000]
    outcomes = []
    for tool in tools:
        sid = tpath = None
        for leave in levels:
            if tpath is None or tpath.stat().st_size > 500_000:
                # start over with a fresh session before the transcript fills the 2 MiB
                for other in session_ids_on_disk(state_dir, project):
                    res = csa("session", "delete", "-s", other, env=env, cwd=project)
                    assert res.returncode == 0, res.stderr
                res = csa("run", "--tool", tool, "first turn", env=env, cwd=project)
                assert res.returncode == 0, res.stderr
                sid = session_id_from(res.stderr)
                tpath = sessions_dir(state_dir, project) / sid / "transcript.jsonl"
            what = f"seed={seed} {tool} leave={leave}"
            before = good_prefix(tpath)
            n_before = len(check_transcript(tpath, what))
            fill(state_dir, leave)
            res = csa("run", "-s", sid, "--tool", tool, "a huge turn", env={
                **env, "FAKE_HUGE_MB": "1.2"}, cwd=project)
            outcomes.append((tool, leave, res.returncode))
            _check_after_enospc(res, what, store, sid, before, tpath)
            # a new session on the full disk: an error or a complete session, never half
            new = csa("run", "--tool", tool, "new on a full disk", env=env, cwd=project)
            no_crash(new.stderr, f"{what} new run")
            assert new.returncode in (0, 1), f"{what} new run: {new.stderr}"
            if new.returncode != 0:  # nothing half-made stays behind
                assert not [x for x in leftovers(state_dir, project) if ".new-" in x], what
            listing = csa("session", "list", "--json", env=env, cwd=project)
            no_crash(listing.stderr, f"{what} list")
            assert listing.returncode == 0, f"{what}: {listing.stderr}"
            unfill(state_dir)
            rows = sessions(env, project)
            assert not [r for r in rows if r.get("corrupt")], f"{what}: {rows}"
            alive = csa("session", "is-alive", "-s", sid, env=env, cwd=project)
            assert alive.returncode == 1, f"{what}: {alive.stdout}{alive.stderr}"
            ok = csa("run", "-s", sid, "--tool", tool, "after freeing space", env=env,
                     cwd=project)
            assert ok.returncode == 0, f"{what}: resume after freeing space: {ok.stderr}"
            events = check_transcript(tpath, what)
            assert len(events) > n_before and events[-1]["type"] == "turn_end", what
            assert tpath.read_bytes().startswith(before), what
            state = store.session(sid).read_state()
            assert state.run is not None and state.run.status == "finished", what
            # keep the tmpfs from filling up with earlier turns
            for other in session_ids_on_disk(state_dir, project) - {sid}:
                res = csa("session", "delete", "-s", other, env=env, cwd=project)
                assert res.returncode == 0, res.stderr
    cfg = project / ".csa" / "config.toml"
    cfg.parent.mkdir(exist_ok=True)
    cfg.write_text("[gc]\norphan_dir_age_s = 0\n")
    res = csa("gc", env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    assert leftovers(state_dir, project) == [], f"seed={seed}"
    print(f"\ndisk full: {len(outcomes)} runs on a full tmpfs, exit codes "
          f"{sorted({o[2] for o in outcomes})}; seed={seed}")


# -- unit level: ENOSPC injected into the transcript writer's writes --------------------------

@pytest.mark.parametrize("fail_after", [0, 1, 57, 300, 4096, 20_000])
def test_transcript_writer_enospc_loses_nothing(tmp_path, monkeypatch, fail_after):
    path = tmp_path / "transcript.jsonl"
    with TranscriptWriter(path) as tw:
        for i in range(20):
            tw.append("prompt", text=f"turn {i}")
    before = path.read_bytes()
    budget = [fail_after]
    real_write = os.write

    def write(fd, data):
        if budget[0] <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = real_write(fd, bytes(data[:budget[0]]))
        budget[0] -= n
        return n

    tw = TranscriptWriter(path, flush_bytes=1 << 30, flush_interval=1e9)
    for i in range(200):
        tw.append_stdout_line(json.dumps({"type": "x", "n": i, "pad": "y" * 50}))
    monkeypatch.setattr(transcript_mod.os, "write", write)
    with pytest.raises(OSError) as exc:
        tw.flush()
    assert exc.value.errno == errno.ENOSPC
    # the failed batch is cut back: no torn line, nothing earlier lost
    assert path.read_bytes() == before
    monkeypatch.setattr(transcript_mod.os, "write", real_write)
    # space is back: the same writer goes on without a gap or a corrupt line
    tw.append("turn_end", exit_code=0)
    tw.close()
    with TranscriptWriter(path) as tw2:  # and so does the next one
        tw2.append("prompt", text="after")
    assert path.read_bytes().startswith(before)
    errors: list = []
    events = list(read_events(path, errors=errors))
    assert errors == []
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert [e["type"] for e in events[-2:]] == ["turn_end", "prompt"]
    assert events[-1]["text"] == "after"
