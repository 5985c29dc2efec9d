"""Pure parts of the lender reads: the reason-code search and the evidence CID encoding."""

from __future__ import annotations

import itertools

from hypothesis import given, strategies as st
from multiformats import CID, multihash

from creditshare.domain.evidence import cid_from_digest, digest_from_cid
from creditshare.reports.lender import summarize_settlements
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


@given(st.binary(min_size=32, max_size=32))
def test_evidence_cid_matches_multiformats(digest):
    cid = cid_from_digest(digest)
    assert cid == str(CID("base32", 1, "raw", multihash.wrap(digest, "sha2-256")))
    assert digest_from_cid(cid) == digest


def test_settlement_summary_counts_late_payments_and_bad_amounts():
    d = bytes(32)
    rows = [("Paid", 100, 10, 12, d), ("Paid", 50, 10, 9, d), ("Overdue", 70, 10, 0, d),
            ("Defaulted", 30, 10, 0, bytes([1]) * 32), ("Invoiced", 5, 10, 0, d)]
    s = summarize_settlements(rows)
    assert s["count"] == 5 and s["late_payments"] == 1 and s["paid_fen"] == 150
    assert s["outstanding_fen"] == 105 and s["overdue_or_defaulted_fen"] == 100
    assert s["by_status"] == {"Defaulted": 1, "Invoiced": 1, "Overdue": 1, "Paid": 2}
    assert len(s["evidence_cids"]) == 2
