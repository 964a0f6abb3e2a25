"""csa.listing: short ids, the narrowest common width that keeps every id of a listing unique."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from csa.listing import short_ids


def _naive(ids: list[str], minimum: int) -> int:
    # the definition: the smallest width >= minimum at which no two ids share a prefix
    width = minimum
    while len({i[:width] for i in ids}) < len(ids):
        width += 1
    return width


@given(st.lists(st.text(alphabet="01AB", min_size=1, max_size=12), min_size=1, max_size=30, unique=True),
       st.integers(1, 4))
def test_short_ids_are_the_narrowest_unique_prefixes(ids, minimum):
    got = short_ids(ids, minimum)
    width = _naive(ids, minimum)
    assert got == {i: i[:width] for i in ids}
