"""Start-up stays lean: what `csa --help`, `csa run` (up to the tool's spawn) and the
listing commands import (issue 15). Import lists, not timings: timings belong in
tools/bench.py."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from csa.cli import LAZY_COMMANDS
from runkit import fake_env

# The csa modules a command imported, printed by the command's own process.
MODULES_AFTER = """
import sys
from csa.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("MODULES", *sorted(m for m in sys.modules if m.startswith("csa") or m == "filelock"),
      file=sys.stderr)
"""


def csa_modules(*args: str, env: dict, cwd) -> list[str]:
    res = subprocess.run([sys.executable, "-c", MODULES_AFTER, *args], env=env, cwd=cwd,
                         capture_output=True, text=True, timeout=60)
    return next(line.split()[1:] for line in res.stderr.splitlines()
                if line.startswith("MODULES")), res.stdout


def test_help_lists_every_command_without_importing_its_module(tmp_path, project):
    modules, out = csa_modules("--help", env=fake_env(tmp_path), cwd=project)
    assert not [m for m in modules if m.startswith("csa.cli.")], modules
    for name, (_module, _attr, short) in LAZY_COMMANDS.items():
        assert f"{name} " in out and short[:30] in out, (name, out)


def test_session_help_imports_none_of_its_subcommands_modules(tmp_path, project):
    from csa.cli.session import SESSION_LAZY

    modules, out = csa_modules("session", "--help", env=fake_env(tmp_path), cwd=project)
    lazy = {module for module, _attr, _help in SESSION_LAZY.values()}
    assert not lazy & set(modules), modules
    assert "search " in out and "Full-text search" in out


def test_a_run_writes_its_summary_row_after_the_spawn_not_before(tmp_path, project):
    import sqlite3

    from csa.store import Store
    from runkit import csa, imported_before_spawn, sessions

    env = fake_env(tmp_path)
    assert csa("session", "list", env=env, cwd=project).returncode == 0  # the index exists
    before = imported_before_spawn("run", "-q", "--tool", "codex", "hi", env=env, cwd=project)
    assert "sqlite3" not in before and "ulid" in before
    assert "difflib" not in before and "typing_extensions" not in before  # -q; python-ulid
    assert "tomllib" not in before  # no config file, no usage stats yet: nothing to parse
    sid = sessions(env, project)[0]["id"]
    before = imported_before_spawn("run", "-q", "-s", sid, "again", env=env, cwd=project)
    assert "sqlite3" not in before
    # ...and the row is there, written from the final state.toml (not left to a listing).
    store = Store.open(project)
    db = sqlite3.connect(store.cache_dir / "summaries.db")
    status, size = db.execute("SELECT status, size FROM s WHERE id = ?", (sid,)).fetchone()
    assert size == store.session(sid).state_path.stat().st_size and status != "running"


def test_a_quick_run_never_imports_filelock(tmp_path, project):
    """filelock (~15 ms to import) is for the usage stats, which a tool done within one
    sample does not update (csa.usage.PeakSampler.measured)."""
    modules, _out = csa_modules("run", "-q", "--tool", "codex", "hi", env=fake_env(tmp_path),
                                cwd=project)
    assert "csa.turn.pipeline" in modules and "filelock" not in modules


def test_a_plain_listing_reads_index_rows_without_the_state_module(tmp_path, project):
    from runkit import csa

    env = fake_env(tmp_path)
    assert csa("run", "-q", "--tool", "codex", "hi", env=env, cwd=project).returncode == 0
    # Older than the index's racy window (a fresh state.toml is parsed again), then indexed.
    for path in Path(env["CSA_STATE_DIR"]).rglob("state.toml"):
        os.utime(path, (time.time() - 60, time.time() - 60))
    assert csa("session", "list", env=env, cwd=project).returncode == 0
    for args in (("session", "list", "--limit", "20"), ("session", "list", "--tree")):
        modules, out = csa_modules(*args, env=env, cwd=project)
        assert "hi" in out and "csa.state" not in modules, (args, modules)
    modules, out = csa_modules("session", "list", "--status", "active", env=env, cwd=project)
    assert "hi" in out  # a filter by phase still knows the phases


def test_short_options_skip_the_long_match_and_errors_read_as_before():
    from click.testing import CliRunner

    from csa.cli import cli

    runner = CliRunner()
    res = runner.invoke(cli, ["run", "-qx", "--tool", "codex", "hi"])
    assert res.exit_code == 2 and "No such option '-x'" in res.output
    res = runner.invoke(cli, ["run", "--toool", "codex", "hi"])
    assert res.exit_code == 2 and "--tool" in res.output.split("Did you mean")[1]
    res = runner.invoke(cli, ["session", "list", "-h"])
    assert res.exit_code == 0 and "--limit" in res.output


EXIT_NOW = """
import sys, threading, time
from csa.cli import exit_now
mode, mark = sys.argv[1], sys.argv[2]
if mode == "thread":  # a thread that is not a daemon is waited for
    def work():
        time.sleep(0.3)
        with open(mark, "w") as f:
            f.write("done")
    threading.Thread(target=work).start()
import atexit
atexit.register(lambda: open(mark + ".atexit", "w").close())
print("buffered", end="")  # stdout is a pipe: block-buffered until the flush
exit_now({"thread": 3, "message": "csa: gone", "none": None}[mode])
"""


def test_exit_now_flushes_runs_atexit_waits_for_threads_and_keeps_the_status(tmp_path):
    """csa's processes end through exit_now (no interpreter teardown): nothing printed,
    registered or still being written by a thread may be lost, and the status is kept."""
    for mode, status, err in (("thread", 3, ""), ("message", 1, "csa: gone\n"),
                              ("none", 0, "")):
        mark = tmp_path / mode
        res = subprocess.run([sys.executable, "-c", EXIT_NOW, mode, str(mark)],
                             capture_output=True, text=True, timeout=30)
        assert (res.returncode, res.stdout, res.stderr) == (status, "buffered", err), mode
        assert (tmp_path / f"{mode}.atexit").exists(), mode
        if mode == "thread":
            assert mark.read_text() == "done"
