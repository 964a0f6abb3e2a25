"""The live status line of `csa run` (issue 18): on a terminal only, cleared at the end."""

from __future__ import annotations

import os
import signal
import time

import pytest

from runkit import csa, fake_env, on_tty


@pytest.fixture
def env(tmp_path, project):
    return fake_env(tmp_path, FAKE_SLEEP="2")


def test_status_line_on_a_terminal_then_cleared(env, project):
    shown = on_tty(["run", "--tool", "codex", "slow"], env, project)
    assert "\r\x1b[Kcsa: codex  1s" in shown and "working" in shown, repr(shown)
    before_answer = shown[:shown.index("FAKE-REPLY")]
    assert before_answer.endswith("\r\x1b[K")  # cleared before the answer is printed


def test_no_status_line_on_a_pipe_or_with_quiet(env, project):
    res = csa("run", "--tool", "codex", "slow", env=env, cwd=project)
    assert res.returncode == 0 and "\x1b[K" not in res.stderr and "working" not in res.stderr
    quiet = on_tty(["run", "--quiet", "--tool", "codex", "slow"], env, project)
    assert "\x1b[K" not in quiet and "FAKE-REPLY" in quiet


def test_ctrl_c_says_how_to_resume(env, project):
    import pty
    import select
    import subprocess

    from runkit import CSA

    main, sub = pty.openpty()
    proc = subprocess.Popen([*CSA, "run", "--tool", "codex", "slow"], cwd=project,
                            env={**env, "FAKE_SLEEP": "20"}, stdin=subprocess.DEVNULL,
                            stdout=sub, stderr=sub)
    os.close(sub)
    out = b""
    deadline = time.monotonic() + 60
    while b"working" not in out and time.monotonic() < deadline:
        if select.select([main], [], [], 1)[0]:
            out += os.read(main, 65536)
    proc.send_signal(signal.SIGINT)
    while time.monotonic() < deadline:
        if not select.select([main], [], [], 1)[0]:
            if proc.poll() is not None:
                break
            continue
        try:
            chunk = os.read(main, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    proc.wait(timeout=30)
    os.close(main)
    text = out.decode()
    assert proc.returncode == 130
    assert "csa: interrupted; resume with: csa run -s " in text, repr(text)


def test_the_line_says_tokens_last_tool_and_stalled():
    from csa.status_line import describe

    assert describe("codex", 72, 3410, "command_execution", 1, 300) == \
        "csa: codex  1m12s  3,410 tokens  last tool: command_execution  working"
    assert describe("claude-code", 5, 0, None, 45, 30).endswith("- tokens  stalled (silent 45s)")
    # the configured stall_after, the same clock as is-alive and list
    assert describe("claude-code", 5, 0, None, 45, 300).endswith("- tokens  working")
