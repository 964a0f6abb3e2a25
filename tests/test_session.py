"""The Session handle: layout, state, locks, transcript and results of one session dir."""

import os
import threading

import pytest

from csa.errors import CorruptState, CsaError, SessionLocked, SessionNotFound
from csa.session import Session
from csa.state import RunRecord, utcnow
from csa.store import Store


@pytest.fixture
def store(project):
    return Store.open()


@pytest.fixture
def made(store):
    session, state, lock = store.create(description="handle test")
    assert lock is None
    return session, state


def test_create_returns_a_handle_on_the_new_dir(store, made):
    session, state = made
    assert isinstance(session, Session) and not session.ephemeral
    assert session.id == state.meta_session_id
    assert session.dir == store.sessions_dir / session.id
    assert session.state_path == session.dir / "state.toml"
    assert session.transcript_path == session.dir / "transcript.jsonl"
    assert session.journal_path == session.dir / "journal.md"
    assert session.locks_dir == session.dir / "locks"
    assert session.output_dir == session.dir / "output"
    assert session.output_file("result.toml") == session.dir / "output" / "result.toml"
    assert session.state_path.is_file() and session.locks_dir.is_dir()
    assert session.exists()


def test_store_hands_out_equal_handles(store, made):
    session, _ = made
    assert store.session(session.id) == session
    assert store.resolve(session.id[:10].lower()) == session
    assert store.newest() == session
    assert store.sessions() == [session]
    assert store.session("01" + "Z" * 24).exists() is False


def test_load_save_round_trip(store, made):
    session, state = made
    state.description = "changed"
    session.save(state)
    again = store.session(session.id).load()
    assert again.description == "changed" and again.meta_session_id == session.id


