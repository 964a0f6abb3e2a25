"""The turn pipeline as a library: hook points and their order, refusals, several turns
on one claim (how compaction runs), and a refused claim."""

from __future__ import annotations

import os

import pytest

from csa.errors import CsaError, SessionLocked
from csa.store import Store
from csa.turn import RunRequest, TurnOptions, run, run_turn
from csa.turn.choose import resume_choice
from csa.turn.claim import release, take
from csa.turn.hooks import SPECS, Hooks, TurnRefused, builtin_hooks
from runkit import fake_env


@pytest.fixture
def fakes(tmp_path, project, monkeypatch):
    for key, value in fake_env(tmp_path, FAKE_LOG=str(tmp_path / "fake.log")).items():
        monkeypatch.setenv(key, value)
    return project


class Recorder:
    """A third-party hook: records each call (and what the turn looked like then)."""

    def __init__(self):
        self.calls: list[str] = []
        for spec in SPECS:
            setattr(self, spec, self._recorder(spec))

    def _recorder(self, spec: str):
        def hook(*args):
            if not self.calls or self.calls[-1] != spec:  # one entry per run of ticks
                self.calls.append(spec)
            if spec == "during_turn":
                turn = args[0]
                self.tool_running = turn.proc is not None and turn.writer is not None
        return hook


def with_recorder() -> tuple[Hooks, Recorder]:
    rec = Recorder()
    return Hooks([*builtin_hooks().hooks, rec]), rec


def test_hooks_are_called_at_each_point_in_order(fakes):
    hooks, rec = with_recorder()
    res = run(RunRequest(prompt="hello hooks", tool="codex", quiet=True), hooks=hooks)
    assert res.exit_code == 0 and "hello hooks" in res.final_text
    # after_claim (the session's announcement) comes once the turn is on disk (issue 12)
    assert rec.calls == ["before_claim", "before_turn", "after_claim", "during_turn", "tick",
                         "after_turn", "after_release"]
    assert rec.tool_running
    assert not Store.open().session(res.session_id).is_alive()


def test_an_ephemeral_turn_records_nothing_and_skips_after_turn(fakes, state_dir):
    hooks, rec = with_recorder()
    res = run(RunRequest(prompt="leave nothing", tool="codex", ephemeral=True, quiet=True),
              hooks=hooks)
    assert res.exit_code == 0 and res.ephemeral
    assert "after_turn" not in rec.calls and rec.calls[-1] == "after_release"
    assert not (state_dir.exists() and any(state_dir.rglob("state.toml")))


class Preamble:
    def before_turn(self, turn):
        turn.prompt = "PREAMBLE " + turn.prompt


class Refuse:
    def before_turn(self, turn):
        raise TurnRefused("refusing: not today", "not today")


def test_before_turn_edits_the_prompt(fakes):
    res = run(RunRequest(prompt="the question", tool="codex", quiet=True),
              hooks=Hooks([Preamble()]))
    assert "PREAMBLE the question" in res.final_text


def test_a_refused_turn_is_recorded_failed_and_released(fakes, tmp_path):
    store = Store.open()
    with pytest.raises(CsaError, match="refusing: not today"):
        run(RunRequest(prompt="never runs", tool="codex", quiet=True), hooks=Hooks([Refuse()]))
    (session,) = store.sessions()
    state = session.load(reconcile=False)
    assert state.run.status == "failed" and state.run.error == "not today"
    assert not session.is_alive()
    assert not (tmp_path / "fake.log").exists()  # the tool never started


def test_several_turns_on_one_claim(fakes):
    """Compaction's shape: take the session once, run turns, release."""
    first = run(RunRequest(prompt="one", tool="codex", quiet=True))
    store = Store.open()
    session = store.resolve(first.session_id)
    claim = take(resume_choice(session, "codex", reason="compress"), builtin_hooks())
    try:
        for prompt in ("two", "three"):
            res = run_turn(claim, TurnOptions(prompt=prompt, quiet=True))
            assert res.exit_code == 0 and prompt in res.final_text
            assert session.is_alive()  # held between the turns
            assert session.load(reconcile=False).run.status == "finished"
    finally:
        release(claim)
    assert "user turns seen: 3" in res.final_text  # the same provider conversation
    state = session.load()
    assert state.turn_count == 3 and state.tools["codex"].turn_count == 3
    events = list(session.read_transcript())
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert [e["text"] for e in events if e["type"] == "prompt"] == ["one", "two", "three"]
    assert not session.is_alive()


def test_a_refused_claim_calls_claim_refused_and_after_release(fakes):
    first = run(RunRequest(prompt="one", tool="codex", quiet=True))
    store = Store.open()
    hooks, rec = with_recorder()
    with store.session(first.session_id).lock(tool="codex", grace=0):
        with pytest.raises(SessionLocked, match=f"locked by PID {os.getpid()}"):
            run(RunRequest(prompt="two", tool="codex", session=first.session_id, quiet=True),
                hooks=hooks)
    assert rec.calls == ["before_claim", "claim_refused", "after_release"]
