"""Colour and paging like git (issue 18): only on a terminal; NO_COLOR and --no-color."""

from __future__ import annotations

import pytest

from runkit import csa, fake_env, on_tty, session_id_from

ESC = "\x1b["


@pytest.fixture
def env(tmp_path, project):
    return {**fake_env(tmp_path), "PAGER": "cat", "TERM": "xterm"}


@pytest.fixture
def failed_and_ok(env, project):
    csa("run", "--tool", "codex", "fine", env=env, cwd=project)
    csa("run", "--tool", "codex", "bad", env={**env, "FAKE_EXIT": "1"}, cwd=project)


def test_list_colours_statuses_on_a_terminal_only(env, project, failed_and_ok):
    shown = on_tty(["session", "list"], env, project)
    assert f"{ESC}31mfailed{ESC}0m" in shown and f"{ESC}32mactive{ESC}0m" in shown
    lines = [x for x in shown.replace("\r", "").splitlines() if x.strip()]
    plain = [x.replace(f"{ESC}31m", "").replace(f"{ESC}32m", "").replace(f"{ESC}0m", "")
             for x in lines]
    assert len({x.index("codex") for x in plain[1:]}) == 1  # columns still line up
    piped = csa("session", "list", env=env, cwd=project)
    assert ESC not in piped.stdout


@pytest.mark.parametrize("how", ["NO_COLOR", "--no-color", "csa --no-color"])
def test_no_color_output_has_no_escape_codes(env, project, failed_and_ok, how):
    if how == "NO_COLOR":
        shown = on_tty(["session", "list", "--tree"], {**env, "NO_COLOR": "1"}, project)
    elif how == "--no-color":
        shown = on_tty(["session", "list", "--no-color"], env, project)
    else:
        shown = on_tty(["--no-color", "session", "list"], env, project)
    assert "failed" in shown and ESC not in shown


def test_logs_go_through_the_pager_on_a_terminal(env, project, tmp_path):
    sid = session_id_from(csa("run", "--tool", "codex", "hi", env={**env, "FAKE_EXIT": "1"},
                              cwd=project).stderr)
    marker = tmp_path / "paged"
    pager = tmp_path / "pager.sh"
    pager.write_text(f"#!/bin/sh\necho \"LESS=$LESS\" > {marker}\nexec cat\n")
    pager.chmod(0o755)
    shown = on_tty(["session", "logs", "-s", sid], {**env, "PAGER": str(pager)}, project)
    assert marker.read_text().strip() == "LESS=FRX" and "prompt (codex)" in shown
    assert f"{ESC}31m" in shown  # the failed turn's end is red
    marker.unlink()
    piped = csa("session", "logs", "-s", sid, env={**env, "PAGER": str(pager)}, cwd=project)
    assert not marker.exists() and ESC not in piped.stdout and "prompt (codex)" in piped.stdout
    nc = on_tty(["session", "logs", "-s", sid, "--no-color"], {**env, "PAGER": str(pager)},
                project)
    assert ESC not in nc and marker.exists()


def test_status_column_keeps_alignment():
    from csa import colour
    from csa.cli.output import table

    text = table(["ID", "STATUS", "TOOL"], [["a", "failed", "x"], ["bb", "running", "y"]])
    painted = colour.status_column(text)
    assert painted.replace(f"{ESC}31m", "").replace(f"{ESC}36m", "").replace(
        f"{ESC}0m", "") == text
    assert f"{ESC}31mfailed{ESC}0m" in painted and f"{ESC}36mrunning{ESC}0m" in painted
