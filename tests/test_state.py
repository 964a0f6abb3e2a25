import tomllib
from datetime import UTC, datetime

import pytest

from csa.errors import CorruptState
from csa.state import SessionState, ToolState, iso_ms

SID = "01JH4QWERT1234567890ABCDEF"


def full_state() -> SessionState:
    st = SessionState.new(SID, description='Auth "refactor"\nline2', project_path="/home/me/p",
                          parent_session_id="01JH4QWERT0000000000000000", depth=1,
                          git_branch="feat/x", git_head="abc123")
    st.tools["codex"] = ToolState(provider_session_id="thread_1", last_action_summary="did",
                                  last_exit_code=0, updated_at=datetime.now(UTC),
                                  tokens={"input_tokens": 10}, cost_usd=0.5,
                                  previous_provider_session_ids=["thread_0"])
    st.turn_count = 3
    return st


def test_round_trip_keeps_every_field():
    st = full_state()
    back = SessionState.from_toml(st.to_toml())
    assert back.to_dict() == SessionState.from_toml(back.to_toml()).to_dict()
    assert back.description == st.description
    assert back.parent_session_id == st.parent_session_id and back.depth == 1
    assert back.tools["codex"].tokens == {"input_tokens": 10}
    assert back.tools["codex"].previous_provider_session_ids == ["thread_0"]
    assert iso_ms(back.created_at) == iso_ms(st.created_at)


def test_contract_layout_of_state_toml():
    d = tomllib.loads(full_state().to_toml())
    for key in ("schema_version", "meta_session_id", "description", "project_path",
                "created_at", "last_accessed", "phase", "turn_count", "git_branch", "git_head"):
        assert key in d, key
    assert d["genealogy"] == {"parent_session_id": "01JH4QWERT0000000000000000", "depth": 1}
    assert set(d["context_status"]) >= {"is_compacted", "compaction_count"}
    tool = d["tools"]["codex"]
    assert set(tool) >= {"provider_session_id", "last_action_summary", "last_exit_code",
                         "updated_at"}
    # RFC 3339 UTC with milliseconds
    text = full_state().to_toml()
    line = next(ln for ln in text.splitlines() if ln.startswith("created_at"))
    assert line.endswith("Z") and "." in line


def test_root_session_has_no_parent_key():
    st = SessionState.new(SID, description="", project_path="/p")
    assert tomllib.loads(st.to_toml())["genealogy"] == {"depth": 0}


def test_unknown_keys_survive_a_round_trip():
    text = full_state().to_toml() + '\n[future]\nflag = true\n'
    back = SessionState.from_toml(text)
    assert tomllib.loads(back.to_toml())["future"] == {"flag": True}


@pytest.mark.parametrize("mutate, message", [
    (lambda t: t.replace('phase = "active"', 'phase = "dancing"'), "phase"),
    (lambda t: t.replace("turn_count = 3", 'turn_count = "three"'), "turn_count"),
    (lambda t: t.replace("turn_count = 3", "turn_count = true"), "turn_count"),
    (lambda t: t.replace("depth = 1", "depth = -1"), "depth"),
    (lambda t: t[: len(t) // 2], "invalid TOML|missing"),
    (lambda t: t.replace(f'meta_session_id = "{SID}"', ""), "meta_session_id"),
    (lambda t: t.replace("schema_version = 1", "schema_version = 99"), "newer"),
])
def test_wrong_content_raises_corrupt_state(mutate, message):
    with pytest.raises(CorruptState, match=message):
        SessionState.from_toml(mutate(full_state().to_toml()))


def test_binary_garbage_is_corrupt():
    with pytest.raises(CorruptState):
        SessionState.from_bytes(b"\xff\xfe\x00garbage\x80")
