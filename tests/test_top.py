"""`csa top` (issue 18): the live session tree, driven with Textual's pilot."""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from helpers import make_session
from runkit import fake_env, spawn

pytest.importorskip("textual")


@pytest.fixture
def store(project):
    from csa.store import Store

    return Store.open()


def _table_text(app) -> list[tuple]:
    from textual.widgets import DataTable

    table = app.query_one(DataTable)
    return [tuple(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]


def test_snapshot_of_a_tree(store):
    """Own text snapshot: the rows, with ids masked and the columns aligned."""
    from csa.top import as_text, snapshot

    parent = make_session(store, "plan the parser", tools={"codex": "t1"})
    make_session(store, "write the tests", parent=parent.meta_session_id, depth=1,
                 tools={"claude-code": "c1"}, created_offset_s=1)
    make_session(store, "alone", phase="retired", created_offset_s=2)
    text = re.sub(r"01[0-9A-Z]{8}", "<ID>".ljust(10, "_"), as_text(snapshot(store)))
    text = re.sub(r"done \d+s ago|done just now", "done <AGO>", text)
    assert text == (
        "SESSION                        TOOL         STATE  ELAPSED  TURNS  TOKENS  COST  LAST EVENT\n"
        "<ID>______ alone               -            done   0s       0      -       -     done <AGO>\n"
        "<ID>______ plan the parser     codex        done   0s       0      -       -     done <AGO>\n"
        "└─ <ID>______ write the tests  claude-code  done   0s       0      -       -     done <AGO>\n")


def test_running_child_shows_under_its_parent_within_a_second_then_done(store, project,
                                                                         tmp_path):
    from csa.top_app import TopApp

    parent = make_session(store, "the parent", tools={"codex": "t1"})
    env = {**fake_env(tmp_path, FAKE_SLEEP="3"), "CSA_SESSION_ID": parent.meta_session_id,
           "CSA_DEPTH": "1"}

    async def scenario():
        app = TopApp(store, refresh_s=0.2)
        async with app.run_test(size=(160, 30)) as pilot:
            await pilot.pause(0.3)
            assert [r[0] for r in _table_text(app)][0].endswith("the parent")
            child = spawn("run", "--tool", "codex", "the child", env=env, cwd=project)
            try:
                seen_at = None
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:  # the run itself may take a while to start
                    await pilot.pause(0.1)
                    rows = _table_text(app)
                    if len(rows) == 2 and rows[1][2] == "working":
                        seen_at = time.monotonic()
                        break
                assert seen_at, _table_text(app)
                assert rows[1][0].startswith("└─ ") and rows[1][0].endswith("the child")
                child.communicate(timeout=60)
                ended = time.monotonic()
                while _table_text(app)[1][2] != "done" and time.monotonic() - ended < 1.0:
                    await pilot.pause(0.1)
                assert _table_text(app)[1][2] == "done"
                assert time.monotonic() - ended <= 1.0 + 0.3  # followed within a refresh
            finally:
                child.kill()

    asyncio.run(scenario())


def test_keys_filter_kill_confirmation_and_quit(store, project, tmp_path):
    from csa.top_app import ConfirmKill, TopApp

    make_session(store, "alpha job", tools={"codex": "t1"})
    make_session(store, "beta job", tools={"claude-code": "c1"}, created_offset_s=1)

    async def scenario():
        app = TopApp(store, refresh_s=0.2)
        async with app.run_test(size=(160, 30)) as pilot:
            await pilot.pause(0.3)
            assert len(_table_text(app)) == 2
            await pilot.press("slash")
            await pilot.press(*"alpha", "enter")
            await pilot.pause(0.3)
            rows = _table_text(app)
            assert len(rows) == 1 and rows[0][0].endswith("alpha job")
            await pilot.press("k")
            await pilot.pause(0.1)
            assert isinstance(app.screen, ConfirmKill)
            await pilot.press("y")
            await pilot.pause(0.3)
            assert "is not running" in app.message  # it was asked, and said why
            await pilot.press("q")
        assert app.return_code in (0, None)

    asyncio.run(scenario())


def test_top_once_prints_text(store, project):
    from helpers import invoke

    make_session(store, "gamma", tools={"codex": "t1"})
    res = invoke("top", "--once")
    assert res.exit_code == 0 and res.stdout.startswith("SESSION")
    assert "gamma" in res.stdout


def test_a_session_running_in_an_old_tree_is_shown_first(store, project, tmp_path):
    """Only the newest trees are read, but a running session is never left out."""
    from csa.top import snapshot

    old = make_session(store, "an old tree", tools={"codex": "t1"})
    for i in range(4):
        make_session(store, f"newer {i}", created_offset_s=i + 1)
    env = {**fake_env(tmp_path, FAKE_SLEEP="20"), "CSA_SESSION_ID": old.meta_session_id,
           "CSA_DEPTH": "1"}
    child = spawn("run", "--tool", "codex", "still working", env=env, cwd=project)
    try:
        deadline, rows = time.monotonic() + 30, []
        while time.monotonic() < deadline:
            rows = snapshot(store, max_trees=2)
            if rows and rows[0].label.endswith("still working"):
                break
            time.sleep(0.2)
        assert rows[0].label.endswith("still working"), [r.label for r in rows]
        assert rows[0].state in ("working", "stalled")
        assert "an old tree" not in " ".join(r.label for r in rows)  # its tree is not read
    finally:
        child.kill()
        child.communicate()
