"""The lender reads' pure part in oracle.provenance: the fast reason-code hash search equals the
oracle's reference encoding (oracle.report.reasons_hash)."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from oracle.provenance import reasons_hash_from_words, string_words
from oracle.report import reasons_hash

NAMES = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=70)


@given(st.lists(NAMES, max_size=5, unique=True))
def test_fast_reasons_hash_equals_the_reference_encoding(combo):
    words = {n: string_words(n) for n in combo}
    assert reasons_hash_from_words(combo, words) == reasons_hash(combo)


def test_every_ordered_combination_of_a_small_card_hashes_like_the_oracle():
    names = ["shp_dpd_p90", "shp_ontime_bps", "shp_overdue_amt"]
    words = {n: string_words(n) for n in names}
    for k in range(4):
        for combo in itertools.permutations(names, k):
            assert reasons_hash_from_words(combo, words) == reasons_hash(combo)
