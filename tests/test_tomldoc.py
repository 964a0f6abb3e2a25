"""What csa writes through tomlkit, tomllib reads back to the same data."""

import tomllib
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from csa.result import read_result, write_result
from csa.state import RunRecord, SessionState, ToolState
from csa.tomldoc import dumps

# Odd text: control characters, DEL, quotes, backslashes, newlines, any unicode plane.
text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
keys = st.text(min_size=1, max_size=12)
when = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1),
                    timezones=st.just(UTC)).map(
    lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))
scalars = st.one_of(st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
                    st.floats(allow_nan=False), text, when)
values = st.one_of(scalars, st.lists(st.one_of(st.integers(), text), max_size=5))
tables = st.recursive(st.dictionaries(keys, values, max_size=5),
                      lambda inner: st.dictionaries(keys, st.one_of(values, inner), max_size=4),
                      max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(tables)
def test_any_document_round_trips(doc):
    assert tomllib.loads(dumps(doc)) == doc


# A few keys, so that documents share tables and the kept table texts are used.
few_keys = st.sampled_from(["a", "b", "run", "tools", "x y", "é", ""])
nested = st.recursive(
    st.one_of(values, st.just({})),
    lambda inner: st.one_of(st.dictionaries(few_keys, inner, max_size=4),
                            st.lists(st.dictionaries(few_keys, inner, max_size=3),
                                     min_size=1, max_size=2)),
    max_leaves=14)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(few_keys, nested, max_size=6), min_size=1, max_size=4))
def test_the_text_is_tomlkits_for_the_whole_document(docs):
    """dumps renders the top-level values and each table apart (keeping a table's text
    for the next save): the bytes are still tomlkit's own for the whole document, in any
    order of values and tables, with empty, super and array tables, call after call."""
    import tomlkit

    from csa.tomldoc import _plain

    for doc in docs:
        assert dumps(doc) == tomlkit.dumps(_plain(doc))


@settings(max_examples=100, deadline=None)
@given(desc=text, path=text, summary=text, model=st.one_of(st.none(), text), at=when,
       tokens=st.dictionaries(keys, st.integers(min_value=0, max_value=2**62), max_size=3),
       turns=st.integers(min_value=0, max_value=2**40), err=st.one_of(st.none(), text))
def test_session_state_round_trips(desc, path, summary, model, at, tokens, turns, err):
    state = SessionState.new("01JH4QWERT1234567890ABCDEF", description=desc, project_path=path)
    state.created_at = state.last_accessed = at
    state.tools["codex"] = ToolState(provider_session_id="p-1", last_action_summary=summary,
                                     model=model or None, updated_at=at, tokens=tokens,
                                     turn_count=turns, cost_usd=0.25)
    state.run = RunRecord(status="failed", tool="codex", pid=42, started_at=at, error=err)
    assert SessionState.from_toml(state.to_toml()) == state


@settings(max_examples=50, deadline=None)
@given(final=text, code=st.integers(min_value=-255, max_value=255))
def test_result_round_trips(tmp_path_factory, final, code):
    path = tmp_path_factory.mktemp("s") / "result.toml"
    write_result(path, {"session_id": "01JH4QWERT1234567890ABCDEF", "exit_code": code,
                        "final_text": final, "error": None, "tokens": {"input": 3}})
    assert read_result(path) == {"session_id": "01JH4QWERT1234567890ABCDEF",
                                 "exit_code": code, "final_text": final,
                                 "tokens": {"input": 3}}


def test_odd_strings_stay_valid():
    doc = {"s": 'quote " back \\ nl \n tab \t del \x7f bell \x07 é 漢 \U0001f600',
           "lone": "a\ud800b", "key with space": 1, "": 2, "big": 2**70, "none": None}
    back = tomllib.loads(dumps(doc))
    assert back["s"] == doc["s"]
    assert back["lone"] == "a?b"
    assert back["key with space"] == 1 and back[""] == 2 and back["big"] == 2**70
    assert "none" not in back


def test_layout_and_datetimes():
    text_ = dumps({"a": 1, "t": {"b": 2, "u": {"c": 3}}, "d": datetime(2026, 11, 21, 1, 2, 3,
                                                                        456789, tzinfo=UTC)})
    assert text_.splitlines()[:2] == ["a = 1", "d = 2026-11-21T01:02:03.456Z"]
    assert "[t]" in text_ and "[t.u]" in text_
