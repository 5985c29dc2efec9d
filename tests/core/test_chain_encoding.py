"""Chain encoding without a chain: revert decoding (creditshare.core.chain), and the settlement
binding's packed submit calldata and record digest against eth_abi."""

from __future__ import annotations

from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector, keccak
from hypothesis import given
from hypothesis import strategies as st

from creditshare.bindings.settlement_ledger import SETTLEMENT_TUPLE, Settlement, encode_submit
from creditshare.core import chain

record = st.builds(
    lambda i, s, p, c, a, inv, term, e, ref: Settlement(i, s, p, c, a, inv, inv + term, e, reference_hash=ref),
    st.binary(min_size=32, max_size=32),
    st.binary(min_size=32, max_size=32),
    st.binary(min_size=32, max_size=32),
    st.binary(min_size=32, max_size=32),
    st.integers(1, 2**96 - 1),
    st.integers(1, 2**40 - 10**6),
    st.integers(0, 10**6),
    st.binary(min_size=32, max_size=32),
    st.binary(min_size=32, max_size=32),
)


@given(st.lists(record, max_size=20))
def test_packed_submit_calldata_equals_eth_abi(records):
    class FakeContract:  # only the ABI and address are read
        address = "0x" + "11" * 20
        abi = chain.artifact("SettlementLedger")["abi"]

    packed = encode_submit(FakeContract, records)
    selector = function_signature_to_4byte_selector(f"submit({SETTLEMENT_TUPLE}[],bytes32[])")
    assert packed.data == selector + encode(
        [f"{SETTLEMENT_TUPLE}[]", "bytes32[]"], [[r.as_tuple() for r in records], [r.reference_hash for r in records]]
    )


@given(record)
def test_digest_matches_abi_encoding(r):
    assert r.digest == keccak(encode([SETTLEMENT_TUPLE], [r.as_tuple()]))[:20]


def test_decode_revert_names_the_error_and_its_arguments():
    selector = function_signature_to_4byte_selector("SettlementLedgerAlreadyExists(bytes32)")
    data = "0x" + (selector + b"\x01" * 32).hex()
    assert chain.decode_revert(data) == "SettlementLedgerAlreadyExists(id=0x" + "01" * 32 + ")"
    assert chain.decode_revert("0xdeadbeef").startswith("reverted with unknown error")
    assert chain.decode_revert(None) == "reverted without a reason"


def test_spans_name_lines_as_ranges():
    assert chain.spans([4, 2, 3, 7, 9, 10]) == "2-4, 7, 9-10"
    assert chain.spans([]) == "none"


@given(st.sets(st.integers(1, 500), max_size=60))
def test_spans_read_back_as_the_same_numbers(numbers):
    text = chain.spans(numbers)
    back: set[int] = set()
    for part in text.split(", ") if numbers else []:
        low, _, high = part.partition("-")
        back |= set(range(int(low), int(high or low) + 1))
    assert back == numbers


@given(st.lists(st.integers(0, 300_000), max_size=600))
def test_simulation_chunks_keep_order_and_stay_within_the_node_limits(sizes):
    calls = [chain.Call("0x" + "11" * 20, bytes(n)) for n in sizes]
    chunks = chain._chunks(calls)
    assert [c for chunk in chunks for c in chunk] == calls
    for chunk in chunks:
        assert 1 <= len(chunk) <= chain.SIMULATE_BLOCKS
        assert len(chunk) == 1 or sum(len(c.data) for c in chunk) <= chain.SIMULATE_BYTES
