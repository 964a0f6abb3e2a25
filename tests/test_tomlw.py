"""The TOML writer always produces TOML that tomllib reads back to the same data."""

import tomllib
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from csa.tomlw import dumps

keys = st.text(min_size=1, max_size=12)
scalars = st.one_of(
    st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40),
    st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1),
                 timezones=st.just(UTC)).map(lambda d: d.replace(microsecond=d.microsecond
                                                                 // 1000 * 1000)),
)
values = st.one_of(scalars, st.lists(st.one_of(st.integers(), st.text(max_size=10)),
                                     max_size=5))
tables = st.recursive(st.dictionaries(keys, values, max_size=5),
                      lambda inner: st.dictionaries(keys, st.one_of(values, inner), max_size=4),
                      max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(tables)
def test_round_trip(doc):
    assert tomllib.loads(dumps(doc)) == _clean(doc)


def _clean(d):
    return {k: _clean(v) if isinstance(v, dict) else v for k, v in d.items() if v is not None}


def test_odd_strings_stay_valid():
    doc = {"s": 'quote " back \\ nl \n tab \t del \x7f bell \x07 é 漢 \U0001f600',
           "lone": "a\ud800b", "key with space": 1, "": 2}
    back = tomllib.loads(dumps(doc))
    assert back["s"] == doc["s"]
    assert back["lone"] == "a?b"
    assert back["key with space"] == 1 and back[""] == 2


def test_layout_and_datetimes():
    text = dumps({"a": 1, "t": {"b": 2, "u": {"c": 3}}, "d": datetime(2026, 11, 21, 1, 2, 3,
                                                                       456789, tzinfo=UTC)})
    assert text.splitlines()[:2] == ["a = 1", "d = 2026-11-21T01:02:03.456Z"]
    assert "[t]" in text and "[t.u]" in text
