"""Subject and settlement ids, and evidence CIDs (creditshare.core.ids)."""

from __future__ import annotations

import hashlib

import pytest
from eth_utils import keccak
from hypothesis import given
from hypothesis import strategies as st
from multiformats import CID, multihash

from creditshare.core import ids
from creditshare.core.errors import InvalidInput


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


@given(st.binary(min_size=32, max_size=32))
def test_evidence_cid_matches_multiformats(digest):
    cid = ids.cid_from_digest(digest)
    assert cid == str(CID("base32", 1, "raw", multihash.wrap(digest, "sha2-256")))
    assert ids.digest_from_cid(cid) == digest
