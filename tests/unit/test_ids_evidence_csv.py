"""Pure functions: subject ids, evidence CIDs, CSV parsing, revert decoding, calldata packing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector, keccak
from hypothesis import given
from hypothesis import strategies as st

from creditshare.core import chain
from creditshare.core import ids
from creditshare.core.errors import InvalidInput
from creditshare.bindings.settlement_ledger import SETTLEMENT_TUPLE, Settlement
from creditshare.domain.settlements import InvalidSettlementFile, parse_csv

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_subject_id_is_keccak_of_canonical_reference():
    assert ids.subject_id("uscc:91310000ma1fl4xx1x") == keccak(text="creditshare:subject:uscc:91310000MA1FL4XX1X")
    assert ids.subject_id(" uscc:91310000MA1FL4XX1X ") == ids.subject_id("uscc:91310000ma1fl4xx1x")
    hex_id = "0x" + "ab" * 32
    assert ids.subject_id(hex_id) == bytes.fromhex("ab" * 32)


@pytest.mark.parametrize("bad", ["", "no-namespace", "USCC:123", "uscc:", "uscc:has space", "0x1234"])
def test_subject_id_rejects_malformed_references(bad):
    with pytest.raises(InvalidInput, match="subject must be"):
        ids.subject_id(bad)


def test_settlement_id_is_namespaced_by_platform():
    a, b = ids.subject_id("uscc:P1"), ids.subject_id("uscc:P2")
    assert ids.settlement_id(a, "ORDER-1") != ids.settlement_id(b, "ORDER-1")
    with pytest.raises(InvalidInput):
        ids.settlement_id(a, "bad ref with spaces")


def test_evidence_cid_round_trip(tmp_path):
    f = tmp_path / "pod.pdf"
    f.write_bytes(b"%PDF proof of delivery")
    cid = ids.file_cid(f)
    assert cid.startswith("bafkrei")
    assert ids.digest_from_cid(cid) == hashlib.sha256(f.read_bytes()).digest()
    with pytest.raises(InvalidInput, match="not a valid CID"):
        ids.digest_from_cid("not-a-cid")


def test_example_csv_parses():
    rows = parse_csv(EXAMPLES / "settlements.csv")
    assert [r.line for r in rows] == [2, 3, 4]
    assert rows[1].settlement.amount == 845050
    assert rows[0].settlement.due_date - rows[0].settlement.invoice_date == 30 * 86400


def test_parse_csv_collects_every_error(tmp_path):
    (tmp_path / "s.csv").write_text(
        "reference,shipper,platform,carrier,amount_fen,invoice_date,due_date,evidence\n"
        "A,uscc:S,uscc:P,driver:D,0,2026-01-01,2026-01-02,cid:bafkreibwjnnkwrrvhfihbizddpnn7g4mpa4hod7vpqbhr67lcovvexozyq\n"
        "B,uscc:S,uscc:S,driver:D,5,2026-01-01,2026-01-02,cid:bafkreibwjnnkwrrvhfihbizddpnn7g4mpa4hod7vpqbhr67lcovvexozyq\n"
    )
    with pytest.raises(InvalidSettlementFile) as info:
        parse_csv(tmp_path / "s.csv")
    assert [e.line for e in info.value.errors] == [2, 3]
    assert "shipper and platform are the same subject" in str(info.value.errors[1])


record = st.builds(
    lambda i, s, p, c, a, inv, term, e: Settlement(i, s, p, c, a, inv, inv + term, e),
    st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32),
    st.binary(min_size=32, max_size=32), st.integers(1, 2**96 - 1), st.integers(1, 2**40 - 10**6),
    st.integers(0, 10**6), st.binary(min_size=32, max_size=32),
)


@given(st.lists(record, max_size=20))
def test_packed_submit_calldata_equals_eth_abi(records):
    class FakeContract:  # only the ABI and address are read
        address = "0x" + "11" * 20
        abi = chain.artifact("SettlementLedger")["abi"]

    from creditshare.bindings.settlement_ledger import encode_submit
    packed = encode_submit(FakeContract, records)
    selector = function_signature_to_4byte_selector(f"submit({SETTLEMENT_TUPLE}[])")
    assert packed.data == selector + encode([f"{SETTLEMENT_TUPLE}[]"], [[r.as_tuple() for r in records]])


@given(record)
def test_digest_matches_abi_encoding(r):
    assert r.digest == keccak(encode([SETTLEMENT_TUPLE], [r.as_tuple()]))[:25]


def test_decode_revert_names_the_error_and_its_arguments():
    selector = function_signature_to_4byte_selector("SettlementLedgerAlreadyExists(bytes32)")
    data = "0x" + (selector + b"\x01" * 32).hex()
    assert chain.decode_revert(data) == "SettlementLedgerAlreadyExists(id=0x" + "01" * 32 + ")"
    assert chain.decode_revert("0xdeadbeef").startswith("reverted with unknown error")
    assert chain.decode_revert(None) == "reverted without a reason"
