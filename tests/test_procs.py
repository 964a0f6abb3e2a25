"""csa.procs (psutil): start times against pid reuse, process trees, their memory, stopping them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tomllib

from csa import procs
from csa.lock import pid_alive, proc_start_time
from runkit import FAKE_BIN, csa, fake_env, imported_before_spawn, wait_for

MB = 2**20
# A process that starts a grandchild holding `mb` MiB (touched, so resident) for `hold` s.
TREE = """
import os, sys, time
mb, hold = int(sys.argv[1]), float(sys.argv[2])
if os.fork() == 0:
    if len(sys.argv) > 3:
        os.setsid()  # leaves the process group, as a daemonizing tool would
    block = bytearray(mb * 2**20)
    for i in range(0, len(block), 4096):
        block[i] = 1
    print(os.getpid(), flush=True)
    time.sleep(hold)
    os._exit(0)
os.wait()
"""


def _start_tree(mb: int, hold: float, *leave_group: str) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-c", TREE, str(mb), str(hold), *leave_group],
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    grandchild = int(proc.stdout.readline())
    return proc, grandchild


def test_start_time_and_alive_guard_against_pid_reuse():
    me = os.getpid()
    start = procs.start_time(me)
    assert start is not None and abs(start - time.time()) < 3600 * 24 * 365
    assert procs.alive(me) and procs.alive(me, start)
    assert not procs.alive(me, start + 5)  # same pid, another process's start time
    assert not procs.alive(None) and not procs.alive("12") and not procs.alive(-1)
    assert not procs.alive(me, "yesterday")
    # the old names in csa.lock keep working on top of csa.procs
    assert proc_start_time(me) == start and pid_alive(me, start)


def test_a_dead_or_zombie_process_is_not_alive():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    start = procs.start_time(p.pid)
    wait_for(lambda: procs._process(p.pid) is None, timeout=10)  # a zombie until reaped
    assert not procs.alive(p.pid, start)
    p.wait()
    assert procs.start_time(p.pid) is None and not procs.alive(p.pid)


def test_tree_rss_counts_the_grandchild():
    proc, grandchild = _start_tree(60, 30)
    try:
        assert grandchild in [p.pid for p in procs.descendants(proc.pid)]
        whole = procs.tree_rss(proc.pid)
        assert whole >= 60 * MB
        assert whole > procs.tree_rss(grandchild) > 55 * MB
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_stop_tree_reaches_a_descendant_that_left_the_group():
    proc, grandchild = _start_tree(1, 60, "setsid")
    g_start = procs.start_time(grandchild)
    assert os.getpgid(grandchild) != proc.pid
    procs.stop_tree(proc.pid, procs.start_time(proc.pid), grace=5)
    proc.wait(10)
    wait_for(lambda: not procs.alive(grandchild, g_start), timeout=10)


def test_stop_tree_signals_nothing_when_the_start_time_does_not_match():
    proc, grandchild = _start_tree(1, 60)
    try:
        procs.stop_tree(proc.pid, procs.start_time(proc.pid) + 7, grace=0.1)
        time.sleep(0.2)
        assert proc.poll() is None and procs.alive(grandchild)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_recorded_peak_rss_includes_the_tools_grandchild(tmp_path, project, state_dir):
    """A tool whose child starts a 80 MiB grandchild: the P95 history records the tree."""
    tool = tmp_path / "codex-with-tree"
    tool.write_text(f"#!{sys.executable}\n"
                    "import os, subprocess, sys\n"
                    f"subprocess.Popen([sys.executable, '-c', {TREE!r}, '80', '3'],\n"
                    "                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
                    f"os.execv({str(FAKE_BIN / 'codex')!r}, [{str(FAKE_BIN / 'codex')!r},"
                    " *sys.argv[1:]])\n")
    tool.chmod(0o755)
    cfg = project / ".csa" / "config.toml"
    cfg.parent.mkdir()
    cfg.write_text(f'[tools.codex]\nbinary = "{tool}"\n')
    env = fake_env(tmp_path, FAKE_SLEEP="2.5")
    assert csa("trust", env=env, cwd=project).returncode == 0  # a project's binary needs trust
    res = csa("run", "--tool", "codex", "measure the tree", env=env, cwd=project)
    assert res.returncode == 0, res.stderr
    stats = tomllib.loads((state_dir / str(project).lstrip("/") / "usage_stats.toml")
                          .read_text())
    peak = stats["tools"]["codex"]["peak_rss_bytes"][-1]
    # The fake tool alone is a small Python process (well under 40 MiB): only the
    # grandchild's 80 MiB can lift the tree's peak past that.
    assert peak > 80 * MB, peak


def test_start_times_read_from_procfs_equal_psutils():
    """Records written with either must compare equal (alive() allows 1 ms)."""
    import psutil

    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(2)"])
    try:
        for pid in (os.getpid(), p.pid, 1):
            assert procs._procfs_start_time(pid) == psutil.Process(pid).create_time()
    finally:
        p.kill()
        p.wait()
    assert procs._procfs_start_time(p.pid) is None and procs.start_time(p.pid) is None


def test_own_rss_from_procfs_equals_psutils_and_the_first_sample_needs_no_psutil():
    import psutil

    p = subprocess.Popen(["sleep", "5"])
    try:
        # until exec and the loader are done its memory still changes (right after the
        # fork it is the forked copy's): compare once it is "sleep" and two reads agree
        proc = psutil.Process(p.pid)
        wait_for(lambda: proc.cmdline()[:1] == ["sleep"] and procs.own_rss(p.pid) > 0)
        wait_for(lambda: procs.own_rss(p.pid) == proc.memory_info().rss)
        code = ("import sys; from csa.usage import PeakSampler; s = PeakSampler(int(sys.argv[1]));"
                " s.sample(); print(s.peak, 'psutil' in sys.modules)")
        out = subprocess.run([sys.executable, "-c", code, str(p.pid)], capture_output=True,
                             text=True, timeout=30).stdout.split()
        assert int(out[0]) > 0 and out[1] == "False", out
    finally:
        p.kill()
        p.wait()
    assert procs.own_rss(p.pid) == 0


def test_a_run_imports_no_psutil_before_the_tools_spawn(tmp_path, project):
    env = fake_env(tmp_path)
    for _ in range(2):  # the second run has a memory history (the pre-run memory check)
        before = imported_before_spawn("run", "-q", "--tool", "codex", "hello", env=env,
                                       cwd=project)
        assert "ulid" in before and "psutil" not in before