def test_save_fsyncs_unless_told_the_state_need_not_outlive_the_boot(store, made,
                                                                     monkeypatch):
    """record.begin saves the tool's pid with durable=False (a crash of the machine ends
    the tool too); every other save is fsynced, file and directory."""
    import csa.fsutil

    session, state = made
    synced = []
    real = os.fsync
    monkeypatch.setattr(csa.fsutil.os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    session.save(state, durable=False)
    assert synced == [] and session.load().description == "handle test"
    session.save(state)
    assert len(synced) == 2


def test_save_refuses_another_sessions_state(store, made):
    session, _ = made
    _, other, _ = store.create(description="other")
    with pytest.raises(CsaError, match="refusing"):
        session.save(other)


def test_read_state_errors_name_the_problem(store, made):
    session, _ = made
    session.state_path.write_text("garbage = [")
    with pytest.raises(CorruptState, match="state.toml"):
        session.read_state()
    assert session.description().startswith("(corrupt:")
    gone = store.session("01" + "A" * 24)
    with pytest.raises(SessionNotFound):
        gone.read_state()
    with pytest.raises(SessionNotFound, match="no longer exists"):
        gone.save(made[1].__class__.new(gone.id, description="x", project_path="/"))


def test_load_reconciles_a_run_whose_holder_died(store, made):
    session, state = made
    state.run = RunRecord(status="running", tool="codex", pid=os.getpid(), started_at=utcnow())
    session.save(state)
    assert session.load(reconcile=False).run.status == "running"
    assert session.load().run.status == "died"
    assert session.read_state().run.status == "died"  # written back


def test_load_keeps_a_live_run_running(store, made):
    session, state = made
    state.run = RunRecord(status="running", tool="codex", pid=os.getpid(), started_at=utcnow())
    session.save(state)
    with session.lock(tool="codex"):
        assert session.load().run.status == "running"


def test_lock_excludes_and_names_its_holder(store, made):
    session, _ = made
    assert session.holder() is None and not session.is_alive()
    with session.lock(tool="codex", reason="run") as lock:
        assert lock.held
        holder = session.holder()
        assert holder["pid"] == os.getpid() and holder["tool"] == "codex"
        assert session.is_alive()
        with pytest.raises(SessionLocked, match=f"Session {session.id} is locked by PID"):
            store.session(session.id).lock(grace=0)
    assert not lock.held and not session.is_alive()


def test_try_lock_skips_a_live_session_and_a_gone_one(store, made):
    session, _ = made
    with session.lock():
        with session.try_lock(reason="clean") as lock:
            assert lock is None
    with session.try_lock(reason="clean") as lock:
        assert lock is not None and lock.held and session.is_alive()
    assert not lock.held and not session.is_alive()
    with store.session("01" + "B" * 24).try_lock(reason="clean") as lock:
        assert lock is None


def test_try_lock_skips_a_broken_locks_dir(store, made, tmp_path):
    session, _ = made
    os.rmdir(session.locks_dir)
    os.symlink(tmp_path, session.locks_dir)
    with session.try_lock(reason="clean") as lock:
        assert lock is None


def test_try_lock_releases_when_the_body_raises(store, made):
    session, _ = made
    with pytest.raises(RuntimeError), session.try_lock(reason="evict") as lock:
        assert lock is not None
        raise RuntimeError("boom")
    assert not session.is_alive()


def test_transcript_writer_and_reader_round_trip(store, made):
    session, _ = made
    assert list(session.read_transcript()) == [] and session.transcript_size() == 0
    with session.transcript_writer() as w:
        w.append("prompt", text="hello")
        w.append("turn_end", exit_code=0)
    with session.transcript_writer() as w:  # reopened: seq continues
        w.append("note", text="again")
    events = list(store.session(session.id).read_transcript())
    assert [(e["seq"], e["type"]) for e in events] == [(0, "prompt"), (1, "turn_end"),
                                                        (2, "note")]
    assert events[0]["text"] == "hello"
    assert session.transcript_size() == session.transcript_path.stat().st_size > 0


def test_transcript_reader_reports_corrupt_lines(store, made):
    session, _ = made
    with session.transcript_writer() as w:
        w.append("prompt", text="x")
    with open(session.transcript_path, "ab") as f:  # damaged in the middle, by hand
        f.write(b'not json\n{"v":1,"seq":1,"ts":"2026-01-01T00:00:00.000Z","type":"note"}\n')
    errors: list = []
    kinds = [e["type"] for e in session.read_transcript(errors=errors)]
    assert kinds == ["prompt", "corrupt", "note"] and len(errors) == 1


def test_follow_transcript_yields_new_events_until_the_run_ends(store, made):
    session, _ = made
    lock = session.lock(tool="codex")
    with session.transcript_writer() as w:
        first = w.append("prompt", text="one")

    def later():
        with session.transcript_writer() as w:
            w.append("note", text="two")
        lock.release()

    timer = threading.Timer(0.2, later)
    timer.start()
    batches = list(session.follow_transcript(after={"seq": first}, poll=0.05))
    timer.join()
    assert [[e["text"] for e in b] for b in batches] == [["two"]]


def test_results_round_trip(store, made):
    session, _ = made
    assert session.read_result() is None
    session.write_result({"session_id": session.id, "exit_code": 0, "final_text": "done",
                          "model": None})
    res = session.read_result()
    assert res == {"session_id": session.id, "exit_code": 0, "final_text": "done"}
    session.write_result({"exit_code": 1}, name="compact-result.toml")
    assert session.read_result("compact-result.toml") == {"exit_code": 1}
    assert session.read_result()["exit_code"] == 0
    assert [a["path"] for a in session.artifacts()] == ["compact-result.toml", "result.toml"]


def test_unreadable_result_is_an_error(store, made):
    session, _ = made
    session.ensure_output_dir()
    session.output_file("result.toml").write_text("x = [")
    with pytest.raises(CsaError, match="unreadable result"):
        session.read_result()


def test_metadata_files_are_what_a_checkpoint_versions(store, made):
    session, _ = made
    session.write_result({"exit_code": 0})
    (session.output_dir / "detached.log").write_text("log")
    with session.transcript_writer() as w:
        w.append("prompt", text="x")
    names = [p.relative_to(session.dir).as_posix() for p in session.metadata_files()]
    assert names == ["state.toml", "output/result.toml"]


def test_build_hook_gets_a_hidden_session(store):
    seen = {}

    def build(hidden, state):
        seen["dir"] = hidden.dir
        assert hidden.id == state.meta_session_id and hidden.dir.name.startswith(".new-")
        with hidden.transcript_writer() as w:
            w.append("imported", text="from elsewhere")

    session, _, _ = store.create(description="imported", build=build)
    assert not seen["dir"].exists()
    assert [e["text"] for e in session.read_transcript()] == ["from elsewhere"]


def test_create_with_lock_tool_returns_it_held_on_the_final_dir(store):
    session, _, lock = store.create(description="run", lock_tool="codex")
    try:
        assert lock.locks_dir == session.locks_dir
        assert session.holder()["tool"] == "codex"
    finally:
        lock.release()
    assert not session.is_alive()


def test_ephemeral_session_lives_in_a_temp_dir(store):
    session, state, lock = store.ephemeral(description="scratch", lock_tool="codex")
    try:
        assert session.ephemeral and session.id == state.meta_session_id
        assert not str(session.dir).startswith(str(store.sessions_dir))
        assert session.is_alive() and store.ids() == []
        with session.transcript_writer() as w:
            w.append("prompt", text="x")
    finally:
        lock.release()
    session.discard()
    assert not session.dir.exists()


def test_discard_refuses_a_stored_session(store, made):
    session, _ = made
    with pytest.raises(CsaError, match="not ephemeral"):
        session.discard()
    assert session.exists()


def test_delete_takes_a_handle_or_an_id(store, made):
    session, _ = made
    assert store.delete(session) > 0 and not session.exists()
    other, _, _ = store.create(description="by id")
    store.delete(other.id)
    assert store.ids() == []
