"""Sealed entry details: AES-GCM sealing bound to the subject, ECIES key wrapping, public-key recovery from a
signed transaction (legacy EIP-155 and EIP-1559), and the evidence store layout."""

from __future__ import annotations

import pytest
import rlp
from eth_account import Account
from eth_account.typed_transactions import TypedTransaction
from eth_utils import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from creditshare.core.errors import DetailsUnavailable, InvalidInput
from creditshare.core.ids import subject_id
from creditshare.domain import sealing as sealed

SUBJECT = subject_id("uscc:DEBTOR1")
VIEWER = Account.from_key("0x" + "22" * 32)
OTHER = Account.from_key("0x" + "33" * 32)


@given(details=st.binary(max_size=2048))
@settings(max_examples=30, deadline=None)
def test_seal_then_open_round_trips(details):
    key, blob = sealed.seal(details, SUBJECT)
    assert sealed.open_sealed(blob, key, SUBJECT) == details
    assert len(blob) == len(sealed.MAGIC) + 12 + 16 + len(details)


def test_each_seal_uses_a_fresh_key_and_nonce():
    (k1, b1), (k2, b2) = sealed.seal(b"same", SUBJECT), sealed.seal(b"same", SUBJECT)
    assert k1 != k2 and b1 != b2 and sealed.commitment(b1) != sealed.commitment(b2)


def test_wrong_key_subject_or_tampering_is_refused():
    key, blob = sealed.seal(b"invoice INV-1 unpaid", SUBJECT)
    with pytest.raises(DetailsUnavailable, match="do not decrypt"):
        sealed.open_sealed(blob, bytes(32), SUBJECT)
    with pytest.raises(DetailsUnavailable, match="do not decrypt"):
        sealed.open_sealed(blob, key, subject_id("uscc:DEBTOR2"))
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(DetailsUnavailable, match="do not decrypt"):
        sealed.open_sealed(tampered, key, SUBJECT)
    with pytest.raises(DetailsUnavailable, match="malformed"):
        sealed.open_sealed(b"nonsense", key, SUBJECT)


def test_wrapped_key_opens_only_with_the_recipients_key():
    content = bytes(range(32))
    wrapped = sealed.wrap_key(content, sealed.public_key_of(bytes(VIEWER.key)))
    assert sealed.unwrap_key(wrapped, bytes(VIEWER.key)) == content
    with pytest.raises(DetailsUnavailable, match="not wrapped to this account's key"):
        sealed.unwrap_key(wrapped, bytes(OTHER.key))
    with pytest.raises(InvalidInput):
        sealed.wrap_key(content, b"\x04" * 10)


def test_public_key_is_recovered_from_a_legacy_eip155_transaction():
    tx = {
        "nonce": 7,
        "gasPrice": 0,
        "gas": 90_000,
        "to": to_checksum_address("0x" + "ab" * 20),
        "value": 0,
        "data": b"\x12\x34",
        "chainId": 31337,
    }
    raw = VIEWER.sign_transaction(tx).raw_transaction
    nonce, gas_price, gas, to, value, data, v, r, s = rlp.decode(raw)
    as_node_returns = {
        "type": 0,
        "nonce": 7,
        "gasPrice": 0,
        "gas": 90_000,
        "to": "0x" + to.hex(),
        "value": 0,
        "input": data,
        "v": int.from_bytes(v, "big"),
        "r": r,
        "s": s,
        "from": VIEWER.address,
    }
    public = sealed.recover_sender_public_key(as_node_returns)
    assert public == sealed.public_key_of(bytes(VIEWER.key))
    assert sealed.address_of(public) == VIEWER.address
    with pytest.raises(DetailsUnavailable):
        sealed.recover_sender_public_key({**as_node_returns, "from": OTHER.address})


def test_public_key_is_recovered_from_an_eip1559_transaction():
    tx = {
        "type": 2,
        "chainId": 31337,
        "nonce": 3,
        "maxFeePerGas": 10,
        "maxPriorityFeePerGas": 1,
        "gas": 50_000,
        "to": to_checksum_address("0x" + "cd" * 20),
        "value": 5,
        "data": b"\x01",
        "accessList": [],
    }
    raw = VIEWER.sign_transaction(tx).raw_transaction
    signed = TypedTransaction.from_bytes(raw).as_dict()
    as_node_returns = {**signed, "input": signed["data"], "yParity": signed["v"], "from": VIEWER.address}
    assert sealed.recover_sender_public_key(as_node_returns) == sealed.public_key_of(bytes(VIEWER.key))


def test_store_keeps_blobs_by_cid_and_checks_the_commitment(tmp_path):
    store = sealed.SealedStore(tmp_path)
    _key, blob = sealed.seal(b"details", SUBJECT)
    commitment, cid = store.put_blob(blob)
    assert (tmp_path / cid).read_bytes() == blob and store.blob(commitment) == blob
    assert store.put_blob(blob) == (commitment, cid)  # idempotent
    assert not store.has_key(commitment, VIEWER.address) and store.key(commitment, VIEWER.address) is None
    store.put_key(commitment, VIEWER.address, b"\x01\x02", role="viewer")
    assert store.key(commitment, VIEWER.address) == b"\x01\x02"
    (tmp_path / cid).write_bytes(blob + b"x")
    with pytest.raises(InvalidInput, match="does not match its CID"):
        store.blob(commitment)
    with pytest.raises(DetailsUnavailable, match="not in the evidence store"):
        store.blob(bytes(32))
